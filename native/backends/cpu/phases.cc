// Splitting an input plane into its bordered stride phases (phases.h), one pass over the input, and
// packing runs of phase pixels into patch strips. Both are built for the x86-64 baseline and for
// AVX2 (multiversion.h); the stride-2 deinterleave is a kernel of its own (microkernel.h).
#include "backends/cpu/phases.h"

#include <array>
#include <cstring>
#include <memory>
#include <utility>

#include "backends/cpu/cpu_features.h"
#include "backends/cpu/microkernel.h"
#include "backends/cpu/multiversion.h"

namespace stridekit::cpu {

namespace {

// Planes are walked by input row, each dealt to its stride[2] phase rows. The width stride is a
// template constant for the usual strides (SW = 1, 2; 0: any), and at stride 2 one kernel call
// deals all the rows of a phase block. The zeros around the input are written first: small phases
// (up to 4 KB for the stride[2] of them) are zeroed whole, a few vector stores that stay in L1
// until the rows overwrite them; larger ones only where no input lands, block by block and then
// row by row. read_d and read_h: which phases of the depth and height dimensions some tap reads
// (PhaseLayout::mark_read); the others are not written. At stride 1 a pad_rows kernel, where there is
// one, writes each row with its borders, so only the rows and planes of zeros around are left.
template <int SW>
SK_MULTIVERSION void split_planes(const PhaseLayout& layout, const ConvProblem& p,
                                  DeinterleaveKernel deinterleave, PadRowsKernel pad_rows, const bool* read_d,
                                  const bool* read_h, const float* __restrict in, int64_t plane_stride,
                                  float* __restrict out, int64_t planes) {
  const int64_t sd = p.stride[0], sh = p.stride[1], sw = SW ? SW : p.stride[2];
  const int64_t width = p.in[2], row = layout.extent[2], slab = layout.extent[1] * row;
  const int64_t plane = layout.plane, first = layout.border[2], used = layout.size[2];
  const int64_t whole = width / sw;         // groups of sw input columns all inside the row
  const bool padded_rows = SW == 1 && pad_rows;
  const bool zero_whole = sw * plane <= 1024 && !padded_rows;
  for (int64_t ad = 0; ad < sd; ++ad) {
    if (!read_d[ad]) continue;
    const int64_t depth_rows = (p.in[0] - ad + sd - 1) / sd;  // phase positions holding input
    for (int64_t ah = 0; ah < sh; ++ah) {
      // Phases no tap reads are left as they are: a 1x1 kernel at stride 2 reads one in four.
      if (!read_h[ah]) continue;
      const int64_t height_rows = (p.in[1] - ah + sh - 1) / sh;
      for (int64_t i = 0; i < planes; ++i) {
        float* phase = out + i * layout.floats() + (ad * sh + ah) * sw * plane;  // phase (ad, ah, 0)
        if (zero_whole) {
          zero_values(phase, sw * plane);
        } else {
          for (int64_t aw = 0; aw < sw; ++aw) {
            zero_around(phase + aw * plane, layout.border[0], depth_rows, layout.extent[0], slab);
          }
        }
        for (int64_t jd = 0; jd < depth_rows; ++jd) {
          float* rows = phase + (layout.border[0] + jd) * slab;
          const float* src = in + i * plane_stride + ((jd * sd + ad) * p.in[1] + ah) * width;
          float* dst = rows + layout.border[1] * row + first;  // phase aw = 0, first input position
          if (padded_rows) {
            zero_around(rows, layout.border[1], height_rows, layout.extent[1], row);
            pad_rows(src, sh * width, width, height_rows, dst - first, row, first);
            continue;
          }
          if (!zero_whole) {
            for (int64_t aw = 0; aw < sw; ++aw) {
              zero_around(rows + aw * plane, layout.border[1], height_rows, layout.extent[1], row);
              for (int64_t jh = 0; jh < height_rows; ++jh) {
                zero_around(dst - first + jh * row + aw * plane, first, used, row, 1);
              }
            }
          }
          if (SW == 2) deinterleave(src, sh * width, dst, dst + plane, row, height_rows, whole);
          for (int64_t jh = 0; jh < height_rows; ++jh, src += sh * width, dst += row) {
            if (SW == 1) {
              copy_floats(dst, src, width);
              continue;
            }
            if (SW != 2) {
              for (int64_t jw = 0; jw < whole; ++jw) {
                for (int64_t aw = 0; aw < sw; ++aw) dst[aw * plane + jw] = src[jw * sw + aw];
              }
            }
            for (int64_t jw = whole; jw < used; ++jw) {  // a last, partial group of columns
              for (int64_t aw = 0; aw < sw; ++aw) {
                const int64_t iw = jw * sw + aw;
                dst[aw * plane + jw] = iw < width ? src[iw] : 0.f;
              }
            }
          }
        }
      }
    }
  }
}

// A copy of a fixed COUNT floats per depth inlines to one to three vector moves.
template <int COUNT>
SK_MULTIVERSION void gather_fixed(const float* __restrict src, const int64_t* __restrict offsets,
                                  int64_t depth, float* __restrict dst, int64_t width) {
  for (int64_t k = 0; k < depth; ++k, dst += width) std::memcpy(dst, src + offsets[k], COUNT * sizeof(float));
}

using GatherFixed = void (*)(const float*, const int64_t*, int64_t, float*, int64_t);

template <int... COUNT>
constexpr std::array<GatherFixed, sizeof...(COUNT)> gather_table(std::integer_sequence<int, COUNT...>) {
  return {gather_fixed<COUNT + 1>...};
}

#if SK_MULTIVERSION_BY_HAND
// The AVX2 copies of the two templates above (multiversion.h), chosen with cpu_features().
template <int SW>
SK_TARGET_V3 void split_planes_v3(const PhaseLayout& layout, const ConvProblem& p,
                                  DeinterleaveKernel deinterleave, PadRowsKernel pad_rows, const bool* read_d,
                                  const bool* read_h, const float* __restrict in, int64_t plane_stride,
                                  float* __restrict out, int64_t planes) {
  split_planes<SW>(layout, p, deinterleave, pad_rows, read_d, read_h, in, plane_stride, out, planes);
}

template <int COUNT>
SK_TARGET_V3 void gather_fixed_v3(const float* __restrict src, const int64_t* __restrict offsets,
                                  int64_t depth, float* __restrict dst, int64_t width) {
  gather_fixed<COUNT>(src, offsets, depth, dst, width);
}

template <int... COUNT>
constexpr std::array<GatherFixed, sizeof...(COUNT)> gather_table_v3(std::integer_sequence<int, COUNT...>) {
  return {gather_fixed_v3<COUNT + 1>...};
}
#endif

}  // namespace

void gather_run(const float* src, const int64_t* offsets, int64_t depth, int64_t count, float* dst,
                int64_t width) {
  // Runs are as long as the output rows allow: 16 for wide rows, 8 for the halves of 8-pixel
  // rows, any length up to 16 where a strip crosses from one output row to the next.
  // Runs of 9 to 16 take one masked copy per depth on AVX-512 (the fixed copies of 13 floats take
  // four moves); shorter ones the fixed copies: the 6-pixel runs of the pixels-as-rows form ran ResNet
  // l4 5% slower as masked copies, in an interleaved A/B on Zen 4.
  static const GatherKernel masked = select_gather_kernel();
  if (masked && count > 8) return masked(src, offsets, depth, count, dst, width);
  static constexpr auto table = gather_table(std::make_integer_sequence<int, 16>());
#if SK_MULTIVERSION_BY_HAND
  static constexpr auto table_v3 = gather_table_v3(std::make_integer_sequence<int, 16>());
  static const bool v3 = cpu_features().avx2_fma;
  if (v3) return table_v3[count - 1](src, offsets, depth, dst, width);
#endif
  table[count - 1](src, offsets, depth, dst, width);
}

void PhaseLayout::split(const ConvProblem& p, const float* in, int64_t plane_stride, float* out,
                        int64_t planes) const {
  static const DeinterleaveKernel deinterleave = select_deinterleave_kernel();
  static const PadRowsKernel pad_rows = select_pad_rows_kernel();
  // The read phases of the two outer dimensions, on the stack for the usual strides; larger ones
  // take a heap block, whose cost is nothing next to a split into that many phases.
  constexpr int64_t kLocal = 32;
  bool local[kLocal];
  std::unique_ptr<bool[]> heap;
  bool* read_d = local;
  if (p.stride[0] + p.stride[1] > kLocal) {
    heap.reset(new bool[static_cast<size_t>(p.stride[0] + p.stride[1])]);
    read_d = heap.get();
  }
  bool* read_h = read_d + p.stride[0];
  mark_read(p, 0, read_d);
  mark_read(p, 1, read_h);
#if SK_MULTIVERSION_BY_HAND
  static const bool v3 = cpu_features().avx2_fma;
  if (v3) {
    switch (p.stride[2]) {
      case 1: return split_planes_v3<1>(*this, p, deinterleave, pad_rows, read_d, read_h, in, plane_stride, out, planes);
      case 2: return split_planes_v3<2>(*this, p, deinterleave, pad_rows, read_d, read_h, in, plane_stride, out, planes);
      default: return split_planes_v3<0>(*this, p, deinterleave, pad_rows, read_d, read_h, in, plane_stride, out, planes);
    }
  }
#endif
  switch (p.stride[2]) {
    case 1: return split_planes<1>(*this, p, deinterleave, pad_rows, read_d, read_h, in, plane_stride, out, planes);
    case 2: return split_planes<2>(*this, p, deinterleave, pad_rows, read_d, read_h, in, plane_stride, out, planes);
    default: return split_planes<0>(*this, p, deinterleave, pad_rows, read_d, read_h, in, plane_stride, out, planes);
  }
}

}  // namespace stridekit::cpu
