#include "core/host_buffer.h"

#include <cstring>
#include <new>

namespace stridekit {

namespace {

// A cache line: the kernels' vector loads of the input never straddle one at its start.
constexpr std::align_val_t kAlignment{64};

float* allocate(int64_t elements) {
  const size_t bytes = static_cast<size_t>(elements > 0 ? elements : 1) * sizeof(float);
  return static_cast<float*>(::operator new(bytes, kAlignment));
}

void free_external(napi_env, void* data, void*) { ::operator delete(data, kAlignment); }

}  // namespace

void HostBuffer::Free::operator()(float* p) const { ::operator delete(p, kAlignment); }

HostBuffer::HostBuffer(int64_t elements) : data_(allocate(elements)), elements_(elements) {}

HostBuffer HostBuffer::copy_of(const float* source, int64_t elements) {
  HostBuffer buffer(elements);
  if (elements > 0) std::memcpy(buffer.data(), source, buffer.bytes());
  return buffer;
}

Napi::Float32Array HostBuffer::release_to_js(Napi::Env env) {
  const size_t bytes = this->bytes();
  const size_t length = static_cast<size_t>(elements_);
  napi_value external = nullptr;
  if (napi_create_external_arraybuffer(env, data_.get(), bytes, free_external, nullptr, &external) ==
      napi_ok) {
    data_.release();  // V8 owns it now and frees it through free_external
    elements_ = 0;
    return Napi::Float32Array::New(env, length, Napi::ArrayBuffer(env, external), 0);
  }
  // External buffers are not allowed here (or failed): a copy into one V8 allocates. A refusal
  // leaves no exception pending, but a failure might.
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
  }
  Napi::ArrayBuffer copy = Napi::ArrayBuffer::New(env, bytes);
  std::memcpy(copy.Data(), data_.get(), bytes);
  data_.reset();
  elements_ = 0;
  return Napi::Float32Array::New(env, length, copy, 0);
}

}  // namespace stridekit
