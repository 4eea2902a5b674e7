// The register-blocked inner kernels, one per instruction set (microkernel_generic.cc,
// microkernel_avx2.cc, microkernel_avx512.cc, microkernel_neon.cc), picked at run time: the GEMM tile
// of every GEMM-shaped convolution (and, on AVX-512, a tile of two strips), the output row of a
// depthwise one, and the stride-2 row split of the phases (phases.h).
#pragma once

#include <cstdint>

#include "stridekit/backend.h"

namespace stridekit::cpu {

constexpr int kMR = 6;   // rows of C per tile: 12 of the 16 ymm registers hold the 6x16 accumulator
constexpr int kNR = 16;  // columns of C per tile: two 8-float vectors

// What the last depth block of a tile adds in registers before its one store: the bias (bias[i] on
// row i, or bias[j] on column j; null for none) and a piecewise-linear activation (none, relu or
// relu6; the others, which need exp or tanh, are applied by the caller afterwards). NaN goes
// through relu and relu6 unchanged in every kernel, as in the scalar epilogue (epilogue.h).
struct KernelEpilogue {
  const float* bias;
  bool bias_per_row;
  int activation;
};

// Whether KernelEpilogue applies `activation` itself.
inline bool kernel_applies(int activation) {
  return activation == SK_ACTIVATION_NONE || activation == SK_ACTIVATION_RELU ||
         activation == SK_ACTIVATION_RELU6;
}

// Memory a kernel brings into the cache while it multiplies: the 64-byte lines [begin, end), the
// GEMM's next B strip (prepacked weights on their way from L3 or memory). The AVX2 and AVX-512
// tiles fetch one line every 8 depth steps (the AVX-512 pair kernel every 4), which never fills the
// miss buffers as a burst of fetches between two kernels would; the other
// kernels fetch them all as they finish.
struct Prefetch {
  const char* begin = nullptr;
  const char* end = nullptr;
};

inline void prefetch_lines(const char* line, const char* end) {
  for (; line < end; line += 64) __builtin_prefetch(line);
}

// C[0..mr) x [0..nr) (row stride ldc) = (accumulate ? C : 0) + A * B, then `last` (may be null),
// fetching `next` on the way. Packed strips are always full (zero padded); mr <= kMR and nr <= kNR
// say how much of the tile is stored, and how much of the bias is read.
using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                             int mr, int nr, bool accumulate, const KernelEpilogue* last,
                             Prefetch next);

void microkernel_generic(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr,
                         int nr, bool accumulate, const KernelEpilogue* last, Prefetch next);
void microkernel_avx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr,
                      int nr, bool accumulate, const KernelEpilogue* last, Prefetch next);
void microkernel_avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr,
                        int nr, bool accumulate, const KernelEpilogue* last, Prefetch next);
void microkernel_neon(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr,
                      int nr, bool accumulate, const KernelEpilogue* last, Prefetch next);

// The fastest kernel this processor runs.
MicroKernel select_microkernel();

// Two adjacent B strips at once: C[0..mr) x [0..nr) for nr <= 2 * kNR, the strips at b and b +
// b_stride, otherwise as MicroKernel. One depth step then loads each A value once for two strips'
// multiplies: the AVX-512 tile of 6 x 32 keeps 12 of its 32 registers accumulating and needs 8 loads
// per 12 FMAs where 6 x 16 needs 7 per 6 (gemm.h says why its depth is split).
using PairKernel = void (*)(int64_t kc, const float* a, const float* b, int64_t b_stride, float* c,
                            int64_t ldc, int mr, int nr, bool accumulate, const KernelEpilogue* last,
                            Prefetch next);

void microkernel_avx512_pair(int64_t kc, const float* a, const float* b, int64_t b_stride, float* c,
                             int64_t ldc, int mr, int nr, bool accumulate, const KernelEpilogue* last,
                             Prefetch next);
// The same result through microkernel_generic one strip at a time: the reference pair kernel.
void microkernel_pair_generic(int64_t kc, const float* a, const float* b, int64_t b_stride, float* c,
                              int64_t ldc, int mr, int nr, bool accumulate, const KernelEpilogue* last,
                              Prefetch next);

// The pair kernel this processor runs, or null where the one-strip kernel is as fast: only AVX-512
// has the registers for a wider tile (16 ymm registers hold AVX2's 6 x 16 and no more).
PairKernel select_pair_kernel();

