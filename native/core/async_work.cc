#include "core/async_work.h"

#include <uv.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <utility>

#include "core/job_runner.h"
#include "core/js_error.h"

namespace stridekit {

namespace {

using Clock = std::chrono::steady_clock;

// How long the JavaScript thread keeps its event loop polling after it starts a job, when the
// environment's previous job took less than that: long enough for a small layer's whole compute.
// Only then: while the loop polls it takes a core from the computation, which slows a longer layer
// down by more than the wake-up it saves; for a small layer the wake-up costs as much as its compute.
constexpr auto kPollAfterStart = std::chrono::microseconds(25);

struct Channel;

struct Job {
  std::function<void()> work;
  PromiseWork::Settle settle;  // on the JavaScript thread, after work succeeded
  bool failed = false;  // written by the runner
  Failure failure;      // written by the runner when failed
  Clock::duration took{};  // written by the runner: how long work ran
  napi_deferred deferred = nullptr;
  napi_async_context context = nullptr;
  std::vector<napi_ref> keep_alive;
  std::shared_ptr<Channel> channel;
};

// One per JavaScript environment: the jobs it started come back here.
struct Channel {
  explicit Channel(napi_env e) : env(e) {}

  napi_env env;
  uv_async_t* wake = nullptr;  // the runner's way to wake a sleeping loop
  uv_idle_t* poll = nullptr;   // active while the loop polls for results instead of sleeping
  int handles_open = 0;        // JavaScript thread only

  // JavaScript thread only.
  int in_flight = 0;  // started, not yet settled
  Clock::time_point poll_until;
  Clock::duration last_took{};  // how long the last settled job's work ran

  // Shared with the runner.
  std::mutex mutex;
  std::condition_variable job_left;  // the environment's running job finished (teardown waits)
  std::vector<std::shared_ptr<Job>> finished;
  bool running = false;  // a job of this environment is executing
  bool polling = false;  // the loop polls: no uv_async_send needed
  bool closed = false;   // the environment is being torn down: nothing more may touch it
  std::atomic<bool> has_finished{false};
};

// The channel of the environment that runs on this thread (each environment has its own thread).
thread_local std::shared_ptr<Channel> current_channel;

void execute(const std::shared_ptr<Job>& job) {  // on the runner
  Channel& c = *job->channel;
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    if (c.closed) return;
    c.running = true;
  }
  const Clock::time_point start = Clock::now();
  try {
    job->work();
  } catch (...) {
    job->failed = true;
    job->failure = current_failure();
  }
  job->took = Clock::now() - start;
  std::lock_guard<std::mutex> lock(c.mutex);
  c.running = false;
  if (c.closed) {
    c.job_left.notify_all();
    return;
  }
  c.finished.push_back(job);
  c.has_finished.store(true, std::memory_order_release);
  if (!c.polling) uv_async_send(c.wake);
}

// The value the job's promise settles with, and whether it resolves: the settle callback's result
// (undefined without one), or the error of the work or of the callback. Inside a handle scope.
bool outcome(napi_env env, Job& job, napi_value* value) {
  if (!job.failed && job.settle) {
    try {
      std::vector<Napi::Value> kept;
      for (napi_ref ref : job.keep_alive) {
        napi_value v = nullptr;
        if (ref) napi_get_reference_value(env, ref, &v);
        kept.push_back(v ? Napi::Value(env, v) : Napi::Env(env).Null());
      }
      Napi::Value result = job.settle(Napi::Env(env), kept);
      if (result.IsEmpty()) napi_get_undefined(env, value);
      else *value = result;
      return true;
    } catch (const Napi::Error& e) {
      *value = e.Value();
      return false;
    } catch (...) {
      *value = js_error(Napi::Env(env), current_failure()).Value();
      return false;
    }
  }
  if (!job.failed) {
    napi_get_undefined(env, value);
    return true;
  }
  *value = js_error(Napi::Env(env), job.failure).Value();
  return false;
}

// Resolves or rejects the job's promise, then lets promise reactions run (the callback scope), as
// a libuv callback into JavaScript does. Failures here mean the environment is going away.
void settle(Channel& c, Job& job) {
  // What the work captured (plans, device memory) is released before the promise's reactions run,
  // as it would be by then had the work run synchronously: a disposed input is freed by the time
  // `await run()` returns.
  job.work = nullptr;
  napi_env env = c.env;
  napi_handle_scope handles;
  if (napi_open_handle_scope(env, &handles) != napi_ok) return;
  napi_value resource;
  napi_callback_scope scope = nullptr;
  if (napi_create_object(env, &resource) == napi_ok) {
    napi_open_callback_scope(env, resource, job.context, &scope);
  }
  napi_value value = nullptr;
  bool resolved = false;
  try {
    resolved = outcome(env, job, &value);
  } catch (...) {
    // Making the error itself failed: the environment is going away.
  }
  job.settle = nullptr;
  if (value) {
    if (resolved) napi_resolve_deferred(env, job.deferred, value);
    else napi_reject_deferred(env, job.deferred, value);
  }
  for (napi_ref ref : job.keep_alive) {
    if (ref) napi_delete_reference(env, ref);
  }
  job.keep_alive.clear();
  if (scope) napi_close_callback_scope(env, scope);
  napi_close_handle_scope(env, handles);
  napi_async_destroy(env, job.context);
}

void stop_polling(Channel& c) {
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    c.polling = false;
  }
  uv_idle_stop(c.poll);
}

