// Portable kernel: plain loops the compiler vectorises for the target's baseline (SSE2, NEON).
#include "backends/cpu/cpu_features.h"
#include "backends/cpu/microkernel.h"

namespace stridekit::cpu {

void microkernel_generic(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr,
                         int nr, bool accumulate) {
  float acc[kMR][kNR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int i = 0; i < kMR; ++i) {
      const float ai = a[i];
      for (int j = 0; j < kNR; ++j) acc[i][j] += ai * b[j];
    }
    a += kMR;
    b += kNR;
  }
  for (int i = 0; i < mr; ++i) {
    float* row = c + i * ldc;
    if (accumulate) {
      for (int j = 0; j < nr; ++j) row[j] += acc[i][j];
    } else {
      for (int j = 0; j < nr; ++j) row[j] = acc[i][j];
    }
  }
}

MicroKernel select_microkernel() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (cpu_features().avx2_fma) return microkernel_avx2;
#endif
  return microkernel_generic;
}

}  // namespace stridekit::cpu