// A tile of one to four B strips (nr <= 4 * kNR, strip t at b + t * b_stride) with A read where it
// lies instead of from a packed strip: row i's depth step k is a[rows[i] + depths[k]], for i < mr and
// k < kc; C and the rest as PairKernel. A channels_first convolution's patches are such an A: row i an
// output pixel (rows[i] its place in the input's stride phases), step k a (channel, tap) (depths[k]
// that channel's phases and that tap's offset in them), so its tiles multiply the phases without
// packing them. Each step costs one more load (depths[k]), which the 24 FMAs of a 6 x 64 tile leave
// room for.
using IndirectKernel = void (*)(int64_t kc, const float* a, const int64_t* rows, const int64_t* depths,
                                const float* b, int64_t b_stride, float* c, int64_t ldc, int mr, int nr,
                                bool accumulate, const KernelEpilogue* last, Prefetch next);

void microkernel_avx512_indirect(int64_t kc, const float* a, const int64_t* rows, const int64_t* depths,
                                 const float* b, int64_t b_stride, float* c, int64_t ldc, int mr, int nr,
                                 bool accumulate, const KernelEpilogue* last, Prefetch next);

// IndirectKernel over the depth steps an edge tile keeps (edge_tiles.h): step k reads B's step
// b_steps[k] (b + b_steps[k] * kNR in each strip), one more load per step. A kernel of its own, as
// Bf16ListedTile is.
using ListedKernel = void (*)(int64_t kc, const float* a, const int64_t* rows, const int64_t* depths,
                              const int64_t* b_steps, const float* b, int64_t b_stride, float* c, int64_t ldc, int mr,
                              int nr, bool accumulate, const KernelEpilogue* last, Prefetch next);

void microkernel_avx512_listed(int64_t kc, const float* a, const int64_t* rows, const int64_t* depths,
                               const int64_t* b_steps, const float* b, int64_t b_stride, float* c, int64_t ldc,
                               int mr, int nr, bool accumulate, const KernelEpilogue* last, Prefetch next);

// The indirect kernel this processor runs and its listed form, or null: AVX-512 only, where the pair
// kernel is.
IndirectKernel select_indirect_kernel();
ListedKernel select_listed_kernel();

// Precision 'bf16' (AVX512-BF16): the GEMM's operands rounded to bfloat16 (round to nearest even) and
// multiplied by vdpbf16ps, which sums two products per lane into float32 accumulators. Its packed
// strips hold depth in pairs, the two values a lane multiplies side by side: a strip of `width` lanes
// is [pair][lane][2] bf16, a depth step's two values of one lane in one 32-bit word; an odd depth's
// last pair has a zero second value in both operands.
using Bf16 = uint16_t;

// Float32 strips as the GEMM packs them ([k][width], `src_stride` floats apart) into bf16 pair strips
// ([(kc + 1) / 2][width][2], `dst_stride` values apart), `strips` of them; width is kMR or kNR.
using Bf16Convert = void (*)(const float* src, int64_t src_stride, int64_t strips, int64_t kc, int width,
                             Bf16* dst, int64_t dst_stride);

// C[0..mr) x [0..nr) (nr <= 2 * kNR) = (accumulate ? C : 0) + A * B over `pairs` depth pairs, then
// `last`: the A strip (kMR lanes) against one B strip (nr <= kNR) or the two at b and b + b_stride.
using Bf16Tile = void (*)(int64_t pairs, const Bf16* a, const Bf16* b, int64_t b_stride, float* c,
                          int64_t ldc, int mr, int nr, bool accumulate, const KernelEpilogue* last);

// Bf16Tile with A read where it lies (as IndirectKernel reads float32), up to four strips wide (strip t
// at b + t * b_stride): row i's depth pair q is the 32-bit word a[rows[i] + depths[q]], its two bf16
// values side by side. A channels_first convolution's input converted to such words, two channels
// interleaved (Bf16Interleave), is that A for depth pairs of (two channels, one tap).
using Bf16IndirectTile = void (*)(int64_t pairs, const uint32_t* a, const int64_t* rows, const int64_t* depths,
                                  const Bf16* b, int64_t b_stride, float* c, int64_t ldc, int mr, int nr,
                                  bool accumulate, const KernelEpilogue* last);

// Bf16IndirectTile over the depth pairs an edge tile keeps (edge_tiles.h): pair q reads B's pair
// b_steps[q] (b + b_steps[q] * 2 * kNR in each strip). A kernel of its own: one kernel for both, a
// null b_steps meaning every pair, ran ResNet l2's ordinary tiles 4% slower.
using Bf16ListedTile = void (*)(int64_t pairs, const uint32_t* a, const int64_t* rows, const int64_t* depths,
                                const int64_t* b_steps, const Bf16* b, int64_t b_stride, float* c, int64_t ldc,
                                int mr, int nr, bool accumulate, const KernelEpilogue* last);

