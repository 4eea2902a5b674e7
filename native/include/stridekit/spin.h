/*
 * Spin-then-sleep, the waiting discipline of every long-lived thread in stridekit (C++ only,
 * header-only): the core's job runner and the CPU backend's pool. A thread that expects work (or a
 * result) within microseconds polls a flag for a short while before it pays for a kernel sleep and
 * wake-up, which on the virtual machines users deploy to costs more than a small layer's compute.
 */
#ifndef STRIDEKIT_SPIN_H
#define STRIDEKIT_SPIN_H

#include <chrono>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace stridekit {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(_M_X64)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// How long a thread spins on a flag before it sleeps: long enough to bridge the gap between the
// layers of a network run back to back, short enough not to burn a core when the work stops.
constexpr auto kSpin = std::chrono::microseconds(100);

// Spins until done() or `limit` has passed; true when done() held.
template <class Done>
bool spin_until(Done done, std::chrono::microseconds limit = kSpin) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (int i = 0;; ++i) {
    if (done()) return true;
    cpu_relax();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > deadline) return done();
  }
}

}  // namespace stridekit

#endif /* STRIDEKIT_SPIN_H */
