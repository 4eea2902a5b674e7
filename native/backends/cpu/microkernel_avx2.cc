// AVX2 + FMA kernels, compiled for that target function by function so the rest of the binary still
// runs on any x86-64; select_microkernel() only picks it when the processor has both.
#include "backends/cpu/microkernel.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

namespace stridekit::cpu {

namespace {

// The end of a tile row: the accumulated value (plus C when accumulating), then the bias and a
// relu / relu6 when this is the last depth block, stored once.
struct Finish {
  __m256 column_bias_lo, column_bias_hi;  // a column bias, loaded once per tile

  __attribute__((target("avx2,fma"), always_inline)) static Finish of(const KernelEpilogue* last) {
    Finish f{_mm256_setzero_ps(), _mm256_setzero_ps()};
    if (last && last->bias && !last->bias_per_row) {
      f.column_bias_lo = _mm256_loadu_ps(last->bias);
      f.column_bias_hi = _mm256_loadu_ps(last->bias + 8);
    }
    return f;
  }

  __attribute__((target("avx2,fma"), always_inline)) void row(float* out, int i, __m256 lo, __m256 hi,
                                                              bool accumulate,
                                                              const KernelEpilogue* last) const {
    if (accumulate) {
      lo = _mm256_add_ps(lo, _mm256_loadu_ps(out));
      hi = _mm256_add_ps(hi, _mm256_loadu_ps(out + 8));
    }
    if (last) {
      if (last->bias && last->bias_per_row) {
        const __m256 bias = _mm256_broadcast_ss(last->bias + i);
        lo = _mm256_add_ps(lo, bias);
        hi = _mm256_add_ps(hi, bias);
      } else if (last->bias) {
        lo = _mm256_add_ps(lo, column_bias_lo);
        hi = _mm256_add_ps(hi, column_bias_hi);
      }
      if (last->activation == SK_ACTIVATION_RELU || last->activation == SK_ACTIVATION_RELU6) {
        // The value second: maxps / minps return their second operand when one is NaN.
        lo = _mm256_max_ps(_mm256_setzero_ps(), lo);
        hi = _mm256_max_ps(_mm256_setzero_ps(), hi);
        if (last->activation == SK_ACTIVATION_RELU6) {
          lo = _mm256_min_ps(_mm256_set1_ps(6.f), lo);
          hi = _mm256_min_ps(_mm256_set1_ps(6.f), hi);
        }
      }
    }
    _mm256_storeu_ps(out, lo);
    _mm256_storeu_ps(out + 8, hi);
  }
};

// One row's step of a tile: row r of C (two 8-float vectors) += a[r] * the B step (b0, b1).
__attribute__((target("avx2,fma"), always_inline)) inline void multiply_row(const float* a, __m256 b0,
                                                                           __m256 b1, __m256& lo,
                                                                           __m256& hi) {
  const __m256 ar = _mm256_broadcast_ss(a);
  lo = _mm256_fmadd_ps(ar, b0, lo);
  hi = _mm256_fmadd_ps(ar, b1, hi);
}

// One depth step of rows 0 and 1 (lo and hi halves each) of a tile.
__attribute__((target("avx2,fma"), always_inline)) inline void multiply_two_rows(
    const float* a, __m256 b0, __m256 b1, __m256& lo0, __m256& hi0, __m256& lo1, __m256& hi1) {
  multiply_row(a + 0, b0, b1, lo0, hi0);
  multiply_row(a + 1, b0, b1, lo1, hi1);
}

// An edge tile: rows past mr are dropped, columns past nr go through a buffer, and only nr
// values of a column bias are read (the rest may lie past the array).
struct TileRows {
  __m256 row[kMR][2];
};

__attribute__((target("avx2,fma"))) void finish_edge(float* c, int64_t ldc, int mr, int nr,
                                                     bool accumulate, const KernelEpilogue* last,
                                                     const TileRows& rows) {
  alignas(32) float buffer[kNR];
  alignas(32) float column_bias[kNR];
  KernelEpilogue edge = last ? *last : KernelEpilogue{nullptr, true, SK_ACTIVATION_NONE};
  if (edge.bias && !edge.bias_per_row) {
    for (int j = 0; j < kNR; ++j) column_bias[j] = j < nr ? edge.bias[j] : 0.f;
    edge.bias = column_bias;
  }
  const Finish finish = Finish::of(last ? &edge : nullptr);
  for (int i = 0; i < mr; ++i) {
    float* row = c + i * ldc;
    for (int j = 0; j < kNR; ++j) buffer[j] = accumulate && j < nr ? row[j] : 0.f;
    finish.row(buffer, i, rows.row[i][0], rows.row[i][1], accumulate, last ? &edge : nullptr);
    for (int j = 0; j < nr; ++j) row[j] = buffer[j];
  }
}

}  // namespace

// A tile at most 8 columns wide (the last strip of a row of output pixels): half the multiplies.
__attribute__((target("avx2,fma"))) void microkernel_avx2_narrow(int64_t kc, const float* a,
                                                                 const float* b, float* c,
                                                                 int64_t ldc, int mr, int nr,
                                                                 bool accumulate,
                                                                 const KernelEpilogue* last,
                                                                 Prefetch next) {
  __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps(), c2 = _mm256_setzero_ps();
  __m256 c3 = _mm256_setzero_ps(), c4 = _mm256_setzero_ps(), c5 = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_loadu_ps(b);
    c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 0), b0, c0);
    c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 1), b0, c1);
    c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 2), b0, c2);
    c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 3), b0, c3);
    c4 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 4), b0, c4);
    c5 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 5), b0, c5);
    a += kMR;
    b += kNR;
  }
  prefetch_lines(next.begin, next.end);
  // The upper halves are never stored (nr <= 8).
  finish_edge(c, ldc, mr, nr, accumulate, last,
              TileRows{{{c0, c0}, {c1, c1}, {c2, c2}, {c3, c3}, {c4, c4}, {c5, c5}}});
}

