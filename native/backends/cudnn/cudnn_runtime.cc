// Probe: driver, device, cuDNN, in that order, each failure turned into a one-line reason.
#include "cudnn_runtime.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <utility>

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "cudnn_errors.h"

namespace stridekit::cudnn {
namespace {

Device g_device;

// "13.5" from CUDA's 13050.
std::string cuda_version_text(int version) {
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

// "9.28.1" from cuDNN 9's 92801.
std::string cudnn_version_text(size_t version) {
  return std::to_string(version / 10000) + "." + std::to_string((version % 10000) / 100) + "." +
         std::to_string(version % 100);
}

// STRIDEKIT_CUDA_DEVICE as an ordinal; -1 with *reason when it is set but not a non-negative integer.
int requested_ordinal(std::string* reason) {
  const char* env = std::getenv("STRIDEKIT_CUDA_DEVICE");
  if (!env || !*env) return 0;
  char* end = nullptr;
  const long value = std::strtol(env, &end, 10);
  if (end == env || *end != '\0' || value < 0 || value > 1024) {
    *reason = std::string("STRIDEKIT_CUDA_DEVICE must be a device ordinal (0, 1, ...), got '") + env + "'";
    return -1;
  }
  return static_cast<int>(value);
}

bool open_device_unguarded(std::string* description, std::string* reason) {
  // A malformed setting is reported whatever the machine has.
  const int ordinal = requested_ordinal(reason);
  if (ordinal < 0) return false;

  // The CUDA runtime opens the driver library lazily and only says "insufficient driver" when it is
  // missing; looking for it first gives the precise reason. The handle is kept: the runtime uses it.
  if (!dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL)) {
    *reason = "no CUDA driver (libcuda.so.1 not found)";
    return false;
  }
  int runtime_version = 0, driver_version = 0;
  (void)cudaRuntimeGetVersion(&runtime_version);
  (void)cudaDriverGetVersion(&driver_version);

  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status == cudaErrorInsufficientDriver) {
    // A driver that reports no CUDA version at all is a broken or foreign libcuda.so.1.
    *reason = driver_version > 0 ? "driver too old: the NVIDIA driver supports CUDA " + cuda_version_text(driver_version) +
                                       ", this plugin's CUDA runtime is " + cuda_version_text(runtime_version)
                                 : "driver too old or broken: libcuda.so.1 reports no CUDA version, this plugin's "
                                   "CUDA runtime is " + cuda_version_text(runtime_version);
    return false;
  }
  if (status == cudaErrorNoDevice || (status == cudaSuccess && count == 0)) {
    *reason = "no CUDA device";
    return false;
  }
  if (status != cudaSuccess) {
    *reason = std::string("CUDA runtime cannot list devices: ") + cudaGetErrorString(status) + " (" +
              cudaGetErrorName(status) + ")";
    return false;
  }

  if (ordinal >= count) {
    *reason = "STRIDEKIT_CUDA_DEVICE=" + std::to_string(ordinal) + " but this machine has " + std::to_string(count) +
              " CUDA device" + (count == 1 ? "" : "s") + " (0.." + std::to_string(count - 1) + ")";
    return false;
  }
  // Nothing here needs the device's context: the count and the properties come from the driver, and
  // since CUDA 12 cudaSetDevice (and any cuDNN handle) would create the primary context, which costs
  // up to seconds and hundreds of MiB of device memory at the first backends() call, even when 'auto'
  // then chooses another backend. The context is made by the first plan or device tensor (use_device).
  cudaDeviceProp props{};
  if (cudaGetDeviceProperties(&props, ordinal) != cudaSuccess) {
    *reason = "CUDA device " + std::to_string(ordinal) + " does not answer: " + cudaGetErrorString(cudaGetLastError());
    return false;
  }

  // cuDNN 9 keeps its major version's ABI; an older minor is fine, another major is not.
  const size_t cudnn_version = cudnnGetVersion();
  if (cudnn_version / 10000 != CUDNN_MAJOR) {
    *reason = "cuDNN " + cudnn_version_text(cudnn_version) + " found, this plugin was built for cuDNN " +
              std::to_string(CUDNN_MAJOR);
    return false;
  }
  // The sub-libraries the plugin calls (libcudnn_ops, libcudnn_cnn; libcudnn.so.9 opens them from its own
  // folder on first use) load and match its version: checked without a device.
  for (const auto& [check, name] : {std::pair{&cudnnOpsVersionCheck, "libcudnn_ops"}, std::pair{&cudnnCnnVersionCheck, "libcudnn_cnn"}}) {
    const cudnnStatus_t status = check();
    if (status != CUDNN_STATUS_SUCCESS) {
      char detail[256] = {};
      cudnnGetLastErrorString(detail, sizeof detail);
      *reason = std::string("cuDNN ") + cudnn_version_text(cudnn_version) + ": " + name + " does not load or match: " +
                cudnnGetErrorString(status) + (detail[0] ? std::string(" (") + detail + ")" : std::string());
      return false;
    }
  }

  g_device.ordinal = ordinal;
  g_device.major = props.major;
  g_device.minor = props.minor;
  g_device.name = props.name;
  g_device.memory = props.totalGlobalMem;
  *description = g_device.name + " (cuda:" + std::to_string(ordinal) + ", compute " + std::to_string(props.major) +
                 "." + std::to_string(props.minor) + ", " + format_bytes(props.totalGlobalMem) + "), cuDNN " +
                 cudnn_version_text(cudnn_version) + ", CUDA runtime " + cuda_version_text(runtime_version) +
                 ", driver " + cuda_version_text(driver_version);
  return true;
}

}  // namespace

bool open_device(std::string* description, std::string* reason) {
  try {
    return open_device_unguarded(description, reason);
  } catch (const std::exception& e) {
    *reason = std::string("CUDA probe failed: ") + e.what();
  } catch (...) {
    *reason = "CUDA probe failed: unknown exception";
  }
  return false;
}

const Device& device() { return g_device; }

void use_device() { check_cuda(cudaSetDevice(g_device.ordinal), "cudaSetDevice"); }

}  // namespace stridekit::cudnn
