// Owners of every CUDA and cuDNN object the plugin creates, so that no error path leaks one: device and
// pinned host memory, streams, cuDNN handles and descriptors. Each is move-only and releases in its
// destructor; release failures are ignored there (nothing useful can be done with them at that point).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "cudnn_errors.h"
#include "cudnn_lowering.h"

namespace stridekit::cudnn {

// Owns one handle-like value; Release(value) frees it. Only the "empty" value (nullptr) is never released.
template <typename T, void (*Release)(T)>
class Owned {
 public:
  Owned() = default;
  explicit Owned(T value) : value_(value) {}
  Owned(Owned&& other) noexcept : value_(std::exchange(other.value_, nullptr)) {}
  Owned& operator=(Owned&& other) noexcept {
    if (this != &other) {
      reset();
      value_ = std::exchange(other.value_, nullptr);
    }
    return *this;
  }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  ~Owned() { reset(); }

  T get() const { return value_; }
  void reset() {
    if (value_) Release(std::exchange(value_, nullptr));
  }

 private:
  T value_ = nullptr;
};

namespace release {
inline void device(void* p) { (void)cudaFree(p); }
inline void pinned(void* p) { (void)cudaFreeHost(p); }
inline void stream(cudaStream_t s) { (void)cudaStreamDestroy(s); }
inline void handle(cudnnHandle_t h) { (void)cudnnDestroy(h); }
inline void tensor(cudnnTensorDescriptor_t d) { (void)cudnnDestroyTensorDescriptor(d); }
inline void filter(cudnnFilterDescriptor_t d) { (void)cudnnDestroyFilterDescriptor(d); }
inline void convolution(cudnnConvolutionDescriptor_t d) { (void)cudnnDestroyConvolutionDescriptor(d); }
inline void activation(cudnnActivationDescriptor_t d) { (void)cudnnDestroyActivationDescriptor(d); }
}  // namespace release

using Stream = Owned<cudaStream_t, release::stream>;
using Handle = Owned<cudnnHandle_t, release::handle>;
using TensorDescriptor = Owned<cudnnTensorDescriptor_t, release::tensor>;
using FilterDescriptor = Owned<cudnnFilterDescriptor_t, release::filter>;
using ConvolutionDescriptor = Owned<cudnnConvolutionDescriptor_t, release::convolution>;
using ActivationDescriptor = Owned<cudnnActivationDescriptor_t, release::activation>;

// Device memory from cudaMalloc (never managed memory), grown on demand and never shrunk.
class DeviceMemory {
 public:
  void* get() const { return memory_.get(); }
  size_t size() const { return bytes_; }
  // Makes room for at least `bytes` (contents are not kept). Out of memory is SK_ERROR_OUT_OF_MEMORY,
  // and leaves this empty: the old buffer is freed first, so that it does not count against the new one.
  void reserve(size_t bytes, const char* what);
  // The same, but the old buffer is freed only once the new one is allocated: out of memory leaves the
  // buffer as it was. For the workspace, whose size cached shapes rely on.
  void grow_keeping(size_t bytes, const char* what);

 private:
  Owned<void*, release::device> memory_;
  size_t bytes_ = 0;
};

// Page-locked host memory (cudaHostAlloc) for the host <-> device copies of plan_run.
class PinnedMemory {
 public:
  void* get() const { return memory_.get(); }
  void reserve(size_t bytes, const char* what);

 private:
  Owned<void*, release::pinned> memory_;
  size_t bytes_ = 0;
};

Stream create_stream();
Handle create_handle(cudaStream_t stream);
// A tensor descriptor for a lowering view (dims and strides as they are, 4 or 5 of them).
TensorDescriptor create_tensor(const TensorView& view, cudnnDataType_t type);
FilterDescriptor create_filter(const int64_t* dims, int rank, cudnnDataType_t type);

}  // namespace stridekit::cudnn
