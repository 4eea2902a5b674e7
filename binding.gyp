# The core addon: N-API binding, plugin loader, thread pool and the built-in CPU backend.
# Vendor backends are separate shared libraries built by CMakeLists.txt (cmake-js).
{
  "targets": [
    {
      "target_name": "stridekit",
      "sources": [
        "native/core/addon.cc",
        "native/core/async_io.cc",
        "native/core/async_work.cc",
        "native/core/job_runner.cc",
        "native/core/backend_registry.cc",
        "native/core/device_storage.cc",
        "native/core/device_tensor.cc",
        "native/core/host_buffer.cc",
        "native/core/js_abi_export.cc",
        "native/core/js_error.cc",
        "native/core/native_plan.cc",
        "native/core/one_shot_cache.cc",
        "native/core/plan_wrap.cc",
        "native/core/plugin_file.cc",
        "native/core/request.cc",
        "native/core/thread_pool.cc",
        "native/core/weight_layout.cc",
        "native/backends/cpu/conv_forward.cc",
        "native/backends/cpu/conv_transposed.cc",
        "native/backends/cpu/cpu_backend.cc",
        "native/backends/cpu/cpu_features.cc",
        "native/backends/cpu/depthwise.cc",
        "native/backends/cpu/direct.cc",
        "native/backends/cpu/large_pages.cc",
        "native/backends/cpu/microkernel_avx2.cc",
        "native/backends/cpu/microkernel_avx512.cc",
        "native/backends/cpu/microkernel_generic.cc",
        "native/backends/cpu/microkernel_neon.cc",
        "native/backends/cpu/phases.cc",
        "native/backends/cpu/scratch.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native/include",
        "native"
      ],
      # NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: in a worker being terminated, an Error that can no
      # longer be thrown into JavaScript is dropped; without it node-addon-api rethrows it as a C++
      # exception out of the Node-API callback, and the process aborts.
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED",
                  "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS=='linux'", { "libraries": ["-ldl", "-lpthread"] }],
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "11.0",
            "OTHER_CPLUSPLUSFLAGS": ["-O3", "-fvisibility=hidden"]
          }
        }],
        ["OS=='win'", {
          "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17", "/O2"] } }
        }]
      ]
    }
  ]
}
