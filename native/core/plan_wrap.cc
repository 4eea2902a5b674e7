#include "core/plan_wrap.h"

#include "core/async_io.h"
#include "core/async_work.h"
#include "core/device_tensor.h"
#include "core/js_abi.h"
#include "core/js_error.h"
#include "core/request.h"

namespace stridekit {

Napi::Function PlanWrap::DefineClass(Napi::Env env) {
  return ObjectWrap<PlanWrap>::DefineClass(
      env, "NativePlan",
      {InstanceMethod<&PlanWrap::RunSync>("runSync"), InstanceMethod<&PlanWrap::Run>("run"),
       InstanceMethod<&PlanWrap::RunDeviceSync>("runDeviceSync"),
       InstanceMethod<&PlanWrap::RunDevice>("runDevice"),
       InstanceMethod<&PlanWrap::Dispose>("dispose"),
       InstanceAccessor<&PlanWrap::Backend>("backend")});
}

Napi::Object PlanWrap::New(Napi::Env env, const Napi::FunctionReference& constructor,
                           std::shared_ptr<NativePlan> plan) {
  Napi::Object object = constructor.New({});
  PlanWrap* wrap = Unwrap(object);
  const sk_conv_geometry& g = plan->geometry();
  wrap->accounted_bytes_ =
      (weight_elements(g) + (g.has_bias ? g.out_channels : 0)) * static_cast<int64_t>(sizeof(float));
  wrap->plan_ = std::move(plan);
  Napi::MemoryManagement::AdjustExternalMemory(env, wrap->accounted_bytes_);
  return object;
}

PlanWrap::PlanWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PlanWrap>(info) {}

PlanWrap::~PlanWrap() { release(); }

void PlanWrap::release() {
  plan_.reset();  // in-flight runs hold their own reference and finish first
  if (accounted_bytes_ == 0) return;
  try {
    Napi::MemoryManagement::AdjustExternalMemory(Env(), -accounted_bytes_);
  } catch (const Napi::Error&) {
    // The environment is being torn down: there is no heap left to account to.
  }
  accounted_bytes_ = 0;
}

NativePlan& PlanWrap::live_plan(Napi::Env env) const {
  if (!plan_) throw Napi::Error::New(env, "this plan has been disposed");
  return *plan_;
}

namespace {

// (shape, x, y) of a run, checked against the plan's geometry.
struct RunArgs {
  sk_conv_shape shape;
  const float* x;
  float* y;
};

RunArgs read_run(const Napi::CallbackInfo& info, const NativePlan& plan) {
  const Napi::Env env = info.Env();
  const sk_conv_geometry& g = plan.geometry();
  RunArgs r{read_shape(env, float64_data(info[0], "shape", js::shape::kLength), g), nullptr, nullptr};
  r.x = float32_data(info[1], "x", input_elements(g, r.shape));
  r.y = float32_data(info[2], "y", output_elements(g, r.shape));
  return r;
}

// (shape, x, y) of a run on device-resident tensors, checked against the plan.
struct DeviceRunArgs {
  sk_conv_shape shape;
  std::shared_ptr<DeviceStorage> x;
  std::shared_ptr<DeviceStorage> y;
};

DeviceRunArgs read_device_run(const Napi::CallbackInfo& info, const NativePlan& plan) {
  const Napi::Env env = info.Env();
  const sk_conv_geometry& g = plan.geometry();
  DeviceRunArgs r{read_shape(env, float64_data(info[0], "shape", js::shape::kLength), g),
                  DeviceTensorWrap::storage_of(info[1], "x"),
                  DeviceTensorWrap::storage_of(info[2], "y")};
  for (const auto& [what, storage] : {std::pair{"x", r.x.get()}, std::pair{"y", r.y.get()}}) {
    if (storage->table() != plan.table()) {
      throw Napi::TypeError::New(env, std::string(what) + " is a DeviceTensor of " +
                                          storage->backend_name() + ", the plan runs on " +
                                          plan.backend_name());
    }
  }
  if (r.x == r.y) throw Napi::RangeError::New(env, "internal: x and y are the same DeviceTensor");
  if (r.x->elements() != input_elements(g, r.shape) ||
      r.y->elements() != output_elements(g, r.shape)) {
    throw Napi::RangeError::New(env, "internal: DeviceTensor sizes do not match the shape");
  }
  return r;
}

}  // namespace

Napi::Value PlanWrap::RunDeviceSync(const Napi::CallbackInfo& info) {
  NativePlan& plan = live_plan(info.Env());
  const DeviceRunArgs r = read_device_run(info, plan);
  to_js_errors(info.Env(), [&] { plan.run_device(r.shape, *r.x, *r.y); });
  return info.Env().Undefined();
}

// The work holds the plan and both storages: dispose() of any of them meanwhile frees nothing
// until the run has finished.
Napi::Value PlanWrap::RunDevice(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const DeviceRunArgs r = read_device_run(info, live_plan(env));
  std::shared_ptr<NativePlan> shared = plan_;
  return PromiseWork::Start(env, "stridekit:plan.runDevice",
                            [shared, r] { shared->run_device(r.shape, *r.x, *r.y); }, {});
}

Napi::Value PlanWrap::RunSync(const Napi::CallbackInfo& info) {
  NativePlan& plan = live_plan(info.Env());
  const RunArgs r = read_run(info, plan);
  to_js_errors(info.Env(), [&] { plan.run(r.shape, r.x, r.y); });
  return info.Env().Undefined();
}

// run(shape, x, out | null): x is copied before this returns and the result computed into the
// core's memory (host_buffer.h), then copied into out, or resolved as a new Float32Array.
Napi::Value PlanWrap::Run(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  NativePlan& plan = live_plan(env);
  const sk_conv_geometry& g = plan.geometry();
  const sk_conv_shape shape = read_shape(env, float64_data(info[0], "shape", js::shape::kLength), g);
  const int64_t x_elements = input_elements(g, shape);
  const float* x = float32_data(info[1], "x", x_elements);
  const auto io = to_js_errors(
      env, [&] { return AsyncRunIo::Start(x, x_elements, info[2], output_elements(g, shape)); });
  std::shared_ptr<NativePlan> shared = plan_;
  return PromiseWork::Start(
      env, "stridekit:plan.run", [shared, shape, io] { shared->run(shape, io->x(), io->y()); },
      {info[2]}, [io](Napi::Env env, const std::vector<Napi::Value>& kept) {
        return io->Deliver(env, kept[0]);
      });
}

Napi::Value PlanWrap::Dispose(const Napi::CallbackInfo& info) {
  release();
  return info.Env().Undefined();
}

Napi::Value PlanWrap::Backend(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), plan_ ? plan_->backend_name() : "");
}

}  // namespace stridekit
