// Splitting an input plane into its bordered stride phases (phases.h), one pass over the input, and
// packing runs of phase pixels into patch strips. Both are built for the x86-64 baseline and for
// AVX2 (multiversion.h); the stride-2 deinterleave is a kernel of its own (microkernel.h).
#include "backends/cpu/phases.h"

#include <cstring>

#include "backends/cpu/microkernel.h"
#include "backends/cpu/multiversion.h"

namespace stridekit::cpu {

namespace {

// The plane is walked by input row, each dealt to its stride[2] phase rows; the phase rows no input
// row lands in (the borders above and below, and the depth border) are zeroed as whole blocks. The
// width stride is a template constant for the usual strides (SW = 1, 2; 0: any), so a short row
// (a 16 x 16 input) costs a few vector moves and no loop over phases.
template <int SW>
SK_MULTIVERSION void split_plane(const PhaseLayout& layout, const ConvProblem& p,
                                 DeinterleaveKernel deinterleave, const float* __restrict in,
                                 float* __restrict out) {
  const int64_t sd = p.stride[0], sh = p.stride[1], sw = SW ? SW : p.stride[2];
  const int64_t width = p.in[2], row = layout.extent[2], slab = layout.extent[1] * row;
  const int64_t plane = layout.plane, first = layout.border[2], used = layout.size[2];
  const int64_t last = row - first - used;  // zeros after a phase row's input positions
  const int64_t whole = width / sw;         // groups of sw input columns all inside the row
  for (int64_t ad = 0; ad < sd; ++ad) {
    const int64_t depth_rows = (p.in[0] - ad + sd - 1) / sd;  // phase positions holding input
    for (int64_t ah = 0; ah < sh; ++ah) {
      const int64_t height_rows = (p.in[1] - ah + sh - 1) / sh;
      float* phase = out + (ad * sh + ah) * sw * plane;  // phase (ad, ah, 0)
      for (int64_t aw = 0; aw < sw; ++aw) {
        float* q = phase + aw * plane;
        zero_floats(q, layout.border[0] * slab);
        zero_floats(q + (layout.border[0] + depth_rows) * slab,
                    (layout.extent[0] - layout.border[0] - depth_rows) * slab);
      }
      for (int64_t jd = 0; jd < depth_rows; ++jd) {
        float* rows = phase + (layout.border[0] + jd) * slab;
        for (int64_t aw = 0; aw < sw; ++aw) {
          float* q = rows + aw * plane;
          zero_floats(q, layout.border[1] * row);
          zero_floats(q + (layout.border[1] + height_rows) * row,
                      (layout.extent[1] - layout.border[1] - height_rows) * row);
        }
        const float* src = in + ((jd * sd + ad) * p.in[1] + ah) * width;
        float* dst = rows + layout.border[1] * row + first;  // phase aw = 0, first input position
        for (int64_t jh = 0; jh < height_rows; ++jh, src += sh * width, dst += row) {
          for (int64_t aw = 0; aw < sw; ++aw) {
            zero_floats(dst + aw * plane - first, first);
            zero_floats(dst + aw * plane + used, last);
          }
          if (SW == 1) {
            copy_floats(dst, src, width);
            continue;
          }
          if (SW == 2) {
            deinterleave(src, whole, dst, dst + plane);
          } else {
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

// A copy of a fixed COUNT floats per depth inlines to a few vector moves; 0: any count.
template <int COUNT>
SK_MULTIVERSION void gather_fixed(const float* __restrict src, const int64_t* __restrict offsets,
                                  int64_t depth, int64_t count, float* __restrict dst, int64_t width) {
  for (int64_t k = 0; k < depth; ++k, dst += width) {
    if (COUNT) {
      std::memcpy(dst, src + offsets[k], COUNT * sizeof(float));
    } else {
      copy_floats(dst, src + offsets[k], count);
    }
  }
}

}  // namespace

void gather_run(const float* src, const int64_t* offsets, int64_t depth, int64_t count, float* dst,
                int64_t width) {
  // Whole strips of one output row, and the halves of 8-pixel rows (16 x 16 inputs at stride 2).
  switch (count) {
    case 16: return gather_fixed<16>(src, offsets, depth, count, dst, width);
    case 8: return gather_fixed<8>(src, offsets, depth, count, dst, width);
    default: return gather_fixed<0>(src, offsets, depth, count, dst, width);
  }
}

void PhaseLayout::split(const ConvProblem& p, const float* in, float* out) const {
  static const DeinterleaveKernel deinterleave = select_deinterleave_kernel();
  switch (p.stride[2]) {
    case 1: return split_plane<1>(*this, p, deinterleave, in, out);
    case 2: return split_plane<2>(*this, p, deinterleave, in, out);
    default: return split_plane<0>(*this, p, deinterleave, in, out);
  }
}

}  // namespace stridekit::cpu
