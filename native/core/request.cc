#include "core/request.h"

#include <cmath>
#include <limits>
#include <string>

#include "core/js_abi.h"

namespace stridekit {

namespace {

constexpr int64_t kMaxElements = int64_t{1} << 53;

// Type, length and data of a typed array in one napi_get_typedarray_info call (Napi::Float32Array's
// constructor alone makes two); false when `value` is not a typed array.
bool typed_array_info(const Napi::Value& value, napi_typedarray_type* type, size_t* length,
                      void** data) {
  return napi_get_typedarray_info(value.Env(), value, type, length, data, nullptr, nullptr) ==
         napi_ok;
}

#if defined(_MSC_VER)
#define SK_OUT_OF_LINE __declspec(noinline)
#else
#define SK_OUT_OF_LINE __attribute__((noinline, cold))
#endif

[[noreturn]] SK_OUT_OF_LINE void out_of_range(const Napi::Env& env, double v, const char* what) {
  throw Napi::RangeError::New(env, std::string("internal: ") + what + " out of range: " +
                                       std::to_string(v));
}

// Every one-shot call reads some thirty of these, so the check that passes is a few inlined
// comparisons and the message is built out of line. Bounds are at most 2^53 in magnitude, where
// doubles are exact: a v inside them converts to int64 exactly, and it is an integer exactly when
// it converts back to itself (NaN fails the range comparisons, infinities too).
inline int64_t integer(const Napi::Env& env, double v, const char* what, int64_t min, int64_t max) {
  if (!(v >= static_cast<double>(min) && v <= static_cast<double>(max))) out_of_range(env, v, what);
  const int64_t i = static_cast<int64_t>(v);
  if (static_cast<double>(i) != v) out_of_range(env, v, what);
  return i;
}

int64_t checked_product(const Napi::Env& env, std::initializer_list<int64_t> factors) {
  int64_t product = 1;
  for (int64_t f : factors) {
    if (f != 0 && product > kMaxElements / f) {
      throw Napi::RangeError::New(env, "internal: element count overflows");
    }
    product *= f;
  }
  return product;
}

int64_t taps(const sk_conv_geometry& g) {
  int64_t t = 1;
  for (int d = 0; d < g.rank; ++d) t *= g.kernel[d];
  return t;
}

int64_t spatial(const int64_t* size, int rank) {
  int64_t n = 1;
  for (int d = 0; d < rank; ++d) n *= size[d];
  return n;
}

}  // namespace

const double* float64_data(const Napi::Value& value, const char* what, size_t length) {
  napi_typedarray_type type;
  size_t actual = 0;
  void* data = nullptr;
  if (!typed_array_info(value, &type, &actual, &data) || type != napi_float64_array) {
    throw Napi::TypeError::New(value.Env(), std::string(what) + " must be a Float64Array");
  }
  if (actual != length) {
    throw Napi::RangeError::New(value.Env(), std::string(what) + " must have " +
                                                 std::to_string(length) + " entries");
  }
  return static_cast<const double*>(data);
}

sk_conv_geometry read_geometry(Napi::Env env, const double* a, int* weight_layout) {
  constexpr int64_t kBig = int64_t{1} << 31;
  sk_conv_geometry g{};
  g.struct_size = sizeof(g);
  g.rank = static_cast<int32_t>(integer(env, a[js::geometry::kRank], "rank", 1, SK_MAX_RANK));
  g.transposed = static_cast<int32_t>(integer(env, a[js::geometry::kTransposed], "transposed", 0, 1));
  g.layout = static_cast<int32_t>(integer(env, a[js::geometry::kLayout], "layout", 0, 1));
  g.activation = static_cast<int32_t>(
      integer(env, a[js::geometry::kActivation], "activation", 0, SK_ACTIVATION_SILU));
  g.groups = integer(env, a[js::geometry::kGroups], "groups", 1, kBig);
  g.in_channels = integer(env, a[js::geometry::kInChannels], "in_channels", 1, kBig);
  g.out_channels = integer(env, a[js::geometry::kOutChannels], "out_channels", 1, kBig);
  if (g.in_channels % g.groups != 0 || g.out_channels % g.groups != 0) {
    throw Napi::RangeError::New(env, "internal: groups must divide both channel counts");
  }
  for (int d = 0; d < SK_MAX_RANK; ++d) {
    const int64_t max = d < g.rank ? kBig : 1;
    g.kernel[d] = integer(env, a[js::geometry::kKernel + d], "kernel", 1, max);
    g.stride[d] = integer(env, a[js::geometry::kStride + d], "stride", 1, max);
    g.dilation[d] = integer(env, a[js::geometry::kDilation + d], "dilation", 1, max);
  }
  g.precision = static_cast<int32_t>(
      integer(env, a[js::geometry::kPrecision], "precision", SK_PRECISION_FP32, SK_PRECISION_BF16));
  *weight_layout = static_cast<int>(integer(env, a[js::geometry::kWeightLayout], "weight layout", 0, 1));
  checked_product(env, {g.out_channels, g.in_channels, g.kernel[0], g.kernel[1], g.kernel[2]});
  return g;
}

sk_conv_shape read_shape(Napi::Env env, const double* a, const sk_conv_geometry& g) {
  constexpr int64_t kBig = int64_t{1} << 40;
  sk_conv_shape s{};
  s.struct_size = sizeof(s);
  s.batch = integer(env, a[js::shape::kBatch], "batch", 1, kBig);
  for (int d = 0; d < SK_MAX_RANK; ++d) {
    const bool used = d < g.rank;
    s.in_size[d] = integer(env, a[js::shape::kInSize + d], "input size", 1, used ? kBig : 1);
    s.out_size[d] = integer(env, a[js::shape::kOutSize + d], "output size", 1, used ? kBig : 1);
    s.pad_begin[d] = integer(env, a[js::shape::kPadBegin + d], "pad", 0, used ? kBig : 0);
    s.pad_end[d] = integer(env, a[js::shape::kPadEnd + d], "pad", 0, used ? kBig : 0);
  }
  checked_product(env, {s.batch, g.in_channels, s.in_size[0], s.in_size[1], s.in_size[2]});
  checked_product(env, {s.batch, g.out_channels, s.out_size[0], s.out_size[1], s.out_size[2]});
  return s;
}

float* float32_data(const Napi::Value& value, const char* what, int64_t expected) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (!typed_array_info(value, &type, &length, &data) || type != napi_float32_array) {
    throw Napi::TypeError::New(value.Env(), std::string(what) + " must be a Float32Array");
  }
  if (static_cast<int64_t>(length) != expected) {
    throw Napi::RangeError::New(value.Env(), std::string("internal: ") + what + " has " +
                                                 std::to_string(length) + " elements, expected " +
                                                 std::to_string(expected));
  }
  return static_cast<float*>(data);
}

int64_t weight_elements(const sk_conv_geometry& g) {
  const int64_t per_group_out = g.transposed ? g.out_channels / g.groups : g.in_channels / g.groups;
  const int64_t outer = g.transposed ? g.in_channels : g.out_channels;
  return outer * per_group_out * taps(g);
}

int64_t input_elements(const sk_conv_geometry& g, const sk_conv_shape& s) {
  return s.batch * g.in_channels * spatial(s.in_size, g.rank);
}

int64_t output_elements(const sk_conv_geometry& g, const sk_conv_shape& s) {
  return s.batch * g.out_channels * spatial(s.out_size, g.rank);
}


}  // namespace stridekit
