#include "core/async_work.h"

#include <exception>
#include <new>

namespace stridekit {

PromiseWork::PromiseWork(Napi::Env env, const char* name, std::function<void()> work)
    : Napi::AsyncWorker(env, name), work_(std::move(work)), deferred_(Napi::Promise::Deferred::New(env)) {}

Napi::Promise PromiseWork::Start(Napi::Env env, const char* name, std::function<void()> work,
                                 const std::vector<Napi::Value>& keep_alive) {
  auto* job = new PromiseWork(env, name, std::move(work));
  for (const Napi::Value& value : keep_alive) {
    if (!value.IsNull() && !value.IsUndefined()) job->keep_alive_.push_back(Napi::Persistent(value));
  }
  Napi::Promise promise = job->deferred_.Promise();
  job->Queue();
  return promise;
}

void PromiseWork::Execute() {
  try {
    work_();
  } catch (const std::bad_alloc&) {
    error_ = "out of memory";
  } catch (const std::exception& e) {
    error_ = e.what();
    if (error_.empty()) error_ = "native failure";
  }
}

void PromiseWork::OnWorkComplete(Napi::Env env, napi_status status) {
  if (status != napi_cancelled) {
    try {
      Napi::HandleScope scope(env);
      if (error_.empty()) {
        deferred_.Resolve(env.Undefined());
      } else {
        deferred_.Reject(Napi::Error::New(env, error_).Value());
      }
    } catch (const Napi::Error&) {
      // The environment is being torn down (a worker thread terminated mid-run): nobody is left to
      // receive the result, and letting the exception escape would abort the whole process.
    }
  }
  Destroy();
}

}  // namespace stridekit
