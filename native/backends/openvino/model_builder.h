// One convolution (or transposed convolution) with its bias and activation as an OpenVINO IR model, for
// one input shape: the input and output in the plan's layout, the weights as constants.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir_writer.h"
#include "stridekit/backend.h"

namespace stridekit::openvino {

// The dense shapes of x and y as the caller lays them out (channels first or last).
Dims input_shape(const sk_conv_geometry& g, const sk_conv_shape& s);
Dims output_shape(const sk_conv_geometry& g, const sk_conv_shape& s);

struct IrModel {
  std::string xml;
  std::vector<uint8_t> weights;  // the model shares these bytes once OpenVINO has read it
};

// weight is channels first (convolution (K, C/G, ...k), transposed (C, K/G, ...k)); bias has K values or
// is null. Throws std::invalid_argument for an unknown activation. The graph's output shape is
// OpenVINO's to infer: the caller compares it with output_shape().
IrModel build_model(const sk_conv_geometry& g, const sk_conv_shape& s, const float* weight, const float* bias);

std::string shape_text(const Dims& shape);

}  // namespace stridekit::openvino
