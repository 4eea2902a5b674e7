// An input plane split by stride phase, inside a zero border: phase (ad, ah, aw) holds
// x[j * stride + a] at index border + j, zero where that falls outside the input, and the border is
// wide enough that every kernel tap of every output pixel reads inside its phase. A strided tap then
// reads consecutive floats of one phase with no bounds arithmetic at all: padding is the zeros it
// finds there. Strided layers pack patches and accumulate depthwise taps with plain vector copies.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "backends/cpu/conv_problem.h"

namespace stridekit::cpu {

// Copies and zero fills of a few floats (or bf16 pair words, for the zeros), as fixed-size moves the
// compiler inlines: the runs of small layers, and a padded row's border of a value or two, are too
// short for a call to memmove or memset to pay for itself. (std::copy_n becomes a memmove call even
// at a fixed size; memcpy of a constant size is inlined.)
inline void copy_floats(float* dst, const float* src, int64_t n) {
  for (; n >= 8; n -= 8, dst += 8, src += 8) std::memcpy(dst, src, 8 * sizeof(float));
  if (n & 4) std::memcpy(dst, src, 4 * sizeof(float)), dst += 4, src += 4;
  if (n & 2) std::memcpy(dst, src, 2 * sizeof(float)), dst += 2, src += 2;
  if (n & 1) *dst = *src;
}

template <class T>
inline void zero_values(T* dst, int64_t n) {
  for (; n >= 8; n -= 8, dst += 8) std::memset(dst, 0, 8 * sizeof(T));
  if (n & 4) std::memset(dst, 0, 4 * sizeof(T)), dst += 4;
  if (n & 2) std::memset(dst, 0, 2 * sizeof(T)), dst += 2;
  if (n & 1) *dst = T{};
}

// Zeros the positions of one dimension of a bordered plane that hold no input, `unit` values each:
// [0, border) and [border + used, extent).
template <class T>
inline void zero_around(T* q, int64_t border, int64_t used, int64_t extent, int64_t unit) {
  zero_values(q, border * unit);
  zero_values(q + (border + used) * unit, (extent - border - used) * unit);
}

// The phase shift of kernel tap `t` along dimension d: input coordinate o * stride - pad + t * dilation
// = (o + shift) * stride + a, so output o reads index o + shift of phase a.
inline int64_t tap_shift(const ConvProblem& p, int d, int64_t t) {
  return floor_div(t * p.dilation[d] - p.pad[d], p.stride[d]);
}

struct PhaseLayout {
  int64_t size[3];    // input positions per phase: ceil(in / stride)
  int64_t border[3];  // zeros before a phase's first input position
  int64_t extent[3];  // floats per phase along each dimension, borders included
  int64_t plane;      // floats per phase (kSaturated when past int64: see bounded())
  int64_t count;      // phases per input plane (kSaturated likewise)
  bool identity;      // one phase and no border: the split would copy the plane unchanged

  explicit PhaseLayout(const ConvProblem& p) {
    identity = true;
    plane = count = 1;
    for (int d = 0; d < 3; ++d) {
      size[d] = (p.in[d] + p.stride[d] - 1) / p.stride[d];
      // Shifts grow with the tap, so the first and the last tap bound what any output reads.
      const int64_t lowest = tap_shift(p, d, 0), highest = tap_shift(p, d, p.kernel[d] - 1);
      border[d] = std::max<int64_t>(0, -lowest);
      extent[d] = border[d] + std::max(size[d], p.out[d] + highest);
      identity = identity && border[d] == 0 && extent[d] == p.in[d] && p.stride[d] == 1;
      plane = mul_saturated(plane, extent[d]);
      count = mul_saturated(count, p.stride[d]);
    }
  }

  // Floats the split of one input plane takes.
  int64_t floats() const { return mul_saturated(count, plane); }

