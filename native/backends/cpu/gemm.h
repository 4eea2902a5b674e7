// The packed GEMM every GEMM-shaped convolution runs through: C (M x N) = A (M x depth) * B (depth x N).
// A and B come from "sources" that hand out packed strips: weights are packed once per plan and only
// looked up; activations are packed straight from the input tensor (implicit im2col) block by block,
// so the whole patch matrix is never materialised.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "backends/cpu/edge_tiles.h"
#include "backends/cpu/epilogue.h"
#include "backends/cpu/microkernel.h"
#include "backends/cpu/scratch.h"

namespace stridekit::cpu {

constexpr int64_t kKC = 384;        // depth per block: a B strip (kKC x kNR) stays in L1
constexpr int64_t kMCMax = 144;     // rows per block: an A block (kMCMax x kKC) stays in L2
constexpr int64_t kNCMax = 192;     // columns per block of the transposed path's column buffer

// Packed strips: strip s starts at data + s * strip_stride and holds [depth][width] floats.
struct Panel {
  const float* data;
  int64_t strip_stride;
};

inline int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// Where an operand packed ahead of the GEMM (weights, once per plan; a small output's patches, once
// per image) keeps element (index, depth k): strips of `width` indices, cut into depth blocks of kKC,
// laid out block after block and, within a block, strip after strip: [block][strip][k][lane]. A depth
// block of the GEMM then reads its strips one after another from consecutive memory, which the
// hardware prefetcher follows: ResNet l4's 9.4 MB of weights stream in order, not in 24 KB pieces
// 295 KB apart.
struct PackedLayout {
  int64_t indices;  // count rounded up to whole strips
  int64_t depth;
  int width;

