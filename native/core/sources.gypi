# The core's C++ sources, listed once: binding.gyp includes this file into the addon's target.
# File names are relative to this folder (gyp rebases them).
{
  'sources': [
    'addon.cc',
    'async_io.cc',
    'async_work.cc',
    'backend_registry.cc',
    'device_storage.cc',
    'device_tensor.cc',
    'host_buffer.cc',
    'job_runner.cc',
    'js_abi_export.cc',
    'js_error.cc',
    'native_plan.cc',
    'one_shot_cache.cc',
    'plan_wrap.cc',
    'plugin_file.cc',
    'request.cc',
    'weight_layout.cc',
  ],
}