// A tile 3 rows high: half the multiplies.
__attribute__((target("avx2,fma"))) void microkernel_avx2_short(int64_t kc, const float* a,
                                                                const float* b, float* c,
                                                                int64_t ldc, int mr, int nr,
                                                                bool accumulate,
                                                                const KernelEpilogue* last,
                                                                Prefetch next) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k, a += kMR, b += kNR) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    multiply_row(a + 0, b0, b1, c00, c01);
    multiply_row(a + 1, b0, b1, c10, c11);
    multiply_row(a + 2, b0, b1, c20, c21);
  }
  prefetch_lines(next.begin, next.end);
  // Rows 3-5 are never stored (mr <= 3).
  finish_edge(c, ldc, mr, nr, accumulate, last,
              TileRows{{{c00, c01}, {c10, c11}, {c20, c21}, {c20, c21}, {c20, c21}, {c20, c21}}});
}

// A tile 2 rows high (the last strip of 128 output channels cut 6 at a time: a common edge): four
// accumulators are four dependent FMA chains, too few to keep both FMA units busy (an FMA takes four
// cycles), so even and odd depth steps accumulate apart, eight chains, summed at the end. The
// half-height kernel would compute three rows at three quarters of the speed.
__attribute__((target("avx2,fma"))) void microkernel_avx2_pair(int64_t kc, const float* a,
                                                               const float* b, float* c, int64_t ldc,
                                                               int mr, int nr, bool accumulate,
                                                               const KernelEpilogue* last,
                                                               Prefetch next) {
  __m256 e00 = _mm256_setzero_ps(), e01 = _mm256_setzero_ps();
  __m256 e10 = _mm256_setzero_ps(), e11 = _mm256_setzero_ps();
  __m256 o00 = _mm256_setzero_ps(), o01 = _mm256_setzero_ps();
  __m256 o10 = _mm256_setzero_ps(), o11 = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 2 <= kc; k += 2, a += 2 * kMR, b += 2 * kNR) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    __m256 b2 = _mm256_loadu_ps(b + kNR), b3 = _mm256_loadu_ps(b + kNR + 8);
    // Each B vector feeds two rows: kept in a register, not reloaded by each FMA (as GCC would fold
    // them), which would make the loop wait on loads rather than multiplies.
    __asm__("" : "+x"(b0), "+x"(b1), "+x"(b2), "+x"(b3));
    multiply_two_rows(a, b0, b1, e00, e01, e10, e11);
    multiply_two_rows(a + kMR, b2, b3, o00, o01, o10, o11);
  }
  if (k < kc) {  // an odd depth's last step
    multiply_two_rows(a, _mm256_loadu_ps(b), _mm256_loadu_ps(b + 8), e00, e01, e10, e11);
  }
  prefetch_lines(next.begin, next.end);
  const __m256 r00 = _mm256_add_ps(e00, o00), r01 = _mm256_add_ps(e01, o01);
  const __m256 r10 = _mm256_add_ps(e10, o10), r11 = _mm256_add_ps(e11, o11);
  // Rows 2-5 are never stored (mr <= 2).
  finish_edge(c, ldc, mr, nr, accumulate, last,
              TileRows{{{r00, r01}, {r10, r11}, {r10, r11}, {r10, r11}, {r10, r11}, {r10, r11}}});
}

