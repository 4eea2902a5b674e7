// The OpenVINO runtime as this plugin uses it: one core for the process, the device chosen at probe
// time (STRIDEKIT_OPENVINO_DEVICE, default CPU), with the properties every model is compiled with set on
// that device once.
#pragma once

#include <cstdint>
#include <string>

#include "openvino_c_api.h"
#include "stridekit/backend.h"

namespace stridekit::openvino {

struct Runtime {
  ov_core_t* core = nullptr;  // leaked on purpose: plugins are never unloaded, OpenVINO's threads may run at exit
  std::string device;         // as passed to compile_model: "CPU", "GPU.0", ...
  // sk_probe_result.precisions: fp32, and bf16 when the device computes in bfloat16 (it lists BF16
  // among its OPTIMIZATION_CAPABILITIES and takes INFERENCE_PRECISION_HINT).
  uint32_t precisions = 1u << SK_PRECISION_FP32;
};

// Loads the runtime and checks the device. On failure returns false with *reason set; never throws.
bool open_runtime(std::string* description, std::string* reason);

// The kind of processor an OpenVINO device name stands for, from its plugin name ("CPU", "GPU.1", "NPU");
// a meta-device (AUTO:..., HETERO:..., MULTI:..., BATCH:...) chooses at compile or run time: unknown.
sk_device_kind device_kind_of(const std::string& device);

// The runtime opened by a successful open_runtime(); plans are only created after one.
const Runtime& runtime();

// Sets on device the properties every model is compiled with: the LATENCY performance hint, float32
// inference precision and, when threads > 0, INFERENCE_NUM_THREADS; only those the device lists (an
// unknown key makes compiling fail). The benchmark's OpenVINO-direct peer (bench/peers/openvino-direct/)
// sets the same properties through OpenVINO's API, to measure the bridge.
void configure_device(ov_core_t* core, const std::string& device, int threads);

// The INFERENCE_PRECISION_HINT one plan's models are compiled with, overriding the device's f32
// (configure_device): "bf16" when the plan permits bf16 and the device honours it (Runtime::precisions);
// nullptr otherwise, so the device's f32 holds.
const char* compile_precision(const Runtime& runtime, int32_t precision);

// An OpenVINO exception's text without its "Exception from <file>:<line>:" lines, on one line.
std::string tidy_message(const std::string& what);

}  // namespace stridekit::openvino
