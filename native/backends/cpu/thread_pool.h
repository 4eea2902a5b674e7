// The CPU backend's persistent worker pool: created once per process, sized to the machine
// (STRIDEKIT_NUM_THREADS overrides), never torn down (threads may still run at exit, as ggml does).
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace stridekit::cpu {

// A borrowed reference to a task callable as task(index, thread): a pointer to the caller's lambda
// and a function that calls it. Unlike std::function it never copies the lambda, so a lambda with
// many captures costs no heap allocation on every parallel_for; the lambda outlives the call.
class TaskRef {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, TaskRef>>>
  TaskRef(F&& task)  // NOLINT(google-explicit-constructor): a lambda converts implicitly
      : object_(const_cast<void*>(static_cast<const void*>(&task))),
        call_([](void* object, int64_t index, int thread) {
          (*static_cast<std::remove_reference_t<F>*>(object))(index, thread);
        }) {}

  void operator()(int64_t index, int thread) const { call_(object_, index, thread); }

 private:
  void* object_;
  void (*call_)(void*, int64_t, int);
};

class ThreadPool {
 public:
  // The process-wide pool. Worker threads of node's worker_threads share it: there is one machine.
  static ThreadPool& instance();

  // Number of threads that take part in a parallel_for, the calling thread included.
  int size() const { return size_; }

  // Runs task(index, thread) for every index in [0, count) on up to max_threads threads (the caller
  // is thread 0) and returns when all are done. Calls that use helpers are serialised: two
  // convolutions never fight over the pool's cores. A call that gets one thread (max_threads 1, or
  // count 1) runs its tasks on the calling thread at once, without waiting for a parallel call on
  // another thread to finish: the JavaScript thread runs small convolutions that way. So `thread`
  // (in [0, size())) is unique among the tasks of one call, not among those of concurrent calls:
  // per-thread scratch belongs in thread_local storage (backends/cpu/scratch.h), not in an array
  // indexed by it.
  void parallel_for(int64_t count, TaskRef task, int max_threads = 1 << 30);

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

 private:
  explicit ThreadPool(int size);
  void worker_loop(int thread);
  void run_tasks(int thread);

  struct State;
  State* state_;
  int size_;
};

// Runs run(begin, end) over [0, count) cut into a few runs per thread, for many small items (a
// plane each, of a few hundred): claimed one by one, each would cost an atomic increment on a cache
// line the threads pass back and forth, more than some items' own work. Several runs per thread
// rather than one keep the threads even when a run takes longer than another. On one thread, one
// run: its work may set itself up once per run.
template <class Run>
void parallel_runs(int64_t count, int threads, Run&& run) {
  ThreadPool& pool = ThreadPool::instance();
  const int64_t runs = std::min<int64_t>(count, threads <= 1 || pool.size() <= 1 ? 1 : 4 * int64_t{threads});
  pool.parallel_for(runs, [&](int64_t r, int) { run(r * count / runs, (r + 1) * count / runs); }, threads);
}

// The largest STRIDEKIT_NUM_THREADS accepted. A fixed bound rather than a multiple of this machine's
// CPUs, so that a setting is accepted or refused the same way on every machine, and the facade
// (lib/settings.ts MAX_THREADS, which must equal this) can check it before the core loads without
// asking it anything. 256 is above the hardware threads of all but the largest servers, and those
// get all their CPUs by leaving the variable unset (the default is not bounded by this). Beyond it a
// count is a typo, not a plan: every pool thread is started at once, never stopped, and spins between
// jobs, so thousands of them on a few cores slow every convolution down.
constexpr int kMaxThreads = 256;

// STRIDEKIT_NUM_THREADS read as the pool reads it: its value when it is decimal digits only (no
// sign, no spaces) from 1 to kMaxThreads; 0 when unset or empty; -1 when it is anything else. The
// facade refuses such a value with an Error before the core loads (lib/settings.ts); if the core is
// reached anyway (loaded without the facade), it never acts on it.
int thread_count_setting(const char* value);

// Threads the pool uses: STRIDEKIT_NUM_THREADS when it is valid (thread_count_setting > 0),
// otherwise the CPUs this process may run on.
int default_thread_count();

}  // namespace stridekit::cpu
