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
  // Starts `work` (run off the JavaScript thread; throw to reject) and returns its promise. `name`
  // names the async resource that async_hooks see. `keep_alive` values stay referenced until the
  // promise settles, so the garbage collector cannot free the buffers the work reads and writes.
  // `on_settled`, when given, runs on the JavaScript thread after the work, before the promise
  // settles: what the work made for this environment (a plan for its cache) is handed over there.
  static Napi::Promise Start(Napi::Env env, const char* name, std::function<void()> work,
                             const std::vector<Napi::Value>& keep_alive,
                             std::function<void()> on_settled = nullptr);
};

}  // namespace stridekit
