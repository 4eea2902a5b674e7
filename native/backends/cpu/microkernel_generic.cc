// Portable kernels: plain loops the compiler vectorises for the target's baseline (SSE2 on an
// x86-64 without AVX2, anything else without a kernel of its own); and the run-time choice of kernel.
#include "backends/cpu/cpu_features.h"
#include "backends/cpu/epilogue.h"
#include "backends/cpu/microkernel.h"

namespace stridekit::cpu {

void microkernel_generic(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr,
                         int nr, bool accumulate, const KernelEpilogue* last, Prefetch next) {
  float acc[kMR][kNR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int i = 0; i < kMR; ++i) {
      const float ai = a[i];
      for (int j = 0; j < kNR; ++j) acc[i][j] += ai * b[j];
    }
    a += kMR;
    b += kNR;
  }
  prefetch_lines(next.begin, next.end);
  for (int i = 0; i < mr; ++i) {
    float* row = c + i * ldc;
    for (int j = 0; j < nr; ++j) {
      float v = accumulate ? row[j] + acc[i][j] : acc[i][j];
      if (last) {
        if (last->bias) v += last->bias[last->bias_per_row ? i : j];
        if (last->activation == SK_ACTIVATION_RELU) v = relu(v);
        if (last->activation == SK_ACTIVATION_RELU6) v = relu6(v);
      }
      row[j] = v;
    }
  }
}

namespace {

// `N` pixels accumulated together: with N a compile-time constant the compiler keeps them in
// registers.
template <int64_t N>
void depthwise_run(const float* src, const int64_t* tap_at, const float* w, int64_t taps, float bias,
                   float* dst) {
  float acc[N];
  for (int64_t i = 0; i < N; ++i) acc[i] = bias;
  for (int64_t tap = 0; tap < taps; ++tap) {
    const float* s = src + tap_at[tap];
    const float wt = w[tap];
    for (int64_t i = 0; i < N; ++i) acc[i] += wt * s[i];
  }
  for (int64_t i = 0; i < N; ++i) dst[i] = acc[i];
}

}  // namespace

void depthwise_rows_generic(const float* src, int64_t src_row, const int64_t* tap_at, const float* w,
                            int64_t taps, float bias, int64_t count, int64_t rows, float* dst) {
  for (int64_t r = 0; r < rows; ++r, src += src_row, dst += count) {
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) depthwise_run<8>(src + i, tap_at, w, taps, bias, dst + i);
    for (; i < count; ++i) depthwise_run<1>(src + i, tap_at, w, taps, bias, dst + i);
  }
}

void depthwise_pixel_generic(const float* const* src, const float* const* w, int64_t taps, const float* bias,
                             int64_t K, float* dst) {
  constexpr int64_t kBlock = 8;  // channels accumulated together: the compiler keeps them in registers
  int64_t k = 0;
  for (; k + kBlock <= K; k += kBlock) {
    float acc[kBlock];
    for (int64_t j = 0; j < kBlock; ++j) acc[j] = bias ? bias[k + j] : 0.f;
    for (int64_t t = 0; t < taps; ++t) {
      for (int64_t j = 0; j < kBlock; ++j) acc[j] += w[t][k + j] * src[t][k + j];
    }
    for (int64_t j = 0; j < kBlock; ++j) dst[k + j] = acc[j];
  }
  for (; k < K; ++k) {
    float acc = bias ? bias[k] : 0.f;
    for (int64_t t = 0; t < taps; ++t) acc += w[t][k] * src[t][k];
    dst[k] = acc;
  }
}

void deinterleave_generic(const float* src, int64_t src_stride, float* even, float* odd,
                          int64_t dst_stride, int64_t rows, int64_t pairs) {
  for (int64_t r = 0; r < rows; ++r, src += src_stride, even += dst_stride, odd += dst_stride) {
    for (int64_t j = 0; j < pairs; ++j) {
      even[j] = src[2 * j];
      odd[j] = src[2 * j + 1];
    }
  }
}

void transpose_generic(const float* src, int64_t src_stride, int64_t rows, int64_t cols, float* dst,
                       int64_t dst_stride) {
  for (int64_t j = 0; j < cols; ++j) {
    for (int64_t i = 0; i < rows; ++i) dst[j * dst_stride + i] = src[i * src_stride + j];
  }
}

MicroKernel select_microkernel() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (cpu_features().avx512) return microkernel_avx512;
  if (cpu_features().avx2_fma) return microkernel_avx2;
#elif defined(__aarch64__)
  return microkernel_neon;
#endif
  return microkernel_generic;
}

void microkernel_pair_generic(int64_t kc, const float* a, const float* b, int64_t b_stride, float* c,
                              int64_t ldc, int mr, int nr, bool accumulate, const KernelEpilogue* last,
                              Prefetch next) {
  microkernel_generic(kc, a, b, c, ldc, mr, nr < kNR ? nr : kNR, accumulate, last, next);
  if (nr <= kNR) return;
  KernelEpilogue second;
  if (last) {
    second = *last;
    if (second.bias && !second.bias_per_row) second.bias += kNR;  // the second strip's columns
  }
  microkernel_generic(kc, a, b + b_stride, c + kNR, ldc, mr, nr - kNR, accumulate,
                      last ? &second : nullptr, {});
}

PairKernel select_pair_kernel() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (cpu_features().avx512) return microkernel_avx512_pair;
#endif
  return nullptr;
}

IndirectKernel select_indirect_kernel() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (cpu_features().avx512) return microkernel_avx512_indirect;
#endif
  return nullptr;
}

ListedKernel select_listed_kernel() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (cpu_features().avx512) return microkernel_avx512_listed;
#endif
  return nullptr;
}

DepthwiseRowsKernel select_depthwise_rows_kernel() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (cpu_features().avx512) return depthwise_rows_avx512;
  if (cpu_features().avx2_fma) return depthwise_rows_avx2;
#elif defined(__aarch64__)
  return depthwise_rows_neon;
#endif
  return depthwise_rows_generic;
}

DepthwisePixelKernel select_depthwise_pixel_kernel() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (cpu_features().avx512) return depthwise_pixel_avx512;
  if (cpu_features().avx2_fma) return depthwise_pixel_avx2;
#elif defined(__aarch64__)
  return depthwise_pixel_neon;
#endif
  return depthwise_pixel_generic;
}

GatherKernel select_gather_kernel() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (cpu_features().avx512) return gather_run_avx512;
#endif
  return nullptr;
}

PadRowsKernel select_pad_rows_kernel() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (cpu_features().avx512) return pad_rows_avx512;
#endif
  return nullptr;
}

TransposeKernel select_transpose_kernel() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (cpu_features().avx2_fma) return transpose_avx2;
#endif
  return transpose_generic;
}

DeinterleaveKernel select_deinterleave_kernel() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (cpu_features().avx512) return deinterleave_avx512;
  if (cpu_features().avx2_fma) return deinterleave_avx2;
#elif defined(__aarch64__)
  return deinterleave_neon;
#endif
  return deinterleave_generic;
}

}  // namespace stridekit::cpu
