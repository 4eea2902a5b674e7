// CUDA and cuDNN status codes to DeviceError, with the library's own words.
#include "cudnn_errors.h"

#include <cstdio>

namespace stridekit::cudnn {

std::string format_bytes(size_t bytes) {
  static const char* const kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit ? "%.1f %s" : "%.0f %s", value, kUnits[unit]);
  return text;
}

void check_cuda(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  (void)cudaGetLastError();  // a non-sticky error must not be reported again by the next call
  const sk_status code = status == cudaErrorMemoryAllocation ? SK_ERROR_OUT_OF_MEMORY : SK_ERROR_DEVICE;
  throw DeviceError(code, std::string(what) + ": " + cudaGetErrorString(status) + " (" + cudaGetErrorName(status) + ")");
}

void check_cudnn(cudnnStatus_t status, const char* what) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  // cuDNN 9 keeps a thread-local explanation of its last failure, often naming the offending descriptor.
  char detail[256] = {};
  cudnnGetLastErrorString(detail, sizeof detail);
  // cuDNN 9 status codes come in families of a thousand: 3xxx is "not supported" for one reason or another.
  sk_status code = SK_ERROR_DEVICE;
  if (status == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED ||
      status == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED) {
    code = SK_ERROR_OUT_OF_MEMORY;
  } else if (status / 1000 == CUDNN_STATUS_NOT_SUPPORTED / 1000) {
    code = SK_ERROR_UNSUPPORTED;
  }
  std::string message = std::string(what) + ": " + cudnnGetErrorString(status);
  if (detail[0]) message += " (" + std::string(detail) + ")";
  throw DeviceError(code, message);
}

}  // namespace stridekit::cudnn
