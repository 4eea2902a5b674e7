// A forward convolution computed output pixel by output pixel, for the geometries the fast paths are
// not built for: strides, pads or dilations far larger than the input, whose stride phases
// (phases.h) would take memory and time that grow with those numbers instead of with the work
// (runs_direct). Each output pixel finds, per dimension and in O(1), the range of kernel taps that
// land inside the input, and multiplies only those: its cost is bounded by the output's size times
// the taps it really reads, never by a stride, a pad or a dilation. A pixel whose window lies
// entirely in the padding reads nothing and holds only bias and activation.
//
// Such layers read few of their taps and usually have few outputs, so plain loops serve them; their
// weights are unpacked once per plan into the order these loops read, [group][tap][c][k], so that
// the innermost loop runs over contiguous output channels.
#include <algorithm>

#include "backends/cpu/cpu_plan.h"
#include "backends/cpu/epilogue.h"
#include "backends/cpu/phases.h"
#include "backends/cpu/scratch.h"
#include "backends/cpu/thread_pool.h"

namespace stridekit::cpu {

namespace {

// The taps [first, last) of one dimension that output position o reads inside the input, and the
// input coordinate of its tap 0 (origin; tap t reads origin + t * dilation). All terms stay far
// inside int64: origin, a pad and an effective kernel are each below 2^35.
struct TapRange {
  int64_t first, last, origin;
};

inline TapRange live_taps(const ConvProblem& p, int d, int64_t o) {
  const int64_t origin = o * p.stride[d] - p.pad[d];
  // 0 <= origin + t * dilation <= in - 1, for 0 <= t < kernel.
  const int64_t first = std::max<int64_t>(0, ceil_div(-origin, p.dilation[d]));
  const int64_t last = std::min(p.kernel[d], floor_div(p.in[d] - 1 - origin, p.dilation[d]) + 1);
  return {first, std::max(first, last), origin};
}

const float* direct_weights(const sk_plan& plan) {
  std::call_once(plan.direct_once, [&] {
    const sk_conv_geometry& g = plan.geometry;
    int64_t taps = 1;
    for (int d = 0; d < g.rank; ++d) taps *= g.kernel[d];
    std::vector<float> direct(static_cast<size_t>(g.out_channels * (g.in_channels / g.groups) * taps));
    if (plan.path == sk_plan::Path::kDepthwise) {
      unpack_depthwise(plan, direct.data());
    } else {
      unpack_forward_gemm(plan, direct.data());
    }
    plan.direct_weights = std::move(direct);
  });
  return plan.direct_weights.data();
}

}  // namespace

// The measure is the channels_first paths' stride phases, which are sized by the geometry's numbers
// where everything else is sized by the tensors: when they would exceed their bound (phases.h), the
// strides, pads or dilations reach far past the input, and most of what a GEMM or the depthwise row
// kernel would multiply is padding. channels_last layers build no phases, and their paths' cost is
// bounded by output pixels times taps; they run direct by the same measure all the same, so that one
// rule, whatever the layout, picks the layers whose taps mostly miss the input, and a layer does not
// change path, or cost, with its layout alone.
bool runs_direct(const ConvProblem& p) { return !PhaseLayout(p).bounded(p); }

void run_direct(const sk_plan& plan, const ConvProblem& p, const float* x, float* y) {
  const float* weights = direct_weights(plan);
  const float* bias = plan.bias.empty() ? nullptr : plan.bias.data();
  ThreadPool& pool = ThreadPool::instance();
  const int threads = multiply_adds(p) < kSerialMacs ? 1 : pool.size();
  // Where channel ch of pixel `pixel` of image `image` lives, in the geometry's layout.
  const int64_t in_channel = p.channels_last ? 1 : p.in_pixels, in_pixel = p.channels_last ? p.C : 1;
  const int64_t out_channel = p.channels_last ? 1 : p.out_pixels, out_pixel = p.channels_last ? p.K : 1;
  const int64_t rows = p.out[0] * p.out[1];  // one task per output row of one image
  pool.parallel_for(p.batch * rows, [&](int64_t item, int) {
    const int64_t image = item / rows, row = item % rows;
    const TapRange rd = live_taps(p, 0, row / p.out[1]), rh = live_taps(p, 1, row % p.out[1]);
    const float* x_image = x + image * p.C * p.in_pixels;
    float* y_row = y + image * p.K * p.out_pixels + row * p.out[2] * out_pixel;
    float* sums = thread_scratch(kScratchTile, static_cast<size_t>(p.K));
    for (int64_t ow = 0; ow < p.out[2]; ++ow) {
      const TapRange rw = live_taps(p, 2, ow);
      std::fill(sums, sums + p.K, 0.f);
      for (int64_t td = rd.first; td < rd.last; ++td) {
        const int64_t id = rd.origin + td * p.dilation[0];
        for (int64_t th = rh.first; th < rh.last; ++th) {
          const int64_t ih = rh.origin + th * p.dilation[1];
          for (int64_t tw = rw.first; tw < rw.last; ++tw) {
            const int64_t iw = rw.origin + tw * p.dilation[2];
            const int64_t tap = (td * p.kernel[1] + th) * p.kernel[2] + tw;
            const float* in = x_image + ((id * p.in[1] + ih) * p.in[2] + iw) * in_pixel;
            for (int64_t group = 0; group < p.groups; ++group) {
              float* group_sums = sums + group * p.Kg;
              const float* w = weights + (group * p.taps + tap) * p.Cg * p.Kg;
              for (int64_t c = 0; c < p.Cg; ++c, w += p.Kg) {
                const float v = in[(group * p.Cg + c) * in_channel];
                for (int64_t k = 0; k < p.Kg; ++k) group_sums[k] += w[k] * v;
              }
            }
          }
        }
      }
      float* out = y_row + ow * out_pixel;
      for (int64_t k = 0; k < p.K; ++k) {
        out[k * out_channel] = activate(p.activation, bias ? sums[k] + bias[k] : sums[k]);
      }
    }
  }, threads);
}

}  // namespace stridekit::cpu
