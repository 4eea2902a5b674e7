// Every value here is read from the constants the core itself uses (js_abi.h, and backend.h for the
// activation and precision codes), so the table cannot say anything the core does not do.
#include "core/js_abi_export.h"

#include <initializer_list>
#include <utility>

#include "core/js_abi.h"
#include "stridekit/backend.h"

namespace stridekit::js {

namespace {

Napi::Object fields(Napi::Env env, std::initializer_list<std::pair<const char*, int>> entries) {
  Napi::Object object = Napi::Object::New(env);
  for (const auto& [name, value] : entries) object.Set(name, Napi::Number::New(env, value));
  return object;
}

}  // namespace

Napi::Object abi_table(Napi::Env env) {
  Napi::Object table = Napi::Object::New(env);
  table.Set("version", Napi::Number::New(env, kFacadeAbiVersion));
  table.Set("geometry", fields(env, {
      {"rank", geometry::kRank}, {"transposed", geometry::kTransposed}, {"layout", geometry::kLayout},
      {"activation", geometry::kActivation}, {"groups", geometry::kGroups},
      {"inChannels", geometry::kInChannels}, {"outChannels", geometry::kOutChannels},
      {"kernel", geometry::kKernel}, {"stride", geometry::kStride}, {"dilation", geometry::kDilation},
      {"weightLayout", geometry::kWeightLayout}, {"precision", geometry::kPrecision},
      {"length", geometry::kLength},
  }));
  table.Set("shape", fields(env, {
      {"batch", shape::kBatch}, {"inSize", shape::kInSize}, {"outSize", shape::kOutSize},
      {"padBegin", shape::kPadBegin}, {"padEnd", shape::kPadEnd}, {"length", shape::kLength},
  }));
  // A one-shot call's request: the geometry array, then the shape array (addon.cc reads it so).
  table.Set("request", fields(env, {
      {"geometry", 0}, {"shape", geometry::kLength}, {"length", geometry::kLength + shape::kLength},
  }));
  table.Set("activation", fields(env, {
      {"none", SK_ACTIVATION_NONE}, {"relu", SK_ACTIVATION_RELU}, {"relu6", SK_ACTIVATION_RELU6},
      {"sigmoid", SK_ACTIVATION_SIGMOID}, {"tanh", SK_ACTIVATION_TANH}, {"silu", SK_ACTIVATION_SILU},
  }));
  table.Set("precision", fields(env, {
      {"fp32", SK_PRECISION_FP32}, {"tf32", SK_PRECISION_TF32}, {"fp16", SK_PRECISION_FP16},
      {"bf16", SK_PRECISION_BF16},
  }));
  return table;
}

}  // namespace stridekit::js
