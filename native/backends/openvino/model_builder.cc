// Builds the ov::Model of one plan for one input shape, from opset13 operations:
//   Parameter (caller's layout) -> [Transpose to N,C,...] -> Convolution | GroupConvolution |
//   ConvolutionBackpropData | GroupConvolutionBackpropData -> [Pad] -> [Add bias] -> [activation]
//   -> [Transpose back to N,...,C] -> Result
// A degenerate geometry (geometry_reduction.h) is convolved in its lowered form instead:
//   ... -> [Slice | Pad + Gather per dimension] -> the convolution, lowered -> [Pad] -> [Add bias] ...
// or, when no output reads any input, a Broadcast of zeros takes the convolution's place.
#include "model_builder.h"

#include <stdexcept>
#include <vector>

#include <openvino/opsets/opset13.hpp>

#include "geometry_reduction.h"
#include "stridekit/conv_shape.h"

namespace stridekit::openvino {
namespace {

namespace ops = ov::opset13;

std::shared_ptr<ops::Constant> i64_constant(const std::vector<int64_t>& values) {
  return ops::Constant::create(ov::element::i64, ov::Shape{values.size()}, values);
}

ov::Output<ov::Node> transpose(const ov::Output<ov::Node>& x, int rank, bool to_channels_first) {
  return std::make_shared<ops::Transpose>(x, i64_constant(layout_order(rank, to_channels_first)));
}

int64_t effective_kernel(const sk_conv_geometry& g, int i) { return (g.kernel[i] - 1) * g.dilation[i] + 1; }

// Workarounds for OpenVINO 2025.3's CPU plugin, found by test/properties.test.js with other seeds:
//  - a dilated 3-D convolution with one input and one output channel gives wrong values (NaN at times)
//    when the dilation differs between dimensions;
//  - a dilated convolution with a bias or activation fused into it crashes (SIGSEGV in infer) when an
//    output window lies entirely in the padding (a pad of at least the effective kernel).
// Both are exact with the dilation written out: a kernel of the effective size with zeros in the holes
// and dilation 1. It costs more multiply-adds, but only such unusual layers take it.
bool spell_out_dilation(const sk_conv_geometry& g, const sk_conv_shape& s) {
  bool dilated = false;
  for (int i = 0; i < g.rank; ++i) dilated = dilated || (g.kernel[i] > 1 && g.dilation[i] > 1);
  if (g.transposed || !dilated) return false;
  if (g.rank == 3 && g.groups == 1 && g.in_channels == 1 && g.out_channels == 1) return true;
  for (int i = 0; i < g.rank; ++i) {
    const int64_t last_window = (s.out_size[i] - 1) * g.stride[i] - s.pad_begin[i];
    if (s.pad_begin[i] >= effective_kernel(g, i) || last_window >= s.in_size[i]) return true;
  }
  return false;
}

// Channels-first weights viewed as OpenVINO wants them; the values are the same, only the shape differs:
//   Convolution [K, C, ...k]           GroupConvolution [G, K/G, C/G, ...k]          from (K, C/G, ...k)
//   ConvolutionBackpropData [C, K, ...k] GroupConvolutionBackpropData [G, C/G, K/G, ...k] from (C, K/G, ...k)
// With spelled_out, each filter becomes its effective size with the taps dilation apart.
std::shared_ptr<ops::Constant> weight_constant(const sk_conv_geometry& g, const float* weight, bool spelled_out) {
  const size_t G = static_cast<size_t>(g.groups);
  const size_t outer = static_cast<size_t>(g.transposed ? g.in_channels : g.out_channels);
  const size_t inner = static_cast<size_t>(g.transposed ? g.out_channels : g.in_channels) / G;
  ov::Shape shape = G == 1 ? ov::Shape{outer, inner} : ov::Shape{G, outer / G, inner};
  if (!spelled_out) {
    for (int i = 0; i < g.rank; ++i) shape.push_back(static_cast<size_t>(g.kernel[i]));
    return std::make_shared<ops::Constant>(ov::element::f32, shape, weight);
  }
  int64_t k[3] = {1, 1, 1}, d[3] = {1, 1, 1}, e[3] = {1, 1, 1};
  for (int i = 0; i < g.rank; ++i) {
    k[i] = g.kernel[i], d[i] = g.dilation[i], e[i] = effective_kernel(g, i);
    shape.push_back(static_cast<size_t>(e[i]));
  }
  const size_t filters = outer * inner, taps = static_cast<size_t>(k[0] * k[1] * k[2]);
  const size_t volume = static_cast<size_t>(e[0] * e[1] * e[2]);
  std::vector<float> spelled(filters * volume, 0.0f);
  for (size_t f = 0; f < filters; ++f) {
    const float* from = weight + f * taps;
    float* to = spelled.data() + f * volume;
    for (int64_t a = 0; a < k[0]; ++a) {
      for (int64_t b = 0; b < k[1]; ++b) {
        for (int64_t c = 0; c < k[2]; ++c) {
          to[((a * d[0]) * e[1] + b * d[1]) * e[2] + c * d[2]] = from[(a * k[1] + b) * k[2] + c];
        }
      }
    }
  }
  return std::make_shared<ops::Constant>(ov::element::f32, shape, spelled.data());
}

ov::Strides per_dim(const int64_t* values, int rank) {
  ov::Strides out;
  for (int i = 0; i < rank; ++i) out.push_back(static_cast<size_t>(values[i]));
  return out;
}

// A dilation along a kernel of size 1 changes nothing, so it is dropped: OpenVINO 2025.3's CPU plugin
// crashes (SIGSEGV in infer) on a grouped, non-depthwise convolution with kernel 1, dilation > 1,
// stride > 1 and padding when a bias or an activation is fused into it.
ov::Strides dilations_of(const sk_conv_geometry& g) {
  ov::Strides out;
  for (int i = 0; i < g.rank; ++i) out.push_back(static_cast<size_t>(g.kernel[i] == 1 ? 1 : g.dilation[i]));
  return out;
}

ov::Output<ov::Node> forward_conv(const sk_conv_geometry& g, const sk_conv_shape& s,
                                  const ov::Output<ov::Node>& x, const float* weight) {
  const int r = g.rank;
  const ov::CoordinateDiff begin(s.pad_begin, s.pad_begin + r), end(s.pad_end, s.pad_end + r);
  const ov::Strides strides = per_dim(g.stride, r);
  const bool spelled_out = spell_out_dilation(g, s);
  const ov::Strides dilations = spelled_out ? ov::Strides(static_cast<size_t>(r), 1) : dilations_of(g);
  const auto w = weight_constant(g, weight, spelled_out);
  if (g.groups == 1) {
    return std::make_shared<ops::Convolution>(x, w, strides, begin, end, dilations, ov::op::PadType::EXPLICIT);
  }
  return std::make_shared<ops::GroupConvolution>(x, w, strides, begin, end, dilations, ov::op::PadType::EXPLICIT);
}

// ConvolutionBackpropData gives (n - 1) * s + e - begin - end per dimension. The core fixes out_size and
// pad_begin; end is chosen to land on out_size. When out_size is more than the input reaches even with
// end = 0 (outputPadding), the rest is zeros appended by a Pad, before bias and activation.
ov::Output<ov::Node> transposed_conv(const sk_conv_geometry& g, const sk_conv_shape& s,
                                     const ov::Output<ov::Node>& x, const float* weight) {
  const int r = g.rank;
  const auto w = weight_constant(g, weight, false);
  ov::CoordinateDiff begin, end;
  std::vector<int64_t> extra(static_cast<size_t>(r) + 2, 0);
  bool needs_pad = false;
  for (int i = 0; i < r; ++i) {
    const int64_t effective = (g.kernel[i] - 1) * g.dilation[i] + 1;
    const int64_t reached = (s.in_size[i] - 1) * g.stride[i] + effective - s.pad_begin[i];
    begin.push_back(s.pad_begin[i]);
    if (s.out_size[i] <= reached) {
      end.push_back(reached - s.out_size[i]);
    } else {
      end.push_back(0);
      extra[static_cast<size_t>(i) + 2] = s.out_size[i] - reached;
      needs_pad = true;
    }
  }
  const ov::Strides strides = per_dim(g.stride, r), dilations = dilations_of(g);
  ov::Output<ov::Node> y;
  if (g.groups == 1) {
    y = std::make_shared<ops::ConvolutionBackpropData>(x, w, strides, begin, end, dilations, ov::op::PadType::EXPLICIT);
  } else {
    y = std::make_shared<ops::GroupConvolutionBackpropData>(x, w, strides, begin, end, dilations,
                                                            ov::op::PadType::EXPLICIT);
  }
  if (needs_pad) {
    const std::vector<int64_t> none(extra.size(), 0);
    y = std::make_shared<ops::Pad>(y, i64_constant(none), i64_constant(extra),
                                   ops::Constant::create(ov::element::f32, ov::Shape{}, {0.0f}),
                                   ov::op::PadMode::CONSTANT);
  }
  return y;
}

ov::Output<ov::Node> zero_pad(const ov::Output<ov::Node>& y, const std::vector<int64_t>& begin,
                              const std::vector<int64_t>& end) {
  return std::make_shared<ops::Pad>(y, i64_constant(begin), i64_constant(end),
                                    ops::Constant::create(ov::element::f32, ov::Shape{}, {0.0f}),
                                    ov::op::PadMode::CONSTANT);
}

// The convolution of a lowered geometry (geometry_reduction.h), channels first in and out, with the
// caller's output size: its input cut (Slice) or gathered per dimension, the lowered convolution, then
// the outputs that only bias reaches put back as zeros (Pad).
ov::Output<ov::Node> lowered_conv(const sk_conv_geometry& g, const sk_conv_shape& s, const Lowering& lowering,
                                  const ov::Output<ov::Node>& x, const float* weight) {
  const int r = g.rank;
  if (lowering.dead) {
    std::vector<int64_t> shape{s.batch, g.out_channels};
    for (int i = 0; i < r; ++i) shape.push_back(s.out_size[i]);
    return std::make_shared<ops::Broadcast>(ops::Constant::create(ov::element::f32, ov::Shape{}, {0.0f}),
                                            i64_constant(shape));
  }
  const sk_conv_geometry& lg = lowering.geometry;
  const sk_conv_shape& ls = lowering.shape;
  ov::Output<ov::Node> y = x;
  for (int i = 0; i < r; ++i) {
    const DimensionLowering& dim = lowering.dim[i];
    const int64_t axis = i + 2;
    if (!dim.rewritten) continue;
    if (dim.gathered) {
      // One zero appended along the axis is the slot of taps that fall outside the input.
      std::vector<int64_t> none(static_cast<size_t>(r) + 2, 0), one = none;
      one[static_cast<size_t>(axis)] = 1;
      y = zero_pad(y, none, one);
      y = std::make_shared<ops::Gather>(y, i64_constant(dim.gather), i64_constant({axis}));
    } else if (dim.in_begin != 0 || ls.in_size[i] != s.in_size[i]) {
      y = std::make_shared<ops::Slice>(y, i64_constant({dim.in_begin}), i64_constant({dim.in_begin + ls.in_size[i]}),
                                       i64_constant({1}), i64_constant({axis}));
    }
  }
  const std::vector<float> w = lower_weight(g, lowering, weight);
  y = lg.transposed ? transposed_conv(lg, ls, y, w.data()) : forward_conv(lg, ls, y, w.data());
  std::vector<int64_t> before(static_cast<size_t>(r) + 2, 0), after = before;
  bool padded = false;
  for (int i = 0; i < r; ++i) {
    before[static_cast<size_t>(i) + 2] = lowering.dim[i].out_begin;
    after[static_cast<size_t>(i) + 2] = s.out_size[i] - lowering.dim[i].out_begin - ls.out_size[i];
    padded = padded || lowering.dim[i].out_begin != 0 || ls.out_size[i] != s.out_size[i];
  }
  return padded ? zero_pad(y, before, after) : y;
}

ov::Output<ov::Node> add_bias(const sk_conv_geometry& g, const ov::Output<ov::Node>& y, const float* bias) {
  ov::Shape shape{1, static_cast<size_t>(g.out_channels)};
  for (int i = 0; i < g.rank; ++i) shape.push_back(1);
  return std::make_shared<ops::Add>(y, std::make_shared<ops::Constant>(ov::element::f32, shape, bias));
}

ov::Output<ov::Node> activate(int32_t activation, const ov::Output<ov::Node>& y) {
  switch (activation) {
    case SK_ACTIVATION_NONE: return y;
    case SK_ACTIVATION_RELU: return std::make_shared<ops::Relu>(y);
    case SK_ACTIVATION_RELU6: return std::make_shared<ops::Clamp>(y, 0.0, 6.0);
    case SK_ACTIVATION_SIGMOID: return std::make_shared<ops::Sigmoid>(y);
    case SK_ACTIVATION_TANH: return std::make_shared<ops::Tanh>(y);
    case SK_ACTIVATION_SILU: return std::make_shared<ops::Swish>(y);  // x * sigmoid(x), beta = 1
  }
  throw std::invalid_argument("unknown activation " + std::to_string(activation));
}

ov::Shape tensor_shape(const sk_conv_geometry& g, int64_t batch, int64_t channels, const int64_t* spatial) {
  ov::Shape shape{static_cast<size_t>(batch)};
  if (g.layout == SK_LAYOUT_CHANNELS_FIRST) shape.push_back(static_cast<size_t>(channels));
  for (int i = 0; i < g.rank; ++i) shape.push_back(static_cast<size_t>(spatial[i]));
  if (g.layout == SK_LAYOUT_CHANNELS_LAST) shape.push_back(static_cast<size_t>(channels));
  return shape;
}

}  // namespace

ov::Shape input_shape(const sk_conv_geometry& g, const sk_conv_shape& s) {
  return tensor_shape(g, s.batch, g.in_channels, s.in_size);
}

ov::Shape output_shape(const sk_conv_geometry& g, const sk_conv_shape& s) {
  return tensor_shape(g, s.batch, g.out_channels, s.out_size);
}

std::string shape_text(const ov::Shape& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

std::shared_ptr<ov::Model> build_model(const sk_conv_geometry& g, const sk_conv_shape& s,
                                       const float* weight, const float* bias) {
  const bool channels_last = g.layout == SK_LAYOUT_CHANNELS_LAST;
  auto x = std::make_shared<ops::Parameter>(ov::element::f32, input_shape(g, s));
  ov::Output<ov::Node> y = x;
  if (channels_last) y = transpose(y, g.rank, true);
  // Ordinary geometries are built as given; degenerate ones (geometry_reduction.h) in a form that
  // OpenVINO computes correctly and in time bounded by the sizes of input, weight and output.
  const Lowering lowering = lower_geometry(g, s);
  if (!lowering.changed) {
    y = g.transposed ? transposed_conv(g, s, y, weight) : forward_conv(g, s, y, weight);
  } else {
    y = lowered_conv(g, s, lowering, y, weight);
  }
  if (g.has_bias && bias) y = add_bias(g, y, bias);
  y = activate(g.activation, y);
  if (channels_last) y = transpose(y, g.rank, false);

  const ov::Shape expected = output_shape(g, s);
  if (y.get_shape() != expected) {
    throw std::invalid_argument("the OpenVINO graph gives " + shape_text(y.get_shape()) + " but the core expects " +
                             shape_text(expected));
  }
  auto result = std::make_shared<ops::Result>(y);
  return std::make_shared<ov::Model>(ov::ResultVector{result}, ov::ParameterVector{x}, "stridekit_conv");
}

}  // namespace stridekit::openvino