  // How many times the floats a convolution reads per input plane anyway (the plane once, and one
  // per kernel tap per output pixel for its patches) the split may take. The split is the input
  // spread over stride phases with borders that reach every tap: for ordinary layers that is about
  // the input's own size (at most 1.2 times what they read, the benchmark's layers and the
  // conformance cases included), but strides far larger than the input multiply the phases, and
  // pads or dilations far larger than the input stretch the borders, to sizes that have nothing to
  // do with the work (x[4], w[2], pad 2^31 - 2 and dilation 2^31 - 2, one output: a border of 2^31
  // floats, 8 GB a channel). Above this bound a layer runs as a direct convolution (direct.cc).
  static constexpr int64_t kPhaseGrowth = 4;

  // Whether this layout is worth building for p: every path that splits planes asks first, and no
  // other member may be used on a layout that is not (their offsets would overflow).
  bool bounded(const ConvProblem& p) const {
    const int64_t reads = add_saturated(p.in_pixels, mul_saturated(p.out_pixels, p.taps));
    return floats() < kSaturated && floats() <= mul_saturated(kPhaseGrowth, reads);
  }

  // Where output pixel (od, oh, ow) reads, relative to where output pixel 0 reads, in any phase.
  int64_t pixel_offset(int64_t od, int64_t oh, int64_t ow) const {
    return (od * extent[1] + oh) * extent[2] + ow;
  }

  // Where output pixel 0 reads each kernel tap, from the start of one input plane's phases: p.taps
  // offsets into `offsets`, in tap order. Once per run: packing then looks offsets up.
  void tap_offsets(const ConvProblem& p, int64_t* offsets) const {
    for (int64_t td = 0; td < p.kernel[0]; ++td) {
      const int64_t shift_d = tap_shift(p, 0, td);
      const int64_t phase_d = td * p.dilation[0] - p.pad[0] - shift_d * p.stride[0];
      for (int64_t th = 0; th < p.kernel[1]; ++th) {
        const int64_t shift_h = tap_shift(p, 1, th);
        const int64_t phase_dh = phase_d * p.stride[1] + th * p.dilation[1] - p.pad[1] - shift_h * p.stride[1];
        const int64_t offset_dh = (border[0] + shift_d) * extent[1] + border[1] + shift_h;
        for (int64_t tw = 0; tw < p.kernel[2]; ++tw) {
          const int64_t shift_w = tap_shift(p, 2, tw);
          const int64_t phase = phase_dh * p.stride[2] + tw * p.dilation[2] - p.pad[2] - shift_w * p.stride[2];
          *offsets++ = phase * plane + offset_dh * extent[2] + border[2] + shift_w;
        }
      }
    }
  }

  // Marks in read[0, stride[d]) the phases of dimension d that some kernel tap reads: taps land on
  // the phases of their offsets modulo the stride, so a 1x1 kernel at stride 2 reads one in two. The
  // phase of tap t + stride is that of tap t, so the first min(kernel, stride) taps find them all,
  // and a strided kernel longer than its stride costs no more than one as long.
  void mark_read(const ConvProblem& p, int d, bool* read) const {
    std::fill(read, read + p.stride[d], false);
    for (int64_t t = 0, taps = std::min(p.kernel[d], p.stride[d]); t < taps; ++t) {
      read[t * p.dilation[d] - p.pad[d] - tap_shift(p, d, t) * p.stride[d]] = true;
    }
  }

  // `planes` input planes (in, plane_stride floats apart; p.in_pixels unless p is a band of a
  // larger input) into their phases (out, floats() floats apart). Each input row a tap reads is read
  // once, left to right, and dealt to its stride[2] phase rows; phases no tap reads are not written.
  void split(const ConvProblem& p, const float* in, int64_t plane_stride, float* out,
             int64_t planes) const;
};

// Packs one run of `count` (<= 16) consecutive pixels of every depth into a patch strip:
// dst[k * width + i] = src[offsets[k] + i] for k < depth, i < count. A run is the output pixels of a
// strip that share an output row, so each depth's part is one short contiguous copy.
void gather_run(const float* src, const int64_t* offsets, int64_t depth, int64_t count, float* dst,
                int64_t width);

}  // namespace stridekit::cpu
