// A cuDNN plan: the weights and bias on the device, its own stream and cuDNN handle, its workspace and
// staging buffers, and per input shape the lowered steps (cudnn_lowering.h) with their descriptors and
// the algorithm measured for them (most recently used first, a few kept).
//
// Precision (sk_conv_geometry.precision), as cuDNN is told it:
//   FP32  float tensors, CUDNN_FMA_MATH on the descriptor while measuring and running, whatever math type
//         cudnnFind reports: no tensor-core TF32 products, so results are true single precision
//         (differences from the CPU are summation order, ~1e-6 relative to the output scale).
//   TF32  float tensors, CUDNN_DEFAULT_MATH: on compute 8.0 and later cuDNN may multiply in TF32 (10-bit
//         mantissa, fp32 accumulation), ~1e-3 relative error on unit-scale data (cuDNN's documentation
//         of cudnnMathType_t: DEFAULT permits TF32, FMA does not; NVIDIA_TF32_OVERRIDE=0 in the
//         environment turns TF32 off). Never TENSOR_OP_MATH_ALLOW_CONVERSION, which may round float
//         inputs to half.
//   FP16  x and the weights are rounded to half (11-bit significand; |values| above 65504 overflow), the
//         convolution runs on half tensors with float accumulation (cuDNN's PSEUDO_HALF_CONFIG) and its
//         half result is widened back: ~1e-3 relative error; bias and activation are applied in float.
//         CUDNN_TENSOR_OP_MATH on the descriptor while measuring (tensor cores, as PyTorch asks for half
//         tensors), then the math type cudnnFind reports for the algorithm chosen.
//   BF16  not used: the plan is an FP32 plan (bf16 is a permission; the probe does not report it).
#pragma once

#include <cstdint>
#include <list>
#include <vector>

#include "cudnn_lowering.h"
#include "cudnn_resources.h"
#include "stridekit/backend.h"

namespace stridekit::cudnn {

// The two descriptors of one lowered box copy (cudnnTransformTensor).
struct CopyDescriptors {
  TensorDescriptor source, destination;
};

// One piece of y for bias and activation: y's view there and the bias slice's (1, K', 1, ...) view.
struct PieceDescriptors {
  TensorDescriptor y, bias;
};

// Everything one input shape needs: its lowering, descriptors and the algorithm found for it.
struct ShapeState {
  sk_conv_shape shape{};  // the key: batch, sizes and pads
  Lowering lowering;
  TensorDescriptor conv_input, conv_output;
  std::vector<CopyDescriptors> input_copies, output_copies;  // one per lowering.*_copies entry
  std::vector<PieceDescriptors> output_pieces;               // one per lowering.output_pieces entry
  FilterDescriptor filter;
  ConvolutionDescriptor convolution;
  int algorithm = 0;  // cudnnConvolutionFwdAlgo_t or cudnnConvolutionBwdDataAlgo_t
  size_t workspace_bytes = 0;
};

// Shapes kept per plan: a plan run on many sizes measures again instead of growing without bound.
constexpr size_t kCachedShapes = 8;

}  // namespace stridekit::cudnn

struct sk_plan {
  sk_conv_geometry geometry{};
  // Declared in release order's reverse: the handle goes before its stream, descriptors before both.
  stridekit::cudnn::Stream stream;
  stridekit::cudnn::Handle handle;
  stridekit::cudnn::DeviceMemory weight;  // float, or half for FP16; channels first as the ABI gives it
  stridekit::cudnn::DeviceMemory bias;    // K floats, when has_bias
  stridekit::cudnn::ActivationDescriptor activation;
  stridekit::cudnn::DeviceMemory workspace, staged_x, conv_y;  // grown as shapes need
  stridekit::cudnn::DeviceMemory device_x, device_y;          // plan_run's copies of the host tensors
  stridekit::cudnn::PinnedMemory pinned_x, pinned_y;          // plan_run's staging for those copies
  std::list<stridekit::cudnn::ShapeState> shapes;
};

struct sk_buffer {
  stridekit::cudnn::DeviceMemory memory;
  size_t bytes = 0;
};

namespace stridekit::cudnn {

// Uploads (and for FP16 converts) the weights; throws DeviceError or std::invalid_argument.
sk_plan* create_plan(const sk_conv_geometry& geometry, const float* weight, const float* bias);

// Host tensors: x -> pinned -> device, run, device -> pinned -> y; returns when y is written.
void run_plan(sk_plan& plan, const sk_conv_shape& shape, const float* x, float* y);

// Device tensors of this backend; returns when y is complete.
void run_plan_on_device(sk_plan& plan, const sk_conv_shape& shape, const sk_buffer& x, sk_buffer& y);

// Waits for the plan's stream and frees everything it holds.
void destroy_plan(sk_plan* plan);

}  // namespace stridekit::cudnn
