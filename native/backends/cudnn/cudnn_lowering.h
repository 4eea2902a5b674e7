// How one stridekit convolution becomes cuDNN calls, worked out without any CUDA header so that it can be
// compiled and checked on a machine without a GPU (test/cudnn-lowering.test.js runs it against a naive
// direct convolution).
//
// cuDNN's convolution pads symmetrically and computes in a channels-first tensor of at least 2 spatial
// dimensions; stridekit's shapes carry [begin, end] pads that may differ, both layouts and rank 1. The
// lowering closes that gap exactly, never approximately:
//   - rank 1 is a 2-D convolution whose first spatial dimension is 1 (kernel, stride, dilation 1, pad 0);
//   - forward: cuDNN gets the pad p = min(begin, end) on each side; the rest (begin - p, end - p) is an
//     explicit zero border: the input box is copied into a zeroed, larger channels-first buffer;
//   - transposed (cuDNN's backward-data): cuDNN gets a symmetric crop p <= min(begin, end) and produces
//     the result "full minus p on each side"; the window [begin - p, begin - p + out) of it is copied into
//     y, and whatever part of the window lies past that result (outputPadding beyond the end pad) stays
//     zero, so it holds only bias and activation, as the ABI asks;
//   - channels-last input or output, and half precision, go through the same staging copies (cuDNN's
//     cudnnTransformTensor copies between any strides and converts float <-> half on the way);
//   - bias and activation are applied last, in float, on y in the caller's layout.
// cudnnTransformTensor refuses dimensions above 65535 (CUDNN_STATUS_NOT_SUPPORTED at execution, as
// oneDNN's cuDNN reorder notes), so each copy is cut into pieces whose every dimension stays below that;
// bias and activation are applied piece by piece the same way, as a precaution for long 1-D signals.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stridekit/backend.h"

namespace stridekit::cudnn {

constexpr int kMaxTensorRank = 2 + SK_MAX_RANK;  // N, C and up to 3 spatial dimensions
constexpr int64_t kMaxCopyDim = 65535;           // the largest dimension one cudnnTransformTensor takes

// A dense or strided view of a buffer, in elements, exactly what cudnnSetTensorNdDescriptor takes
// (dims N, C, spatial...) plus the element offset of its first element in its buffer.
struct TensorView {
  int rank = 0;  // 4 or 5
  int64_t dims[kMaxTensorRank] = {};
  int64_t strides[kMaxTensorRank] = {};
  int64_t offset = 0;
};

// The buffers a lowered convolution touches.
enum class Buffer {
  kUserX,    // the caller's x (float, caller's layout)
  kUserY,    // the caller's y (float, caller's layout)
  kStagedX,  // channels-first copy of x, zero-bordered for asymmetric pads (compute type)
  kConvY,    // channels-first result of cuDNN's convolution (compute type)
};

// One copy of a box of elements between two views with the same dims (cudnnTransformTensor).
struct BoxCopy {
  Buffer from, to;
  TensorView source, destination;
};

// One piece of y for bias and activation: its view, and the channels it holds (the bias slice it takes).
struct OutputPiece {
  TensorView view;
  int64_t first_channel = 0;
};

struct Lowering {
  bool transposed = false;
  bool half = false;           // compute in float16 (SK_PRECISION_FP16)
  int spatial = 2;             // spatial dimensions cuDNN sees: 2 (rank 1 and 2) or 3
  int64_t pad[SK_MAX_RANK] = {};
  int64_t stride[SK_MAX_RANK] = {};
  int64_t dilation[SK_MAX_RANK] = {};
  int64_t groups = 1;
  // Filter dims for cudnnSetFilterNdDescriptor (NCHW format): forward (K, C/g, ...k), transposed
  // (C, K/g, ...k), which is the stridekit weight layout with rank 1 lifted.
  int filter_rank = 4;
  int64_t filter_dims[kMaxTensorRank] = {};

  // cuDNN's operands: forward reads conv_input and writes conv_output; backward-data reads conv_input
  // (its dy) and writes conv_output (its dx). Both are dense channels-first views.
  Buffer conv_input_buffer = Buffer::kUserX, conv_output_buffer = Buffer::kUserY;
  TensorView conv_input, conv_output;

  int64_t staged_x_elements = 0;  // 0: no staged input buffer
  int64_t conv_y_elements = 0;    // 0: cuDNN writes y directly
  bool zero_staged_x = false;         // the staged input has a zero border: clear it before the copies
  std::vector<BoxCopy> input_copies;  // x -> staged x (none when cuDNN reads x itself)
  bool zero_user_y = false;           // part of y is not covered by the output copies: clear y first
  std::vector<BoxCopy> output_copies; // conv y -> y (none when cuDNN writes y itself, or the window misses)

  TensorView user_x, user_y;      // the caller's tensors
  std::vector<OutputPiece> output_pieces;  // user_y cut for bias and activation (one piece when small)
  int64_t user_x_elements = 0, user_y_elements = 0;
};

// Works out the lowering for one plan geometry and one input shape, both within the ranges the core
// checks before it calls a backend (backend.h). Throws std::invalid_argument when the output size
// does not follow from the rest (a core bug) and std::length_error when a dimension or stride
// does not fit cuDNN's 32-bit descriptors. max_copy_dim is kMaxCopyDim except in the CPU check, which
// makes it small to exercise the cutting of copies.
Lowering lower_convolution(const sk_conv_geometry& geometry, const sk_conv_shape& shape,
                           int64_t max_copy_dim = kMaxCopyDim);

// The filter dims of lowering.filter_dims, which depend on the geometry only; returns their count.
int lower_filter(const sk_conv_geometry& geometry, int64_t dims[kMaxTensorRank]);

// "dims [...] strides [...] offset n", for error messages.
std::string describe(const TensorView& view);

}  // namespace stridekit::cudnn
