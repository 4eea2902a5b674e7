// Builds the ML Program of one plan for one input shape, from iOS 15 / macOS 12 MIL operations (opset
// CoreML5, the first with ML Programs), in the order and form coremltools gives a frontend's program after
// its pass pipeline (test/coreml-model.test.js compares the two op by op):
//   x (float32, caller's layout) -> [cast to fp16] -> [transpose to N,C,...] -> conv | conv_transpose
//   -> [pad] -> [add bias] -> [activation] -> [transpose back to N,...,C] -> [cast to fp32] -> y
// The last operation is named y. The bias goes into the convolution itself unless a pad follows it (a
// transposed convolution whose outputPadding reaches past every input), where the zeros appended must
// get the bias too.
#include "model_builder.h"

#include <stdexcept>

#include "mil_block.h"
#include "protobuf_writer.h"
#include "stridekit/conv_shape.h"

namespace stridekit::coreml {
namespace {

// Model.proto / FeatureTypes.proto field numbers and values.
namespace ModelField { constexpr uint32_t kSpecificationVersion = 1, kDescription = 2, kMlProgram = 502; }
namespace ModelDescriptionField { constexpr uint32_t kInput = 1, kOutput = 10; }
namespace FeatureDescriptionField { constexpr uint32_t kName = 1, kType = 3; }
namespace FeatureTypeField { constexpr uint32_t kMultiArrayType = 5; }
namespace ArrayFeatureTypeField { constexpr uint32_t kShape = 1, kDataType = 2; }
constexpr int64_t kArrayFloat32 = 65568;  // ArrayFeatureType.ArrayDataType.FLOAT32
namespace ProgramField { constexpr uint32_t kVersion = 1, kFunctions = 2; }
namespace FunctionField { constexpr uint32_t kInputs = 1, kOpset = 2, kBlockSpecializations = 3; }
namespace NamedValueTypeField { constexpr uint32_t kName = 1, kType = 2; }

// Core ML 5 (macOS 12, iOS 15): the specification version and opset that introduced ML Programs, so the
// model loads on every macOS that can run one.
constexpr int64_t kSpecificationVersion = 6;
constexpr const char* kOpset = "CoreML5";

using Shape = std::vector<int64_t>;

Shape tensor_shape(const sk_conv_geometry& g, int64_t batch, int64_t channels, const int64_t* spatial,
                   bool channels_last) {
  Shape shape{batch};
  if (!channels_last) shape.push_back(channels);
  for (int i = 0; i < g.rank; ++i) shape.push_back(spatial[i]);
  if (channels_last) shape.push_back(channels);
  return shape;
}

int64_t effective_kernel(const sk_conv_geometry& g, int i) { return (g.kernel[i] - 1) * g.dilation[i] + 1; }

void check_geometry(const sk_conv_geometry& g, const sk_conv_shape& s) {
  auto fail = [](const std::string& what) { throw std::invalid_argument("coreml model: " + what); };
  if (g.rank < 1 || g.rank > SK_MAX_RANK) fail("rank " + std::to_string(g.rank) + " is not 1, 2 or 3");
  if (g.groups < 1 || g.in_channels < 1 || g.out_channels < 1 || g.in_channels % g.groups || g.out_channels % g.groups) {
    fail("channels " + std::to_string(g.in_channels) + " -> " + std::to_string(g.out_channels) +
         " do not split into " + std::to_string(g.groups) + " groups");
  }
  if (s.batch < 1) fail("batch " + std::to_string(s.batch));
  for (int i = 0; i < g.rank; ++i) {
    if (g.kernel[i] < 1 || g.stride[i] < 1 || g.dilation[i] < 1 || s.in_size[i] < 1 || s.out_size[i] < 1 ||
        s.pad_begin[i] < 0 || s.pad_end[i] < 0) {
      fail("dimension " + std::to_string(i) + " has a size, kernel, stride, dilation or pad out of range");
    }
  }
}

// One convolution's worth of MIL: the operation and what it needs, in channels-first order.
class ConvGraph {
 public:
  ConvGraph(const sk_conv_geometry& g, const sk_conv_shape& s, ComputePrecision precision)
      : g_(g), s_(s), type_(mil_type(precision)), precision_(precision) {}

