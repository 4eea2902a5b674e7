// Failures of the CUDA runtime and of cuDNN as exceptions that carry the ABI status they become: running
// out of device or pinned memory is SK_ERROR_OUT_OF_MEMORY, a convolution cuDNN has no algorithm for is
// SK_ERROR_UNSUPPORTED, anything else SK_ERROR_DEVICE. cudnn_backend.cc turns them into sk_error texts.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "stridekit/backend.h"
#include "stridekit/backend_guard.h"

namespace stridekit::cudnn {

// A CUDA or cuDNN failure with the status it becomes at the ABI (backend_guard.h reports it).
class DeviceError : public StatusError {
 public:
  using StatusError::StatusError;
};

// "1.5 GiB", "640 KiB": sizes in messages.
std::string format_bytes(size_t bytes);

// Throws DeviceError naming `what` (the call) when status is not success.
void check_cuda(cudaError_t status, const char* what);
void check_cudnn(cudnnStatus_t status, const char* what);

}  // namespace stridekit::cudnn
