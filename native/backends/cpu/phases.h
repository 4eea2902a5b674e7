// An input plane split by stride phase: phase (ad, ah, aw) holds x[j * stride + a] at index j, zero
// where that falls outside the input. A strided kernel tap then reads consecutive floats of one
// phase, so strided layers pack and accumulate with plain vector copies and no bounds arithmetic.
#pragma once

#include <algorithm>
#include <cstdint>

#include "backends/cpu/conv_problem.h"

namespace stridekit::cpu {

// floor(a / b) for b > 0.
inline int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

struct PhaseLayout {
  int64_t size[3];  // per phase: ceil(in / stride)
  int64_t plane;    // floats per phase
  int64_t count;    // phases per input plane

  explicit PhaseLayout(const ConvProblem& p) {
    for (int d = 0; d < 3; ++d) size[d] = (p.in[d] + p.stride[d] - 1) / p.stride[d];
    plane = size[0] * size[1] * size[2];
    count = p.stride[0] * p.stride[1] * p.stride[2];
  }

  // Floats the split of one input plane takes.
  int64_t floats() const { return count * plane; }

  void split(const ConvProblem& p, const float* in, float* out) const {
    for (int64_t ad = 0; ad < p.stride[0]; ++ad)
      for (int64_t ah = 0; ah < p.stride[1]; ++ah)
        for (int64_t aw = 0; aw < p.stride[2]; ++aw) {
          float* dst = out + ((ad * p.stride[1] + ah) * p.stride[2] + aw) * plane;
          const int64_t valid = (p.in[2] - aw + p.stride[2] - 1) / p.stride[2];
          for (int64_t jd = 0; jd < size[0]; ++jd) {
            const int64_t id = jd * p.stride[0] + ad;
            for (int64_t jh = 0; jh < size[1]; ++jh, dst += size[2]) {
              const int64_t ih = jh * p.stride[1] + ah;
              if (id >= p.in[0] || ih >= p.in[1]) {
                std::fill(dst, dst + size[2], 0.f);
                continue;
              }
              const float* src = in + (id * p.in[1] + ih) * p.in[2] + aw;
              for (int64_t jw = 0; jw < valid; ++jw) dst[jw] = src[jw * p.stride[2]];
              std::fill(dst + valid, dst + size[2], 0.f);
            }
          }
        }
  }
};

// Where a kernel tap reads, in phase terms: input coordinate o * stride - pad + tap offset
// = (o + shift) * stride + a, so output o reads index o + shift of phase a.
struct TapPhase {
  int64_t phase_offset;  // floats from the first phase to phase a
  int64_t shift[3];
};

inline TapPhase tap_phase(const ConvProblem& p, const PhaseLayout& layout, int64_t tap) {
  const TapOffset t = tap_offset(p, tap);
  const int64_t offset[3] = {t.d - p.pad[0], t.h - p.pad[1], t.w - p.pad[2]};
  TapPhase result{};
  int64_t a[3];
  for (int d = 0; d < 3; ++d) {
    result.shift[d] = floor_div(offset[d], p.stride[d]);
    a[d] = offset[d] - result.shift[d] * p.stride[d];
  }
  result.phase_offset = ((a[0] * p.stride[1] + a[1]) * p.stride[2] + a[2]) * layout.plane;
  return result;
}

}  // namespace stridekit::cpu
