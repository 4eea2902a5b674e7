#include "compute_units.h"

#include <cstring>

#include "stridekit/backend.h"

namespace stridekit::coreml {
namespace {
struct Named {
  const char* name;
  ComputeUnits units;
};
constexpr Named kUnits[] = {
    {"all", ComputeUnits::kAll},
    {"cpuAndGPU", ComputeUnits::kCpuAndGpu},
    {"cpuAndNeuralEngine", ComputeUnits::kCpuAndNeuralEngine},
    {"cpuOnly", ComputeUnits::kCpuOnly},
};
}  // namespace

bool parse_compute_units(const char* text, ComputeUnits* units, std::string* reason) {
  if (!text || !*text) {
    *units = ComputeUnits::kAll;
    return true;
  }
  for (const Named& n : kUnits) {
    if (std::strcmp(text, n.name) == 0) {
      *units = n.units;
      return true;
    }
  }
  *reason = std::string("STRIDEKIT_COREML_UNITS must be one of all, cpuAndGPU, cpuAndNeuralEngine, cpuOnly, got '") +
            text + "'";
  return false;
}

int32_t compute_units_device_kind(ComputeUnits units) {
  switch (units) {
    case ComputeUnits::kCpuOnly: return SK_DEVICE_KIND_CPU;
    case ComputeUnits::kCpuAndNeuralEngine: return SK_DEVICE_KIND_NPU;
    case ComputeUnits::kAll:
    case ComputeUnits::kCpuAndGpu: return SK_DEVICE_KIND_GPU;
  }
  return SK_DEVICE_KIND_UNKNOWN;
}

const char* compute_units_name(ComputeUnits units) {
  for (const Named& n : kUnits) {
    if (n.units == units) return n.name;
  }
  return "all";
}

ComputePrecision program_precision(int32_t precision, ComputeUnits units) {
  if (precision == SK_PRECISION_FP16 || units == ComputeUnits::kCpuAndNeuralEngine) return ComputePrecision::kFloat16;
  return ComputePrecision::kFloat32;
}

uint32_t honoured_precisions() { return (1u << SK_PRECISION_FP32) | (1u << SK_PRECISION_FP16); }

}  // namespace stridekit::coreml