  // Returns the block; the weight file of its constants is then weight_file().
  ProtoWriter build(const float* weight, const float* bias) {
    const bool channels_last = g_.layout == SK_LAYOUT_CHANNELS_LAST;
    const bool fp16 = precision_ == ComputePrecision::kFloat16;
    std::vector<int64_t> extra;  // zeros a transposed convolution appends past what its inputs reach
    if (g_.transposed) {
      set_up_transposed(weight, &extra);
    } else {
      set_up_forward(weight);
    }
    const bool padded = !extra.empty();
    const bool biased_after = padded && g_.has_bias && bias;
    const bool activated = g_.activation != SK_ACTIVATION_NONE;
    // Which step ends the program, and so gives its result the output's name.
    enum Step { kConv, kPad, kAdd, kActivation, kTransposeBack, kCastBack };
    const Step last = fp16 ? kCastBack : channels_last ? kTransposeBack : activated ? kActivation
                      : biased_after ? kAdd : padded ? kPad : kConv;
    auto name = [&](Step step, const std::string& own) { return step == last ? std::string(kOutputName) : own; };

    // Casting before the transpose (and after the one back) is where coremltools' float16 pass puts the
    // casts: at the function's input and output.
    const Shape in_first = tensor_shape(g_, s_.batch, g_.in_channels, s_.in_size, false);
    const Shape in_given = tensor_shape(g_, s_.batch, g_.in_channels, s_.in_size, channels_last);
    std::string y = kInputName;
    if (fp16) y = cast(y, "x_fp16", "fp16", MilType::kFloat16, in_given);
    if (channels_last) {
      y = block_.operation("transpose", "x_channels_first",
                           {{"x", y}, {"perm", block_.const_int32s("x_order", layout_order(g_.rank, true))}}, type_,
                           in_first);
    }

    const Shape shape = tensor_shape(g_, s_.batch, g_.out_channels, s_.out_size, false);
    y = conv_op(y, g_.has_bias && bias && !padded ? bias : nullptr, padded ? reached_shape() : shape,
                name(kConv, op_type_ + "_out"));
    if (padded) {
      const std::string pads = block_.const_int32s("pad_extra", extra);
      const std::string mode = block_.const_string("pad_mode", "constant");
      const float zero = 0.0f;
      const std::string value = block_.const_floats("pad_value", type_, {}, &zero);
      y = block_.operation("pad", name(kPad, "padded"),
                           {{"x", y}, {"pad", pads}, {"mode", mode}, {"constant_val", value}}, type_, shape);
    }
    if (biased_after) {
      Shape bias_shape{1, g_.out_channels};
      for (int i = 0; i < g_.rank; ++i) bias_shape.push_back(1);
      y = block_.operation("add", name(kAdd, "biased"),
                           {{"x", y}, {"y", block_.const_floats("bias_broadcast", type_, bias_shape, bias)}}, type_,
                           shape);
    }
    if (activated) y = activate(y, shape, name(kActivation, ""));
    const Shape out_given = tensor_shape(g_, s_.batch, g_.out_channels, s_.out_size, channels_last);
    if (channels_last) {
      y = block_.operation("transpose", name(kTransposeBack, "y_channels_last"),
                           {{"x", y}, {"perm", block_.const_int32s("y_order", layout_order(g_.rank, false))}}, type_,
                           out_given);
    }
    if (fp16) y = cast(y, kOutputName, "fp32", MilType::kFloat32, out_given);
    return block_.finish(y);
  }

  std::string weight_file() const { return block_.weight_file(); }

 private:
  std::string cast(const std::string& x, const std::string& name, const char* dtype, MilType type, const Shape& shape) {
    const std::string to = block_.const_string(name + "_dtype", dtype);
    return block_.operation("cast", name, {{"x", x}, {"dtype", to}}, type, shape);
  }

