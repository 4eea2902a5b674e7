// One convolution (or transposed convolution) with its bias and activation as an ov::Model, for one
// input shape: the input and output in the plan's layout, the weights as constants.
#pragma once

#include <memory>
#include <string>

#include <openvino/core/model.hpp>
#include <openvino/core/shape.hpp>

#include "stridekit/backend.h"

namespace stridekit::openvino {

// The dense shapes of x and y as the caller lays them out (channels first or last).
ov::Shape input_shape(const sk_conv_geometry& g, const sk_conv_shape& s);
ov::Shape output_shape(const sk_conv_geometry& g, const sk_conv_shape& s);

// weight is channels first (convolution (K, C/G, ...k), transposed (C, K/G, ...k)); bias has K values or
// is null. Throws std::invalid_argument when the graph does not give output_shape() (sizes and pads that
// disagree: a core bug), ov::Exception when OpenVINO refuses an operation.
std::shared_ptr<ov::Model> build_model(const sk_conv_geometry& g, const sk_conv_shape& s,
                                       const float* weight, const float* bias);

std::string shape_text(const ov::Shape& shape);

}  // namespace stridekit::openvino