  PackedLayout(int64_t count, int64_t depth_, int width_)
      : indices(round_up(count, width_)), depth(depth_), width(width_) {}
  int64_t floats() const { return indices * depth; }
  // The strip holding `index` in the depth block starting at k0 (a multiple of kKC).
  int64_t strip(int64_t index, int64_t k0) const {
    return k0 * indices + index / width * std::min(kKC, depth - k0) * width;
  }
  int64_t at(int64_t index, int64_t k) const {
    const int64_t k0 = k - k % kKC;
    return strip(index, k0) + (k - k0) * width + index % width;
  }
};

// Packs a matrix given by get(index, o, i), depth o * inner + i (o < outer, i < inner), into dst
// (PackedLayout(count, outer * inner, width).floats() floats), zero padding the last strip. The
// two-level depth lets a (channel, tap) depth be walked without a division per value.
template <class Get>
void pack_strips(int64_t count, int64_t outer, int64_t inner, int width, float* dst, Get get) {
  const PackedLayout layout(count, outer * inner, width);
  for (int64_t k0 = 0; k0 < layout.depth; k0 += kKC) {
    const int64_t kc = std::min(kKC, layout.depth - k0);
    for (int64_t first = 0; first < count; first += width) {
      const int lanes = static_cast<int>(std::min<int64_t>(width, count - first));
      float* d = dst + layout.strip(first, k0);
      for (int64_t k = k0, o = k0 / inner, i = k0 % inner; k < k0 + kc; ++k, d += width) {
        for (int t = 0; t < lanes; ++t) d[t] = get(first + t, o, i);
        for (int t = lanes; t < width; ++t) d[t] = 0.f;
        if (++i == inner) i = 0, ++o;
      }
    }
  }
}

// Where the bf16 pair strips of an operand packed ahead in `layout` keep their values (in Bf16 units):
// the same blocks and strips, each depth block rounded up to whole pairs.
inline PackedLayout bf16_layout(const PackedLayout& layout) {
  return PackedLayout(layout.indices, round_up(layout.depth, 2), layout.width);
}

// A source over an operand packed ahead (PackedLayout); with precision bf16 its pair strips too
// (bf16_layout), converted once from base (convert_packed), or null to convert panel by panel.
struct PrepackedSource {
  const float* base;
  PackedLayout layout;
  const Bf16* bf16 = nullptr;
  Panel panel(int64_t start, int64_t /*count*/, int64_t k0, int64_t kc, float* /*scratch*/) const {
    return {base + layout.strip(start, k0), kc * layout.width};
  }
};

// An operand packed ahead in `from` into its bf16 pair strips (bf16_layout(from).floats() values).
inline void convert_packed(const GemmKernels& kernels, const float* src, const PackedLayout& from, Bf16* dst) {
  const PackedLayout to = bf16_layout(from);
  for (int64_t k0 = 0; k0 < from.depth; k0 += kKC) {
    const int64_t kc = std::min(kKC, from.depth - k0);
    kernels.bf16_convert(src + from.strip(0, k0), kc * from.width, from.indices / from.width, kc, from.width,
                         dst + to.strip(0, k0), round_up(kc, 2) * from.width);
  }
}

// A source over a plain strided matrix in memory: element (index, k) at base[index * index_stride +
// k * k_stride]; indices >= limit read as zero.
struct StridedMatrixSource {
  const float* base;
  int64_t index_stride, k_stride, limit;
  int width;
  Panel panel(int64_t start, int64_t count, int64_t k0, int64_t kc, float* scratch) const {
    for (int64_t s = 0; s * width < count; ++s) {
      float* dst = scratch + s * kc * width;
      for (int t = 0; t < width; ++t) {
        const int64_t index = start + s * width + t;
        if (index >= limit || index >= start + count) {
          for (int64_t k = 0; k < kc; ++k) dst[k * width + t] = 0.f;
          continue;
        }
        const float* src = base + index * index_stride + k0 * k_stride;
        for (int64_t k = 0; k < kc; ++k) dst[k * width + t] = src[k * k_stride];
      }
    }
    return {scratch, kc * width};
  }
};

// Bias and activation for one GEMM tile; bias already points at the tile's first row or column. The
// micro-kernel adds the bias and applies relu / relu6 as it stores the last depth block; other
// activations follow strip by strip, while the strip is still in L1.
// With transposed_out set, each finished strip is also copied out transposed, while still in L1:
// row i, column j of the tile lands at transposed_out[j * transposed_ld + i], or, with pixel_of set
// (rows in an order of their own: edge_tiles.h), at transposed_out[j * transposed_ld + pixel_of[i]],
// rows whose pixel_of is -1 not at all.
struct TileEpilogue {
  const float* bias = nullptr;
  bool bias_per_row = true;
  int activation = SK_ACTIVATION_NONE;
  float* transposed_out = nullptr;
  int64_t transposed_ld = 0;
  const int64_t* pixel_of = nullptr;
};

// Scratch floats a source may need to pack `count` indices of one depth block.
inline int64_t pack_scratch_floats(int64_t count, int width) { return round_up(count, width) * kKC; }

// Columns [j, j + nr) of rows [i0, i0 + mb) finished (c_block is row i0): the activation when the
// kernel did not apply it, then the transposed copy, while the strip is still in L1.
inline void finish_columns(const GemmKernels& kernels, const TileEpilogue& epilogue, bool in_kernel_activation,
                           float* c_block, int64_t ldc, int64_t i0, int64_t mb, int64_t j, int nr) {
  // In runs of rows whose pixels follow one another: all mb rows at once in their own order; reordered,
  // a run per segment of consecutive pixels, the empty rows (pixel -1) skipped.
  for (int64_t r = 0, run; r < mb; r += run) {
    const int64_t pixel = epilogue.pixel_of ? epilogue.pixel_of[i0 + r] : i0 + r;
    run = epilogue.pixel_of ? 1 : mb;
    if (pixel < 0) continue;
    while (r + run < mb && epilogue.pixel_of[i0 + r + run] == pixel + run) ++run;
    float* rows = c_block + r * ldc + j;
    if (!in_kernel_activation) apply_epilogue(rows, ldc, run, nr, nullptr, true, epilogue.activation);
    if (epilogue.transposed_out) {
      kernels.transpose(rows, ldc, run, nr, epilogue.transposed_out + j * epilogue.transposed_ld + pixel,
                        epilogue.transposed_ld);
    }
  }
}

// The bias and relu / relu6 the kernel applies as it stores columns [j, ...) of a finished tile.
inline KernelEpilogue in_kernel_epilogue(const TileEpilogue& epilogue, bool in_kernel_activation, int64_t j) {
  KernelEpilogue in_kernel{epilogue.bias, epilogue.bias_per_row,
                           in_kernel_activation ? epilogue.activation : SK_ACTIVATION_NONE};
  if (in_kernel.bias && !epilogue.bias_per_row) in_kernel.bias += j;
  return in_kernel;
}

// Whether a source packs bf16 pair strips itself: pack_bf16(kernels, start, count, k0, kc, dst, strip_stride).
template <class Source, class = void>
constexpr bool kPacksBf16 = false;
template <class Source>
constexpr bool kPacksBf16<Source, std::void_t<decltype(&Source::pack_bf16)>> = true;

// Strips [start, start + count) of a source at depths [k0, k0 + kc) as bf16 pair strips,
// round_up(kc, 2) * width values apart, in `converted`: packed so by the source where it can, else
// packed in float32 and converted...
template <class Source>
const Bf16* bf16_panel(const GemmKernels& kernels, const Source& source, int64_t start, int64_t count,
                       int64_t k0, int64_t kc, int width, float* scratch, Bf16* converted) {
  if constexpr (kPacksBf16<Source>) {
    source.pack_bf16(kernels, start, count, k0, kc, converted, round_up(kc, 2) * width);
    return converted;
  }
  const Panel panel = source.panel(start, count, k0, kc, scratch);
  kernels.bf16_convert(panel.data, panel.strip_stride, (count + width - 1) / width, kc, width, converted,
                       round_up(kc, 2) * width);
  return converted;
}

// ... or, from weights converted ahead, where they already are.
inline const Bf16* bf16_panel(const GemmKernels& kernels, const PrepackedSource& source, int64_t start,
                              int64_t count, int64_t k0, int64_t kc, int width, float* scratch,
                              Bf16* converted) {
  if (source.bf16) return source.bf16 + bf16_layout(source.layout).strip(start, k0);
  return bf16_panel<PrepackedSource>(kernels, source, start, count, k0, kc, width, scratch, converted);
}

// gemm_tile with precision 'bf16' (GemmKernels::bf16_tile): the same blocks and panels, each panel
// converted to bf16 pair strips as it is packed (B once per depth block, A once per block of rows), so
// that the sources and their packing are those of float32; weights converted ahead are used as they are.
// A depth block of kKC steps is 192 pairs: two B strips of it take 24 KiB, as one float32 strip does,
// and one kernel call covers the whole block.
template <class ASource, class BSource>
void gemm_tile_bf16(const GemmKernels& kernels, int64_t mc, int64_t nc, int64_t depth, const ASource& a,
                    int64_t row0, const BSource& b, int64_t col0, float* c, int64_t ldc,
                    const TileEpilogue& epilogue, float* a_scratch, float* b_scratch) {
  const bool in_kernel_activation = kernel_applies(epilogue.activation);
  const int64_t b_strips = (nc + kNR - 1) / kNR, max_pairs = (std::min(kKC, depth) + 1) / 2;
  Bf16* b_bf16 =
      reinterpret_cast<Bf16*>(thread_scratch(kScratchBf16B, static_cast<size_t>(b_strips * max_pairs * kNR)));
  Bf16* a_bf16 = reinterpret_cast<Bf16*>(
      thread_scratch(kScratchBf16A, static_cast<size_t>((kMCMax + kMR - 1) / kMR * max_pairs * kMR)));
  for (int64_t k0 = 0; k0 < depth; k0 += kKC) {
    const int64_t kc = std::min(kKC, depth - k0), pairs = (kc + 1) / 2;
    const bool first = k0 == 0, last = k0 + kc >= depth;
    const int64_t a_stride = pairs * 2 * kMR, b_stride = pairs * 2 * kNR;
    const Bf16* pb = bf16_panel(kernels, b, col0, nc, k0, kc, kNR, b_scratch, b_bf16);
    for (int64_t i0 = 0; i0 < mc; i0 += kMCMax) {
      const int64_t mb = std::min(kMCMax, mc - i0);
      const Bf16* pa = bf16_panel(kernels, a, row0 + i0, mb, k0, kc, kMR, a_scratch, a_bf16);
      float* c_block = c + i0 * ldc;
      for (int64_t j = 0; j < nc; j += 2 * kNR) {
        const int nr = static_cast<int>(std::min<int64_t>(2 * kNR, nc - j));
        KernelEpilogue in_kernel = in_kernel_epilogue(epilogue, in_kernel_activation, j);
        for (int64_t i = 0; i < mb; i += kMR) {
          const int mr = static_cast<int>(std::min<int64_t>(kMR, mb - i));
          if (in_kernel.bias && epilogue.bias_per_row) in_kernel.bias = epilogue.bias + i0 + i;
          kernels.bf16_tile(pairs, pa + (i / kMR) * a_stride, pb + (j / kNR) * b_stride, b_stride,
                            c_block + i * ldc + j, ldc, mr, nr, !first, last ? &in_kernel : nullptr);
        }
        if (last) finish_columns(kernels, epilogue, in_kernel_activation, c_block, ldc, i0, mb, j, nr);
      }
    }
  }
}

// Depth steps per call of a pair kernel: two B strips of 192 steps are 24 KiB, as one strip of kKC
// is, so they stay in L1 beside the A strip streaming past (a pair of kKC steps would not: in one
// kernel-only test the 6 x 32 tile ran no faster than 6 x 16 at that depth). A depth block of kKC
// then takes two calls per row strip, the second accumulating: the tile's 192 values of C are
// loaded and stored once more per 73,728 multiply-adds.
constexpr int64_t kPairDepth = 192;

// The next strips of B, fetched while the `strips` at column j (nr columns) are multiplied: prepacked
// weight strips come from L3 or memory, kc lines of 64 bytes each, shared out among the kernel calls
// of these strips (`calls` of them), which spread their share over their depth steps (Prefetch).
class NextStrips {
 public:
  NextStrips(const Panel& pb, int64_t j, int64_t nr, int64_t nc, int64_t strips, int64_t calls) {
    const int64_t next_strips = std::min(strips, (nc - j - nr + kNR - 1) / kNR);
    next_ = next_strips ? reinterpret_cast<const char*>(pb.data + (j / kNR + strips) * pb.strip_stride) : nullptr;
    lines_ = next_strips * pb.strip_stride * static_cast<int64_t>(sizeof(float)) / 64;
    per_call_ = (lines_ + calls - 1) / calls;
  }
  // The share of the next kernel call.
  Prefetch take() {
    const int64_t end = std::min(lines_, line_ + per_call_);
    const Prefetch fetch = line_ < end ? Prefetch{next_ + line_ * 64, next_ + end * 64} : Prefetch{};
    line_ = end;
    return fetch;
  }

