// The plan of the last small one-shot call on a JavaScript thread, reused by the next one when
// everything it was made from is equal: backend, geometry, weight layout, and the weight and bias
// values themselves, compared byte for byte. Never by buffer identity: a caller may change the
// values in place between calls, and then gets a new plan. Only weights of at most kMaxFloats are
// kept (a copy is what the next call is compared with), so a comparison costs at most a 16 KiB
// memcmp, a fraction of packing, allocating and freeing a plan.
//
// One per addon instance, used only on that instance's JavaScript thread. convSync and
// convTransposeSync go through plan(); conv and convTranspose find() the cached plan on the
// JavaScript thread, make a new one off it when none matches, and keep() that one when they settle.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/backend_registry.h"
#include "core/native_plan.h"
#include "stridekit/backend.h"

namespace stridekit {

class OneShotCache {
 public:
  static constexpr int64_t kMaxFloats = 4096;

  // A plan for these arguments: the cached one when they match it, else a new one (which is kept
  // when its weights are small). weight is in the caller's layout (weight_layout 1: TensorFlow's,
  // converted here when a plan is made); bias is null or has K values. Throws BackendError.
  std::shared_ptr<NativePlan> plan(const BackendSlot& backend, const sk_conv_geometry& geometry,
                                   int weight_layout, const float* weight, const float* bias);

  // The cached plan when these arguments match it, else null; never makes a plan.
  std::shared_ptr<NativePlan> find(const BackendSlot& backend, const sk_conv_geometry& geometry,
                                   int weight_layout, const float* weight, const float* bias) const;

  // Keeps `plan`, made from exactly these values, for the next call; ignored for large weights.
  void keep(std::shared_ptr<NativePlan> plan, const BackendSlot& backend,
            const sk_conv_geometry& geometry, int weight_layout, std::vector<float> weight,
            std::vector<float> bias);

  // Whether a plan with this geometry would be kept: its weights have at most kMaxFloats values.
  static bool keeps(const sk_conv_geometry& geometry);

 private:
  bool matches(const BackendSlot& backend, const sk_conv_geometry& geometry, int weight_layout,
               const float* weight, const float* bias) const;

  std::shared_ptr<NativePlan> plan_;
  const BackendSlot* backend_ = nullptr;
  sk_conv_geometry geometry_{};
  int weight_layout_ = 0;
  std::vector<float> weight_;
  std::vector<float> bias_;
};

// A plan from weights in the caller's layout (see weight_layout.h). Throws BackendError.
std::shared_ptr<NativePlan> make_plan(const BackendSlot& backend, const sk_conv_geometry& geometry,
                                      int weight_layout, const float* weight, const float* bias);

}  // namespace stridekit
