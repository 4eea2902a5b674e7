// A backend plan as the core holds it: shared between its JavaScript wrapper and any run in flight,
// so dispose() while a run is executing frees the plan only after that run finishes.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "core/backend_registry.h"
#include "core/js_error.h"
#include "stridekit/backend.h"

namespace stridekit {

class DeviceStorage;

class NativePlan {
 public:
  // weight in the ABI's channels-first layout; bias null or K values. Throws BackendError.
  NativePlan(const BackendSlot& backend, const sk_conv_geometry& geometry, const float* weight,
             const float* bias);
  ~NativePlan();
  NativePlan(const NativePlan&) = delete;
  NativePlan& operator=(const NativePlan&) = delete;

  // Serialised per plan. Throws BackendError (OutOfMemoryError when the backend had no room).
  void run(const sk_conv_shape& shape, const float* x, float* y);

  // The same on device-resident tensors of this plan's backend (the caller has checked that and
  // their sizes): plan_run_device on device buffers, plan_run on host storage. Throws BackendError.
  void run_device(const sk_conv_shape& shape, const DeviceStorage& x, DeviceStorage& y);

  const sk_conv_geometry& geometry() const { return geometry_; }
  const std::string& backend_name() const { return backend_name_; }
  const sk_backend* table() const { return table_; }

 private:
  const sk_backend* table_;
  std::string backend_name_;
  sk_conv_geometry geometry_;
  sk_plan* handle_ = nullptr;
  std::mutex run_mutex_;
};

// The registry's slot for `name`, or a BackendError saying why it cannot be used.
const BackendSlot& usable_backend(std::string_view name);

}  // namespace stridekit
