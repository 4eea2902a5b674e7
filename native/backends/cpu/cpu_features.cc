#include "backends/cpu/cpu_features.h"

#include <cstdlib>
#include <cstring>
#include <fstream>

namespace stridekit::cpu {

static CpuFeatures detect() {
  CpuFeatures f;
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  f.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  // The compiler's runtime also checks (XGETBV) that the operating system saves the zmm registers.
  f.avx512 = f.avx2_fma && __builtin_cpu_supports("avx512f");
#endif
#if defined(SK_AVX512_EMULATION_HEADER)
  f.avx512 = true;  // a native check built with the AVX-512 kernels on SIMDe (microkernel_avx512.cc)
#endif
  // kCpuKernelSettings: "avx2" and "portable"; anything else is left alone (the facade refuses it).
  if (const char* cap = std::getenv("STRIDEKIT_CPU_KERNELS")) {
    if (std::strcmp(cap, kCpuKernelSettings[0]) == 0) f.avx512 = false;
    if (std::strcmp(cap, kCpuKernelSettings[1]) == 0) f.avx512 = f.avx2_fma = false;
  }
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
  const CpuFeatures& f = cpu_features();
  const std::string kernels = f.avx512 ? "avx512" : f.avx2_fma ? "avx2+fma" : "portable";
#endif
  return processor_name() + " (" + kernels + " kernels)";
}

}  // namespace stridekit::cpu
