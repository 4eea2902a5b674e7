#include "core/job_runner.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "stridekit/spin.h"

namespace stridekit {

struct JobRunner::State {
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<std::function<void()>> queue;  // guarded by mutex
  std::atomic<size_t> queued{0};            // queue.size(), readable by the spinning runner
};

JobRunner& JobRunner::instance() {
  // Leaked on purpose: joining a thread during static destruction can deadlock at process exit.
  static JobRunner* runner = new JobRunner();
  return *runner;
}

JobRunner::JobRunner() : state_(new State) {
  std::thread([this] { loop(); }).detach();
}

void JobRunner::post(std::function<void()> job) {
  State& s = *state_;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.queue.push_back(std::move(job));
    s.queued.store(s.queue.size(), std::memory_order_release);
  }
  // Cheap when the runner is spinning: glibc skips the futex call when nobody waits.
  s.ready.notify_one();
}

void JobRunner::loop() {
  State& s = *state_;
  for (;;) {
    auto has_work = [&] { return s.queued.load(std::memory_order_acquire) != 0; };
    if (!spin_until(has_work)) {
      std::unique_lock<std::mutex> lock(s.mutex);
      s.ready.wait(lock, [&] { return !s.queue.empty(); });
    }
    std::function<void()> job;
    {
      std::lock_guard<std::mutex> lock(s.mutex);
      job = std::move(s.queue.front());
      s.queue.pop_front();
      s.queued.store(s.queue.size(), std::memory_order_release);
    }
    job();
  }
}

}  // namespace stridekit
