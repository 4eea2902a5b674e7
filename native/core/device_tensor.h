// The JavaScript face of a DeviceStorage (the facade's DeviceTensor wraps it):
//   write(source: Float32Array), read(destination: Float32Array), readAsync(destination) -> Promise,
//   dispose(), backend, byteLength, disposed.
// It registers the tensor's size with V8 (AdjustExternalMemory), so that device tensors nobody
// references put pressure on the garbage collector and are freed by their finalizer.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>

#include "core/backend_registry.h"
#include "core/device_storage.h"

namespace stridekit {

class DeviceTensorWrap : public Napi::ObjectWrap<DeviceTensorWrap> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  // A new tensor of `elements` uninitialised floats on `backend`, wrapped in an instance of the
  // class made by DefineClass for this environment. Throws a JavaScript Error (code
  // ERR_STRIDEKIT_OUT_OF_MEMORY when there is no room).
  static Napi::Object New(Napi::Env env, const Napi::FunctionReference& constructor,
                          const BackendSlot& backend, int64_t elements);

  // The live storage behind `value` (an instance of this class), or a JavaScript TypeError naming
  // `what` when it is something else, an Error when it has been disposed.
  static std::shared_ptr<DeviceStorage> storage_of(const Napi::Value& value, const char* what);

  explicit DeviceTensorWrap(const Napi::CallbackInfo& info);
  ~DeviceTensorWrap() override;

 private:
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value ReadAsync(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Backend(const Napi::CallbackInfo& info);
  Napi::Value ByteLength(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);

  DeviceStorage& live(Napi::Env env) const;
  // Drops this wrapper's reference (runs in flight keep theirs) and its external-memory share.
  void release();

  std::shared_ptr<DeviceStorage> storage_;
  int64_t accounted_bytes_ = 0;  // what AdjustExternalMemory was told, given back once
  std::string backend_name_;     // kept after dispose, for messages and the accessor
};

}  // namespace stridekit
