// The JavaScript face of a NativePlan: runSync(shape, x, y), run(shape, x, y) -> Promise, dispose(),
// and the same on device-resident tensors: runDeviceSync(shape, x, y), runDevice(shape, x, y) ->
// Promise, x and y being NativeDeviceTensors of the plan's backend.
#pragma once

#include <napi.h>

#include <memory>

#include "core/native_plan.h"

namespace stridekit {

class PlanWrap : public Napi::ObjectWrap<PlanWrap> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  // Wraps a new plan in an instance of the class made by DefineClass for this environment.
  static Napi::Object New(Napi::Env env, const Napi::FunctionReference& constructor,
                          std::shared_ptr<NativePlan> plan);

  explicit PlanWrap(const Napi::CallbackInfo& info);
  ~PlanWrap() override;

 private:
  Napi::Value RunSync(const Napi::CallbackInfo& info);
  Napi::Value Run(const Napi::CallbackInfo& info);
  Napi::Value RunDeviceSync(const Napi::CallbackInfo& info);
  Napi::Value RunDevice(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Backend(const Napi::CallbackInfo& info);

  // The plan, or a JavaScript Error when it has been disposed. Valid for the call: only dispose()
  // drops plan_, and a run in flight holds its own reference.
  NativePlan& live_plan(Napi::Env env) const;

  // Drops this wrapper's reference (runs in flight keep theirs) and its external-memory share.
  void release();

  std::shared_ptr<NativePlan> plan_;
  // What AdjustExternalMemory was told the plan holds, given back once: a plan's memory is mostly
  // its weights, packed or copied by the backend, so V8 counts their size. Without it the garbage
  // collector sees a few bytes per plan and lets thousands of dropped plans pile up.
  int64_t accounted_bytes_ = 0;
};

}  // namespace stridekit
