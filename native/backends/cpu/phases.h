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
    const int64_t sd = p.stride[0], sh = p.stride[1], sw = p.stride[2];
    const int64_t width = p.in[2], row = size[2];
    const int64_t whole = width / sw;  // groups of sw input columns that are all inside the row
    float* dst[16];                      // one row per w-phase; strides above 16 take the slow path
    for (int64_t ad = 0; ad < sd; ++ad) {
      for (int64_t ah = 0; ah < sh; ++ah) {
        for (int64_t jd = 0; jd < size[0]; ++jd) {
          const int64_t id = jd * sd + ad;
          for (int64_t jh = 0; jh < size[1]; ++jh) {
            const int64_t ih = jh * sh + ah;
            float* first = out + ((ad * sh + ah) * sw * plane) + (jd * size[1] + jh) * row;
            if (id >= p.in[0] || ih >= p.in[1]) {
              for (int64_t aw = 0; aw < sw; ++aw) std::fill(first + aw * plane, first + aw * plane + row, 0.f);
              continue;
            }
            // Each input row is read once, left to right, and dealt to the sw phase rows.
            const float* src = in + (id * p.in[1] + ih) * width;
            if (sw == 1) {
              std::copy(src, src + width, first);
              continue;
            }
            if (sw == 2) {  // the common stride: a fixed two-way deinterleave the compiler vectorises
              float* even = first;
              float* odd = first + plane;
              for (int64_t jw = 0; jw < whole; ++jw) {
                even[jw] = src[2 * jw];
                odd[jw] = src[2 * jw + 1];
              }
            } else if (sw <= 16) {
              for (int64_t aw = 0; aw < sw; ++aw) dst[aw] = first + aw * plane;
              for (int64_t jw = 0; jw < whole; ++jw) {
                for (int64_t aw = 0; aw < sw; ++aw) dst[aw][jw] = src[jw * sw + aw];
              }
            }
            for (int64_t aw = 0; aw < sw; ++aw) {
              float* d = first + aw * plane;
              for (int64_t jw = sw <= 16 ? whole : 0; jw < row; ++jw) {  // the row's tail
                const int64_t iw = jw * sw + aw;
                d[jw] = iw < width ? src[iw] : 0.f;
              }
            }
          }
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
