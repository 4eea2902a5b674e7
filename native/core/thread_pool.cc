#include "core/thread_pool.h"

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

namespace stridekit {

struct ThreadPool::State {
  std::mutex run_mutex;  // one parallel_for at a time

  std::mutex mutex;
  std::condition_variable work_ready;
  std::condition_variable work_done;
  uint64_t generation = 0;
  int participants = 0;  // threads (caller included) taking part in the current generation
  int finished = 0;      // helpers that finished the current generation

  const std::function<void(int64_t, int)>* task = nullptr;
  int64_t count = 0;
  std::atomic<int64_t> next{0};
  std::exception_ptr failure;  // the first exception a task threw; later tasks are skipped
};

int default_thread_count() {
  if (const char* env = std::getenv("STRIDEKIT_NUM_THREADS")) {
    char* end = nullptr;
    long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n > 0) return static_cast<int>(std::min(n, 1024L));
  }
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
    {
      std::unique_lock<std::mutex> lock(s.mutex);
      s.work_ready.wait(lock, [&] { return s.generation != seen && thread < s.participants; });
      seen = s.generation;
    }
    run_tasks(thread);
    {
      std::lock_guard<std::mutex> lock(s.mutex);
      if (++s.finished == s.participants - 1) s.work_done.notify_one();
    }
  }
}

void ThreadPool::parallel_for(int64_t count, const std::function<void(int64_t, int)>& task,
                              int max_threads) {
  if (count <= 0) return;
  int threads = static_cast<int>(std::min<int64_t>({static_cast<int64_t>(size_),
                                                    static_cast<int64_t>(max_threads), count}));
  State& s = *state_;
  std::lock_guard<std::mutex> run_lock(s.run_mutex);
  if (threads <= 1) {
    for (int64_t i = 0; i < count; ++i) task(i, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.task = &task;
    s.count = count;
    s.next.store(0, std::memory_order_relaxed);
    s.participants = threads;
    s.finished = 0;
    s.failure = nullptr;
    ++s.generation;
  }
  s.work_ready.notify_all();
  run_tasks(0);
  std::unique_lock<std::mutex> lock(s.mutex);
  s.work_done.wait(lock, [&] { return s.finished == s.participants - 1; });
  s.task = nullptr;
  if (s.failure) std::rethrow_exception(std::exchange(s.failure, nullptr));
}

}  // namespace stridekit