// A tile of one row (the last of 49 pixels cut 6 at a time: ResNet's 7 x 7 outputs): its two
// accumulators would be two dependent FMA chains, a quarter of what keeps both FMA units busy, so
// four consecutive depth steps accumulate apart, eight chains, summed at the end. Each B vector
// feeds one FMA and is read by it straight from L1. Faster than the pair kernel on one row, which
// takes as long as on two.
__attribute__((target("avx2,fma"))) void microkernel_avx2_row(int64_t kc, const float* a,
                                                              const float* b, float* c, int64_t ldc,
                                                              int mr, int nr, bool accumulate,
                                                              const KernelEpilogue* last,
                                                              Prefetch next) {
  __m256 lo0 = _mm256_setzero_ps(), hi0 = _mm256_setzero_ps(), lo1 = _mm256_setzero_ps();
  __m256 hi1 = _mm256_setzero_ps(), lo2 = _mm256_setzero_ps(), hi2 = _mm256_setzero_ps();
  __m256 lo3 = _mm256_setzero_ps(), hi3 = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 4 <= kc; k += 4, a += 4 * kMR, b += 4 * kNR) {
    multiply_row(a, _mm256_loadu_ps(b), _mm256_loadu_ps(b + 8), lo0, hi0);
    multiply_row(a + kMR, _mm256_loadu_ps(b + kNR), _mm256_loadu_ps(b + kNR + 8), lo1, hi1);
    const float* b2 = b + 2 * kNR;
    const float* b3 = b + 3 * kNR;
    multiply_row(a + 2 * kMR, _mm256_loadu_ps(b2), _mm256_loadu_ps(b2 + 8), lo2, hi2);
    multiply_row(a + 3 * kMR, _mm256_loadu_ps(b3), _mm256_loadu_ps(b3 + 8), lo3, hi3);
  }
  for (; k < kc; ++k, a += kMR, b += kNR) {  // the depth's last 0-3 steps
    multiply_row(a, _mm256_loadu_ps(b), _mm256_loadu_ps(b + 8), lo0, hi0);
  }
  prefetch_lines(next.begin, next.end);
  const __m256 lo = _mm256_add_ps(_mm256_add_ps(lo0, lo1), _mm256_add_ps(lo2, lo3));
  const __m256 hi = _mm256_add_ps(_mm256_add_ps(hi0, hi1), _mm256_add_ps(hi2, hi3));
  if (nr == kNR) {
    Finish::of(last).row(c, 0, lo, hi, accumulate, last);
    return;
  }
  // Rows 1-5 are never stored (mr == 1).
  finish_edge(c, ldc, mr, nr, accumulate, last,
              TileRows{{{lo, hi}, {lo, hi}, {lo, hi}, {lo, hi}, {lo, hi}, {lo, hi}}});
}

