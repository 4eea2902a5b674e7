// Builds the IR of one plan for one input shape, from operations of OpenVINO's opsets:
//   Parameter (caller's layout) -> [Transpose to N,C,...] -> Convolution | GroupConvolution |
//   ConvolutionBackpropData | GroupConvolutionBackpropData -> [Pad] -> [Add bias] -> [activation]
//   -> [Transpose back to N,...,C] -> Result
// A degenerate geometry (geometry_reduction.h) is convolved in its lowered form instead:
//   ... -> [Slice | Pad + Gather per dimension] -> the convolution, lowered -> [Pad] -> [Add bias] ...
// or, when no output reads any input, a Broadcast of zeros takes the convolution's place.
#include "model_builder.h"

#include <stdexcept>
#include <vector>

#include "geometry_reduction.h"
#include "stridekit/conv_shape.h"

namespace stridekit::openvino {
namespace {

Value transpose(IrWriter& ir, Value x, int rank, bool to_channels_first) {
  return ir.op("Transpose", "opset1", {}, {x, ir.constant_i64(layout_order(rank, to_channels_first))});
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
Value weight_constant(IrWriter& ir, const sk_conv_geometry& g, const float* weight, bool spelled_out) {
  const int64_t G = g.groups;
  const int64_t outer = g.transposed ? g.in_channels : g.out_channels;
  const int64_t inner = (g.transposed ? g.out_channels : g.in_channels) / G;
  Dims shape = G == 1 ? Dims{outer, inner} : Dims{G, outer / G, inner};
  if (!spelled_out) {
    for (int i = 0; i < g.rank; ++i) shape.push_back(g.kernel[i]);
    return ir.constant_f32(shape, weight);
  }
  int64_t k[3] = {1, 1, 1}, d[3] = {1, 1, 1}, e[3] = {1, 1, 1};
  for (int i = 0; i < g.rank; ++i) {
    k[i] = g.kernel[i], d[i] = g.dilation[i], e[i] = effective_kernel(g, i);
    shape.push_back(e[i]);
  }
  const size_t filters = static_cast<size_t>(outer * inner), taps = static_cast<size_t>(k[0] * k[1] * k[2]);
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
  return ir.constant_f32(shape, spelled.data());
}

Dims per_dim(const int64_t* values, int rank) { return Dims(values, values + rank); }

// A dilation along a kernel of size 1 changes nothing, so it is dropped: OpenVINO 2025.3's CPU plugin
// crashes (SIGSEGV in infer) on a grouped, non-depthwise convolution with kernel 1, dilation > 1,
// stride > 1 and padding when a bias or an activation is fused into it.
Dims dilations_of(const sk_conv_geometry& g) {
  Dims out;
  for (int i = 0; i < g.rank; ++i) out.push_back(g.kernel[i] == 1 ? 1 : g.dilation[i]);
  return out;
}

// The attributes every convolution of the four kinds takes, with explicit pads.
IrWriter::Attributes conv_attributes(const Dims& strides, const Dims& begin, const Dims& end, const Dims& dilations) {
  return {{"strides", dims_text(strides)},
          {"dilations", dims_text(dilations)},
          {"pads_begin", dims_text(begin)},
          {"pads_end", dims_text(end)},
          {"auto_pad", "explicit"}};
}

Value forward_conv(IrWriter& ir, const sk_conv_geometry& g, const sk_conv_shape& s, Value x, const float* weight) {
  const int r = g.rank;
  const bool spelled_out = spell_out_dilation(g, s);
  const Dims dilations = spelled_out ? Dims(static_cast<size_t>(r), 1) : dilations_of(g);
  const Value w = weight_constant(ir, g, weight, spelled_out);
  const auto attributes = conv_attributes(per_dim(g.stride, r), per_dim(s.pad_begin, r), per_dim(s.pad_end, r), dilations);
  return ir.op(g.groups == 1 ? "Convolution" : "GroupConvolution", "opset1", attributes, {x, w});
}

Value zero_pad(IrWriter& ir, Value y, const Dims& begin, const Dims& end) {
  return ir.op("Pad", "opset12", {{"pad_mode", "constant"}},
               {y, ir.constant_i64(begin), ir.constant_i64(end), ir.scalar_f32(0.0f)});
}

// ConvolutionBackpropData gives (n - 1) * s + e - begin - end per dimension. The core fixes out_size and
// pad_begin; end is chosen to land on out_size. When out_size is more than the input reaches even with
// end = 0 (outputPadding), the rest is zeros appended by a Pad, before bias and activation.
Value transposed_conv(IrWriter& ir, const sk_conv_geometry& g, const sk_conv_shape& s, Value x, const float* weight) {
  const int r = g.rank;
  const Value w = weight_constant(ir, g, weight, false);
  Dims begin, end;
  Dims extra(static_cast<size_t>(r) + 2, 0);
  bool needs_pad = false;
  for (int i = 0; i < r; ++i) {
    const int64_t reached = (s.in_size[i] - 1) * g.stride[i] + effective_kernel(g, i) - s.pad_begin[i];
    begin.push_back(s.pad_begin[i]);
    if (s.out_size[i] <= reached) {
      end.push_back(reached - s.out_size[i]);
    } else {
      end.push_back(0);
      extra[static_cast<size_t>(i) + 2] = s.out_size[i] - reached;
      needs_pad = true;
    }
  }
  auto attributes = conv_attributes(per_dim(g.stride, r), begin, end, dilations_of(g));
  attributes.emplace_back("output_padding", dims_text(Dims(static_cast<size_t>(r), 0)));
  Value y = ir.op(g.groups == 1 ? "ConvolutionBackpropData" : "GroupConvolutionBackpropData", "opset1", attributes,
                  {x, w});
  if (needs_pad) y = zero_pad(ir, y, Dims(extra.size(), 0), extra);
  return y;
}

// The convolution of a lowered geometry (geometry_reduction.h), channels first in and out, with the
// caller's output size: its input cut (Slice) or gathered per dimension, the lowered convolution, then
// the outputs that only bias reaches put back as zeros (Pad).
Value lowered_conv(IrWriter& ir, const sk_conv_geometry& g, const sk_conv_shape& s, const Lowering& lowering, Value x,
                   const float* weight) {
  const int r = g.rank;
  if (lowering.dead) {
    Dims shape{s.batch, g.out_channels};
    for (int i = 0; i < r; ++i) shape.push_back(s.out_size[i]);
    return ir.op("Broadcast", "opset3", {{"mode", "numpy"}}, {ir.scalar_f32(0.0f), ir.constant_i64(shape)});
  }
  const sk_conv_geometry& lg = lowering.geometry;
  const sk_conv_shape& ls = lowering.shape;
  Value y = x;
  for (int i = 0; i < r; ++i) {
    const DimensionLowering& dim = lowering.dim[i];
    const int64_t axis = i + 2;
    if (!dim.rewritten) continue;
    if (dim.gathered) {
      // One zero appended along the axis is the slot of taps that fall outside the input.
      Dims none(static_cast<size_t>(r) + 2, 0), one = none;
      one[static_cast<size_t>(axis)] = 1;
      y = zero_pad(ir, y, none, one);
      y = ir.op("Gather", "opset8", {{"batch_dims", "0"}}, {y, ir.constant_i64(dim.gather), ir.constant_i64({axis})});
    } else if (dim.in_begin != 0 || ls.in_size[i] != s.in_size[i]) {
      y = ir.op("Slice", "opset8", {},
                {y, ir.constant_i64({dim.in_begin}), ir.constant_i64({dim.in_begin + ls.in_size[i]}),
                 ir.constant_i64({1}), ir.constant_i64({axis})});
    }
  }
  const std::vector<float> w = lower_weight(g, lowering, weight);
  y = lg.transposed ? transposed_conv(ir, lg, ls, y, w.data()) : forward_conv(ir, lg, ls, y, w.data());
  Dims before(static_cast<size_t>(r) + 2, 0), after = before;
  bool padded = false;
  for (int i = 0; i < r; ++i) {
    before[static_cast<size_t>(i) + 2] = lowering.dim[i].out_begin;
    after[static_cast<size_t>(i) + 2] = s.out_size[i] - lowering.dim[i].out_begin - ls.out_size[i];
    padded = padded || lowering.dim[i].out_begin != 0 || ls.out_size[i] != s.out_size[i];
  }
  return padded ? zero_pad(ir, y, before, after) : y;
}

Value add_bias(IrWriter& ir, const sk_conv_geometry& g, Value y, const float* bias) {
  Dims shape{1, g.out_channels};
  for (int i = 0; i < g.rank; ++i) shape.push_back(1);
  return ir.op("Add", "opset1", {{"auto_broadcast", "numpy"}}, {y, ir.constant_f32(shape, bias)});
}

Value activate(IrWriter& ir, int32_t activation, Value y) {
  switch (activation) {
    case SK_ACTIVATION_NONE: return y;
    case SK_ACTIVATION_RELU: return ir.op("Relu", "opset1", {}, {y});
    case SK_ACTIVATION_RELU6: return ir.op("Clamp", "opset1", {{"min", "0"}, {"max", "6"}}, {y});
    case SK_ACTIVATION_SIGMOID: return ir.op("Sigmoid", "opset1", {}, {y});
    case SK_ACTIVATION_TANH: return ir.op("Tanh", "opset1", {}, {y});
    case SK_ACTIVATION_SILU: return ir.op("Swish", "opset4", {}, {y});  // x * sigmoid(x), beta = 1
  }
  throw std::invalid_argument("unknown activation " + std::to_string(activation));
}

Dims tensor_shape(const sk_conv_geometry& g, int64_t batch, int64_t channels, const int64_t* spatial) {
  Dims shape{batch};
  if (g.layout == SK_LAYOUT_CHANNELS_FIRST) shape.push_back(channels);
  for (int i = 0; i < g.rank; ++i) shape.push_back(spatial[i]);
  if (g.layout == SK_LAYOUT_CHANNELS_LAST) shape.push_back(channels);
  return shape;
}

}  // namespace

Dims input_shape(const sk_conv_geometry& g, const sk_conv_shape& s) {
  return tensor_shape(g, s.batch, g.in_channels, s.in_size);
}

Dims output_shape(const sk_conv_geometry& g, const sk_conv_shape& s) {
  return tensor_shape(g, s.batch, g.out_channels, s.out_size);
}

std::string shape_text(const Dims& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

IrModel build_model(const sk_conv_geometry& g, const sk_conv_shape& s, const float* weight, const float* bias) {
  const bool channels_last = g.layout == SK_LAYOUT_CHANNELS_LAST;
  IrWriter ir;
  Value y = ir.parameter(input_shape(g, s));
  if (channels_last) y = transpose(ir, y, g.rank, true);
  // Ordinary geometries are built as given; degenerate ones (geometry_reduction.h) in a form that
  // OpenVINO computes correctly and in time bounded by the sizes of input, weight and output.
  const Lowering lowering = lower_geometry(g, s);
  if (!lowering.changed) {
    y = g.transposed ? transposed_conv(ir, g, s, y, weight) : forward_conv(ir, g, s, y, weight);
  } else {
    y = lowered_conv(ir, g, s, lowering, y, weight);
  }
  if (g.has_bias && bias) y = add_bias(ir, g, y, bias);
  y = activate(ir, g.activation, y);
  if (channels_last) y = transpose(ir, y, g.rank, false);
  ir.result(y);
  return IrModel{ir.xml(), ir.weights()};
}

}  // namespace stridekit::openvino