// Packs one run of `count` (<= width) consecutive pixels of every depth step into a bf16 pair strip of
// `width` lanes (kMR or kNR), as gather_run (phases.h) and then Bf16Convert would, with no float32
// strip between: word (pair q, lane i) of dst, its values 2 (q * width + i) and the next, takes
// bf16(src[offsets[2 q] + i]) and bf16(src[offsets[2 q + 1] + i]) (zero past an odd depth), for i < count.
using Bf16Gather = void (*)(const float* src, const int64_t* offsets, int64_t depth, int64_t count, Bf16* dst,
                            int64_t width);

// Two float32 planes (the second null: zeros) into one of 32-bit words, dst[i] = bf16(first[i]) |
// bf16(second[i]) << 16, for i < count.
using Bf16Interleave = void (*)(const float* first, const float* second, int64_t count, uint32_t* dst);

void convert_bf16_avx512(const float* src, int64_t src_stride, int64_t strips, int64_t kc, int width,
                         Bf16* dst, int64_t dst_stride);
void microkernel_bf16_avx512(int64_t pairs, const Bf16* a, const Bf16* b, int64_t b_stride, float* c,
                             int64_t ldc, int mr, int nr, bool accumulate, const KernelEpilogue* last);
void microkernel_bf16_avx512_indirect(int64_t pairs, const uint32_t* a, const int64_t* rows, const int64_t* depths,
                                      const Bf16* b, int64_t b_stride, float* c, int64_t ldc, int mr, int nr,
                                      bool accumulate, const KernelEpilogue* last);
void microkernel_bf16_avx512_listed(int64_t pairs, const uint32_t* a, const int64_t* rows, const int64_t* depths,
                                    const int64_t* b_steps, const Bf16* b, int64_t b_stride, float* c, int64_t ldc,
                                    int mr, int nr, bool accumulate, const KernelEpilogue* last);
void interleave_bf16_avx512(const float* first, const float* second, int64_t count, uint32_t* dst);
void gather_bf16_avx512(const float* src, const int64_t* offsets, int64_t depth, int64_t count, Bf16* dst,
                        int64_t width);

// A GEMM tile with pixels as rows on its way into a channels_first output, transposed:
// dst[j * dst_stride + i] = src[i * src_stride + j] for i < rows, j < cols. One element at a time,
// each load and store moves one float; the AVX2 form moves 8 x 8 blocks as eight loads, 24 shuffles
// and eight stores.
using TransposeKernel = void (*)(const float* src, int64_t src_stride, int64_t rows, int64_t cols, float* dst,
                                 int64_t dst_stride);

void transpose_generic(const float* src, int64_t src_stride, int64_t rows, int64_t cols, float* dst,
                       int64_t dst_stride);
void transpose_avx2(const float* src, int64_t src_stride, int64_t rows, int64_t cols, float* dst,
                    int64_t dst_stride);

TransposeKernel select_transpose_kernel();

// The GEMM's kernels, picked once per plan.
struct GemmKernels {
  MicroKernel tile;
  PairKernel pair;  // null: every strip through `tile`
  // Float32 only (null for a bf16 plan): channels_first tiles with pixels as rows read their patches in
  // place through it (gemm.h gemm_tile_indirect); null: they pack them.
  IndirectKernel indirect = nullptr;
  ListedKernel listed = nullptr;  // set with `indirect`: its edge tiles
  TransposeKernel transpose = transpose_generic;
  // All set: the plan permits bf16 and the processor has AVX512-BF16; the GEMM then runs on these.
  Bf16Convert bf16_convert = nullptr;
  Bf16Tile bf16_tile = nullptr;
  Bf16IndirectTile bf16_indirect = nullptr;
  Bf16ListedTile bf16_listed = nullptr;
  Bf16Interleave bf16_interleave = nullptr;
  Bf16Gather bf16_gather = nullptr;
};

// The bf16 kernels when the processor runs them, else all null.
struct Bf16Kernels {
  Bf16Convert convert = nullptr;
  Bf16Tile tile = nullptr;
  Bf16IndirectTile indirect = nullptr;
  Bf16ListedTile listed = nullptr;
  Bf16Interleave interleave = nullptr;
  Bf16Gather gather = nullptr;
};
Bf16Kernels select_bf16_kernels();

// Rows of one output plane of a depthwise convolution: row r, pixel i gets dst[r * count + i] = bias
// + sum over taps of w[tap] * src[r * src_row + tap_at[tap] + i], for i < count. src is the first
// row's first pixel in bordered stride phases (phases.h), where every tap of every pixel reads valid
// memory, padding included. A plane per call, not a row: rows are short (56 pixels in MobileNetV2's
// strided layer), and what a call sets up (the weights in registers) would cost as much as the row.
using DepthwiseRowsKernel = void (*)(const float* src, int64_t src_row, const int64_t* tap_at, const float* w,
                                     int64_t taps, float bias, int64_t count, int64_t rows, float* dst);

void depthwise_rows_generic(const float* src, int64_t src_row, const int64_t* tap_at, const float* w,
                            int64_t taps, float bias, int64_t count, int64_t rows, float* dst);
