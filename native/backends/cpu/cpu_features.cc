#include "backends/cpu/cpu_features.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif

namespace stridekit::cpu {

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
// CPUID and XGETBV are read directly rather than through __builtin_cpu_supports: Zig's runtime (the
// cross toolchain of `npm run prebuild:all`) never initialises the CPU model that builtin reads, so
// it answers 0 there and the binary would silently run the portable kernels.
static void cpuid(uint32_t leaf, uint32_t subleaf, uint32_t r[4]) {
  __cpuid_count(leaf, subleaf, r[0], r[1], r[2], r[3]);
}

// XCR0: which register states the operating system saves on a context switch. Encoded as bytes
// so that no -mxsave is needed to assemble it.
static uint64_t xgetbv0() {
  uint32_t eax, edx;
  __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}
#endif

static CpuFeatures detect() {
  CpuFeatures f;
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  uint32_t r[4];
  cpuid(0, 0, r);
  const uint32_t max_leaf = r[0];
  cpuid(1, 0, r);
  const bool osxsave = r[2] & (1u << 27), avx = r[2] & (1u << 28), fma = r[2] & (1u << 12);
  const uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  const bool ymm_saved = (xcr0 & 0x6) == 0x6;             // SSE and AVX state
  const bool zmm_saved = (xcr0 & 0xe6) == 0xe6;           // and opmask, ZMM_Hi256, Hi16_ZMM
  uint32_t ebx7 = 0, eax7_1 = 0;
  if (max_leaf >= 7) {
    cpuid(7, 0, r);
    ebx7 = r[1];
    const uint32_t subleaves = r[0];
    if (subleaves >= 1) {
      cpuid(7, 1, r);
      eax7_1 = r[0];
    }
  }
  const bool avx2 = ebx7 & (1u << 5), avx512f = ebx7 & (1u << 16), avx512bw = ebx7 & (1u << 30);
  const bool avx512bf16 = eax7_1 & (1u << 5);
  f.avx2_fma = avx && ymm_saved && avx2 && fma;
  f.avx512 = f.avx2_fma && avx512f && zmm_saved;
  f.avx512_bf16 = f.avx512 && avx512bw && avx512bf16;
#endif
#if defined(SK_AVX512_EMULATION_HEADER)
  f.avx512 = true;  // a native check built with the AVX-512 kernels on SIMDe (microkernel_avx512.cc)
#endif
  // kCpuKernelSettings: "avx2" and "portable"; anything else is left alone (the facade refuses it).
  if (const char* cap = std::getenv("STRIDEKIT_CPU_KERNELS")) {
    if (std::strcmp(cap, kCpuKernelSettings[0]) == 0) f.avx512 = f.avx512_bf16 = false;
    if (std::strcmp(cap, kCpuKernelSettings[1]) == 0) f.avx512 = f.avx512_bf16 = f.avx2_fma = false;
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