__attribute__((target("avx2,fma"))) void microkernel_avx2(int64_t kc, const float* a,
                                                          const float* b, float* c, int64_t ldc,
                                                          int mr, int nr, bool accumulate,
                                                          const KernelEpilogue* last,
                                                          Prefetch next) {
  if (nr <= 8) return microkernel_avx2_narrow(kc, a, b, c, ldc, mr, nr, accumulate, last, next);
  if (mr == 1) return microkernel_avx2_row(kc, a, b, c, ldc, mr, nr, accumulate, last, next);
  if (mr <= 2) return microkernel_avx2_pair(kc, a, b, c, ldc, mr, nr, accumulate, last, next);
  if (mr <= 3) return microkernel_avx2_short(kc, a, b, c, ldc, mr, nr, accumulate, last, next);
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  const char* line = next.begin;
  for (int64_t k = 0; k < kc; ++k, a += kMR, b += kNR) {
    if ((k & 7) == 7 && line < next.end) _mm_prefetch(line, _MM_HINT_T0), line += 64;
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    multiply_row(a + 0, b0, b1, c00, c01);
    multiply_row(a + 1, b0, b1, c10, c11);
    multiply_row(a + 2, b0, b1, c20, c21);
    multiply_row(a + 3, b0, b1, c30, c31);
    multiply_row(a + 4, b0, b1, c40, c41);
    multiply_row(a + 5, b0, b1, c50, c51);
  }
  prefetch_lines(line, next.end);  // what a short depth left
  if (mr == kMR && nr == kNR) {  // a whole tile: every row straight from its registers
    const Finish finish = Finish::of(last);
    finish.row(c, 0, c00, c01, accumulate, last);
    finish.row(c + ldc, 1, c10, c11, accumulate, last);
    finish.row(c + 2 * ldc, 2, c20, c21, accumulate, last);
    finish.row(c + 3 * ldc, 3, c30, c31, accumulate, last);
    finish.row(c + 4 * ldc, 4, c40, c41, accumulate, last);
    finish.row(c + 5 * ldc, 5, c50, c51, accumulate, last);
    return;
  }
  finish_edge(c, ldc, mr, nr, accumulate, last,
              TileRows{{{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}}});
}

namespace {

// The first n lanes of an 8-float vector, as a maskload / maskstore mask (none for n <= 0).
__attribute__((target("avx2,fma"), always_inline)) inline __m256i first_lanes(int64_t n) {
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n < 0 ? 0 : n > 8 ? 8 : n)), lanes);
}

// V vectors of pixels from s and d on, every tap accumulated in registers. LAST_PARTIAL: the last
// vector holds only the pixels below `rest`, its other lanes neither read nor written (masked stores
// are slow on AMD processors, so only that vector takes them). TAPS > 0: the weights (broadcast) and
// tap offsets the caller holds in registers for a whole plane; TAPS = 0: `taps` of them, read from
// memory at every step.
template <int TAPS, int V, bool LAST_PARTIAL>
__attribute__((target("avx2,fma"), always_inline)) inline void depthwise_step(
    const float* s, const int64_t* at, const __m256* held, const float* w, int64_t taps, __m256 bias,
    int64_t rest, float* d) {
  const __m256i last = first_lanes(rest - 8 * (V - 1));
  __m256 acc[V];
  for (int v = 0; v < V; ++v) acc[v] = bias;
  const int64_t n = TAPS > 0 ? TAPS : taps;
  for (int64_t t = 0; t < n; ++t) {
    const __m256 wt = TAPS > 0 ? held[t] : _mm256_broadcast_ss(w + t);
    const float* tap = s + at[t];
    for (int v = 0; v < V; ++v) {
      const bool partial = LAST_PARTIAL && v == V - 1;
      const __m256 x = partial ? _mm256_maskload_ps(tap + 8 * v, last) : _mm256_loadu_ps(tap + 8 * v);
      acc[v] = _mm256_fmadd_ps(wt, x, acc[v]);
    }
  }
  for (int v = 0; v < V; ++v) {
    if (LAST_PARTIAL && v == V - 1) {
      _mm256_maskstore_ps(d + 8 * v, last, acc[v]);
    } else {
      _mm256_storeu_ps(d + 8 * v, acc[v]);
    }
  }
}