void depthwise_rows_avx2(const float* src, int64_t src_row, const int64_t* tap_at, const float* w,
                         int64_t taps, float bias, int64_t count, int64_t rows, float* dst);
void depthwise_rows_avx512(const float* src, int64_t src_row, const int64_t* tap_at, const float* w,
                           int64_t taps, float bias, int64_t count, int64_t rows, float* dst);
void depthwise_rows_neon(const float* src, int64_t src_row, const int64_t* tap_at, const float* w,
                         int64_t taps, float bias, int64_t count, int64_t rows, float* dst);

DepthwiseRowsKernel select_depthwise_rows_kernel();

// One output pixel of a channels_last depthwise convolution (one channel per group): dst[k] = bias[k]
// (0 with no bias) + sum over t < taps of w[t][k] * src[t][k], for k < K. src[t] and w[t]: the input
// pixel and the K weights of the t-th tap that reads the input (the pixel's taps that read padding are
// left out). The channels are the vector lanes and every tap accumulates in registers: dst is written
// once, after all of them.
using DepthwisePixelKernel = void (*)(const float* const* src, const float* const* w, int64_t taps,
                                      const float* bias, int64_t K, float* dst);

void depthwise_pixel_generic(const float* const* src, const float* const* w, int64_t taps, const float* bias,
                             int64_t K, float* dst);
void depthwise_pixel_avx2(const float* const* src, const float* const* w, int64_t taps, const float* bias,
                          int64_t K, float* dst);
void depthwise_pixel_avx512(const float* const* src, const float* const* w, int64_t taps, const float* bias,
                            int64_t K, float* dst);
void depthwise_pixel_neon(const float* const* src, const float* const* w, int64_t taps, const float* bias,
                          int64_t K, float* dst);

DepthwisePixelKernel select_depthwise_pixel_kernel();

// Input rows split by stride-2 phase: row r of src (src_stride floats apart) gives even[r * dst_stride
// + j] = src[2 j] and odd[r * dst_stride + j] = src[2 j + 1], for j < pairs. The most common
// stride's share of splitting planes into their phases; compilers vectorise the plain loop with
// permutes that stall on Zen, where two shuffles per 16 floats run several times faster.
using DeinterleaveKernel = void (*)(const float* src, int64_t src_stride, float* even, float* odd,
                                    int64_t dst_stride, int64_t rows, int64_t pairs);

void deinterleave_generic(const float* src, int64_t src_stride, float* even, float* odd,
                          int64_t dst_stride, int64_t rows, int64_t pairs);
void deinterleave_avx2(const float* src, int64_t src_stride, float* even, float* odd,
                       int64_t dst_stride, int64_t rows, int64_t pairs);
void deinterleave_avx512(const float* src, int64_t src_stride, float* even, float* odd,
                         int64_t dst_stride, int64_t rows, int64_t pairs);
void deinterleave_neon(const float* src, int64_t src_stride, float* even, float* odd,
                       int64_t dst_stride, int64_t rows, int64_t pairs);

DeinterleaveKernel select_deinterleave_kernel();

// A patch run (phases.h gather_run): dst[k * width + i] = src[offsets[k] + i] for k < depth, i < count
// (1 to 16). The AVX-512 form copies any count with one masked load and store per depth; the portable
// one (phases.cc) needs a copy routine per count, several moves each for counts like 13 (phases.cc
// says which runs take which).
using GatherKernel = void (*)(const float* src, const int64_t* offsets, int64_t depth, int64_t count,
                              float* dst, int64_t width);

void gather_run_avx512(const float* src, const int64_t* offsets, int64_t depth, int64_t count, float* dst,
                       int64_t width);

// The AVX-512 form where the processor runs it, else null (phases.cc's own).
GatherKernel select_gather_kernel();

// Input rows into the rows of a padded plane (phases.h), borders and all: for r < rows and j < row,
// dst[r * row + j] = src[r * src_stride + j - first] where first <= j < first + width, else 0. The
// input padded at stride 1 (the indirect kernel reads it so) is such a copy of every row: this writes
// each padded row once, in whole vectors, where the portable split zeroes the plane and then copies
// the rows into it a call per row. The copy stays bound by memory (ResNet l4 gained about 1%).
using PadRowsKernel = void (*)(const float* src, int64_t src_stride, int64_t width, int64_t rows, float* dst,
                               int64_t row, int64_t first);

void pad_rows_avx512(const float* src, int64_t src_stride, int64_t width, int64_t rows, float* dst, int64_t row,
                     int64_t first);

// The AVX-512 form where the processor runs it, else null (phases.cc's own rows).
PadRowsKernel select_pad_rows_kernel();

}  // namespace stridekit::cpu
