// What the processor running us can do, read once at run time so one prebuilt binary serves every
// x86-64 (and arm64) machine.
#pragma once

#include <string>

namespace stridekit::cpu {

struct CpuFeatures {
  bool avx2_fma = false;
  bool avx512 = false;  // AVX-512F, with the operating system saving zmm state
  // AVX512-BF16 (vdpbf16ps, vcvtne2ps2bf16) with AVX512BW: the kernels of precision 'bf16' (Cooper
  // Lake and Sapphire Rapids Xeons, Zen 4 and later). Without it that permission runs fp32.
  bool avx512_bf16 = false;
};

// The features detected, less those STRIDEKIT_CPU_KERNELS turns off: "avx2" keeps the kernels at
// AVX2 on an AVX-512 processor (older Xeons lower their clock for AVX-512), "portable" keeps them at
// the x86-64 baseline. Unset or empty: the best the processor runs. Those are the only values: the
// facade (lib/settings.ts CPU_KERNELS, which must list exactly kCpuKernelSettings) refuses any other
// with an Error before the core loads; the core itself, reached anyway, treats one as unset.
// On arm64 both values are accepted and change nothing (the kernels are NEON).
inline constexpr const char* kCpuKernelSettings[] = {"avx2", "portable"};

const CpuFeatures& cpu_features();

// "AMD EPYC 7B13 (avx2+fma kernels)" — for backends() and `stridekit info`.
std::string cpu_description();

}  // namespace stridekit::cpu
