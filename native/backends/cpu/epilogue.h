// Bias and fused activation, applied to a block of output while it is still in cache.
#pragma once

#include <cmath>
#include <cstdint>

#include "stridekit/backend.h"

namespace stridekit::cpu {

// relu and relu6 let NaN through, as PyTorch's and the cudnn backend's activations do: every
// comparison with NaN is false, so NaN reaches the last operand. The vector kernels keep the same
// rule (microkernel.h).
inline float relu(float v) { return v < 0.f ? 0.f : v; }
inline float relu6(float v) { return v < 0.f ? 0.f : v > 6.f ? 6.f : v; }

inline float activate(int activation, float v) {
  switch (activation) {
    case SK_ACTIVATION_RELU: return relu(v);
    case SK_ACTIVATION_RELU6: return relu6(v);
    case SK_ACTIVATION_SIGMOID: return 1.f / (1.f + std::exp(-v));
    case SK_ACTIVATION_TANH: return std::tanh(v);
    case SK_ACTIVATION_SILU: return v / (1.f + std::exp(-v));
    default: return v;
  }
}

// A rows x cols block with row stride ld. bias (may be null) is indexed by row when per_row,
// otherwise by column.
inline void apply_epilogue(float* c, int64_t ld, int64_t rows, int64_t cols, const float* bias,
                           bool bias_per_row, int activation) {
  if (!bias && activation == SK_ACTIVATION_NONE) return;
  for (int64_t i = 0; i < rows; ++i) {
    float* row = c + i * ld;
    if (bias) {
      if (bias_per_row) {
        const float b = bias[i];
        for (int64_t j = 0; j < cols; ++j) row[j] += b;
      } else {
        for (int64_t j = 0; j < cols; ++j) row[j] += bias[j];
      }
    }
    if (activation == SK_ACTIVATION_RELU) {
      for (int64_t j = 0; j < cols; ++j) row[j] = relu(row[j]);
    } else if (activation != SK_ACTIVATION_NONE) {
      for (int64_t j = 0; j < cols; ++j) row[j] = activate(activation, row[j]);
    }
  }
}

}  // namespace stridekit::cpu
