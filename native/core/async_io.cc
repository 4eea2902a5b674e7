#include "core/async_io.h"

#include <cstring>
#include <string>

#include "core/request.h"

namespace stridekit {

std::shared_ptr<AsyncRunIo> AsyncRunIo::Start(const float* x, int64_t x_elements,
                                              const Napi::Value& out, int64_t y_elements) {
  const bool into_out = !out.IsNull() && !out.IsUndefined();
  if (into_out) float32_data(out, "out", y_elements);  // checked now, and again on delivery
  return std::shared_ptr<AsyncRunIo>(
      new AsyncRunIo(HostBuffer::copy_of(x, x_elements), HostBuffer(y_elements), into_out));
}

Napi::Value AsyncRunIo::Deliver(Napi::Env env, const Napi::Value& out) {
  if (!into_out_) return y_.release_to_js(env);
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  const bool attached =
      out.IsTypedArray() &&
      napi_get_typedarray_info(env, out, &type, &length, &data, nullptr, nullptr) == napi_ok &&
      type == napi_float32_array && static_cast<int64_t>(length) == y_.elements();
  if (!attached) {
    throw Napi::Error::New(
        env, "out.data was detached, transferred or resized while the call ran (it has " +
                 std::to_string(length) + " elements, the result " + std::to_string(y_.elements()) +
                 "): the result was not written");
  }
  if (y_.elements() > 0) std::memcpy(data, y_.data(), y_.bytes());
  return Napi::Value();
}

}  // namespace stridekit
