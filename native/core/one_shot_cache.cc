#include "core/one_shot_cache.h"

#include <cstring>

#include "core/request.h"
#include "core/weight_layout.h"

namespace stridekit {

namespace {

static_assert(sizeof(sk_conv_geometry) == 8 * sizeof(int32_t) + 12 * sizeof(int64_t),
              "sk_conv_geometry must have no padding for the memcmp in OneShotCache::matches");

bool same_bytes(const float* a, const std::vector<float>& b, size_t count) {
  return b.size() == count && (count == 0 || std::memcmp(a, b.data(), count * sizeof(float)) == 0);
}

}  // namespace

std::shared_ptr<NativePlan> make_plan(const BackendSlot& backend, const sk_conv_geometry& geometry,
                                      int weight_layout, const float* weight, const float* bias) {
  if (weight_layout == 1) {
    const std::vector<float> converted = weights_to_channels_first(geometry, weight);
    return std::make_shared<NativePlan>(backend, geometry, converted.data(), bias);
  }
  return std::make_shared<NativePlan>(backend, geometry, weight, bias);
}

bool OneShotCache::matches(const BackendSlot& backend, const sk_conv_geometry& geometry,
                           int weight_layout, const float* weight, const float* bias) const {
  // sk_conv_geometry has no padding bytes, and read_geometry zero-initialises it: memcmp is exact.
  return plan_ && backend_ == &backend && weight_layout_ == weight_layout &&
         std::memcmp(&geometry_, &geometry, sizeof(geometry)) == 0 &&
         same_bytes(weight, weight_, static_cast<size_t>(weight_elements(geometry))) &&
         same_bytes(bias, bias_, geometry.has_bias ? static_cast<size_t>(geometry.out_channels) : 0);
}

std::shared_ptr<NativePlan> OneShotCache::find(const BackendSlot& backend,
                                               const sk_conv_geometry& geometry, int weight_layout,
                                               const float* weight, const float* bias) const {
  return matches(backend, geometry, weight_layout, weight, bias) ? plan_ : nullptr;
}

bool OneShotCache::keeps(const sk_conv_geometry& geometry) {
  return weight_elements(geometry) <= kMaxFloats;
}

void OneShotCache::keep(std::shared_ptr<NativePlan> plan, const BackendSlot& backend,
                        const sk_conv_geometry& geometry, int weight_layout,
                        std::vector<float> weight, std::vector<float> bias) {
  if (!keeps(geometry)) return;
  plan_ = std::move(plan);
  backend_ = &backend;
  geometry_ = geometry;
  weight_layout_ = weight_layout;
  weight_ = std::move(weight);
  bias_ = std::move(bias);
}

std::shared_ptr<NativePlan> OneShotCache::plan(const BackendSlot& backend,
                                               const sk_conv_geometry& geometry, int weight_layout,
                                               const float* weight, const float* bias) {
  if (std::shared_ptr<NativePlan> cached = find(backend, geometry, weight_layout, weight, bias)) {
    return cached;
  }
  std::shared_ptr<NativePlan> plan = make_plan(backend, geometry, weight_layout, weight, bias);
  if (keeps(geometry)) {
    const int64_t floats = weight_elements(geometry);
    keep(plan, backend, geometry, weight_layout, std::vector<float>(weight, weight + floats),
         std::vector<float>(bias, bias + (geometry.has_bias ? geometry.out_channels : 0)));
  }
  return plan;
}

}  // namespace stridekit
