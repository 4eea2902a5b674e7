// The core addon's entry: one instance per JavaScript environment (main thread and each worker
// thread), sharing the process-wide backend registry.
//
//   backends(names)                                 -> [{ name, available, reason, device, kind, path }]
//   createPlan(backend, geometry, weight, bias)      -> NativePlan
//   convSync(backend, request, weight, bias, x, y)
//   conv(backend, request, weight, bias, x, out)     -> Promise<Float32Array | undefined>
//   createDeviceTensor(backend, elements)            -> NativeDeviceTensor (uninitialised)
//   abi (js_abi_export.h: the layout and version lib/loader.ts checks), numThreads
//
// request is the geometry array followed by the shape array (six arguments at most: node-addon-api
// allocates the argument list of a longer call on the heap). lib/native-abi.ts types this surface;
// lib/ never passes anything it has not validated.
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "core/async_io.h"
#include "core/async_work.h"
#include "core/backend_registry.h"
#include "core/device_tensor.h"
#include "core/js_abi.h"
#include "core/js_abi_export.h"
#include "core/js_error.h"
#include "core/native_plan.h"
#include "core/one_shot_cache.h"
#include "core/plan_wrap.h"
#include "core/request.h"

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

// Every call names its backend: the name is read into a buffer on the stack (one V8 call, no
// heap string) when it fits, as every backend name does (backend_registry.cc caps them at 64).
const BackendSlot& backend_or_throw(const Napi::Value& name) {
  char text[72];
  size_t length = 0;
  if (napi_get_value_string_utf8(name.Env(), name, text, sizeof(text), &length) != napi_ok) {
    throw Napi::TypeError::New(name.Env(), "backend must be a string");
  }
  return to_js_errors(name.Env(), [&]() -> const BackendSlot& {
    if (length + 1 < sizeof(text)) return usable_backend(std::string_view(text, length));
    return usable_backend(name.As<Napi::String>().Utf8Value());
  });
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

// A one-shot call's shape, from the request after the geometry.
sk_conv_shape read_one_shot_shape(const Napi::CallbackInfo& info, const double* request,
                                  const ConvCall& call) {
  return read_shape(info.Env(), request + js::geometry::kLength, call.geometry);
}

const double* read_request(const Napi::CallbackInfo& info) {
  return float64_data(info[1], "request", js::geometry::kLength + js::shape::kLength);
}

// The facade's backend names (lib/backends.ts: its one list, in ranking order).
std::vector<std::string> read_names(const Napi::Value& value) {
  const char* expected = "internal: backends() takes an array of backend names";
  if (!value.IsArray()) throw Napi::TypeError::New(value.Env(), expected);
  const Napi::Array array = value.As<Napi::Array>();
  std::vector<std::string> names;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    const Napi::Value name = array.Get(i);
    if (!name.IsString()) throw Napi::TypeError::New(value.Env(), expected);
    names.push_back(name.As<Napi::String>().Utf8Value());
  }
  return names;
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
        InstanceValue("abi", js::abi_table(env), napi_enumerable),
        InstanceAccessor<&Addon::NumThreads>("numThreads"),
    });
  }

 private:
  // backends(names): each named backend, found and probed on first mention, in the order given.
  Napi::Value Backends(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    const std::vector<std::string> names = read_names(info[0]);
    const auto slots = to_js_errors(env, [&] { return BackendRegistry::instance().list(names); });
    Napi::Array list = Napi::Array::New(env, slots.size());
    for (size_t i = 0; i < slots.size(); ++i) {
      Napi::Object entry = Napi::Object::New(env);
      entry.Set("name", slots[i]->name);
      entry.Set("available", slots[i]->available);
      entry.Set("reason", slots[i]->reason);
      entry.Set("device", slots[i]->device);
      entry.Set("kind", slots[i]->kind);
      entry.Set("precisions", Napi::Number::New(env, slots[i]->precisions));
      entry.Set("path", slots[i]->path);
      list.Set(static_cast<uint32_t>(i), entry);
    }
    return list;
  }

  // The CPU backend's pool size, as its probe reports it.
  Napi::Value NumThreads(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), BackendRegistry::instance().built_in_threads());
  }

  Napi::Value CreatePlan(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    ConvCall c = read_call(info, float64_data(info[1], "geometry", js::geometry::kLength));
    return PlanWrap::New(env, plan_constructor_, to_js_errors(env, [&] {
                           return make_plan(*c.backend, c.geometry, c.weight_layout, c.weight, c.bias);
                         }));
  }

  // convSync(backend, request, weight, bias, x, y), on the JavaScript thread, with the plan of the
  // previous call when it matches (OneShotCache).
  Napi::Value ConvSync(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    const double* request = read_request(info);
    const ConvCall c = read_call(info, request);
    const sk_conv_shape shape = read_one_shot_shape(info, request, c);
    const float* x = float32_data(info[4], "x", input_elements(c.geometry, shape));
    float* y = float32_data(info[5], "y", output_elements(c.geometry, shape));
    to_js_errors(env, [&] {
      one_shot_cache_.plan(*c.backend, c.geometry, c.weight_layout, c.weight, c.bias)->run(shape, x, y);
    });
    return env.Undefined();
  }

  // conv(backend, request, weight, bias, x, out | null), off the JavaScript thread
  // (core/async_work.h), on the core's copies of every buffer it reads (host_buffer.h says why).
  // The plan is the one-shot cache's when it matches (a comparison of at most 16 KiB, on this
  // thread); otherwise the job makes it from a copy of the weights, packing and a vendor backend's
  // model compilation included, and hands it to the cache when it settles, so a loop of conv()
  // calls with the same small weights makes one plan, as convSync does.
  Napi::Value Conv(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    const double* request = read_request(info);
    const ConvCall call = read_call(info, request);
    const sk_conv_shape shape = read_one_shot_shape(info, request, call);
    const int64_t x_elements = input_elements(call.geometry, shape);
    const float* x = float32_data(info[4], "x", x_elements);
    const auto io = to_js_errors(env, [&] {
      return AsyncRunIo::Start(x, x_elements, info[5], output_elements(call.geometry, shape));
    });
    std::shared_ptr<NativePlan> cached = one_shot_cache_.find(
        *call.backend, call.geometry, call.weight_layout, call.weight, call.bias);
    const auto deliver = [io](Napi::Env env, const std::vector<Napi::Value>& kept) {
      return io->Deliver(env, kept[0]);
    };
    if (cached) {
      return PromiseWork::Start(
          env, "stridekit:conv", [shape, io, cached] { cached->run(shape, io->x(), io->y()); },
          {info[5]}, deliver);
    }
    struct Made {
      const BackendSlot* backend;
      sk_conv_geometry geometry;
      int weight_layout;
      std::vector<float> weight, bias;  // the core's copies: what the plan is made from and keyed by
      std::shared_ptr<NativePlan> plan;
    };
    auto made = to_js_errors(env, [&] {
      const int64_t bias_count = call.geometry.has_bias ? call.geometry.out_channels : 0;
      return std::make_shared<Made>(Made{
          call.backend, call.geometry, call.weight_layout,
          std::vector<float>(call.weight, call.weight + weight_elements(call.geometry)),
          std::vector<float>(call.bias, call.bias + bias_count), nullptr});
    });
    return PromiseWork::Start(
        env, "stridekit:conv",
        [shape, io, made] {
          made->plan = make_plan(*made->backend, made->geometry, made->weight_layout,
                                 made->weight.data(), made->geometry.has_bias ? made->bias.data() : nullptr);
          made->plan->run(shape, io->x(), io->y());
        },
        {info[5]},
        [this, made, deliver](Napi::Env env, const std::vector<Napi::Value>& kept) {
          one_shot_cache_.keep(std::move(made->plan), *made->backend, made->geometry,
                               made->weight_layout, std::move(made->weight), std::move(made->bias));
          return deliver(env, kept);
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
