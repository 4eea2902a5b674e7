// AVX2 + FMA kernel, compiled for that target function by function so the rest of the binary still
// runs on any x86-64; select_microkernel() only picks it when the processor has both.
#include "backends/cpu/microkernel.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

namespace stridekit::cpu {

__attribute__((target("avx2,fma"))) void microkernel_avx2(int64_t kc, const float* a,
                                                          const float* b, float* c, int64_t ldc,
                                                          int mr, int nr, bool accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_loadu_ps(b);
    const __m256 b1 = _mm256_loadu_ps(b + 8);
    __m256 ai = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(ai, b0, c00);
    c01 = _mm256_fmadd_ps(ai, b1, c01);
    ai = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(ai, b0, c10);
    c11 = _mm256_fmadd_ps(ai, b1, c11);
    ai = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(ai, b0, c20);
    c21 = _mm256_fmadd_ps(ai, b1, c21);
    ai = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(ai, b0, c30);
    c31 = _mm256_fmadd_ps(ai, b1, c31);
    ai = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(ai, b0, c40);
    c41 = _mm256_fmadd_ps(ai, b1, c41);
    ai = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(ai, b0, c50);
    c51 = _mm256_fmadd_ps(ai, b1, c51);
    a += kMR;
    b += kNR;
  }
  const __m256 rows[kMR][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                               {c30, c31}, {c40, c41}, {c50, c51}};
  if (nr == kNR) {
    for (int i = 0; i < mr; ++i) {
      float* row = c + i * ldc;
      __m256 lo = rows[i][0], hi = rows[i][1];
      if (accumulate) {
        lo = _mm256_add_ps(lo, _mm256_loadu_ps(row));
        hi = _mm256_add_ps(hi, _mm256_loadu_ps(row + 8));
      }
      _mm256_storeu_ps(row, lo);
      _mm256_storeu_ps(row + 8, hi);
    }
    return;
  }
  alignas(32) float tile[kNR];
  for (int i = 0; i < mr; ++i) {
    _mm256_store_ps(tile, rows[i][0]);
    _mm256_store_ps(tile + 8, rows[i][1]);
    float* row = c + i * ldc;
    if (accumulate) {
      for (int j = 0; j < nr; ++j) row[j] += tile[j];
    } else {
      for (int j = 0; j < nr; ++j) row[j] = tile[j];
    }
  }
}

}  // namespace stridekit::cpu

#else

namespace stridekit::cpu {
// Not an x86-64 GCC/Clang build: select_microkernel() never picks this.
void microkernel_avx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr,
                      int nr, bool accumulate) {
  microkernel_generic(kc, a, b, c, ldc, mr, nr, accumulate);
}
}  // namespace stridekit::cpu

#endif
