// What the cudnn plugin's loader stub (native/plugin_stub/runtime_search.h) looks for: the CUDA runtime
// (libcudart) and cuDNN 9 (libcudnn.so.9, which opens its sub-libraries from its own folder), as the NVIDIA
// wheels lay them out (also inside a PyTorch environment), a CUDA toolkit or Debian's packages. The driver,
// libcuda.so.1, is the system's and is opened by the CUDA runtime itself.
#include "runtime_search.h"

// A CUDA toolkit's per-target library folder: arm64 servers (Grace Hopper) are "sbsa".
#if defined(__aarch64__)
#define CUDA_TARGET "sbsa-linux"
#else
#define CUDA_TARGET "x86_64-linux"
#endif

namespace stridekit_stub {

const Runtime& runtime() {
  static const Runtime cudnn = {
      "cudnn",
      "pip install " STRIDEKIT_CUDA_WHEELS,
      {{"the CUDA runtime",
        STRIDEKIT_CUDART_SONAME,
        "STRIDEKIT_CUDA_DIR",
        {"lib64", "lib", "targets/" CUDA_TARGET "/lib"},
        {"nvidia/cu13/lib", "nvidia/cuda_runtime/lib"},
        {"/usr/local/cuda/lib64", "/usr/local/cuda-*/lib64", "/usr/lib/" STRIDEKIT_MULTIARCH, "/usr/lib64"}},
       {"cuDNN 9",
        "libcudnn.so.9",
        "STRIDEKIT_CUDNN_DIR",
        {"lib", "lib64", "lib/" STRIDEKIT_MULTIARCH},
        {"nvidia/cudnn/lib"},
        {"/usr/lib/" STRIDEKIT_MULTIARCH, "/usr/local/cuda/lib64", "/usr/lib64"}}}};
  return cudnn;
}

}  // namespace stridekit_stub
