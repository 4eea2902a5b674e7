// Splitting an input plane into its bordered stride phases (phases.h): one pass over the input,
// built for the x86-64 baseline and for AVX2 (multiversion.h), where the stride-2 deinterleave runs
// eight floats at a time.
#include "backends/cpu/phases.h"

#include "backends/cpu/multiversion.h"

namespace stridekit::cpu {

namespace {

SK_MULTIVERSION void split_plane(const PhaseLayout& layout, const ConvProblem& p,
                                 const float* __restrict in, float* __restrict out) {
  const int64_t sd = p.stride[0], sh = p.stride[1], sw = p.stride[2];
  const int64_t width = p.in[2], row = layout.extent[2], first = layout.border[2];
  const int64_t used = layout.size[2];  // positions of a phase row that hold input (or its tail zeros)
  const int64_t whole = width / sw;     // groups of sw input columns that are all inside the row
  const int64_t plane = layout.plane;
  for (int64_t ad = 0; ad < sd; ++ad) {
    for (int64_t ah = 0; ah < sh; ++ah) {
      float* phase_rows = out + (ad * sh + ah) * sw * plane;  // phase (ad, ah, 0)
      for (int64_t ed = 0; ed < layout.extent[0]; ++ed) {
        const int64_t jd = ed - layout.border[0], id = jd * sd + ad;
        const bool depth_inside = jd >= 0 && jd < layout.size[0] && id < p.in[0];
        for (int64_t eh = 0; eh < layout.extent[1]; ++eh) {
          const int64_t jh = eh - layout.border[1], ih = jh * sh + ah;
          float* rows = phase_rows + (ed * layout.extent[1] + eh) * row;  // this row of phase (ad, ah, 0)
          if (!depth_inside || jh < 0 || jh >= layout.size[1] || ih >= p.in[1]) {
            for (int64_t aw = 0; aw < sw; ++aw) zero_floats(rows + aw * plane, row);
            continue;
          }
          const float* src = in + (id * p.in[1] + ih) * width;
          for (int64_t aw = 0; aw < sw; ++aw) {  // the borders
            float* r = rows + aw * plane;
            zero_floats(r, first);
            zero_floats(r + first + used, row - first - used);
          }
          if (sw == 1) {
            copy_floats(rows + first, src, width);
            continue;
          }
          if (sw == 2) {  // the common stride: a fixed two-way deinterleave the compiler vectorises
            float* __restrict even = rows + first;
            float* __restrict odd = rows + plane + first;
            for (int64_t jw = 0; jw < whole; ++jw) {
              even[jw] = src[2 * jw];
              odd[jw] = src[2 * jw + 1];
            }
          } else {
            for (int64_t jw = 0; jw < whole; ++jw) {
              for (int64_t aw = 0; aw < sw; ++aw) rows[aw * plane + first + jw] = src[jw * sw + aw];
            }
          }
          for (int64_t aw = 0; aw < sw; ++aw) {  // the row's tail: a last, partial group of columns
            float* r = rows + aw * plane + first;
            for (int64_t jw = whole; jw < used; ++jw) {
              const int64_t iw = jw * sw + aw;
              r[jw] = iw < width ? src[iw] : 0.f;
            }
          }
        }
      }
    }
  }
}

}  // namespace

void PhaseLayout::split(const ConvProblem& p, const float* in, float* out) const {
  split_plane(*this, p, in, out);
}

}  // namespace stridekit::cpu
