// Weights in TensorFlow's channels-last layout, turned once into the channels-first layout that the
// backend ABI always carries.
#pragma once

#include <vector>

#include "stridekit/backend.h"

namespace stridekit {

// channels_last weights: convolution (...kernel, C/g, K) -> (K, C/g, ...kernel);
// transposed (...kernel, K/g, C) -> (C, K/g, ...kernel). Both move the last axis to the front and
// the spatial axes to the back.
std::vector<float> weights_to_channels_first(const sk_conv_geometry& geometry, const float* weight);

}  // namespace stridekit
