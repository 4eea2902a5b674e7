// Work that runs off the JavaScript thread and settles a promise on it: conv(), convTranspose(),
// plan.run() and every other asynchronous call of the addon.
//
// The work runs on the process-wide JobRunner (core/job_runner.h), never on the JavaScript thread.
// Its result comes back through one uv_async_t per JavaScript environment; when the environment's
// previous job was short, its event loop polls for a short while after starting the next one instead
// of sleeping (a uv_idle_t), so a small layer's result is picked up without a kernel wake-up. A worker thread that is terminated while its
// job runs waits for that job in its cleanup hook: the job writes into that environment's buffers.
#pragma once

#include <napi.h>

#include <functional>
#include <vector>

namespace stridekit {

class PromiseWork {
 public:
  // Runs on the JavaScript thread once the work has succeeded, with the keep_alive values in their
  // order (null where null or undefined was given): returns what the promise resolves with (an
  // empty Napi::Value for undefined). An error it throws rejects the promise instead. What the work
  // made for this environment (a plan for its cache, a result) is handed over here.
  using Settle = std::function<Napi::Value(Napi::Env env, const std::vector<Napi::Value>& kept)>;

  // Starts `work` (run off the JavaScript thread; throw to reject) and returns its promise. `name`
  // names the async resource that async_hooks see. `keep_alive` values stay referenced until the
  // promise settles. The work itself must never touch JavaScript memory (host_buffer.h says why).
  static Napi::Promise Start(Napi::Env env, const char* name, std::function<void()> work,
                             const std::vector<Napi::Value>& keep_alive, Settle settle = nullptr);
};

}  // namespace stridekit
