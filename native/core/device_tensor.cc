#include "core/device_tensor.h"

#include <string>

#include "core/async_work.h"
#include "core/host_buffer.h"
#include "core/js_error.h"
#include "core/request.h"

namespace stridekit {

namespace {

// Marks the objects this class made, so storage_of never unwraps a foreign object.
constexpr napi_type_tag kDeviceTensorTag = {0x5d1c3a4e9b7f4c21ULL, 0xa8e26f0d13b94e57ULL};

}  // namespace

Napi::Function DeviceTensorWrap::DefineClass(Napi::Env env) {
  return ObjectWrap<DeviceTensorWrap>::DefineClass(
      env, "NativeDeviceTensor",
      {InstanceMethod<&DeviceTensorWrap::Write>("write"),
       InstanceMethod<&DeviceTensorWrap::Read>("read"),
       InstanceMethod<&DeviceTensorWrap::ReadAsync>("readAsync"),
       InstanceMethod<&DeviceTensorWrap::Dispose>("dispose"),
       InstanceAccessor<&DeviceTensorWrap::Backend>("backend"),
       InstanceAccessor<&DeviceTensorWrap::ByteLength>("byteLength"),
       InstanceAccessor<&DeviceTensorWrap::Disposed>("disposed")});
}

DeviceTensorWrap::DeviceTensorWrap(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<DeviceTensorWrap>(info) {
  info.This().As<Napi::Object>().TypeTag(&kDeviceTensorTag);
}

DeviceTensorWrap::~DeviceTensorWrap() { release(); }

Napi::Object DeviceTensorWrap::New(Napi::Env env, const Napi::FunctionReference& constructor,
                                   const BackendSlot& backend, int64_t elements) {
  std::shared_ptr<DeviceStorage> storage =
      to_js_errors(env, [&] { return DeviceStorage::allocate(backend, elements); });
  Napi::Object object = constructor.New({});
  DeviceTensorWrap* wrap = Unwrap(object);
  wrap->accounted_bytes_ = static_cast<int64_t>(storage->bytes());
  wrap->backend_name_ = backend.name;
  wrap->storage_ = std::move(storage);
  Napi::MemoryManagement::AdjustExternalMemory(env, wrap->accounted_bytes_);
  return object;
}

std::shared_ptr<DeviceStorage> DeviceTensorWrap::storage_of(const Napi::Value& value,
                                                            const char* what) {
  const Napi::Env env = value.Env();
  if (!value.IsObject() || !value.As<Napi::Object>().CheckTypeTag(&kDeviceTensorTag)) {
    throw Napi::TypeError::New(env, std::string(what) + " must be a NativeDeviceTensor");
  }
  const DeviceTensorWrap* wrap = Unwrap(value.As<Napi::Object>());
  if (!wrap->storage_) throw Napi::Error::New(env, std::string(what) + " has been disposed");
  return wrap->storage_;
}

DeviceStorage& DeviceTensorWrap::live(Napi::Env env) const {
  if (!storage_) throw Napi::Error::New(env, "this DeviceTensor has been disposed");
  return *storage_;
}

void DeviceTensorWrap::release() {
  if (!storage_) return;
  storage_.reset();
  try {
    Napi::MemoryManagement::AdjustExternalMemory(Env(), -accounted_bytes_);
  } catch (const Napi::Error&) {
    // The environment is being torn down: there is no heap left to account to.
  }
  accounted_bytes_ = 0;
}

Napi::Value DeviceTensorWrap::Write(const Napi::CallbackInfo& info) {
  DeviceStorage& storage = live(info.Env());
  const float* source = float32_data(info[0], "source", storage.elements());
  to_js_errors(info.Env(), [&] { storage.write(source); });
  return info.Env().Undefined();
}

Napi::Value DeviceTensorWrap::Read(const Napi::CallbackInfo& info) {
  const DeviceStorage& storage = live(info.Env());
  float* destination = float32_data(info[0], "destination", storage.elements());
  to_js_errors(info.Env(), [&] { storage.read(destination); });
  return info.Env().Undefined();
}

// Off the JavaScript thread: a device-to-host copy of a large tensor takes milliseconds. It lands in
// the core's memory, which becomes the resolved Float32Array (host_buffer.h).
Napi::Value DeviceTensorWrap::ReadAsync(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  live(env);
  std::shared_ptr<DeviceStorage> storage = storage_;
  auto copy = to_js_errors(env, [&] { return std::make_shared<HostBuffer>(storage->elements()); });
  return PromiseWork::Start(
      env, "stridekit:DeviceTensor.download", [storage, copy] { storage->read(copy->data()); }, {},
      [copy](Napi::Env env, const std::vector<Napi::Value>&) { return copy->release_to_js(env); });
}

Napi::Value DeviceTensorWrap::Dispose(const Napi::CallbackInfo& info) {
  release();  // runs in flight hold their own reference and free the memory when they finish
  return info.Env().Undefined();
}

Napi::Value DeviceTensorWrap::Backend(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), backend_name_);
}

Napi::Value DeviceTensorWrap::ByteLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), storage_ ? static_cast<double>(storage_->bytes()) : 0.0);
}

Napi::Value DeviceTensorWrap::Disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !storage_);
}

}  // namespace stridekit
