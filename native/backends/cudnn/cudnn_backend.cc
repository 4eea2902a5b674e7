// The cudnn backend's table: probe, plans, and the five device-buffer entries. Every call is an exception
// barrier: nothing thrown in the plugin may cross the C ABI, and every failure becomes a status and a
// message "cudnn: <what> failed: <why>".
#include <cstdio>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include "cudnn_errors.h"
#include "cudnn_plan.h"
#include "cudnn_runtime.h"
#include "stridekit/backend.h"
#include "stridekit/backend_guard.h"

namespace stridekit::cudnn {
namespace {

constexpr char kName[] = "cudnn";

bool g_available = false;  // set by probe; nothing touches CUDA before a successful one

void require_device() {
  if (!g_available) throw std::invalid_argument("the cudnn backend is not available (probe found no usable device)");
}

void probe(sk_probe_result* result) {
  std::string device, reason;
  g_available = open_device(&device, &reason);
  result->available = g_available ? 1 : 0;
  copy_text(result->reason, sizeof(result->reason), g_available ? std::string() : reason);
  copy_text(result->device, sizeof(result->device), device);
  result->device_kind = SK_DEVICE_KIND_GPU;
  // fp16 always runs on half tensors; tf32 products exist from compute 8.0 (Ampere) on, before which
  // cuDNN's default math is single precision. bf16 is not asked of cuDNN: it runs as fp32.
  result->precisions = (1u << SK_PRECISION_FP32) | (1u << SK_PRECISION_FP16) |
                       (g_available && stridekit::cudnn::device().major >= 8 ? 1u << SK_PRECISION_TF32 : 0u);
}

sk_status plan_create(const sk_conv_geometry* geometry, const float* weight, const float* bias, sk_plan** plan,
                      sk_error* error) {
  return guarded(kName, "plan creation", error, [&] {
    if (!geometry || !weight || !plan) throw std::invalid_argument("null geometry, weight or plan");
    require_device();
    *plan = create_plan(*geometry, weight, bias);
  });
}

sk_status plan_run(sk_plan* plan, const sk_conv_shape* shape, const float* x, float* y, sk_error* error) {
  return guarded(kName, "run", error, [&] {
    if (!plan || !shape || !x || !y) throw std::invalid_argument("null plan, shape or buffer");
    run_plan(*plan, *shape, x, y);
  });
}

void plan_destroy(sk_plan* plan) { destroy_plan(plan); }

sk_status buffer_create(size_t bytes, sk_buffer** buffer, sk_error* error) {
  return guarded(kName, "buffer creation", error, [&] {
    if (!buffer) throw std::invalid_argument("null buffer");
    require_device();
    use_device();
    auto owned = std::make_unique<sk_buffer>();
    owned->memory.reserve(bytes, "a device tensor");
    owned->bytes = bytes;
    *buffer = owned.release();
  });
}

sk_status buffer_write(sk_buffer* buffer, const void* source, size_t bytes, sk_error* error) {
  return guarded(kName, "buffer write", error, [&] {
    if (!buffer || (!source && bytes)) throw std::invalid_argument("null buffer or source");
    if (bytes != buffer->bytes) {
      throw std::invalid_argument("writing " + std::to_string(bytes) + " bytes into a buffer of " +
                                  std::to_string(buffer->bytes));
    }
    if (!bytes) return;
    use_device();
    check_cuda(cudaMemcpy(buffer->memory.get(), source, bytes, cudaMemcpyHostToDevice), "cudaMemcpy (write)");
    // From pageable memory cudaMemcpy may return before the device has the data; plans run on their own
    // non-blocking streams, so wait here for the copy to land.
    check_cuda(cudaStreamSynchronize(cudaStreamLegacy), "cudaStreamSynchronize (write)");
  });
}

sk_status buffer_read(const sk_buffer* buffer, void* destination, size_t bytes, sk_error* error) {
  return guarded(kName, "buffer read", error, [&] {
    if (!buffer || (!destination && bytes)) throw std::invalid_argument("null buffer or destination");
    if (bytes != buffer->bytes) {
      throw std::invalid_argument("reading " + std::to_string(bytes) + " bytes from a buffer of " +
                                  std::to_string(buffer->bytes));
    }
    if (!bytes) return;
    use_device();
    // Device to host, cudaMemcpy returns once the copy is complete.
    check_cuda(cudaMemcpy(destination, buffer->memory.get(), bytes, cudaMemcpyDeviceToHost), "cudaMemcpy (read)");
  });
}

void buffer_destroy(sk_buffer* buffer) {
  if (buffer && g_available) (void)cudaSetDevice(device().ordinal);
  delete buffer;
}

sk_status plan_run_device(sk_plan* plan, const sk_conv_shape* shape, const sk_buffer* x, sk_buffer* y,
                          sk_error* error) {
  return guarded(kName, "run", error, [&] {
    if (!plan || !shape || !x || !y) throw std::invalid_argument("null plan, shape or buffer");
    run_plan_on_device(*plan, *shape, *x, *y);
  });
}

const sk_backend kCudnnBackend = {
    SK_BACKEND_ABI_VERSION, sizeof(sk_backend), "cudnn", probe, plan_create, plan_run, plan_destroy,
    buffer_create, buffer_write, buffer_read, buffer_destroy, plan_run_device,
};

}  // namespace
}  // namespace stridekit::cudnn

SK_DEFINE_BACKEND_ENTRY(stridekit::cudnn::kCudnnBackend)
