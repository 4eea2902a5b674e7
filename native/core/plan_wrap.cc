#include "core/plan_wrap.h"

#include "core/async_work.h"
#include "core/request.h"

namespace stridekit {

Napi::Function PlanWrap::DefineClass(Napi::Env env) {
  return ObjectWrap<PlanWrap>::DefineClass(
      env, "NativePlan",
      {InstanceMethod<&PlanWrap::RunSync>("runSync"), InstanceMethod<&PlanWrap::Run>("run"),
       InstanceMethod<&PlanWrap::Dispose>("dispose"),
       InstanceAccessor<&PlanWrap::Backend>("backend")});
}

Napi::Object PlanWrap::New(Napi::Env env, const Napi::FunctionReference& constructor,
                           std::shared_ptr<NativePlan> plan) {
  Napi::Object object = constructor.New({});
  Unwrap(object)->plan_ = std::move(plan);
  return object;
}

PlanWrap::PlanWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PlanWrap>(info) {}

std::shared_ptr<NativePlan> PlanWrap::live_plan(Napi::Env env) const {
  if (!plan_) throw Napi::Error::New(env, "this plan has been disposed");
  return plan_;
}

Napi::Value PlanWrap::RunSync(const Napi::CallbackInfo& info) {
  std::shared_ptr<NativePlan> plan = live_plan(info.Env());
  const sk_conv_shape shape = read_shape(info[0], plan->geometry());
  const float* x = float32_data(info[1], "x", input_elements(plan->geometry(), shape));
  float* y = float32_data(info[2], "y", output_elements(plan->geometry(), shape));
  try {
    plan->run(shape, x, y);
  } catch (const BackendError& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
  return info.Env().Undefined();
}

Napi::Value PlanWrap::Run(const Napi::CallbackInfo& info) {
  std::shared_ptr<NativePlan> plan = live_plan(info.Env());
  const sk_conv_shape shape = read_shape(info[0], plan->geometry());
  const float* x = float32_data(info[1], "x", input_elements(plan->geometry(), shape));
  float* y = float32_data(info[2], "y", output_elements(plan->geometry(), shape));
  return PromiseWork::Start(info.Env(), "stridekit:plan.run",
                            [plan, shape, x, y] { plan->run(shape, x, y); }, {info[1], info[2]});
}

Napi::Value PlanWrap::Dispose(const Napi::CallbackInfo& info) {
  plan_.reset();  // in-flight runs hold their own reference and finish first
  return info.Env().Undefined();
}

Napi::Value PlanWrap::Backend(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), plan_ ? plan_->backend_name() : "");
}

}  // namespace stridekit
