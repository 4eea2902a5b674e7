#include "coreml_plan.h"

#include <algorithm>
#include <memory>

#include "model_builder.h"

namespace stridekit::coreml {
namespace {

// Models kept per plan; past this the least recently used is dropped (it stays compiled on disk).
constexpr size_t kModelsPerPlan = 8;

std::vector<int64_t> shape_key(const sk_conv_geometry& g, const sk_conv_shape& s) {
  std::vector<int64_t> key{s.batch};
  for (int i = 0; i < g.rank; ++i) key.insert(key.end(), {s.in_size[i], s.out_size[i], s.pad_begin[i], s.pad_end[i]});
  return key;
}

}  // namespace

sk_plan* create_plan(const sk_conv_geometry& geometry, const float* weight, const float* bias) {
  auto plan = std::make_unique<sk_plan>();
  plan->geometry = geometry;
  plan->precision = program_precision(geometry.precision, runtime_units());
  size_t taps = 1;
  for (int i = 0; i < geometry.rank; ++i) taps *= static_cast<size_t>(geometry.kernel[i]);
  const int64_t outer = geometry.transposed ? geometry.in_channels : geometry.out_channels;
  const int64_t inner = (geometry.transposed ? geometry.out_channels : geometry.in_channels) / geometry.groups;
  plan->weight.assign(weight, weight + static_cast<size_t>(outer * inner) * taps);
  if (geometry.has_bias && bias) plan->bias.assign(bias, bias + geometry.out_channels);
  return plan.release();
}

void run_plan(sk_plan& plan, const sk_conv_shape& shape, const float* x, float* y) {
  const sk_conv_geometry& g = plan.geometry;
  const std::vector<int64_t> key = shape_key(g, shape);
  auto found = plan.models.find(key);
  if (found == plan.models.end()) {
    const Model model = build_model(g, shape, plan.weight.data(), plan.bias.empty() ? nullptr : plan.bias.data(),
                                    plan.precision);
    auto loaded = load_model(model);
    if (plan.models.size() >= kModelsPerPlan) {
      plan.models.erase(std::min_element(plan.models.begin(), plan.models.end(), [](const auto& a, const auto& b) {
        return a.second.used < b.second.used;
      }));
    }
    found = plan.models.emplace(key, sk_plan::ShapeModel{std::move(loaded), 0}).first;
  }
  found->second.used = ++plan.runs;
  predict(*found->second.loaded, input_shape(g, shape), x, output_shape(g, shape), y);
}

}  // namespace stridekit::coreml
