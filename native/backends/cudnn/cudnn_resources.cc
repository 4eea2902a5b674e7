// Creation of the owned CUDA and cuDNN objects, each call checked.
#include "cudnn_resources.h"

#include <string>

namespace stridekit::cudnn {

namespace {

// cudaMalloc, with out of memory as SK_ERROR_OUT_OF_MEMORY naming what needed it.
void* allocate_device(size_t bytes, const char* what) {
  void* p = nullptr;
  const cudaError_t status = cudaMalloc(&p, bytes);
  if (status == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    size_t free_bytes = 0, total_bytes = 0;
    (void)cudaMemGetInfo(&free_bytes, &total_bytes);
    throw DeviceError(SK_ERROR_OUT_OF_MEMORY, std::string("out of GPU memory: ") + what + " needs " + format_bytes(bytes) +
                                                  ", " + format_bytes(free_bytes) + " of " + format_bytes(total_bytes) +
                                                  " free");
  }
  check_cuda(status, "cudaMalloc");
  return p;
}

}  // namespace

void DeviceMemory::reserve(size_t bytes, const char* what) {
  if (bytes <= bytes_) return;
  memory_.reset();
  bytes_ = 0;
  memory_ = Owned<void*, release::device>(allocate_device(bytes, what));
  bytes_ = bytes;
}

void DeviceMemory::grow_keeping(size_t bytes, const char* what) {
  if (bytes <= bytes_) return;
  Owned<void*, release::device> grown(allocate_device(bytes, what));
  memory_ = std::move(grown);  // frees the old buffer only now
  bytes_ = bytes;
}

void PinnedMemory::reserve(size_t bytes, const char* what) {
  if (bytes <= bytes_) return;
  memory_.reset();
  bytes_ = 0;
  void* p = nullptr;
  const cudaError_t status = cudaHostAlloc(&p, bytes, cudaHostAllocDefault);
  if (status == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    throw DeviceError(SK_ERROR_OUT_OF_MEMORY,
                      std::string("out of page-locked host memory: ") + what + " needs " + format_bytes(bytes));
  }
  check_cuda(status, "cudaHostAlloc");
  memory_ = Owned<void*, release::pinned>(p);
  bytes_ = bytes;
}

Stream create_stream() {
  cudaStream_t stream = nullptr;
  // Non-blocking: a plan's work never waits for (or on) the legacy default stream of other code.
  check_cuda(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  return Stream(stream);
}

Handle create_handle(cudaStream_t stream) {
  cudnnHandle_t handle = nullptr;
  // The first handle is where a cuDNN that cannot run on this device says so (the probe does not create
  // one: it would create the device's context).
  const cudnnStatus_t status = cudnnCreate(&handle);
  if (status != CUDNN_STATUS_SUCCESS) {
    char detail[256] = {};
    cudnnGetLastErrorString(detail, sizeof detail);
    throw DeviceError(SK_ERROR_DEVICE, std::string("cuDNN cannot start on this device: cudnnCreate: ") +
                                           cudnnGetErrorString(status) + (detail[0] ? std::string(" (") + detail + ")" : std::string()));
  }
  Handle owned(handle);
  check_cudnn(cudnnSetStream(handle, stream), "cudnnSetStream");
  return owned;
}

TensorDescriptor create_tensor(const TensorView& view, cudnnDataType_t type) {
  cudnnTensorDescriptor_t desc = nullptr;
  check_cudnn(cudnnCreateTensorDescriptor(&desc), "cudnnCreateTensorDescriptor");
  TensorDescriptor owned(desc);
  int dims[kMaxTensorRank], strides[kMaxTensorRank];
  for (int i = 0; i < view.rank; ++i) {  // cudnn_lowering.cc checked that they fit in int
    dims[i] = static_cast<int>(view.dims[i]);
    strides[i] = static_cast<int>(view.strides[i]);
  }
  check_cudnn(cudnnSetTensorNdDescriptor(desc, type, view.rank, dims, strides), "cudnnSetTensorNdDescriptor");
  return owned;
}

FilterDescriptor create_filter(const int64_t* dims, int rank, cudnnDataType_t type) {
  cudnnFilterDescriptor_t desc = nullptr;
  check_cudnn(cudnnCreateFilterDescriptor(&desc), "cudnnCreateFilterDescriptor");
  FilterDescriptor owned(desc);
  int int_dims[kMaxTensorRank];
  for (int i = 0; i < rank; ++i) int_dims[i] = static_cast<int>(dims[i]);
  check_cudnn(cudnnSetFilterNdDescriptor(desc, type, CUDNN_TENSOR_NCHW, rank, int_dims), "cudnnSetFilterNdDescriptor");
  return owned;
}

}  // namespace stridekit::cudnn
