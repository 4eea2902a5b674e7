#include "backends/cpu/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif

#include "stridekit/spin.h"

namespace stridekit::cpu {

struct ThreadPool::State {
  std::mutex run_mutex;  // one parallel_for at a time

  std::mutex mutex;  // guards sleeping and waking; the flags below are atomics for the spinners
  std::condition_variable work_ready;
  std::condition_variable work_done;
  std::atomic<uint64_t> generation{0};
  std::atomic<int> finished{0};  // helpers that finished the current generation
  int participants = 0;          // threads (caller included) taking part in the current generation

  const TaskRef* task = nullptr;
  int64_t count = 0;
  std::atomic<int64_t> next{0};
  std::exception_ptr failure;  // the first exception a task threw; later tasks are skipped
};

int thread_count_setting(const char* value) {
  if (value == nullptr || *value == '\0') return 0;
  long n = 0;
  for (const char* c = value; *c != '\0'; ++c) {
    if (*c < '0' || *c > '9') return -1;
    n = n * 10 + (*c - '0');
    if (n > kMaxThreads) return -1;  // also stops before a long string of digits overflows
  }
  return n >= 1 ? static_cast<int>(n) : -1;
}

int default_thread_count() {
  // A bad value falls back to the default, silently here: the facade reports it as an Error before
  // the core loads, and a worker thread creating the pool has no caller to report it to.
  const int setting = thread_count_setting(std::getenv("STRIDEKIT_NUM_THREADS"));
  if (setting > 0) return setting;
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

ThreadPool& ThreadPool::instance() {
  // Leaked on purpose: joining workers during static destruction can deadlock at process exit.
  static ThreadPool* pool = new ThreadPool(default_thread_count());
  return *pool;
}

ThreadPool::ThreadPool(int size) : state_(new State), size_(size) {
  for (int t = 1; t < size_; ++t) {
    std::thread([this, t] { worker_loop(t); }).detach();
  }
}

void ThreadPool::run_tasks(int thread) {
  State& s = *state_;
  for (;;) {
    int64_t i = s.next.fetch_add(1, std::memory_order_relaxed);
    if (i >= s.count) break;
    try {
      (*s.task)(i, thread);
    } catch (...) {
      std::lock_guard<std::mutex> lock(s.mutex);
      if (!s.failure) s.failure = std::current_exception();
      s.next.store(s.count, std::memory_order_relaxed);
    }
  }
}

void ThreadPool::worker_loop(int thread) {
  State& s = *state_;
  uint64_t seen = 0;
  for (;;) {
    auto fresh = [&] { return s.generation.load(std::memory_order_acquire) != seen; };
    if (!spin_until(fresh)) {
      std::unique_lock<std::mutex> lock(s.mutex);
      s.work_ready.wait(lock, fresh);
    }
    seen = s.generation.load(std::memory_order_acquire);
    if (thread >= s.participants) continue;
    run_tasks(thread);
    if (s.finished.fetch_add(1, std::memory_order_acq_rel) + 1 == s.participants - 1) {
      std::lock_guard<std::mutex> lock(s.mutex);  // pairs with the caller's sleep below
      s.work_done.notify_one();
    }
  }
}

void ThreadPool::parallel_for(int64_t count, TaskRef task, int max_threads) {
  if (count <= 0) return;
  int threads = static_cast<int>(std::min<int64_t>({static_cast<int64_t>(size_),
                                                    static_cast<int64_t>(max_threads), count}));
  if (threads <= 1) {
    for (int64_t i = 0; i < count; ++i) task(i, 0);
    return;
  }
  State& s = *state_;
  std::lock_guard<std::mutex> run_lock(s.run_mutex);
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.task = &task;
    s.count = count;
    s.next.store(0, std::memory_order_relaxed);
    s.participants = threads;
    s.finished.store(0, std::memory_order_relaxed);
    s.failure = nullptr;
    s.generation.fetch_add(1, std::memory_order_release);
  }
  s.work_ready.notify_all();
  run_tasks(0);
  auto all_done = [&] { return s.finished.load(std::memory_order_acquire) == s.participants - 1; };
  if (!spin_until(all_done)) {
    std::unique_lock<std::mutex> lock(s.mutex);
    s.work_done.wait(lock, all_done);
  }
  s.task = nullptr;
  if (s.failure) std::rethrow_exception(std::exchange(s.failure, nullptr));
}

}  // namespace stridekit::cpu
