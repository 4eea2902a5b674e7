#include "core/native_plan.h"

#include "core/device_storage.h"

namespace stridekit {

namespace {
// The failure of one plan call: "<backend> backend failed to <what>: <the backend's message>".
[[noreturn]] void fail(const std::string& backend, const char* what, sk_status status,
                       const sk_error& error) {
  std::string message = backend + " backend failed to " + what;
  if (status == SK_ERROR_OUT_OF_MEMORY) message += " (out of memory)";
  const std::string said = backend_message(error);
  if (!said.empty()) message += ": " + said;
  throw_backend_status(status, message);
}
}  // namespace

const BackendSlot& usable_backend(std::string_view name) {
  const BackendSlot* slot = BackendRegistry::instance().find(name);
  if (!slot) throw BackendError("unknown backend '" + std::string(name) + "'");
  if (!slot->available) {
    throw BackendError("backend '" + std::string(name) + "' is not available: " + slot->reason);
  }
  return *slot;
}

NativePlan::NativePlan(const BackendSlot& backend, const sk_conv_geometry& geometry,
                       const float* weight, const float* bias)
    : table_(backend.table), backend_name_(backend.name), geometry_(geometry) {
  sk_error error{};
  sk_status status = table_->plan_create(&geometry_, weight, bias, &handle_, &error);
  if (status != SK_OK || !handle_) {
    handle_ = nullptr;
    fail(backend_name_, "create a plan", status, error);
  }
}

NativePlan::~NativePlan() {
  if (handle_) table_->plan_destroy(handle_);
}

void NativePlan::run(const sk_conv_shape& shape, const float* x, float* y) {
  std::lock_guard<std::mutex> lock(run_mutex_);
  sk_error error{};
  sk_status status = table_->plan_run(handle_, &shape, x, y, &error);
  if (status != SK_OK) fail(backend_name_, "run", status, error);
}

void NativePlan::run_device(const sk_conv_shape& shape, const DeviceStorage& x, DeviceStorage& y) {
  if (!x.buffer()) {
    run(shape, x.host(), y.host());
    return;
  }
  std::lock_guard<std::mutex> lock(run_mutex_);
  sk_error error{};
  sk_status status = table_->plan_run_device(handle_, &shape, x.buffer(), y.buffer(), &error);
  if (status != SK_OK) fail(backend_name_, "run", status, error);
}

}  // namespace stridekit
