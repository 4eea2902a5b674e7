// The coreml backend's table: probe, plan_create, plan_run, plan_destroy (host memory: Core ML takes the
// caller's buffers as MLMultiArrays, so no device-buffer entry points). Every call is an exception
// barrier: nothing Core ML or the model builder throws may cross the C ABI. plan_run is synchronous: the
// core calls it from its worker threads for conv() and run(), and on the JavaScript thread for convSync()
// and runSync(), where the first run of a shape also waits for Core ML's compile (bounded: see compile()
// in coreml_runtime.mm).
#include <cstdio>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>

#include "coreml_plan.h"
#include "coreml_runtime.h"
#include "stridekit/backend.h"
#include "stridekit/backend_guard.h"

namespace stridekit::coreml {
namespace {

constexpr char kName[] = "coreml";

void probe(sk_probe_result* result) {
  std::string device, reason;
  bool ok = false;
  try {
    ok = open_runtime(&device, &reason);
  } catch (...) {
    reason = "Core ML failed to start: unknown exception";
  }
  result->available = ok ? 1 : 0;
  copy_text(result->reason, sizeof(result->reason), ok ? std::string() : reason);
  copy_text(result->device, sizeof(result->device), device);
  result->device_kind = ok ? compute_units_device_kind(runtime_units()) : SK_DEVICE_KIND_UNKNOWN;
  result->precisions = honoured_precisions();
}

sk_status plan_create(const sk_conv_geometry* geometry, const float* weight, const float* bias, sk_plan** plan,
                      sk_error* error) {
  return guarded(kName, "plan creation", error, [&] {
    if (!geometry || !weight || !plan) throw std::invalid_argument("null geometry, weight or plan");
    *plan = create_plan(*geometry, weight, bias);
  });
}

sk_status plan_run(sk_plan* plan, const sk_conv_shape* shape, const float* x, float* y, sk_error* error) {
  return guarded(kName, "run", error, [&] {
    if (!plan || !shape || !x || !y) throw std::invalid_argument("null plan, shape or buffer");
    run_plan(*plan, *shape, x, y);
  });
}

void plan_destroy(sk_plan* plan) { delete plan; }

const sk_backend kCoreMlBackend = {
    SK_BACKEND_ABI_VERSION, sizeof(sk_backend), "coreml", probe, plan_create, plan_run, plan_destroy,
    /* host memory: no device buffers */ nullptr, nullptr, nullptr, nullptr, nullptr,
};

}  // namespace
}  // namespace stridekit::coreml

SK_DEFINE_BACKEND_ENTRY(stridekit::coreml::kCoreMlBackend)
