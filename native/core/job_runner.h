// The thread that runs asynchronous convolutions: one per process, fed in submission order.
//
// Why not libuv's thread pool: a call there wakes a sleeping thread through the kernel before any
// work starts (15-25 microseconds measured on the 2-core development VM), which is twice the whole
// compute of a small layer. This thread spins for a while after each job (core/spin.h), so the next
// call of a loop of conv()/plan.run() starts within a microsecond. It is the CPU backend's thread 0
// for async work, so jobs run one after another exactly as the pool would serialise them anyway.
#pragma once

#include <functional>

namespace stridekit {

class JobRunner {
 public:
  // The process-wide runner, started on first use and never joined (as ThreadPool).
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
