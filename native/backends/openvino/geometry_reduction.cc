// Per-shape rewrites of a convolution's geometry for OpenVINO; the reasons are in geometry_reduction.h.
//
// Forward and transposed convolutions relate the same three indices, per spatial dimension:
//   b = a * s + t * d - pad_begin,   0 <= a < A,   0 <= b < B,   0 <= t < k
// forward:    a is the output position (A = out), b the input position it reads (B = n);
// transposed: a is the input position (A = n), b the output position it writes (B = out).
// A term (a, t) contributes exactly when b lies in [0, B). Everything below is read off that relation.
#include "geometry_reduction.h"

#include <algorithm>
#include <stdexcept>

namespace stridekit::openvino {
namespace {

// Sizes fit int64 with a wide margin: the facade keeps strides, dilations and pads below 2^31 and
// tensors below 2^32 elements, so (out - 1) * s, (n - 1) * s and (k - 1) * d stay below about 2^34
// (forward: they are at most n + pads; transposed: at most out + pads).
int64_t floor_div(int64_t x, int64_t y) { return x >= 0 ? x / y : -((-x + y - 1) / y); }
int64_t ceil_div(int64_t x, int64_t y) { return -floor_div(-x, y); }

// Which part of one dimension contributes: the taps that meet a b in range, the a that have such a
// tap, and the b they reach.
struct Reach {
  bool any = false;
  int64_t tap_lo = 0, tap_hi = -1;
  int64_t a_lo = 0, a_hi = -1;
  int64_t b_lo = 0, b_hi = -1;
};

Reach reach(int64_t A, int64_t B, int64_t k, int64_t s, int64_t d, int64_t pad_begin) {
  Reach r;
  for (int64_t t = 0; t < k; ++t) {
    const int64_t c = t * d - pad_begin;  // b = a * s + c
    const int64_t lo = std::max<int64_t>(0, ceil_div(-c, s));
    const int64_t hi = std::min<int64_t>(A - 1, floor_div(B - 1 - c, s));
    if (lo > hi) continue;
    if (!r.any) {
      r.any = true;
      r.tap_lo = t;
      r.a_lo = lo, r.a_hi = hi;
      r.b_lo = lo * s + c, r.b_hi = hi * s + c;
    } else {
      r.a_lo = std::min(r.a_lo, lo), r.a_hi = std::max(r.a_hi, hi);
      r.b_lo = std::min(r.b_lo, lo * s + c), r.b_hi = std::max(r.b_hi, hi * s + c);
    }
    r.tap_hi = t;
  }
  return r;
}

// Whether a padded extent is more than twice the work of the dimension (inputs plus output x taps, or
// outputs plus input x taps): only then can a stride, a dilation or a pad, rather than the data, set
// OpenVINO's cost. Every ordinary layer is far below (its extent is its input plus less than a kernel
// of padding on each side); doubles because only the order of magnitude matters and products of
// sizes could pass int64 in principle.
bool dominated(int64_t extent, int64_t size, int64_t count, int64_t taps) {
  return static_cast<double>(extent) > 2.0 * (static_cast<double>(size) + static_cast<double>(count) * taps);
}

int64_t effective(int64_t k, int64_t d) { return (k - 1) * d + 1; }

}  // namespace

Lowering lower_geometry(const sk_conv_geometry& g, const sk_conv_shape& s) {
  Lowering L;
  L.geometry = g;
  L.shape = s;
  const int r = g.rank;
  bool transposed_untame = false;

  for (int i = 0; i < r; ++i) {
    const int64_t n = s.in_size[i], out = s.out_size[i], k = g.kernel[i], st = g.stride[i], d = g.dilation[i];
    const int64_t pb = s.pad_begin[i];
    DimensionLowering& dim = L.dim[i];
    if (!g.transposed) {
      // Forward: out = 1 with stride > 1 is OpenVINO's wrong-values case; a window entirely in the
      // padding crashes it when a bias or an activation follows; a padded extent beyond the work is
      // its slow (or crashing) case. No ordinary layer has any of these ('same' padding never puts a
      // whole window in the padding).
      const int64_t extent = n + pb + s.pad_end[i];
      const bool padded_window = pb >= effective(k, d) || (out - 1) * st - pb >= n;
      if (!(out == 1 && st > 1) && !padded_window && !dominated(extent, n, out, k)) continue;
      const Reach R = reach(out, n, k, st, d, pb);
      dim.rewritten = true;
      L.changed = true;
      if (!R.any) {
        L.dead = true;
        continue;
      }
      const int64_t outs = R.a_hi - R.a_lo + 1, taps = R.tap_hi - R.tap_lo + 1;
      const int64_t stride = outs == 1 ? 1 : st, dilation = taps == 1 ? 1 : d;
      const int64_t first = R.a_lo * st + R.tap_lo * d - pb;  // where (first output, first tap) falls
      const int64_t kept = R.b_hi - R.b_lo + 1;                // inputs read
      const int64_t begin = R.b_lo - first;                     // >= 0: first is at or before b_lo
      const int64_t end = (outs - 1) * stride + effective(taps, dilation) - kept - begin;  // >= 0 likewise
      dim.tap_begin = R.tap_lo;
      dim.out_begin = R.a_lo;
      L.geometry.kernel[i] = taps;
      L.shape.out_size[i] = outs;
      if (!dominated(kept + begin + end, kept, outs, taps)) {
        dim.in_begin = R.b_lo;
        L.geometry.stride[i] = stride;
        L.geometry.dilation[i] = dilation;
        L.shape.in_size[i] = kept;
        L.shape.pad_begin[i] = begin;
        L.shape.pad_end[i] = end;
        continue;
      }
      // Still dominated by stride, dilation or pads (they cancel: far-apart taps of far-apart outputs
      // meet the same inputs). Gather one input per (output, tap), n being the zero slot, and convolve
      // with kernel = stride = taps: output x taps work.
      dim.gathered = true;
      dim.gather.resize(static_cast<size_t>(outs * taps));
      for (int64_t o = 0; o < outs; ++o) {
        for (int64_t t = 0; t < taps; ++t) {
          const int64_t b = (R.a_lo + o) * st + (R.tap_lo + t) * d - pb;
          dim.gather[static_cast<size_t>(o * taps + t)] = b >= 0 && b < n ? b : n;
        }
      }
      L.geometry.stride[i] = outs == 1 ? 1 : taps;
      L.geometry.dilation[i] = 1;
      L.shape.in_size[i] = outs * taps;
      L.shape.pad_begin[i] = 0;
      L.shape.pad_end[i] = 0;
    } else {
      // Transposed: OpenVINO computes the full (n - 1) * s + e before cropping pad_begin and the end;
      // when that is beyond the work, only the reached part is kept. A begin pad that crops all of it
      // (outputPadding alone making the output) leaves ConvolutionBackpropData an empty shape, which
      // OpenVINO refuses ("to_shape was called on a dynamic shape"): every output is bias alone.
      // One input position makes the stride irrelevant, but OpenVINO's compile time still grows with
      // it (39 s at 2^30): it becomes 1.
      const int64_t full = (n - 1) * st + effective(k, d);
      if (!dominated(full, out, n, k) && !dominated(pb, out, n, k) && pb < full && !(n == 1 && st > 1)) continue;
      const Reach R = reach(n, out, k, st, d, pb);
      dim.rewritten = true;
      L.changed = true;
      if (!R.any) {
        L.dead = true;
        continue;
      }
      const int64_t ins = R.a_hi - R.a_lo + 1, taps = R.tap_hi - R.tap_lo + 1;
      const int64_t stride = ins == 1 ? 1 : st, dilation = taps == 1 ? 1 : d;
      const int64_t first = R.a_lo * st + R.tap_lo * d - pb;  // where (first input, first tap) lands
      const int64_t outs = R.b_hi - R.b_lo + 1;
      const int64_t begin = R.b_lo - first;  // >= 0
      const int64_t reached = (ins - 1) * stride + effective(taps, dilation) - begin;  // >= outs
      dim.in_begin = R.a_lo;
      dim.tap_begin = R.tap_lo;
      dim.out_begin = R.b_lo;
      L.geometry.kernel[i] = taps;
      L.geometry.stride[i] = stride;
      L.geometry.dilation[i] = dilation;
      L.shape.in_size[i] = ins;
      L.shape.out_size[i] = outs;
      L.shape.pad_begin[i] = begin;
      L.shape.pad_end[i] = reached - outs;
      if (dominated(reached + begin, outs, ins, taps) || dominated(begin, outs, ins, taps)) transposed_untame = true;
    }
  }
  if (L.dead || !transposed_untame) return L;

  // A transposed convolution still dominated by its geometry after the cuts: run it as a forward
  // convolution over gathered inputs in every dimension. Output o, tap t reads input (o + pad - t d) / s
  // when that divides and lies in the input, else the zero slot n; the weight is regrouped to forward
  // (K, C/G, ...k). Work: output x taps.
  L.transposed_as_forward = true;
  L.geometry.transposed = 0;
  for (int i = 0; i < r; ++i) {
    const int64_t n = s.in_size[i], k = g.kernel[i], st = g.stride[i], d = g.dilation[i], pb = s.pad_begin[i];
    DimensionLowering& dim = L.dim[i];
    if (!dim.rewritten) {  // a dimension that was fine as it was: all its outputs and taps
      dim.rewritten = true;
      dim.in_begin = 0, dim.tap_begin = 0, dim.out_begin = 0;
      L.geometry.kernel[i] = k;
      L.shape.out_size[i] = s.out_size[i];
    }
    const int64_t outs = L.shape.out_size[i], taps = L.geometry.kernel[i];
    dim.gathered = true;
    dim.in_begin = 0;
    dim.gather.resize(static_cast<size_t>(outs * taps));
    for (int64_t o = 0; o < outs; ++o) {
      for (int64_t t = 0; t < taps; ++t) {
        const int64_t numerator = dim.out_begin + o + pb - (dim.tap_begin + t) * d;
        const bool hit = numerator >= 0 && numerator % st == 0 && numerator / st < n;
        dim.gather[static_cast<size_t>(o * taps + t)] = hit ? numerator / st : n;
      }
    }
    L.geometry.stride[i] = outs == 1 ? 1 : taps;
    L.geometry.dilation[i] = 1;
    L.shape.in_size[i] = outs * taps;
    L.shape.pad_begin[i] = 0;
    L.shape.pad_end[i] = 0;
  }
  return L;
}

std::vector<float> lower_weight(const sk_conv_geometry& g, const Lowering& lowering, const float* weight) {
  const sk_conv_geometry& to = lowering.geometry;
  const int64_t G = g.groups;
  // Channels-first filters as given: conv (K, C/G), transposed (C, K/G).
  const int64_t outer = g.transposed ? g.in_channels : g.out_channels;
  const int64_t inner = (g.transposed ? g.out_channels : g.in_channels) / G;
  const int64_t filters = outer * inner;
  int64_t kf[3] = {1, 1, 1}, kt[3] = {1, 1, 1}, first[3] = {0, 0, 0};
  for (int i = 0; i < g.rank; ++i) {
    kf[i] = g.kernel[i];
    kt[i] = to.kernel[i];
    first[i] = lowering.dim[i].tap_begin;
  }
  const int64_t from_taps = kf[0] * kf[1] * kf[2], to_taps = kt[0] * kt[1] * kt[2];
  std::vector<float> out(static_cast<size_t>(filters * to_taps));
  for (int64_t f = 0; f < filters; ++f) {
    // The source filter of destination filter f: the same one, or for a transposed convolution run
    // forward, destination (k_out, c_in_group) = source (group * C/G + c_in_group, k_out % (K/G)).
    int64_t source = f;
    if (lowering.transposed_as_forward) {
      const int64_t k_per_group = g.out_channels / G, c_per_group = g.in_channels / G;
      const int64_t k_out = f / c_per_group, c_in_group = f % c_per_group;
      const int64_t group = k_out / k_per_group;
      source = (group * c_per_group + c_in_group) * k_per_group + k_out % k_per_group;
    }
    const float* from = weight + source * from_taps;
    float* dst = out.data() + f * to_taps;
    for (int64_t a = 0; a < kt[0]; ++a) {
      for (int64_t b = 0; b < kt[1]; ++b) {
        for (int64_t c = 0; c < kt[2]; ++c) {
          dst[(a * kt[1] + b) * kt[2] + c] = from[((first[0] + a) * kf[1] + first[1] + b) * kf[2] + first[2] + c];
        }
      }
    }
  }
  return out;
}

}  // namespace stridekit::openvino