// A row's last 1-31 pixels in V vectors, the last masked unless they fill it.
template <int TAPS, int V>
__attribute__((target("avx2,fma"), always_inline)) inline void depthwise_tail(
    const float* s, const int64_t* at, const __m256* held, const float* w, int64_t taps, __m256 bias,
    int64_t rest, float* d) {
  if (rest == 8 * V) return depthwise_step<TAPS, V, false>(s, at, held, w, taps, bias, rest, d);
  depthwise_step<TAPS, V, true>(s, at, held, w, taps, bias, rest, d);
}

// Four vectors of pixels per pass over the taps (four independent FMA chains); the row's last 1-31
// pixels in as many vectors as they fill, only the last of them partial.
template <int TAPS>
__attribute__((target("avx2,fma"))) void depthwise_rows_of(const float* src, int64_t src_row, const int64_t* tap_at,
                                                           const float* w, int64_t taps, float bias, int64_t count,
                                                           int64_t rows, float* dst) {
  const __m256 b = _mm256_set1_ps(bias);
  __m256 held[TAPS > 0 ? TAPS : 1] = {};
  int64_t at[TAPS > 0 ? TAPS : 1] = {};
  for (int t = 0; t < TAPS; ++t) {
    held[t] = _mm256_broadcast_ss(w + t);
    at[t] = tap_at[t];
  }
  const int64_t* offsets = TAPS > 0 ? at : tap_at;
  for (int64_t r = 0; r < rows; ++r, src += src_row, dst += count) {
    int64_t i = 0;
    for (; i + 32 <= count; i += 32) depthwise_step<TAPS, 4, false>(src + i, offsets, held, w, taps, b, 32, dst + i);
    const int64_t rest = count - i;
    if (rest > 24) {
      depthwise_tail<TAPS, 4>(src + i, offsets, held, w, taps, b, rest, dst + i);
    } else if (rest > 16) {
      depthwise_tail<TAPS, 3>(src + i, offsets, held, w, taps, b, rest, dst + i);
    } else if (rest > 8) {
      depthwise_tail<TAPS, 2>(src + i, offsets, held, w, taps, b, rest, dst + i);
    } else if (rest > 0) {
      depthwise_tail<TAPS, 1>(src + i, offsets, held, w, taps, b, rest, dst + i);
    }
  }
}

// V vectors of channels from k on, for depthwise_pixel_avx2; LAST_PARTIAL: the last vector holds only
// the channels below K (the only one loaded and stored masked).
template <int V, bool LAST_PARTIAL>
__attribute__((target("avx2,fma"), always_inline)) inline void depthwise_channels(
    const float* const* src, const float* const* w, int64_t taps, const float* bias, int64_t k, int64_t K,
    float* dst) {
  const __m256i last = first_lanes(K - k - 8 * (V - 1));
  __m256 acc[V];
  for (int v = 0; v < V; ++v) {
    const bool partial = LAST_PARTIAL && v == V - 1;
    acc[v] = !bias ? _mm256_setzero_ps()
             : partial ? _mm256_maskload_ps(bias + k + 8 * v, last) : _mm256_loadu_ps(bias + k + 8 * v);
  }
  for (int64_t t = 0; t < taps; ++t) {
    for (int v = 0; v < V; ++v) {
      const float* weights = w[t] + k + 8 * v;
      const float* in = src[t] + k + 8 * v;
      const bool partial = LAST_PARTIAL && v == V - 1;
      const __m256 a = partial ? _mm256_maskload_ps(weights, last) : _mm256_loadu_ps(weights);
      const __m256 b = partial ? _mm256_maskload_ps(in, last) : _mm256_loadu_ps(in);
      acc[v] = _mm256_fmadd_ps(a, b, acc[v]);
    }
  }
  for (int v = 0; v < V; ++v) {
    if (LAST_PARTIAL && v == V - 1) {
      _mm256_maskstore_ps(dst + k + 8 * v, last, acc[v]);
    } else {
      _mm256_storeu_ps(dst + k + 8 * v, acc[v]);
    }
  }
}

