// Exact, per-shape rewrites of a convolution's geometry into one that OpenVINO 2025.3's CPU plugin
// computes correctly and in time bounded by the input, weight and output sizes.
//
// What OpenVINO 2025.3 gets wrong or slow (measured on its CPU plugin, C++ and Python alike):
//  - wrong values: a forward convolution with one input channel whose output extent is 1 along a
//    dimension with stride > 1 (x[1,1,5,4] w[1,1,1,3] stride [1,2]: 36 of 560 small 2-D geometries with
//    C = 1 swept, every one with out = 1 and s > 1; none with out > 1; C = 2 gets it right);
//  - compile time linear in a forward stride even when it is irrelevant: x[1,1,8] w[1,1,3] takes
//    seconds to compile at strides of 2^22 and above;
//  - huge pads together with a huge stride: "Failed to allocate 8796118224944 bytes" for stride 2^20
//    and pad 2^20, SIGSEGV for stride and pad 2^31 - 1, or for pad, dilation and stride near 2^31;
//  - SIGSEGV in infer for a forward convolution with an output window entirely in the padding when a
//    bias or an activation is fused into it, dilated or not (x[1,2,4] w[1,2,2] stride 4 pads [0, 2]
//    with a bias; without bias and activation it is right).
// Models are compiled per input shape, so rewriting per shape costs nothing at run time.
//
// The rewrite works per spatial dimension and is the identity for every ordinary layer (such a
// layer's graph is the plain convolution). A dimension is rewritten only when
//  - forward, its output extent is 1 and its stride is above 1 (the wrong-values case above), or
//  - forward, an output window lies entirely in the padding (the crash above), or
//  - its padded extent (forward: n + begin + end; transposed: (n - 1) * s + e and the begin pad) is
//    more than twice the work it does (n + out * k, or out + n * k for transposed): then stride,
//    dilation or padding, not the data, would set OpenVINO's cost, or
//  - transposed, one input position under a stride above 1 (compile time grows with the stride, as
//    forward), or the begin pad crops everything the input reaches (outputPadding alone makes the
//    output): OpenVINO refuses the empty shape ConvolutionBackpropData would have.
// A rewritten dimension keeps only what contributes to the result:
//  - outputs whose every tap falls outside the input (forward) or that no input reaches (transposed)
//    hold only bias and activation: they are cut from the convolution and put back by a Pad of zeros
//    before the bias;
//  - inputs no kept output reads are cut with a Slice;
//  - kernel taps that never meet an input are cut from the weight constant (built per shape anyway);
//  - one output left makes the stride irrelevant (1), one tap left the dilation (1).
// When a rewritten dimension is still dominated by its stride, dilation or pads (a huge stride and a
// huge dilation that cancel, so that far-apart taps of far-apart outputs meet the same few inputs),
// its input is gathered with an index table, one entry per (output, tap) pair and a zero slot for
// taps that fall outside, and the convolution runs on that with kernel = stride = taps: bounded by
// output x taps. A transposed convolution in that state runs as such a gathered forward convolution
// in every dimension. When some dimension has no output that any input reaches, the whole output is
// bias and activation alone.
#pragma once

#include <cstdint>
#include <vector>

#include "stridekit/backend.h"

namespace stridekit::openvino {

struct DimensionLowering {
  bool rewritten = false;  // false: this dimension is passed to OpenVINO exactly as the core gave it
  // Input: the caller's positions [in_begin, in_begin + geometry's in_size) (a Slice when different).
  int64_t in_begin = 0;
  // Weight: taps [tap_begin, tap_begin + the geometry's kernel) of the caller's kernel.
  int64_t tap_begin = 0;
  // Output: the convolution gives positions [out_begin, out_begin + the shape's out_size) of the
  // caller's output; the rest is zeros (a Pad) before bias and activation.
  int64_t out_begin = 0;
  // Gathered: the input along this dimension is gather[] (positions of the caller's input; in_size,
  // the caller's size, is the zero slot), out * kernel entries, output-major; the convolution then has
  // kernel = stride = taps (stride 1 when one output), dilation 1 and no pads.
  bool gathered = false;
  std::vector<int64_t> gather;
};

struct Lowering {
  bool changed = false;  // any dimension rewritten; false: build the graph as given
  bool dead = false;     // no output reads any input: the result is bias and activation alone
  // A transposed convolution run as a forward convolution over inputs gathered in every dimension
  // (geometry.transposed is then 0, and the weight is regrouped to (K, C/G, ...k)).
  bool transposed_as_forward = false;
  // The convolution OpenVINO runs: kernel, stride, dilation per dimension, and the shape's sizes and
  // pads (for a transposed convolution, pad_end as the caller gave it is not used: out_size decides).
  sk_conv_geometry geometry{};
  sk_conv_shape shape{};
  DimensionLowering dim[SK_MAX_RANK];
};

// The lowering of geometry g for input shape s. Pure arithmetic, O(sum of kernel sizes), plus the
// gather tables (output x taps entries) when a dimension needs one.
Lowering lower_geometry(const sk_conv_geometry& g, const sk_conv_shape& s);

// The caller's channels-first weight ((K, C/G, ...k), or (C, K/G, ...k) transposed) cut to the taps
// the lowering keeps, and regrouped to (K, C/G, ...k) when a transposed convolution runs forward.
std::vector<float> lower_weight(const sk_conv_geometry& g, const Lowering& lowering, const float* weight);

}  // namespace stridekit::openvino
