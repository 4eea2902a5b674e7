// The core addon's entry: one instance per JavaScript environment (main thread and each worker
// thread), sharing the process-wide backend registry and CPU thread pool.
//
//   backends()                                          -> [{ name, available, reason, device, path }]
//   createPlan(backend, geometry, weight, bias)          -> NativePlan
//   convSync(backend, geometry, weight, bias, shape, x, y)
//   conv(backend, geometry, weight, bias, shape, x, y)   -> Promise<void>
//   abiVersion, numThreads
//
// lib/native-abi.ts types this surface; lib/ never passes anything it has not validated.
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "core/async_work.h"
#include "core/backend_registry.h"
#include "core/js_abi.h"
#include "core/native_plan.h"
#include "core/plan_wrap.h"
#include "core/request.h"
#include "core/thread_pool.h"
#include "core/weight_layout.h"

namespace stridekit {

namespace {

// Everything one convolution call carries, read on the JavaScript thread.
struct ConvCall {
  std::string backend;
  sk_conv_geometry geometry;
  std::shared_ptr<std::vector<float>> converted_weight;  // set when the caller's layout was TF's
  const float* weight = nullptr;                         // channels-first
  const float* bias = nullptr;
};

ConvCall read_call(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "backend must be a string");
  ConvCall call;
  call.backend = info[0].As<Napi::String>().Utf8Value();
  call.geometry = read_geometry(info[1]);
  const float* weight = float32_data(info[2], "weight", weight_elements(call.geometry));
  if (info[3].IsNull() || info[3].IsUndefined()) {
    call.geometry.has_bias = 0;
  } else {
    call.bias = float32_data(info[3], "bias", call.geometry.out_channels);
    call.geometry.has_bias = 1;
  }
  if (weight_layout_of(info[1]) == 1) {
    call.converted_weight = std::make_shared<std::vector<float>>(
        weights_to_channels_first(call.geometry, weight));
    call.weight = call.converted_weight->data();
  } else {
    call.weight = weight;
  }
  return call;
}

const BackendSlot& backend_or_throw(Napi::Env env, const std::string& name) {
  try {
    return usable_backend(name);
  } catch (const BackendError& e) {
    throw Napi::Error::New(env, e.what());
  }
}

}  // namespace

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports) {
    plan_constructor_ = Napi::Persistent(PlanWrap::DefineClass(env));
    DefineAddon(exports, {
        InstanceMethod<&Addon::Backends>("backends"),
        InstanceMethod<&Addon::CreatePlan>("createPlan"),
        InstanceMethod<&Addon::ConvSync>("convSync"),
        InstanceMethod<&Addon::Conv>("conv"),
        InstanceValue("abiVersion", Napi::Number::New(env, js::kFacadeAbiVersion), napi_enumerable),
        InstanceAccessor<&Addon::NumThreads>("numThreads"),
    });
  }

 private:
  Napi::Value Backends(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    const auto& slots = BackendRegistry::instance().slots();
    Napi::Array list = Napi::Array::New(env, slots.size());
    for (size_t i = 0; i < slots.size(); ++i) {
      Napi::Object entry = Napi::Object::New(env);
      entry.Set("name", slots[i].name);
      entry.Set("available", slots[i].available);
      entry.Set("reason", slots[i].reason);
      entry.Set("device", slots[i].device);
      entry.Set("path", slots[i].path);
      list.Set(static_cast<uint32_t>(i), entry);
    }
    return list;
  }

  Napi::Value NumThreads(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), ThreadPool::instance().size());
  }

  Napi::Value CreatePlan(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    ConvCall call = read_call(info);
    const BackendSlot& slot = backend_or_throw(env, call.backend);
    try {
      auto plan = std::make_shared<NativePlan>(slot, call.geometry, call.weight, call.bias);
      return PlanWrap::New(env, plan_constructor_, std::move(plan));
    } catch (const BackendError& e) {
      throw Napi::Error::New(env, e.what());
    }
  }

  Napi::Value ConvSync(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    ConvCall call = read_call(info);
    const sk_conv_shape shape = read_shape(info[4], call.geometry);
    const float* x = float32_data(info[5], "x", input_elements(call.geometry, shape));
    float* y = float32_data(info[6], "y", output_elements(call.geometry, shape));
    const BackendSlot& slot = backend_or_throw(env, call.backend);
    try {
      NativePlan plan(slot, call.geometry, call.weight, call.bias);
      plan.run(shape, x, y);
    } catch (const BackendError& e) {
      throw Napi::Error::New(env, e.what());
    }
    return env.Undefined();
  }

  Napi::Value Conv(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    ConvCall call = read_call(info);
    const sk_conv_shape shape = read_shape(info[4], call.geometry);
    const float* x = float32_data(info[5], "x", input_elements(call.geometry, shape));
    float* y = float32_data(info[6], "y", output_elements(call.geometry, shape));
    const BackendSlot* slot = &backend_or_throw(env, call.backend);
    return PromiseWork::Start(
        env, "stridekit:conv",
        [slot, call, shape, x, y] {
          NativePlan plan(*slot, call.geometry, call.weight, call.bias);
          plan.run(shape, x, y);
        },
        {info[2], info[3], info[5], info[6]});
  }

  Napi::FunctionReference plan_constructor_;
};

}  // namespace stridekit

using stridekit::Addon;
NODE_API_ADDON(Addon)
