// Transposed convolution as GEMM + col2im, per image and group: the GEMM computes every (output
// channel, tap) contribution of a block of input pixels,
//   channels_first: cols ((k, tap) x in pixels) = W^T ((k, tap) x Cg) * X (Cg x in pixels)
//   channels_last:  cols (in pixels x (k, tap)) = X (in pixels x Cg) * W (Cg x (k, tap))
// and scatter-adds each into y at o = i * stride - pad_begin + tap * dilation. Work is split by
// output channel, so no two threads ever add into the same output element.
#include <algorithm>
#include <numeric>

#include "backends/cpu/cpu_plan.h"
#include "backends/cpu/gemm.h"
#include "backends/cpu/scratch.h"
#include "backends/cpu/thread_pool.h"

namespace stridekit::cpu {

namespace {

// An input pixel's first output coordinate, and the output pixel one of its taps reaches
// (kOutside past the output's edges).
using Position = Origin;

inline Position position_of(const ConvProblem& p, int64_t pixel) { return strided_origin(p, p.in, pixel); }

inline int64_t output_pixel(const ConvProblem& p, const Position& q, const TapOffset& t) {
  return offset_within(p.out, q, t);
}

// Output channels per work item: whole strips of (k, tap) rows or columns, so every item starts on
// a packed-strip boundary.
int64_t channel_chunk(const ConvProblem& p, int width, int threads) {
  const int64_t unit = width / std::gcd<int64_t>(p.taps, width);
  const int64_t wanted = std::max<int64_t>(1, 4 * threads / std::max<int64_t>(1, p.batch * p.groups));
  int64_t chunk = round_up((p.Kg + wanted - 1) / wanted, unit);
  return std::min(chunk, round_up(p.Kg, unit));
}

}  // namespace

void pack_transposed_gemm(sk_plan& plan, const float* weight) {
  const sk_conv_geometry& g = plan.geometry;
  const int64_t Cg = g.in_channels / g.groups, Kg = g.out_channels / g.groups;
  int64_t taps = 1;
  for (int d = 0; d < g.rank; ++d) taps *= g.kernel[d];
  const int width = g.layout == SK_LAYOUT_CHANNELS_LAST ? kNR : kMR;
  plan.group_stride = PackedLayout(Kg * taps, Cg, width).floats();
  plan.packed.resize(static_cast<size_t>(plan.group_stride * g.groups));
  for (int64_t group = 0; group < g.groups; ++group) {
    const float* w = weight + group * Cg * Kg * taps;  // (Cg, Kg, taps) of this group
    // Index (k, tap) flattened as k * taps + tap, depth c: both roles read W[c][k][tap].
    pack_strips(Kg * taps, 1, Cg, width, plan.packed.data() + group * plan.group_stride,
                [&](int64_t kt, int64_t, int64_t c) { return w[c * Kg * taps + kt]; });
  }
}

void run_transposed_gemm(const sk_plan& plan, const ConvProblem& p, const float* x, float* y) {
  ThreadPool& pool = ThreadPool::instance();
  const int threads = multiply_adds(p) < kSerialMacs ? 1 : pool.size();
  const float* bias = plan.bias.empty() ? nullptr : plan.bias.data();
  const int width = p.channels_last ? kNR : kMR;
  const int64_t chunk = channel_chunk(p, width, threads);
  const int64_t chunks = (p.Kg + chunk - 1) / chunk;
  const int64_t taps = p.taps;

  pool.parallel_for(p.batch * p.groups * chunks, [&](int64_t item, int) {
    const int64_t k_begin = (item % chunks) * chunk;
    const int64_t k_end = std::min(p.Kg, k_begin + chunk);
    const int64_t group = (item / chunks) % p.groups;
    const int64_t image = item / (chunks * p.groups);
    const int64_t channel0 = group * p.Kg;  // first output channel of the group
    const PrepackedSource weights{plan.packed.data() + group * plan.group_stride,
                                  PackedLayout(p.Kg * taps, p.Cg, width)};
    const int64_t kt_begin = k_begin * taps, kt_end = k_end * taps;

    if (!p.channels_last) {
      float* y_image = y + image * p.K * p.out_pixels;
      std::fill(y_image + (channel0 + k_begin) * p.out_pixels,
                y_image + (channel0 + k_end) * p.out_pixels, 0.f);
      const StridedMatrixSource input{x + (image * p.C + group * p.Cg) * p.in_pixels, 1,
                                      p.in_pixels, p.in_pixels, kNR};
      for (int64_t row0 = kt_begin; row0 < kt_end; row0 += kMCMax) {
        const int64_t mc = std::min(kMCMax, kt_end - row0);
        for (int64_t col0 = 0; col0 < p.in_pixels; col0 += kNCMax) {
          const int64_t nc = std::min(kNCMax, p.in_pixels - col0);
          float* cols = thread_scratch(kScratchTile, static_cast<size_t>(mc * nc));
          float* b_scratch = thread_scratch(kScratchPackB, pack_scratch_floats(nc, kNR));
          gemm_tile(plan.gemm, mc, nc, p.Cg, weights, row0, input, col0, cols, nc, TileEpilogue{},
                    nullptr, b_scratch);
          Position* positions = reinterpret_cast<Position*>(
              thread_scratch(kScratchIndex, static_cast<size_t>(nc) * sizeof(Position) / sizeof(float)));
          for (int64_t j = 0; j < nc; ++j) positions[j] = position_of(p, col0 + j);
          for (int64_t i = 0; i < mc; ++i) {
            const int64_t k = (row0 + i) / taps;
            const TapOffset t = tap_offset(p, (row0 + i) % taps);
            float* y_plane = y_image + (channel0 + k) * p.out_pixels;
            const float* src = cols + i * nc;
            for (int64_t j = 0; j < nc; ++j) {
              const int64_t o = output_pixel(p, positions[j], t);
              if (o >= 0) y_plane[o] += src[j];
            }
          }
        }
      }
      apply_epilogue(y_image + (channel0 + k_begin) * p.out_pixels, p.out_pixels, k_end - k_begin,
                     p.out_pixels, bias ? bias + channel0 + k_begin : nullptr, true, p.activation);
      return;
    }

    float* y_image = y + image * p.out_pixels * p.K + channel0;
    for (int64_t o = 0; o < p.out_pixels; ++o) {
      std::fill(y_image + o * p.K + k_begin, y_image + o * p.K + k_end, 0.f);
    }
    const StridedMatrixSource input{x + image * p.in_pixels * p.C + group * p.Cg, p.C, 1,
                                    p.in_pixels, kMR};
    for (int64_t row0 = 0; row0 < p.in_pixels; row0 += kMCMax) {
      const int64_t mc = std::min(kMCMax, p.in_pixels - row0);
      for (int64_t col0 = kt_begin; col0 < kt_end; col0 += kNCMax) {
        const int64_t nc = std::min(kNCMax, kt_end - col0);
        float* cols = thread_scratch(kScratchTile, static_cast<size_t>(mc * nc));
        float* a_scratch = thread_scratch(kScratchPackA, pack_scratch_floats(kMCMax, kMR));
        gemm_tile(plan.gemm, mc, nc, p.Cg, input, row0, weights, col0, cols, nc, TileEpilogue{},
                  a_scratch, nullptr);
        // Column j of the block is output channel channels[j] through tap offsets[j].
        TapOffset* offsets = reinterpret_cast<TapOffset*>(thread_scratch(
            kScratchIndex, static_cast<size_t>(nc) * (sizeof(TapOffset) + sizeof(int64_t)) / sizeof(float)));
        int64_t* channels = reinterpret_cast<int64_t*>(offsets + nc);
        for (int64_t j = 0; j < nc; ++j) {
          offsets[j] = tap_offset(p, (col0 + j) % taps);
          channels[j] = (col0 + j) / taps;
        }
        for (int64_t i = 0; i < mc; ++i) {
          const Position q = position_of(p, row0 + i);
          const float* src = cols + i * nc;
          for (int64_t j = 0; j < nc; ++j) {
            const int64_t o = output_pixel(p, q, offsets[j]);
            if (o >= 0) y_image[o * p.K + channels[j]] += src[j];
          }
        }
      }
    }
    for (int64_t o = 0; o < p.out_pixels; ++o) {
      apply_epilogue(y_image + o * p.K + k_begin, p.K, 1, k_end - k_begin,
                     bias ? bias + channel0 + k_begin : nullptr, false, p.activation);
    }
  }, threads);
}

}  // namespace stridekit::cpu
