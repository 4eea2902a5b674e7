// A coreml plan: the weights, copied at creation, and the Core ML model for each input shape it has run,
// built by model_builder and compiled on the first run of that shape. Core ML models have fixed shapes,
// so a new batch or spatial size is a new model (from the on-disk cache when it was compiled before).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "coreml_runtime.h"
#include "stridekit/backend.h"

struct sk_plan {
  sk_conv_geometry geometry;
  stridekit::coreml::ComputePrecision precision;
  std::vector<float> weight;
  std::vector<float> bias;  // empty without bias
  // Keyed by the shape's sizes and pads; a few shapes at most in practice (the core re-plans per layer).
  struct ShapeModel {
    std::shared_ptr<stridekit::coreml::LoadedModel> loaded;
    uint64_t used = 0;  // the run that last used it, for dropping the least recently used
  };
  std::map<std::vector<int64_t>, ShapeModel> models;
  uint64_t runs = 0;
};

namespace stridekit::coreml {

sk_plan* create_plan(const sk_conv_geometry& geometry, const float* weight, const float* bias);
void run_plan(sk_plan& plan, const sk_conv_shape& shape, const float* x, float* y);

}  // namespace stridekit::coreml
