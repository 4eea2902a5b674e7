// The openvino backend's table: probe, plan_create, plan_run, plan_destroy. Every call is an exception
// barrier: nothing OpenVINO throws may cross the C ABI.
#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include "openvino_plan.h"
#include "openvino_runtime.h"
#include "stridekit/backend.h"
#include "stridekit/backend_guard.h"

namespace stridekit::openvino {
namespace {

constexpr char kName[] = "openvino";

void probe(sk_probe_result* result) {
  std::string device, reason;
  bool ok = false;
  try {
    ok = open_runtime(&device, &reason);
  } catch (...) {
    reason = "OpenVINO runtime failed to start: unknown exception";
  }
  result->available = ok ? 1 : 0;
  copy_text(result->reason, sizeof(result->reason), ok ? std::string() : reason);
  copy_text(result->device, sizeof(result->device), device);
  result->device_kind = ok ? device_kind_of(runtime().device) : SK_DEVICE_KIND_UNKNOWN;
  result->precisions = ok ? runtime().precisions : 1u << SK_PRECISION_FP32;
}

sk_status plan_create(const sk_conv_geometry* geometry, const float* weight, const float* bias, sk_plan** plan,
                      sk_error* error) {
  return guarded(kName, "plan creation", error, [&] {
    if (!geometry || !weight || !plan) throw std::invalid_argument("null geometry, weight or plan");
    *plan = create_plan(*geometry, weight, bias);
  }, tidy_message);
}

sk_status plan_run(sk_plan* plan, const sk_conv_shape* shape, const float* x, float* y, sk_error* error) {
  return guarded(kName, "run", error, [&] {
    if (!plan || !shape || !x || !y) throw std::invalid_argument("null plan, shape or buffer");
    run_plan(*plan, *shape, x, y);
  }, tidy_message);
}

void plan_destroy(sk_plan* plan) { delete plan; }

const sk_backend kOpenVinoBackend = {
    SK_BACKEND_ABI_VERSION, sizeof(sk_backend), "openvino", probe, plan_create, plan_run, plan_destroy,
    /* host memory: no device buffers */ nullptr, nullptr, nullptr, nullptr, nullptr,
};

}  // namespace
}  // namespace stridekit::openvino

SK_DEFINE_BACKEND_ENTRY(stridekit::openvino::kOpenVinoBackend)
