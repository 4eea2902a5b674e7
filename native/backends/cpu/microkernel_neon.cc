// NEON kernels for arm64 (Apple silicon, Graviton, Ampere, Snapdragon), where Advanced SIMD is part
// of the baseline: select_microkernel() always picks them there. The 6 x 16 tile keeps its 24
// accumulators in 24 of the 32 vector registers; each step multiplies four 4-float vectors of B by
// one lane of A (fmla by element), so A needs no broadcast loads.
#include "backends/cpu/microkernel.h"

#if defined(__aarch64__)
#include <arm_neon.h>

namespace stridekit::cpu {

namespace {

// The end of one tile row: plus C when accumulating, then the bias and a relu / relu6 on the last
// depth block.
inline void finish_row(float32x4_t v[4], float* out, int i, bool accumulate, const KernelEpilogue* last) {
  for (int j = 0; j < 4; ++j) {
    if (accumulate) v[j] = vaddq_f32(v[j], vld1q_f32(out + 4 * j));
    if (last) {
      if (last->bias) {
        v[j] = vaddq_f32(v[j], last->bias_per_row ? vdupq_n_f32(last->bias[i]) : vld1q_f32(last->bias + 4 * j));
      }
      if (last->activation == SK_ACTIVATION_RELU || last->activation == SK_ACTIVATION_RELU6) {
        v[j] = vmaxq_f32(v[j], vdupq_n_f32(0.f));  // NEON's max and min return NaN when one is NaN
        if (last->activation == SK_ACTIVATION_RELU6) v[j] = vminq_f32(v[j], vdupq_n_f32(6.f));
      }
    }
    vst1q_f32(out + 4 * j, v[j]);
  }
}

}  // namespace

void microkernel_neon(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr,
                      int nr, bool accumulate, const KernelEpilogue* last, Prefetch next) {
  float32x4_t acc[kMR][4];
  for (int i = 0; i < kMR; ++i) {
    for (int j = 0; j < 4; ++j) acc[i][j] = vdupq_n_f32(0.f);
  }
  for (int64_t k = 0; k < kc; ++k) {
    const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
    const float32x4_t b2 = vld1q_f32(b + 8), b3 = vld1q_f32(b + 12);
    const float32x4_t a0 = vld1q_f32(a);      // rows 0-3
    const float32x2_t a1 = vld1_f32(a + 4);   // rows 4-5
#define SK_ROW(i, lane_fma, av, lane)          \
  acc[i][0] = lane_fma(acc[i][0], b0, av, lane); \
  acc[i][1] = lane_fma(acc[i][1], b1, av, lane); \
  acc[i][2] = lane_fma(acc[i][2], b2, av, lane); \
  acc[i][3] = lane_fma(acc[i][3], b3, av, lane);
    SK_ROW(0, vfmaq_laneq_f32, a0, 0)
    SK_ROW(1, vfmaq_laneq_f32, a0, 1)
    SK_ROW(2, vfmaq_laneq_f32, a0, 2)
    SK_ROW(3, vfmaq_laneq_f32, a0, 3)
    SK_ROW(4, vfmaq_lane_f32, a1, 0)
    SK_ROW(5, vfmaq_lane_f32, a1, 1)
#undef SK_ROW
    a += kMR;
    b += kNR;
  }
  prefetch_lines(next.begin, next.end);
  if (mr == kMR && nr == kNR) {  // a whole tile: every row straight from its registers
    for (int i = 0; i < kMR; ++i) finish_row(acc[i], c + i * ldc, i, accumulate, last);
    return;
  }
  // An edge tile: rows past mr are dropped, columns past nr go through a buffer, and only nr values
  // of a column bias are read (the rest may lie past the array).
  float buffer[kNR], column_bias[kNR];
  KernelEpilogue edge = last ? *last : KernelEpilogue{nullptr, true, SK_ACTIVATION_NONE};
  if (edge.bias && !edge.bias_per_row) {
    for (int j = 0; j < kNR; ++j) column_bias[j] = j < nr ? edge.bias[j] : 0.f;
    edge.bias = column_bias;
  }
  for (int i = 0; i < mr; ++i) {
    float* row = c + i * ldc;
    for (int j = 0; j < kNR; ++j) buffer[j] = accumulate && j < nr ? row[j] : 0.f;
    finish_row(acc[i], buffer, i, accumulate, last ? &edge : nullptr);
    for (int j = 0; j < nr; ++j) row[j] = buffer[j];
  }
}

namespace {

void depthwise_row(const float* src, const int64_t* tap_at, const float* w, int64_t taps, float bias,
                   int64_t count, float* dst) {
  const float32x4_t b = vdupq_n_f32(bias);
  int64_t i = 0;
  for (; i + 16 <= count; i += 16) {  // four vectors of pixels per pass over the taps
    float32x4_t a0 = b, a1 = b, a2 = b, a3 = b;
    for (int64_t tap = 0; tap < taps; ++tap) {
      const float* s = src + tap_at[tap] + i;
      const float32x4_t wt = vdupq_n_f32(w[tap]);
      a0 = vfmaq_f32(a0, wt, vld1q_f32(s));
      a1 = vfmaq_f32(a1, wt, vld1q_f32(s + 4));
      a2 = vfmaq_f32(a2, wt, vld1q_f32(s + 8));
      a3 = vfmaq_f32(a3, wt, vld1q_f32(s + 12));
    }
    vst1q_f32(dst + i, a0);
    vst1q_f32(dst + i + 4, a1);
    vst1q_f32(dst + i + 8, a2);
    vst1q_f32(dst + i + 12, a3);
  }
  for (; i + 4 <= count; i += 4) {
    float32x4_t a = b;
    for (int64_t tap = 0; tap < taps; ++tap) a = vfmaq_n_f32(a, vld1q_f32(src + tap_at[tap] + i), w[tap]);
    vst1q_f32(dst + i, a);
  }
  for (; i < count; ++i) {  // the last 1-3 pixels
    float a = bias;
    for (int64_t tap = 0; tap < taps; ++tap) a += w[tap] * src[tap_at[tap] + i];
    dst[i] = a;
  }
}

}  // namespace

void depthwise_rows_neon(const float* src, int64_t src_row, const int64_t* tap_at, const float* w,
                         int64_t taps, float bias, int64_t count, int64_t rows, float* dst) {
  for (int64_t r = 0; r < rows; ++r, src += src_row, dst += count) depthwise_row(src, tap_at, w, taps, bias, count, dst);
}

void depthwise_pixel_neon(const float* const* src, const float* const* w, int64_t taps, const float* bias,
                          int64_t K, float* dst) {
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {  // four vectors of channels, every tap accumulated in registers
    float32x4_t a0, a1, a2, a3;
    if (bias) {
      a0 = vld1q_f32(bias + k), a1 = vld1q_f32(bias + k + 4), a2 = vld1q_f32(bias + k + 8), a3 = vld1q_f32(bias + k + 12);
    } else {
      a0 = a1 = a2 = a3 = vdupq_n_f32(0.f);
    }
    for (int64_t t = 0; t < taps; ++t) {
      const float* weights = w[t] + k;
      const float* in = src[t] + k;
      a0 = vfmaq_f32(a0, vld1q_f32(weights), vld1q_f32(in));
      a1 = vfmaq_f32(a1, vld1q_f32(weights + 4), vld1q_f32(in + 4));
      a2 = vfmaq_f32(a2, vld1q_f32(weights + 8), vld1q_f32(in + 8));
      a3 = vfmaq_f32(a3, vld1q_f32(weights + 12), vld1q_f32(in + 12));
    }
    vst1q_f32(dst + k, a0);
    vst1q_f32(dst + k + 4, a1);
    vst1q_f32(dst + k + 8, a2);
    vst1q_f32(dst + k + 12, a3);
  }
  for (; k + 4 <= K; k += 4) {
    float32x4_t a = bias ? vld1q_f32(bias + k) : vdupq_n_f32(0.f);
    for (int64_t t = 0; t < taps; ++t) a = vfmaq_f32(a, vld1q_f32(w[t] + k), vld1q_f32(src[t] + k));
    vst1q_f32(dst + k, a);
  }
  for (; k < K; ++k) {  // the last 1-3 channels
    float a = bias ? bias[k] : 0.f;
    for (int64_t t = 0; t < taps; ++t) a += w[t][k] * src[t][k];
    dst[k] = a;
  }
}

void deinterleave_neon(const float* src, int64_t src_stride, float* even, float* odd,
                       int64_t dst_stride, int64_t rows, int64_t pairs) {
  for (int64_t r = 0; r < rows; ++r, src += src_stride, even += dst_stride, odd += dst_stride) {
    const float* in = src;
    int64_t j = 0;
    for (; j + 4 <= pairs; j += 4, in += 8) {  // ld2 splits eight floats into their two lanes
      const float32x4x2_t v = vld2q_f32(in);
      vst1q_f32(even + j, v.val[0]);
      vst1q_f32(odd + j, v.val[1]);
    }
    for (; j < pairs; ++j, in += 2) {
      even[j] = in[0];
      odd[j] = in[1];
    }
  }
}

}  // namespace stridekit::cpu

#else

namespace stridekit::cpu {
// Not an arm64 build: select_microkernel() never picks these.
void microkernel_neon(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr,
                      int nr, bool accumulate, const KernelEpilogue* last, Prefetch next) {
  microkernel_generic(kc, a, b, c, ldc, mr, nr, accumulate, last, next);
}
void depthwise_rows_neon(const float* src, int64_t src_row, const int64_t* tap_at, const float* w,
                         int64_t taps, float bias, int64_t count, int64_t rows, float* dst) {
  depthwise_rows_generic(src, src_row, tap_at, w, taps, bias, count, rows, dst);
}
void depthwise_pixel_neon(const float* const* src, const float* const* w, int64_t taps, const float* bias,
                          int64_t K, float* dst) {
  depthwise_pixel_generic(src, w, taps, bias, K, dst);
}
void deinterleave_neon(const float* src, int64_t src_stride, float* even, float* odd,
                       int64_t dst_stride, int64_t rows, int64_t pairs) {
  deinterleave_generic(src, src_stride, even, odd, dst_stride, rows, pairs);
}
}  // namespace stridekit::cpu

#endif
