// The input and output of one asynchronous run (conv(), convTranspose(), plan.run()), in memory the
// core owns (host_buffer.h says why): the input copied before the call returns, the output computed
// into a buffer of the core's and delivered on the JavaScript thread when the call settles.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>

#include "core/host_buffer.h"

namespace stridekit {

class AsyncRunIo {
 public:
  // Copies x (x_elements floats, already checked) and makes room for the output. `out` is the
  // caller's output Float32Array of y_elements floats, or null/undefined for a new one. Throws
  // std::bad_alloc (to_js_errors makes it an ERR_STRIDEKIT_OUT_OF_MEMORY Error).
  static std::shared_ptr<AsyncRunIo> Start(const float* x, int64_t x_elements, const Napi::Value& out,
                                           int64_t y_elements);

  const float* x() const { return x_.data(); }
  float* y() const { return y_.data(); }

  // On the JavaScript thread, once the run succeeded, with `out` as Start was given it: copies the
  // result into out and returns undefined, or returns the result as a new Float32Array. Throws an
  // Error when out no longer has room for it (detached, transferred or resized meanwhile).
  Napi::Value Deliver(Napi::Env env, const Napi::Value& out);

 private:
  AsyncRunIo(HostBuffer x, HostBuffer y, bool into_out)
      : x_(std::move(x)), y_(std::move(y)), into_out_(into_out) {}

  HostBuffer x_, y_;
  bool into_out_;
};

}  // namespace stridekit
