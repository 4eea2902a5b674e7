// What the processor running us can do, read once at run time so one prebuilt binary serves every
// x86-64 (and arm64) machine.
#pragma once

#include <string>

namespace stridekit::cpu {

struct CpuFeatures {
  bool avx2_fma = false;
};

const CpuFeatures& cpu_features();

// "AMD EPYC 7B13 (avx2+fma kernels)" — for backends() and `stridekit info`.
std::string cpu_description();

}  // namespace stridekit::cpu
