// An OpenVINO plan: the geometry, copies of the weights and bias, and one compiled model with its infer
// request per input shape seen (most recently used first, a few kept).
#pragma once

#include <cstdint>
#include <list>
#include <vector>

#include "ir_writer.h"
#include "openvino_c_api.h"
#include "stridekit/backend.h"

namespace stridekit::openvino {

struct CompiledShape {
  sk_conv_shape shape;  // the key: batch, sizes and pads
  Dims input_shape, output_shape;
  // The IR's constants: the model read from the IR shares them, and so may what was compiled from it.
  std::vector<uint8_t> weights;
  CompiledModelPtr compiled;
  InferRequestPtr request;
  // The caller's buffers the request's input and output tensors wrap now (null before the first run).
  const float* bound_x = nullptr;
  float* bound_y = nullptr;
  bool y_checked = false;   // whether a run since binding bound_y has set y_in_place
  bool y_in_place = false;  // whether infer() writes into bound_y itself
};

// Shapes kept per plan: a plan run on many sizes recompiles instead of growing without bound.
constexpr size_t kCachedShapes = 8;

}  // namespace stridekit::openvino

struct sk_plan {
  sk_conv_geometry geometry;
  std::vector<float> weight;  // channels first, as the ABI delivers it
  std::vector<float> bias;    // K values, or empty
  std::list<stridekit::openvino::CompiledShape> shapes;
};

namespace stridekit::openvino {

sk_plan* create_plan(const sk_conv_geometry& geometry, const float* weight, const float* bias);

// Compiles (or reuses) the model for shape, then runs it on the caller's buffers. Throws on failure.
void run_plan(sk_plan& plan, const sk_conv_shape& shape, const float* x, float* y);

}  // namespace stridekit::openvino
