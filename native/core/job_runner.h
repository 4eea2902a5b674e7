// The thread that runs asynchronous convolutions: one per process, fed in submission order.
//
// Why not libuv's thread pool: a call there wakes a sleeping thread through the kernel before any
// work starts, which costs more than the whole compute of a small layer. This thread spins for a
// while after each job (stridekit/spin.h), so the next call of a loop of conv()/plan.run() starts
// within a microsecond. It calls the backends as the JavaScript thread does (for the CPU backend it
// is the calling thread of the pool's parallel_for), so jobs run one after another, as the CPU
// backend's pool would serialise them anyway.
#pragma once

#include <functional>

namespace stridekit {

class JobRunner {
 public:
  // The process-wide runner, started on first use and never joined: joining a thread during
  // static destruction can deadlock at process exit.
  static JobRunner& instance();

  // Runs `job` on the runner thread after every job posted before it. `job` must not throw.
  void post(std::function<void()> job);

  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

 private:
  JobRunner();
  void loop();

  struct State;
  State* state_;
};

}  // namespace stridekit
