// The register-blocked inner kernel of every GEMM-shaped convolution: a kMR x kNR tile of C from
// one packed strip of A (kc x kMR, column of MR values per k) and one of B (kc x kNR).
#pragma once

#include <cstdint>

namespace stridekit::cpu {

constexpr int kMR = 6;   // rows of C per tile: 12 of the 16 ymm registers hold the 6x16 accumulator
constexpr int kNR = 16;  // columns of C per tile: two 8-float vectors

// C[0..mr) x [0..nr) (row stride ldc) = (accumulate ? C : 0) + A * B. Packed strips are always full
// (zero padded); mr <= kMR and nr <= kNR say how much of the tile is stored.
using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                             int mr, int nr, bool accumulate);

void microkernel_generic(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr,
                         int nr, bool accumulate);
void microkernel_avx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr,
                      int nr, bool accumulate);

// The fastest kernel this processor runs.
MicroKernel select_microkernel();

}  // namespace stridekit::cpu
