// Reads the facade's geometry and shape arrays into the ABI's structs and checks that every buffer
// is as large as they say. The facade has already validated the user's arguments; these checks keep
// a direct caller of the binding from making the core read or write out of bounds.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "stridekit/backend.h"

namespace stridekit {

sk_conv_geometry read_geometry(const Napi::Value& value);
int weight_layout_of(const Napi::Value& geometry);  // 0 channels_first, 1 channels_last
sk_conv_shape read_shape(const Napi::Value& value, const sk_conv_geometry& geometry);

// A Float32Array's data, after checking it holds exactly `expected` elements.
float* float32_data(const Napi::Value& value, const char* what, int64_t expected);

int64_t weight_elements(const sk_conv_geometry& g);
int64_t input_elements(const sk_conv_geometry& g, const sk_conv_shape& s);
int64_t output_elements(const sk_conv_geometry& g, const sk_conv_shape& s);

}  // namespace stridekit