 private:
  const char* next_;
  int64_t lines_, per_call_, line_ = 0;
};

// C[0..mc) x [0..nc) = A * B over the full depth, then the epilogue. Per depth block, B is packed
// once for all nc columns and A once per kMCMax rows; each B strip (or pair of strips, with a pair
// kernel) then stays in L1 while the A block, kept in L2, streams past it. a_scratch / b_scratch hold
// pack_scratch_floats(kMCMax, kMR) / pack_scratch_floats(nc, kNR) floats when that source packs at
// run time.
template <class ASource, class BSource>
void gemm_tile(const GemmKernels& kernels, int64_t mc, int64_t nc, int64_t depth, const ASource& a,
               int64_t row0, const BSource& b, int64_t col0, float* c, int64_t ldc,
               const TileEpilogue& epilogue, float* a_scratch, float* b_scratch) {
  if (kernels.bf16_tile) {
    return gemm_tile_bf16(kernels, mc, nc, depth, a, row0, b, col0, c, ldc, epilogue, a_scratch, b_scratch);
  }
  const bool in_kernel_activation = kernel_applies(epilogue.activation);
  for (int64_t k0 = 0; k0 < depth; k0 += kKC) {
    const int64_t kc = std::min(kKC, depth - k0);
    const bool first = k0 == 0;
    const bool last = k0 + kc >= depth;
    const Panel pb = b.panel(col0, nc, k0, kc, b_scratch);
    for (int64_t i0 = 0; i0 < mc; i0 += kMCMax) {
      const int64_t mb = std::min(kMCMax, mc - i0);
      const Panel pa = a.panel(row0 + i0, mb, k0, kc, a_scratch);
      float* c_block = c + i0 * ldc;
      for (int64_t j = 0; j < nc;) {
        // Two strips at a time where there are two left and a pair kernel to take them.
        const int64_t strips = kernels.pair && nc - j > kNR ? 2 : 1;
        const int nr = static_cast<int>(std::min<int64_t>(strips * kNR, nc - j));
        const float* b_strip = pb.data + (j / kNR) * pb.strip_stride;
        // The last depth block stores the finished tile: bias and relu / relu6 go in with it.
        KernelEpilogue in_kernel = in_kernel_epilogue(epilogue, in_kernel_activation, j);
        const int64_t step = strips == 2 ? kPairDepth : kc;
        NextStrips next(pb, j, nr, nc, strips, (mb + kMR - 1) / kMR * ((kc + step - 1) / step));
        for (int64_t d = 0; d < kc; d += step) {
          const int64_t dc = std::min(step, kc - d);
          const KernelEpilogue* finish = last && d + dc >= kc ? &in_kernel : nullptr;
          for (int64_t i = 0; i < mb; i += kMR) {
            const int mr = static_cast<int>(std::min<int64_t>(kMR, mb - i));
            if (in_kernel.bias && epilogue.bias_per_row) in_kernel.bias = epilogue.bias + i0 + i;
            const Prefetch fetch = next.take();
            const float* a_strip = pa.data + (i / kMR) * pa.strip_stride + d * kMR;
            float* c_tile = c_block + i * ldc + j;
            if (strips == 2) {
              kernels.pair(dc, a_strip, b_strip + d * kNR, pb.strip_stride, c_tile, ldc, mr, nr,
                           !first || d > 0, finish, fetch);
            } else {
              kernels.tile(dc, a_strip, b_strip, c_tile, ldc, mr, nr, !first, finish, fetch);
            }
          }
        }
        if (last) finish_columns(kernels, epilogue, in_kernel_activation, c_block, ldc, i0, mb, j, nr);
        j += strips * kNR;
      }
    }
  }
}

// A read in place by the indirect kernel (GemmKernels::indirect): element (index, k) at
// base[rows[index] + depths[k]]. With `edges`, the rows are edges->row_at(), and a tile of edge
// pixels multiplies only the depth steps it keeps, through GemmKernels::listed.
struct IndirectSource {
  const float* base;
  const int64_t* rows;    // per index
  const int64_t* depths;  // per depth step
  const EdgeTiles* edges = nullptr;
};

// The pixels of the indirect tile at GEMM row `row` (a multiple of kMR, `left` rows from the end), and
// the depth steps it multiplies of depth block `block` (`all` of them, unless an edge tile skips some).
inline int indirect_rows(const EdgeTiles* edges, int64_t row, int64_t left) {
  const int rows = static_cast<int>(std::min<int64_t>(kMR, left));
  return edges ? std::min(rows, edges->pixels_in(row)) : rows;
}
inline DepthSteps indirect_steps(const EdgeTiles* edges, int64_t row, int64_t block, DepthSteps all) {
  return edges ? edges->steps(row, block, all) : all;
}

// Columns per call of the indirect kernel: four B strips, a 6 x 64 tile whose 24 accumulators take
// each A value, loaded from where it lies, into four FMAs. A is the costly operand here (its lines
// come from the L2 or further, one or two per depth step), so reading it half as often as a pair of
// strips would outweighs streaming four strips of B from the L2 instead of keeping two in L1.
constexpr int64_t kIndirectStrips = 4;

// gemm_tile with A read in place: B packed once per depth block (or prepacked), as gemm_tile packs it,
// and no A to pack. All mc rows stream past each kIndirectStrips strips of B over a whole depth block.
template <class BSource>
void gemm_tile_indirect(const GemmKernels& kernels, int64_t mc, int64_t nc, int64_t depth,
                        const IndirectSource& a, int64_t row0, const BSource& b, int64_t col0, float* c,
                        int64_t ldc, const TileEpilogue& epilogue, float* b_scratch) {
  const bool in_kernel_activation = kernel_applies(epilogue.activation);
  for (int64_t k0 = 0; k0 < depth; k0 += kKC) {
    const int64_t kc = std::min(kKC, depth - k0);
    const bool first = k0 == 0, last = k0 + kc >= depth;
    const Panel pb = b.panel(col0, nc, k0, kc, b_scratch);
    for (int64_t j = 0; j < nc; j += kIndirectStrips * kNR) {
      const int nr = static_cast<int>(std::min<int64_t>(kIndirectStrips * kNR, nc - j));
      const float* b_strip = pb.data + (j / kNR) * pb.strip_stride;
      KernelEpilogue in_kernel = in_kernel_epilogue(epilogue, in_kernel_activation, j);
      NextStrips next(pb, j, nr, nc, kIndirectStrips, (mc + kMR - 1) / kMR);
      for (int64_t i = 0; i < mc; i += kMR) {
        const int mr = indirect_rows(a.edges, row0 + i, mc - i);
        const DepthSteps steps = indirect_steps(a.edges, row0 + i, k0 / kKC, {kc, a.depths + k0, nullptr});
        if (in_kernel.bias && epilogue.bias_per_row) in_kernel.bias = epilogue.bias + i;
        if (steps.b_steps) {
          kernels.listed(steps.count, a.base, a.rows + row0 + i, steps.depths, steps.b_steps, b_strip,
                         pb.strip_stride, c + i * ldc + j, ldc, mr, nr, !first, last ? &in_kernel : nullptr,
                         next.take());
        } else {
          kernels.indirect(steps.count, a.base, a.rows + row0 + i, steps.depths, b_strip, pb.strip_stride,
                           c + i * ldc + j, ldc, mr, nr, !first, last ? &in_kernel : nullptr, next.take());
        }
      }
      if (last) finish_columns(kernels, epilogue, in_kernel_activation, c, ldc, 0, mc, j, nr);
    }
  }
}

// The bf16 form of an IndirectSource (GemmKernels::bf16_indirect): depth pair q of index i is the
// 32-bit word base[rows[i] + depths[q]].
struct IndirectPairSource {
  const uint32_t* base;
  const int64_t* rows;    // per index
  const int64_t* depths;  // per depth pair
  const EdgeTiles* edges = nullptr;  // as IndirectSource's, over depth pairs
};

// gemm_tile_indirect with precision bf16: B is bf16 pair strips prepacked in `layout` (in bf16 values:
// two per depth pair) from `b`, and each depth block of kKC values, 192 pairs, takes one kernel call
// per tile of kIndirectStrips strips.
inline void gemm_tile_indirect_bf16(const GemmKernels& kernels, int64_t mc, int64_t nc, const IndirectPairSource& a,
                                    int64_t row0, const Bf16* b, const PackedLayout& layout, int64_t col0, float* c,
                                    int64_t ldc, const TileEpilogue& epilogue) {
  const bool in_kernel_activation = kernel_applies(epilogue.activation);
  for (int64_t k0 = 0; k0 < layout.depth; k0 += kKC) {
    const int64_t kc = std::min(kKC, layout.depth - k0);
    const bool first = k0 == 0, last = k0 + kc >= layout.depth;
    const Bf16* pb = b + layout.strip(col0, k0);
    const int64_t b_stride = kc * kNR;
    for (int64_t j = 0; j < nc; j += kIndirectStrips * kNR) {
      const int nr = static_cast<int>(std::min<int64_t>(kIndirectStrips * kNR, nc - j));
      KernelEpilogue in_kernel = in_kernel_epilogue(epilogue, in_kernel_activation, j);
      for (int64_t i = 0; i < mc; i += kMR) {
        const int mr = indirect_rows(a.edges, row0 + i, mc - i);
        const DepthSteps steps =
            indirect_steps(a.edges, row0 + i, k0 / kKC, {kc / 2, a.depths + k0 / 2, nullptr});
        if (in_kernel.bias && epilogue.bias_per_row) in_kernel.bias = epilogue.bias + i;
        if (steps.b_steps) {
          kernels.bf16_listed(steps.count, a.base, a.rows + row0 + i, steps.depths, steps.b_steps,
                              pb + (j / kNR) * b_stride, b_stride, c + i * ldc + j, ldc, mr, nr, !first,
                              last ? &in_kernel : nullptr);
        } else {
          kernels.bf16_indirect(steps.count, a.base, a.rows + row0 + i, steps.depths, pb + (j / kNR) * b_stride,
                                b_stride, c + i * ldc + j, ldc, mr, nr, !first, last ? &in_kernel : nullptr);
        }
      }
      if (last) finish_columns(kernels, epilogue, in_kernel_activation, c, ldc, 0, mc, j, nr);
    }
  }
}

// How a GEMM of M x N, repeated `outer` times (batch x groups), is cut into tiles for the threads.
// The operand packed at run time (the patches) is tiled at most kRuntimeTile indices wide, which
// bounds its scratch. When that leaves too few tiles for the threads, the larger side is split:
// splitting rows makes every tile read the columns' operand again, and the other way round, so the
// smaller operand is the one read twice. The tile count is made a multiple of the thread count and
// whole micro-tiles (kMR rows, kNR columns) are dealt out evenly, so no thread idles while another
// finishes: 49 strips of 16 pixels in 4 tiles are 13, 12, 12 and 12 strips, not 13, 13, 13 and 10.
struct Blocking {
  int64_t M, N, m_tiles, n_tiles;
  // m_tiles + 1 row boundaries where rows are dealt by their work rather than evenly (edge tiles,
  // whose rows skip some depth steps: EdgeTiles::row_cuts), else null.
  const int64_t* row_cuts = nullptr;
};

constexpr int64_t kRuntimeTile = 256;

// One tile of a blocked GEMM repeated over images and groups: work item `item` of
// parallel_for(outer * m_tiles * n_tiles), with rows [row0, row0 + mc) and columns [col0, col0 + nc).
struct Tile {
  int64_t image, group, row0, col0, mc, nc;
};

// Tile `t` of `tiles` along a side of `size` indices cut in units of `unit`: [begin, end).
inline void tile_range(int64_t size, int64_t unit, int64_t tiles, int64_t t, int64_t* begin,
                       int64_t* end) {
  const int64_t units = (size + unit - 1) / unit;
  *begin = unit * (t * units / tiles);
  *end = std::min(size, unit * ((t + 1) * units / tiles));
}

inline Tile tile_at(const Blocking& b, int64_t item, int64_t groups) {
  const int64_t outer = item / (b.m_tiles * b.n_tiles);
  int64_t row0, row1, col0, col1;
  const int64_t m_tile = (item / b.n_tiles) % b.m_tiles;
  if (b.row_cuts) {
    row0 = b.row_cuts[m_tile], row1 = b.row_cuts[m_tile + 1];
  } else {
    tile_range(b.M, kMR, b.m_tiles, m_tile, &row0, &row1);
  }
  tile_range(b.N, kNR, b.n_tiles, item % b.n_tiles, &col0, &col1);
  return {outer / groups, outer % groups, row0, col0, row1 - row0, col1 - col0};
}

inline Blocking choose_blocking(int64_t M, int64_t N, int64_t outer, int threads,
                                bool rows_packed_at_run_time) {
  const auto ceil_div = [](int64_t a, int64_t b) { return (a + b - 1) / b; };
  int64_t m_tiles = rows_packed_at_run_time ? ceil_div(M, kRuntimeTile) : 1;
  int64_t n_tiles = rows_packed_at_run_time ? 1 : ceil_div(N, kRuntimeTile);
  const bool split_rows = M >= N;
  // Never more tiles than micro-tiles along a side, and at least two micro-tiles per tile where
  // splitting is needed at all.
  const int64_t max_m_tiles = std::max(m_tiles, M / (2 * kMR));
  const int64_t max_n_tiles = std::max(n_tiles, N / (2 * kNR));
  auto tiles = [&] { return outer * m_tiles * n_tiles; };
  auto grow = [&] {
    if (split_rows && m_tiles < max_m_tiles) return ++m_tiles, true;
    if (n_tiles < max_n_tiles) return ++n_tiles, true;
    if (m_tiles < max_m_tiles) return ++m_tiles, true;
    return false;
  };
  while (tiles() < threads && grow()) {
  }
  while (tiles() % threads != 0 && grow()) {
  }
  return {M, N, m_tiles, n_tiles};
}

}  // namespace stridekit::cpu
