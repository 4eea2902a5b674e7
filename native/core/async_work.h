// Work that runs on libuv's thread pool and settles a promise on the JavaScript thread. The work
// only touches plain C++ data; the JavaScript buffers it reads and writes are held by references
// so the garbage collector cannot free them while it runs.
#pragma once

#include <napi.h>

#include <functional>
#include <string>
#include <vector>

namespace stridekit {

class PromiseWork : public Napi::AsyncWorker {
 public:
  // Starts `work` (run off the JavaScript thread; throw to reject) and returns its promise.
  // `keep_alive` values stay referenced until the promise settles.
  static Napi::Promise Start(Napi::Env env, const char* name, std::function<void()> work,
                             const std::vector<Napi::Value>& keep_alive);

 protected:
  void Execute() override;
  void OnWorkComplete(Napi::Env env, napi_status status) override;

 private:
  PromiseWork(Napi::Env env, const char* name, std::function<void()> work);
  std::function<void()> work_;
  std::string error_;  // set by Execute when the work failed
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::Reference<Napi::Value>> keep_alive_;
};

}  // namespace stridekit
