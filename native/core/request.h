// Reads the facade's geometry and shape arrays into the ABI's structs and checks that every buffer
// is as large as they say. The facade has already validated the user's arguments; these checks keep
// a direct caller of the binding from making the core read or write out of bounds.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>

#include "stridekit/backend.h"

namespace stridekit {

// A Float64Array's data, after checking it holds exactly `length` entries.
const double* float64_data(const Napi::Value& value, const char* what, size_t length);

// A Float32Array's data, after checking it holds exactly `expected` elements.
float* float32_data(const Napi::Value& value, const char* what, int64_t expected);

// The js::geometry entries at `a`; *weight_layout receives 0 (channels_first) or 1 (channels_last).
sk_conv_geometry read_geometry(Napi::Env env, const double* a, int* weight_layout);

// The js::shape entries at `a`, checked against the geometry's rank.
sk_conv_shape read_shape(Napi::Env env, const double* a, const sk_conv_geometry& geometry);

int64_t weight_elements(const sk_conv_geometry& g);
int64_t input_elements(const sk_conv_geometry& g, const sk_conv_shape& s);
int64_t output_elements(const sk_conv_geometry& g, const sk_conv_shape& s);

}  // namespace stridekit