// The last 1-31 channels in V vectors, the last masked unless they fill it (as depthwise_tail).
template <int V>
__attribute__((target("avx2,fma"), always_inline)) inline void depthwise_channel_tail(
    const float* const* src, const float* const* w, int64_t taps, const float* bias, int64_t k, int64_t K,
    float* dst) {
  if (K - k == 8 * V) return depthwise_channels<V, false>(src, w, taps, bias, k, K, dst);
  depthwise_channels<V, true>(src, w, taps, bias, k, K, dst);
}

}  // namespace

__attribute__((target("avx2,fma"))) void depthwise_rows_avx2(const float* src, int64_t src_row, const int64_t* tap_at,
                                                             const float* w, int64_t taps, float bias,
                                                             int64_t count, int64_t rows, float* dst) {
  // 3 x 3, the most common depthwise kernel by far, with its nine weights and offsets in registers.
  if (taps == 9) return depthwise_rows_of<9>(src, src_row, tap_at, w, taps, bias, count, rows, dst);
  depthwise_rows_of<0>(src, src_row, tap_at, w, taps, bias, count, rows, dst);
}

__attribute__((target("avx2,fma"))) void depthwise_pixel_avx2(const float* const* src, const float* const* w,
                                                              int64_t taps, const float* bias, int64_t K,
                                                              float* dst) {
  int64_t k = 0;
  for (; k + 32 <= K; k += 32) depthwise_channels<4, false>(src, w, taps, bias, k, K, dst);
  const int64_t rest = K - k;  // 0-31 channels: as many vectors as they fill, only the last partial
  if (rest > 24) return depthwise_channel_tail<4>(src, w, taps, bias, k, K, dst);
  if (rest > 16) return depthwise_channel_tail<3>(src, w, taps, bias, k, K, dst);
  if (rest > 8) return depthwise_channel_tail<2>(src, w, taps, bias, k, K, dst);
  if (rest > 0) depthwise_channel_tail<1>(src, w, taps, bias, k, K, dst);
}

__attribute__((target("avx2,fma"))) void deinterleave_avx2(const float* src, int64_t src_stride,
                                                           float* even, float* odd,
                                                           int64_t dst_stride, int64_t rows,
                                                           int64_t pairs) {
  for (int64_t r = 0; r < rows; ++r, src += src_stride, even += dst_stride, odd += dst_stride) {
    const float* in = src;
    int64_t j = 0;
    for (; j + 8 <= pairs; j += 8, in += 16) {
      // Within each 128-bit half, shuffles pick the even and the odd lanes of both vectors; one
      // cross-half permute then puts the eight of each in order.
      const __m256 a = _mm256_loadu_ps(in), b = _mm256_loadu_ps(in + 8);
      const __m256d e = _mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88));
      const __m256d o = _mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xdd));
      _mm256_storeu_ps(even + j, _mm256_castpd_ps(_mm256_permute4x64_pd(e, 0xd8)));
      _mm256_storeu_ps(odd + j, _mm256_castpd_ps(_mm256_permute4x64_pd(o, 0xd8)));
    }
    if (j + 4 <= pairs) {
      const __m128 a = _mm_loadu_ps(in), b = _mm_loadu_ps(in + 4);
      _mm_storeu_ps(even + j, _mm_shuffle_ps(a, b, 0x88));
      _mm_storeu_ps(odd + j, _mm_shuffle_ps(a, b, 0xdd));
      j += 4;
      in += 8;
    }
    // The last 0-3 pairs, one by one: masked stores are slow on AMD processors, and a loop here gets
    // vectorised again, behind alias tests that cost more than the moves.
    switch (pairs - j) {
      case 3: even[j + 2] = in[4], odd[j + 2] = in[5]; [[fallthrough]];
      case 2: even[j + 1] = in[2], odd[j + 1] = in[3]; [[fallthrough]];
      case 1: even[j] = in[0], odd[j] = in[1]; break;
      default: break;
    }
  }
}

