#include "backends/cpu/cpu_features.h"

#include <cstdio>
#include <cstring>
#include <fstream>

namespace stridekit::cpu {

static CpuFeatures detect() {
  CpuFeatures f;
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  f.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return f;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

static std::string processor_name() {
#if defined(__linux__)
  std::ifstream info("/proc/cpuinfo");
  std::string line;
  while (std::getline(info, line)) {
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
#endif
#if defined(__aarch64__) || defined(_M_ARM64)
  return "arm64 processor";
#else
  return "processor";
#endif
}

std::string cpu_description() {
#if defined(__aarch64__)
  const std::string kernels = "neon";
#else
  const std::string kernels = cpu_features().avx2_fma ? "avx2+fma" : "portable";
#endif
  return processor_name() + " (" + kernels + " kernels)";
}

}  // namespace stridekit::cpu
