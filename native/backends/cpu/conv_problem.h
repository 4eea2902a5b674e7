// One convolution as the CPU kernels see it: the ABI's geometry and shape with rank 1 and 2 lifted
// to three spatial dimensions (leading dimensions of size 1), so every loop is written once.
#pragma once

#include <cstdint>
#include <limits>

#include "stridekit/backend.h"

namespace stridekit::cpu {

// Products of sizes across dimensions, for deciding whether a layout is worth building before it is
// built: any one dimension's stride, pad, dilation or extent fits an int64 many times over (the facade
// keeps each below 2^35), but the product of three can overflow. a * b for a, b >= 0, or INT64_MAX
// where that would not fit, which then compares as "too large" as it should.
constexpr int64_t kSaturated = std::numeric_limits<int64_t>::max();

inline int64_t mul_saturated(int64_t a, int64_t b) {
  if (a == 0 || b == 0) return 0;
  return a > kSaturated / b ? kSaturated : a * b;
}

inline int64_t add_saturated(int64_t a, int64_t b) { return a > kSaturated - b ? kSaturated : a + b; }

// floor(a / b) and ceil(a / b) for b > 0.
inline int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
inline int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

struct ConvProblem {
  bool transposed;
  bool channels_last;
  int activation;
  int64_t groups, C, K, Cg, Kg;
  int64_t kernel[3], stride[3], dilation[3];  // depth, height, width
  int64_t taps;                               // kernel[0] * kernel[1] * kernel[2]
  int64_t batch;
  int64_t in[3], out[3], pad[3];              // pad: the begin side; the end side is implied by out
  int64_t in_pixels, out_pixels;
};

// Whether two problems are the same convolution of the same shapes, field by field.
inline bool same_shape(const ConvProblem& a, const ConvProblem& b) {
  auto same3 = [](const int64_t* x, const int64_t* y) { return x[0] == y[0] && x[1] == y[1] && x[2] == y[2]; };
  return a.transposed == b.transposed && a.channels_last == b.channels_last && a.activation == b.activation &&
         a.groups == b.groups && a.C == b.C && a.K == b.K && a.Cg == b.Cg && a.Kg == b.Kg &&
         same3(a.kernel, b.kernel) && same3(a.stride, b.stride) && same3(a.dilation, b.dilation) &&
         a.taps == b.taps && a.batch == b.batch && same3(a.in, b.in) && same3(a.out, b.out) &&
         same3(a.pad, b.pad) && a.in_pixels == b.in_pixels && a.out_pixels == b.out_pixels;
}

inline ConvProblem make_problem(const sk_conv_geometry& g, const sk_conv_shape& s) {
  ConvProblem p{};
  p.transposed = g.transposed != 0;
  p.channels_last = g.layout == SK_LAYOUT_CHANNELS_LAST;
  p.activation = g.activation;
  p.groups = g.groups;
  p.C = g.in_channels;
  p.K = g.out_channels;
  p.Cg = p.C / p.groups;
  p.Kg = p.K / p.groups;
  const int lift = 3 - g.rank;
  for (int d = 0; d < 3; ++d) {
    const int src = d - lift;
    const bool used = src >= 0;
    p.kernel[d] = used ? g.kernel[src] : 1;
    p.stride[d] = used ? g.stride[src] : 1;
    p.dilation[d] = used ? g.dilation[src] : 1;
    p.in[d] = used ? s.in_size[src] : 1;
    p.out[d] = used ? s.out_size[src] : 1;
    p.pad[d] = used ? s.pad_begin[src] : 0;
  }
  // A stride only spaces the positions of the strided grid (forward: the output; transposed: the
  // input) apart: along a dimension where that grid has one position, position 0 is the only one and
  // the stride multiplies nothing. It is 1 there, exactly, so that no layout is sized by a stride that
  // does not matter (a 3x3x3 input at stride 2^21 gives one output; its phases would number 2^63).
  for (int d = 0; d < 3; ++d) {
    if ((p.transposed ? p.in[d] : p.out[d]) == 1) p.stride[d] = 1;
  }
  p.taps = p.kernel[0] * p.kernel[1] * p.kernel[2];
  p.batch = s.batch;
  p.in_pixels = p.in[0] * p.in[1] * p.in[2];
  p.out_pixels = p.out[0] * p.out[1] * p.out[2];
  return p;
}

// Kernel tap index -> (depth, height, width) offsets of that tap, dilation applied.
struct TapOffset {
  int64_t d, h, w;
};
inline TapOffset tap_offset(const ConvProblem& p, int64_t tap) {
  const int64_t kw = p.kernel[2], kh = p.kernel[1];
  return {(tap / (kh * kw)) * p.dilation[0], ((tap / kw) % kh) * p.dilation[1],
          (tap % kw) * p.dilation[2]};
}

// Where a pixel's taps start, on the other side of the convolution: pixel `index` of the row-major
// grid `grid` scaled by the stride and shifted by the begin pad. For a forward convolution the grid
// is the output and the result an input coordinate; for a transposed one the other way round.
struct Origin {
  int64_t d, h, w;
};

inline Origin strided_origin(const ConvProblem& p, const int64_t grid[3], int64_t index) {
  const int64_t w = index % grid[2];
  const int64_t h = (index / grid[2]) % grid[1];
  const int64_t d = index / (grid[2] * grid[1]);
  return {d * p.stride[0] - p.pad[0], h * p.stride[1] - p.pad[1], w * p.stride[2] - p.pad[2]};
}

// Returned by offset_within for a tap that falls outside the grid (padding).
constexpr int64_t kOutside = -1;

// Flat offset, in the row-major grid `bounds`, of origin + tap; kOutside when it falls outside.
inline int64_t offset_within(const int64_t bounds[3], const Origin& o, const TapOffset& t) {
  const int64_t d = o.d + t.d, h = o.h + t.h, w = o.w + t.w;
  if (d < 0 || d >= bounds[0] || h < 0 || h >= bounds[1] || w < 0 || w >= bounds[2]) return kOutside;
  return (d * bounds[1] + h) * bounds[2] + w;
}

}  // namespace stridekit::cpu
