// One convolution (or transposed convolution) with its bias and activation as a Core ML model
// specification (Model.proto, an ML Program), for one input shape: the input "x" and output "y" float32
// multi-arrays in the plan's layout, the weights of 10 or more elements in the weight file beside the
// specification (as coremltools writes them). Portable: no Apple header, no protobuf library; the macOS
// plugin compiles what this returns, and the Linux tests read it with coremltools
// (test/coreml-model.test.js).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mil_types.h"
#include "model_package.h"
#include "stridekit/backend.h"

namespace stridekit::coreml {

constexpr const char* kInputName = "x";
constexpr const char* kOutputName = "y";

// The dense shapes of x and y as the caller lays them out (channels first or last).
std::vector<int64_t> input_shape(const sk_conv_geometry& g, const sk_conv_shape& s);
std::vector<int64_t> output_shape(const sk_conv_geometry& g, const sk_conv_shape& s);

// The serialised Model and its weight file. weight is channels first (convolution (K, C/G, ...k),
// transposed (C, K/G, ...k)); bias has K values or is null. Throws std::invalid_argument when the geometry
// is not one stridekit makes or the shape's sizes and pads disagree (a core bug).
Model build_model(const sk_conv_geometry& g, const sk_conv_shape& s, const float* weight, const float* bias,
                  ComputePrecision precision);

std::string shape_text(const std::vector<int64_t>& shape);

}  // namespace stridekit::coreml
