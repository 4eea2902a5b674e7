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
  job->Queue();  // AsyncWorker deletes itself on the JavaScript thread after settling
  return promise;
}

void PromiseWork::Execute() {
  try {
    work_();
  } catch (const std::bad_alloc&) {
    SetError("out of memory");
  } catch (const std::exception& e) {
    SetError(e.what());
  }
}

void PromiseWork::OnOK() { deferred_.Resolve(Env().Undefined()); }

void PromiseWork::OnError(const Napi::Error& error) { deferred_.Reject(error.Value()); }

}  // namespace stridekit
