#include "core/native_plan.h"

#include "core/request.h"

namespace stridekit {

namespace {
std::string failure(const std::string& backend, const char* what, sk_status status,
                    const sk_error& error) {
  std::string message = backend + " backend failed to " + what;
  if (status == SK_ERROR_OUT_OF_MEMORY) message += " (out of memory)";
  if (error.message[0]) message += ": " + std::string(error.message);
  return message;
}
}  // namespace

const BackendSlot& usable_backend(const std::string& name) {
  const BackendSlot* slot = BackendRegistry::instance().find(name);
  if (!slot) throw BackendError("unknown backend '" + name + "'");
  if (!slot->available) {
    throw BackendError("backend '" + name + "' is not available: " + slot->reason);
  }
  return *slot;
}

NativePlan::NativePlan(const BackendSlot& backend, const sk_conv_geometry& geometry,
                       const float* weight, const float* bias)
    : backend_(&backend), table_(backend.table), geometry_(geometry) {
  sk_error error{};
  sk_status status = table_->plan_create(&geometry_, weight, bias, &handle_, &error);
  error.message[sizeof(error.message) - 1] = '\0';
  if (status != SK_OK || !handle_) {
    handle_ = nullptr;
    throw BackendError(failure(backend_->name, "create a plan", status, error));
  }
}

NativePlan::~NativePlan() {
  if (handle_) table_->plan_destroy(handle_);
}

bool runs_inline(const BackendSlot& backend, const sk_conv_geometry& g, const sk_conv_shape& s) {
  return multiply_adds(g, s) <= backend.inline_multiply_adds;
}

void NativePlan::run(const sk_conv_shape& shape, const float* x, float* y) {
  std::lock_guard<std::mutex> lock(run_mutex_);
  run_locked(shape, x, y);
}

bool NativePlan::try_run(const sk_conv_shape& shape, const float* x, float* y) {
  std::unique_lock<std::mutex> lock(run_mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return false;
  run_locked(shape, x, y);
  return true;
}

void NativePlan::run_locked(const sk_conv_shape& shape, const float* x, float* y) {
  sk_error error{};
  sk_status status = table_->plan_run(handle_, &shape, x, y, &error);
  error.message[sizeof(error.message) - 1] = '\0';
  if (status != SK_OK) throw BackendError(failure(backend_->name, "run", status, error));
}

}  // namespace stridekit
