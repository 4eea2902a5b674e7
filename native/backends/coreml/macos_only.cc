// The coreml plugin as built on every platform but macOS, where Core ML does not exist: a complete
// table whose probe says "macOS only". The core knows no backend by name, so this reason, like any
// backend's, comes from the backend itself. Nothing but the probe is ever called (the core runs only
// available backends); the plan entries refuse all the same.
#include <cstdio>

#include "stridekit/backend.h"

namespace {

constexpr char kReason[] = "macOS only";

void probe(sk_probe_result* result) {
  result->available = 0;
  std::snprintf(result->reason, sizeof(result->reason), "%s", kReason);
  result->device[0] = '\0';
}

sk_status refuse(sk_error* error) {
  if (error) std::snprintf(error->message, sizeof(error->message), "coreml: %s", kReason);
  return SK_ERROR_UNSUPPORTED;
}

sk_status plan_create(const sk_conv_geometry*, const float*, const float*, sk_plan** plan, sk_error* error) {
  if (plan) *plan = nullptr;
  return refuse(error);
}

sk_status plan_run(sk_plan*, const sk_conv_shape*, const float*, float*, sk_error* error) { return refuse(error); }

void plan_destroy(sk_plan*) {}

const sk_backend kMacOsOnly = {
    SK_BACKEND_ABI_VERSION, sizeof(sk_backend), "coreml", probe, plan_create, plan_run, plan_destroy,
    /* no device buffers */ nullptr, nullptr, nullptr, nullptr, nullptr,
};

}  // namespace

SK_DEFINE_BACKEND_ENTRY(kMacOsOnly)