// Settles every finished job; on the JavaScript thread, from either handle's callback.
void drain(Channel& c) {
  for (;;) {
    std::vector<std::shared_ptr<Job>> done;
    {
      std::lock_guard<std::mutex> lock(c.mutex);
      done.swap(c.finished);
      c.has_finished.store(false, std::memory_order_relaxed);
    }
    for (const std::shared_ptr<Job>& job : done) {
      if (--c.in_flight == 0) uv_unref(reinterpret_cast<uv_handle_t*>(c.wake));
      c.last_took = job->took;
      settle(c, *job);  // may start new jobs: promise reactions run in here
    }
    const bool idle = c.in_flight == 0 || Clock::now() > c.poll_until;
    if (c.polling && idle) {
      stop_polling(c);
      // A job that finished while the loop still polled sent no wake-up: look once more.
      if (c.has_finished.load(std::memory_order_acquire)) continue;
    }
    return;
  }
}

void on_wake(uv_async_t* handle) { drain(*static_cast<Channel*>(handle->data)); }

void on_poll(uv_idle_t* handle) {
  Channel& c = *static_cast<Channel*>(handle->data);
  if (c.has_finished.load(std::memory_order_acquire) || Clock::now() > c.poll_until) drain(c);
}

// Environment teardown (process exit, or a worker thread ending or terminated): wait for a job
// that is writing into this environment's buffers, drop the rest, close both handles.
void on_cleanup(napi_async_cleanup_hook_handle hook, void* arg) {
  auto* held = static_cast<std::shared_ptr<Channel>*>(arg);
  Channel& c = **held;
  {
    std::unique_lock<std::mutex> lock(c.mutex);
    c.closed = true;
    c.job_left.wait(lock, [&] { return !c.running; });
    c.finished.clear();  // the environment frees its own references and promises
  }
  current_channel.reset();
  uv_idle_stop(c.poll);
  struct Closing {
    std::shared_ptr<Channel>* held;
    napi_async_cleanup_hook_handle hook;
  };
  auto* closing = new Closing{held, hook};
  c.wake->data = closing;
  c.poll->data = closing;
  c.handles_open = 2;
  auto closed = [](uv_handle_t* handle) {
    auto* closing = static_cast<Closing*>(handle->data);
    std::shared_ptr<Channel> channel = *closing->held;
    if (handle == reinterpret_cast<uv_handle_t*>(channel->wake)) {
      delete channel->wake;
    } else {
      delete channel->poll;
    }
    if (--channel->handles_open == 0) {
      napi_remove_async_cleanup_hook(closing->hook);
      delete closing->held;
      delete closing;
    }
  };
  uv_close(reinterpret_cast<uv_handle_t*>(c.wake), closed);
  uv_close(reinterpret_cast<uv_handle_t*>(c.poll), closed);
}

Channel& channel_of(napi_env env) {
  if (current_channel && current_channel->env == env) return *current_channel;
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    throw Napi::Error::New(env, "stridekit: this environment has no event loop");
  }
  auto channel = std::make_shared<Channel>(env);
  channel->wake = new uv_async_t;
  channel->poll = new uv_idle_t;
  uv_async_init(loop, channel->wake, on_wake);
  uv_idle_init(loop, channel->poll);
  channel->wake->data = channel.get();
  channel->poll->data = channel.get();
  uv_unref(reinterpret_cast<uv_handle_t*>(channel->wake));  // referenced only while jobs run
  napi_async_cleanup_hook_handle hook;
  napi_add_async_cleanup_hook(env, on_cleanup, new std::shared_ptr<Channel>(channel), &hook);
  current_channel = std::move(channel);
  return *current_channel;
}

}  // namespace

Napi::Promise PromiseWork::Start(Napi::Env env, const char* name, std::function<void()> work,
                                 const std::vector<Napi::Value>& keep_alive, Settle settle) {
  Channel& c = channel_of(env);
  auto job = std::make_shared<Job>();
  job->work = std::move(work);
  job->settle = std::move(settle);
  job->channel = current_channel;
  napi_value promise;
  NAPI_THROW_IF_FAILED(env, napi_create_promise(env, &job->deferred, &promise), Napi::Promise());
  NAPI_THROW_IF_FAILED(env, napi_async_init(env, nullptr, Napi::String::New(env, name), &job->context),
                       Napi::Promise());
  for (const Napi::Value& value : keep_alive) {
    napi_ref ref = nullptr;
    if (!value.IsEmpty() && !value.IsNull() && !value.IsUndefined()) {
      NAPI_THROW_IF_FAILED(env, napi_create_reference(env, value, 1, &ref), Napi::Promise());
    }
    job->keep_alive.push_back(ref);  // null kept in place: Settle sees the values in their order
  }

  if (c.in_flight++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(c.wake));
  if (c.last_took < kPollAfterStart) {
    c.poll_until = Clock::now() + kPollAfterStart;
  }
  if (c.last_took < kPollAfterStart && !c.polling) {
    {
      std::lock_guard<std::mutex> lock(c.mutex);
      c.polling = true;
    }
    uv_idle_start(c.poll, on_poll);
  }
  JobRunner::instance().post([job] { execute(job); });
  return Napi::Promise(env, promise);
}

}  // namespace stridekit