  std::vector<int64_t> per_dim(const int64_t* values) const { return std::vector<int64_t>(values, values + g_.rank); }

  // The weight constant and pads of a conv op; conv_op() then writes the op.
  void set_up_forward(const float* weight) {
    op_type_ = "conv";
    Shape weight_shape{g_.out_channels, g_.in_channels / g_.groups};
    for (int i = 0; i < g_.rank; ++i) weight_shape.push_back(g_.kernel[i]);
    weight_ = block_.const_floats("weight", type_, weight_shape, weight);
    for (int i = 0; i < g_.rank; ++i) pads_.insert(pads_.end(), {s_.pad_begin[i], s_.pad_end[i]});
  }

  // conv_transpose gives (n - 1) * s + e - begin - end per dimension, (C, K/G, ...k) weights as stridekit
  // holds them. The core fixes out_size and pad_begin; end is chosen to land on out_size. When out_size is
  // more than the input reaches even with end = 0 (outputPadding), the rest is zeros from a pad op: *extra
  // receives that op's [before, after] pairs for every dimension, batch and channels (zeros) included, as
  // coremltools writes a constant pad, or stays empty.
  void set_up_transposed(const float* weight, std::vector<int64_t>* extra) {
    op_type_ = "conv_transpose";
    Shape weight_shape{g_.in_channels, g_.out_channels / g_.groups};
    for (int i = 0; i < g_.rank; ++i) weight_shape.push_back(g_.kernel[i]);
    weight_ = block_.const_floats("weight", type_, weight_shape, weight);
    std::vector<int64_t> appended{0, 0, 0, 0};  // batch and channels
    bool any = false;
    for (int i = 0; i < g_.rank; ++i) {
      const int64_t reached = (s_.in_size[i] - 1) * g_.stride[i] + effective_kernel(g_, i) - s_.pad_begin[i];
      const int64_t end = s_.out_size[i] <= reached ? reached - s_.out_size[i] : 0;
      pads_.insert(pads_.end(), {s_.pad_begin[i], end});
      appended.insert(appended.end(), {0, s_.out_size[i] - (reached - end)});
      reached_[i] = reached - end;
      any = any || reached - end < s_.out_size[i];
    }
    if (any) *extra = appended;
  }

  // The channels-first shape conv_transpose itself gives, before the appended zeros.
  Shape reached_shape() const {
    Shape shape{s_.batch, g_.out_channels};
    for (int i = 0; i < g_.rank; ++i) shape.push_back(reached_[i]);
    return shape;
  }

  // conv or conv_transpose. A conv_transpose states its output_shape (N, K, ...), as coremltools writes it:
  // MIL's conv_transpose output is underdetermined from its input (several input sizes reach one output).
  std::string conv_op(const std::string& x, const float* bias, const Shape& shape, const std::string& name) {
    MilBlock::Inputs inputs{
        {"x", x},
        {"weight", weight_},
        {"strides", block_.const_int32s("strides", per_dim(g_.stride))},
        {"pad_type", block_.const_string("pad_type", "custom")},
        {"pad", block_.const_int32s("pad", pads_)},
        {"dilations", block_.const_int32s("dilations", per_dim(g_.dilation))},
        {"groups", block_.const_int32("groups", g_.groups)},
    };
    if (bias) inputs.emplace_back("bias", block_.const_floats("bias", type_, {g_.out_channels}, bias));
    if (g_.transposed) inputs.emplace_back("output_shape", block_.const_int32s("output_shape", shape));
    return block_.operation(op_type_, name, inputs, type_, shape);
  }

