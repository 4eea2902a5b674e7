// Loops the compiler vectorises itself (copies, depthwise accumulation) are built twice where the
// toolchain can dispatch at load time: for the x86-64 baseline (SSE2) and for AVX2 + FMA, the
// version chosen by the processor, so one prebuilt binary still runs everywhere.
//
// GCC: SK_MULTIVERSION is target_clones (a GNU ifunc resolved at load). Clang refuses target_clones
// on function templates, and Zig's runtime (the cross toolchain of `npm run prebuild:all`) never
// initialises the CPU model an ifunc resolver reads, so on clang the x86-64 copies are made by hand
// instead: SK_MULTIVERSION inlines the template into a baseline caller and into an SK_TARGET_V3
// caller, and the code chooses between them with cpu_features() (SK_MULTIVERSION_BY_HAND).
#pragma once

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define SK_MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#define SK_MULTIVERSION_BY_HAND 0
#elif defined(__x86_64__) && defined(__clang__)
#define SK_MULTIVERSION __attribute__((always_inline)) inline
// x86-64-v3's features, as target_clones("arch=x86-64-v3") builds for.
#define SK_TARGET_V3 __attribute__((target("avx,avx2,bmi,bmi2,f16c,fma,lzcnt,movbe")))
#define SK_MULTIVERSION_BY_HAND 1
#else
#define SK_MULTIVERSION
#define SK_MULTIVERSION_BY_HAND 0
#endif
