// Loops the compiler vectorises itself (copies, depthwise accumulation) are built twice where the
// toolchain can dispatch at load time: for the x86-64 baseline (SSE2) and for AVX2 + FMA, the
// version chosen by the processor (GNU ifunc), so one prebuilt binary still runs everywhere.
#pragma once

#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(__APPLE__)
#define SK_MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SK_MULTIVERSION
#endif
