// Which Core ML compute units run a plan (STRIDEKIT_COREML_UNITS) and, with the precision the caller
// allows, whether the plan's ML Program is typed float32 or float16. Portable, so that the choice is the
// same code on every platform and the tool and tests can name it.
#pragma once

#include <cstdint>
#include <string>

#include "mil_types.h"

namespace stridekit::coreml {

// MLComputeUnits: all (default), cpuAndGPU, cpuAndNeuralEngine (macOS 13+), cpuOnly.
enum class ComputeUnits { kAll, kCpuAndGpu, kCpuAndNeuralEngine, kCpuOnly };

// text is STRIDEKIT_COREML_UNITS (null or empty: all). An unknown value is false with a reason naming the
// accepted ones.
bool parse_compute_units(const char* text, ComputeUnits* units, std::string* reason);
const char* compute_units_name(ComputeUnits units);

// The processor the units put a float32 program on, for the probe's device_kind (stridekit/backend.h):
// cpuOnly the CPU; cpuAndNeuralEngine the Neural Engine (an NPU); all and cpuAndGPU the GPU, since the
// Neural Engine runs float16 programs only and Core ML places float32 layers on the GPU where it can.
// Returned as sk_device_kind's value, so that this header needs nothing of the ABI's.
int32_t compute_units_device_kind(ComputeUnits units);

// float16 when the caller allows it (sk_precision FP16) or when the units ask for the Neural Engine alone,
// which computes in float16 only and runs no float32 program. Otherwise float32: exact single precision,
// which Core ML runs on the CPU and GPU (with `all` too: the Neural Engine takes float16 programs only).
// bf16 and tf32 are float32 programs: an ML Program has no bfloat16 type, and Core ML has no TF32 mode.
ComputePrecision program_precision(int32_t precision, ComputeUnits units);

// The precisions a plan computes in when allowed, as sk_probe_result.precisions' bits: fp32 and fp16.
uint32_t honoured_precisions();

}  // namespace stridekit::coreml
