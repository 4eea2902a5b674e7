// Host memory the core owns for one asynchronous call. A worker thread never reads or writes an
// ArrayBuffer of JavaScript's: while the work runs, the caller may legally transfer one
// (postMessage, structuredClone), detach it or shrink a resizable one, and V8 then frees or
// decommits the memory under the worker. So an asynchronous call copies its input into a
// HostBuffer before it returns, computes into another, and hands that one to JavaScript, or copies
// it into the caller's `out`, on the JavaScript thread when it settles (see conv_io.h).
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace stridekit {

class HostBuffer {
 public:
  // Uninitialised room for `elements` floats, 64-byte aligned. Throws std::bad_alloc.
  explicit HostBuffer(int64_t elements);
  // A copy of `elements` floats at `source`. Throws std::bad_alloc.
  static HostBuffer copy_of(const float* source, int64_t elements);

  float* data() const { return data_.get(); }
  int64_t elements() const { return elements_; }
  size_t bytes() const { return static_cast<size_t>(elements_) * sizeof(float); }

  // A Float32Array that takes this memory over without a copy (an external ArrayBuffer, freed when
  // the garbage collector collects it), or, where the runtime forbids external buffers (Electron's
  // V8 sandbox), a copy of it. On the JavaScript thread; the buffer is empty afterwards.
  Napi::Float32Array release_to_js(Napi::Env env);

 private:
  struct Free {
    void operator()(float* p) const;
  };
  std::unique_ptr<float, Free> data_;
  int64_t elements_ = 0;
};

}  // namespace stridekit