namespace {

// The 8 x 8 block at src (rows src_stride apart) into dst (dst_stride apart), transposed: pairs of rows
// interleaved, then pairs of pairs, then the 128-bit halves exchanged.
__attribute__((target("avx2,fma"), always_inline)) inline void transpose_block(const float* src,
                                                                               int64_t src_stride, float* dst,
                                                                               int64_t dst_stride) {
  __m256 r[8], t[8];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * src_stride);
#pragma GCC unroll 4
  for (int i = 0; i < 8; i += 2) t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]), t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  // r[4 h + c]: column c (and c + 4, in the upper half) of rows 4 h to 4 h + 3.
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    r[4 * h + 0] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0x44);
    r[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0xEE);
    r[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
    r[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xEE);
  }
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
    _mm256_storeu_ps(dst + c * dst_stride, _mm256_permute2f128_ps(r[c], r[4 + c], 0x20));
    _mm256_storeu_ps(dst + (c + 4) * dst_stride, _mm256_permute2f128_ps(r[c], r[4 + c], 0x31));
  }
}

}  // namespace

__attribute__((target("avx2,fma"))) void transpose_avx2(const float* src, int64_t src_stride, int64_t rows,
                                                        int64_t cols, float* dst, int64_t dst_stride) {
  const int64_t block_rows = rows / 8 * 8, block_cols = cols / 8 * 8;
  for (int64_t i = 0; i < block_rows; i += 8) {
    for (int64_t j = 0; j < block_cols; j += 8) {
      transpose_block(src + i * src_stride + j, src_stride, dst + j * dst_stride + i, dst_stride);
    }
  }
  // The columns past the last block for the rows in blocks, then every column of the last rows.
  transpose_generic(src + block_cols, src_stride, block_rows, cols - block_cols, dst + block_cols * dst_stride,
                    dst_stride);
  transpose_generic(src + block_rows * src_stride, src_stride, rows - block_rows, cols, dst + block_rows,
                    dst_stride);
}

}  // namespace stridekit::cpu

#else

namespace stridekit::cpu {
// Not an x86-64 GCC/Clang build: select_microkernel() never picks this.
void microkernel_avx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr,
                      int nr, bool accumulate, const KernelEpilogue* last, Prefetch next) {
  microkernel_generic(kc, a, b, c, ldc, mr, nr, accumulate, last, next);
}
void depthwise_rows_avx2(const float* src, int64_t src_row, const int64_t* tap_at, const float* w,
                         int64_t taps, float bias, int64_t count, int64_t rows, float* dst) {
  depthwise_rows_generic(src, src_row, tap_at, w, taps, bias, count, rows, dst);
}
void depthwise_pixel_avx2(const float* const* src, const float* const* w, int64_t taps, const float* bias,
                          int64_t K, float* dst) {
  depthwise_pixel_generic(src, w, taps, bias, K, dst);
}
void deinterleave_avx2(const float* src, int64_t src_stride, float* even, float* odd,
                       int64_t dst_stride, int64_t rows, int64_t pairs) {
  deinterleave_generic(src, src_stride, even, odd, dst_stride, rows, pairs);
}
void transpose_avx2(const float* src, int64_t src_stride, int64_t rows, int64_t cols, float* dst,
                    int64_t dst_stride) {
  transpose_generic(src, src_stride, rows, cols, dst, dst_stride);
}
}  // namespace stridekit::cpu

#endif