  // own_name: the result's name, or empty for <op>_out.
  std::string activate(const std::string& x, const Shape& shape, const std::string& own_name) {
    const char* op = nullptr;
    switch (g_.activation) {
      case SK_ACTIVATION_NONE: return x;
      case SK_ACTIVATION_RELU: op = "relu"; break;
      case SK_ACTIVATION_RELU6: op = "relu6"; break;
      case SK_ACTIVATION_SIGMOID: op = "sigmoid"; break;
      case SK_ACTIVATION_TANH: op = "tanh"; break;
      case SK_ACTIVATION_SILU: op = "silu"; break;  // x * sigmoid(x)
      default: throw std::invalid_argument("coreml model: unknown activation " + std::to_string(g_.activation));
    }
    return block_.operation(op, own_name.empty() ? std::string(op) + "_out" : own_name, {{"x", x}}, type_, shape);
  }

  const sk_conv_geometry& g_;
  const sk_conv_shape& s_;
  const MilType type_;
  const ComputePrecision precision_;
  MilBlock block_;
  std::string op_type_, weight_;
  std::vector<int64_t> pads_;
  int64_t reached_[SK_MAX_RANK] = {1, 1, 1};
};

ProtoWriter feature(const char* name, const Shape& shape) {
  ProtoWriter array;
  array.packed_varints(ArrayFeatureTypeField::kShape, shape);
  array.varint_field(ArrayFeatureTypeField::kDataType, kArrayFloat32);
  ProtoWriter type;
  type.message(FeatureTypeField::kMultiArrayType, array);
  ProtoWriter description;
  description.string_field(FeatureDescriptionField::kName, name);
  description.message(FeatureDescriptionField::kType, type);
  return description;
}

}  // namespace

std::vector<int64_t> input_shape(const sk_conv_geometry& g, const sk_conv_shape& s) {
  return tensor_shape(g, s.batch, g.in_channels, s.in_size, g.layout == SK_LAYOUT_CHANNELS_LAST);
}

std::vector<int64_t> output_shape(const sk_conv_geometry& g, const sk_conv_shape& s) {
  return tensor_shape(g, s.batch, g.out_channels, s.out_size, g.layout == SK_LAYOUT_CHANNELS_LAST);
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

Model build_model(const sk_conv_geometry& g, const sk_conv_shape& s, const float* weight, const float* bias,
                  ComputePrecision precision) {
  check_geometry(g, s);
  if (!weight) throw std::invalid_argument("coreml model: no weights");
  if (!g.transposed) {
    for (int i = 0; i < g.rank; ++i) {
      const int64_t span = s.in_size[i] + s.pad_begin[i] + s.pad_end[i] - effective_kernel(g, i);
      if (span < 0 || span / g.stride[i] + 1 != s.out_size[i]) {
        throw std::invalid_argument("coreml model: dimension " + std::to_string(i) + " gives output " +
                                    std::to_string(span < 0 ? 0 : span / g.stride[i] + 1) + " but the core expects " +
                                    std::to_string(s.out_size[i]));
      }
    }
  }
  ConvGraph graph(g, s, precision);
  const ProtoWriter block = graph.build(weight, bias);

  ProtoWriter function_input;
  function_input.string_field(NamedValueTypeField::kName, kInputName);
  function_input.message(NamedValueTypeField::kType, value_type(MilType::kFloat32, input_shape(g, s)));
  ProtoWriter function;
  function.message(FunctionField::kInputs, function_input);
  function.string_field(FunctionField::kOpset, kOpset);
  function.map_entry(FunctionField::kBlockSpecializations, kOpset, block);
  ProtoWriter program;
  program.varint_field(ProgramField::kVersion, 1);
  program.map_entry(ProgramField::kFunctions, "main", function);

  ProtoWriter description;
  description.message(ModelDescriptionField::kInput, feature(kInputName, input_shape(g, s)));
  description.message(ModelDescriptionField::kOutput, feature(kOutputName, output_shape(g, s)));
  ProtoWriter model;
  model.varint_field(ModelField::kSpecificationVersion, kSpecificationVersion);
  model.message(ModelField::kDescription, description);
  model.message(ModelField::kMlProgram, program);
  return Model{model.bytes(), graph.weight_file()};
}

}  // namespace stridekit::coreml
