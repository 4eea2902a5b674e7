// The core addon's entry: one instance per JavaScript environment (main thread and each worker
// thread), sharing the process-wide backend registry and CPU thread pool.
//
//   backends()                                      -> [{ name, available, reason, device, path }]
//   createPlan(backend, geometry, weight, bias)      -> NativePlan
//   convSync(backend, request, weight, bias, x, y)
//   conv(backend, request, weight, bias, x, y)       -> Promise<void>
//   createDeviceTensor(backend, elements)            -> NativeDeviceTensor (uninitialised)
//   abiVersion, numThreads
//
// request is the geometry array followed by the shape array (six arguments at most: node-addon-api
// allocates the argument list of a longer call on the heap). lib/native-abi.ts types this surface;
// lib/ never passes anything it has not validated.
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "core/async_work.h"
#include "core/backend_registry.h"
#include "core/device_tensor.h"
#include "core/js_abi.h"
#include "core/native_plan.h"
#include "core/one_shot_cache.h"
#include "core/plan_wrap.h"
#include "core/request.h"
#include "core/thread_pool.h"

namespace stridekit {

namespace {

// Everything one convolution call carries, read on the JavaScript thread.
struct ConvCall {
  const BackendSlot* backend = nullptr;
  sk_conv_geometry geometry;
  int weight_layout = 0;  // of `weight`: 0 channels-first, 1 TensorFlow's (make_plan converts it)
  const float* weight = nullptr;
  const float* bias = nullptr;
};

const BackendSlot& backend_or_throw(const Napi::Value& name) {
  if (!name.IsString()) throw Napi::TypeError::New(name.Env(), "backend must be a string");
  try {
    return usable_backend(name.As<Napi::String>().Utf8Value());
  } catch (const BackendError& e) {
    throw Napi::Error::New(name.Env(), e.what());
  }
}

// backend, geometry (the first js::geometry::kLength entries of `geometry`), weight, bias.
ConvCall read_call(const Napi::CallbackInfo& info, const double* geometry) {
  ConvCall call;
  call.geometry = read_geometry(info.Env(), geometry, &call.weight_layout);
  call.weight = float32_data(info[2], "weight", weight_elements(call.geometry));
  if (info[3].IsNull() || info[3].IsUndefined()) {
    call.geometry.has_bias = 0;
  } else {
    call.bias = float32_data(info[3], "bias", call.geometry.out_channels);
    call.geometry.has_bias = 1;
  }
  call.backend = &backend_or_throw(info[0]);
  return call;
}

// A one-shot call: (backend, request, weight, bias, x, y).
struct OneShot {
  ConvCall call;
  sk_conv_shape shape;
  const float* x;
  float* y;
};

OneShot read_one_shot(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const double* request =
      float64_data(info[1], "request", js::geometry::kLength + js::shape::kLength);
  OneShot o{read_call(info, request), {}, nullptr, nullptr};
  o.shape = read_shape(env, request + js::geometry::kLength, o.call.geometry);
  o.x = float32_data(info[4], "x", input_elements(o.call.geometry, o.shape));
  o.y = float32_data(info[5], "y", output_elements(o.call.geometry, o.shape));
  return o;
}

// On the JavaScript thread, with the plan of the previous call when it matches (OneShotCache).
void run_one_shot(const Napi::Env& env, OneShotCache& cache, const OneShot& o) {
  const ConvCall& c = o.call;
  try {
    cache.plan(*c.backend, c.geometry, c.weight_layout, c.weight, c.bias)->run(o.shape, o.x, o.y);
  } catch (const BackendError& e) {
    throw Napi::Error::New(env, e.what());
  }
}

}  // namespace

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports) {
    plan_constructor_ = Napi::Persistent(PlanWrap::DefineClass(env));
    device_tensor_constructor_ = Napi::Persistent(DeviceTensorWrap::DefineClass(env));
    DefineAddon(exports, {
        InstanceMethod<&Addon::Backends>("backends"),
        InstanceMethod<&Addon::CreatePlan>("createPlan"),
        InstanceMethod<&Addon::ConvSync>("convSync"),
        InstanceMethod<&Addon::Conv>("conv"),
        InstanceMethod<&Addon::CreateDeviceTensor>("createDeviceTensor"),
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
    ConvCall c = read_call(info, float64_data(info[1], "geometry", js::geometry::kLength));
    try {
      return PlanWrap::New(env, plan_constructor_,
                           make_plan(*c.backend, c.geometry, c.weight_layout, c.weight, c.bias));
    } catch (const BackendError& e) {
      throw Napi::Error::New(env, e.what());
    }
  }

  Napi::Value ConvSync(const Napi::CallbackInfo& info) {
    run_one_shot(info.Env(), one_shot_cache_, read_one_shot(info));
    return info.Env().Undefined();
  }

  // Off the JavaScript thread (core/async_work.h). The plan is the one-shot cache's when it
  // matches (a comparison of at most 16 KiB, on this thread); otherwise the job makes it, weight
  // packing and a vendor backend's model compilation included, and hands it to the cache when it
  // settles, so a loop of conv() calls with the same small weights makes one plan, as convSync does.
  Napi::Value Conv(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    const OneShot o = read_one_shot(info);
    const ConvCall& c = o.call;
    std::shared_ptr<NativePlan> cached =
        one_shot_cache_.find(*c.backend, c.geometry, c.weight_layout, c.weight, c.bias);
    if (cached) {
      return PromiseWork::Start(
          env, "stridekit:conv", [o, cached] { cached->run(o.shape, o.x, o.y); },
          {info[2], info[3], info[4], info[5]});
    }
    struct Made {
      std::shared_ptr<NativePlan> plan;
      std::vector<float> weight, bias;  // what the plan was made from, for the cache's comparison
    };
    auto made = std::make_shared<Made>();
    return PromiseWork::Start(
        env, "stridekit:conv",
        [o, made] {
          const ConvCall& c = o.call;
          made->plan = make_plan(*c.backend, c.geometry, c.weight_layout, c.weight, c.bias);
          if (OneShotCache::keeps(c.geometry)) {
            made->weight.assign(c.weight, c.weight + weight_elements(c.geometry));
            made->bias.assign(c.bias, c.bias + (c.geometry.has_bias ? c.geometry.out_channels : 0));
          }
          made->plan->run(o.shape, o.x, o.y);
        },
        {info[2], info[3], info[4], info[5]},
        [this, o, made] {
          if (!made->plan || !OneShotCache::keeps(o.call.geometry)) return;
          one_shot_cache_.keep(std::move(made->plan), *o.call.backend, o.call.geometry,
                               o.call.weight_layout, std::move(made->weight), std::move(made->bias));
        });
  }

  Napi::Value CreateDeviceTensor(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    const BackendSlot& backend = backend_or_throw(info[0]);
    const double elements = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0;
    if (!(elements >= 1 && elements <= kMaxTensorElements) || elements != static_cast<int64_t>(elements)) {
      throw Napi::RangeError::New(env, "internal: elements must be an integer in [1, 2**32 - 1]");
    }
    return DeviceTensorWrap::New(env, device_tensor_constructor_, backend,
                                 static_cast<int64_t>(elements));
  }

  // lib/tensor.ts MAX_ELEMENTS: the most elements any tensor may have.
  static constexpr double kMaxTensorElements = 4294967295.0;

  Napi::FunctionReference plan_constructor_;
  Napi::FunctionReference device_tensor_constructor_;
  OneShotCache one_shot_cache_;
};

}  // namespace stridekit

using stridekit::Addon;
NODE_API_ADDON(Addon)
