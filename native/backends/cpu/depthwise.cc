// Depthwise convolution (one input channel per group, a small channel multiplier): a GEMM would
// waste most of every tile, so it runs as direct loops vectorised along the contiguous dimension:
// output width for channels_first (a kernel over the rows of each output plane, reading bordered
// stride phases, so strided taps read consecutive floats and the taps of a row accumulate in
// registers), channels for channels_last (a kernel over the channels of each output pixel, given the
// taps that read the input, accumulating them in registers).
#include <algorithm>

#include "backends/cpu/cpu_plan.h"
#include "backends/cpu/epilogue.h"
#include "backends/cpu/phases.h"
#include "backends/cpu/scratch.h"
#include "backends/cpu/thread_pool.h"

namespace stridekit::cpu {

void pack_depthwise(sk_plan& plan, const float* weight) {
  const sk_conv_geometry& g = plan.geometry;
  const int64_t K = g.out_channels;
  int64_t taps = 1;
  for (int d = 0; d < g.rank; ++d) taps *= g.kernel[d];
  plan.group_stride = 0;
  plan.packed.resize(static_cast<size_t>(K * taps));
  if (g.layout == SK_LAYOUT_CHANNELS_LAST) {
    for (int64_t k = 0; k < K; ++k) {  // [tap][K]: one vector of channel weights per tap
      for (int64_t t = 0; t < taps; ++t) plan.packed[t * K + k] = weight[k * taps + t];
    }
  } else {
    std::copy(weight, weight + K * taps, plan.packed.begin());  // already [K][tap]
  }
}

void unpack_depthwise(const sk_plan& plan, float* direct) {
  const sk_conv_geometry& g = plan.geometry;
  const int64_t K = g.out_channels, Kg = K / g.groups;
  int64_t taps = 1;
  for (int d = 0; d < g.rank; ++d) taps *= g.kernel[d];
  const bool channels_last = g.layout == SK_LAYOUT_CHANNELS_LAST;
  for (int64_t group = 0; group < g.groups; ++group) {  // one input channel each
    for (int64_t tap = 0; tap < taps; ++tap) {
      for (int64_t k = group * Kg; k < (group + 1) * Kg; ++k) {
        *direct++ = plan.packed[channels_last ? tap * K + k : k * taps + tap];  // as pack_depthwise
      }
    }
  }
}

namespace {

// One output channel of one image, over the bordered phases of its input plane (phases.h): every
// tap of a row is a plain vector load, padding included, and each output is written once (the
// activation then runs over the channel's output, still in the cache).
// tap_at: phases.tap_offsets().
void channel_first(const sk_plan& plan, const ConvProblem& p, const PhaseLayout& phases,
                   const int64_t* tap_at, const float* plane, int64_t k, float* out) {
  if (!phases.identity) {
    float* split = thread_scratch(kScratchPackA, static_cast<size_t>(phases.floats()));
    phases.split(p, plane, p.in_pixels, split, 1);
    plane = split;
  }
  const float* w = plan.packed.data() + k * p.taps;
  const float bias = plan.bias.empty() ? 0.f : plan.bias[k];
  const int64_t slab = p.out[1] * p.out[2];  // one output plane of the (up to) 3-D output
  for (int64_t od = 0; od < p.out[0]; ++od) {
    plan.depthwise_rows(plane + phases.pixel_offset(od, 0, 0), phases.extent[2], tap_at, w, p.taps, bias, p.out[2],
                        p.out[1], out + od * slab);
  }
  apply_epilogue(out, p.out_pixels, 1, p.out_pixels, nullptr, true, p.activation);
}

void run_channels_first(const sk_plan& plan, const ConvProblem& p, const float* x, float* y,
                        int threads) {
  const PhaseLayout phases(p);
  // Once per run, in the calling thread's shared scratch; every channel reads it.
  int64_t* tap_at = reinterpret_cast<int64_t*>(thread_scratch(kScratchShared, static_cast<size_t>(2 * p.taps)));
  phases.tap_offsets(p, tap_at);
  ThreadPool::instance().parallel_for(p.batch * p.K, [&](int64_t item, int) {
    const int64_t k = item % p.K, image = item / p.K;
    channel_first(plan, p, phases, tap_at, x + (image * p.C + k / p.Kg) * p.in_pixels, k,
                  y + (image * p.K + k) * p.out_pixels);
  }, threads);
}

void run_channels_last(const sk_plan& plan, const ConvProblem& p, const float* x, float* y,
                       int threads) {
  const float* bias = plan.bias.empty() ? nullptr : plan.bias.data();
  const int64_t rows = p.out[0] * p.out[1];
  ThreadPool::instance().parallel_for(p.batch * rows, [&](int64_t item, int) {
    const int64_t row = item % rows, image = item / rows;
    const int64_t od = row / p.out[1], oh = row % p.out[1];
    const float* in = x + image * p.in_pixels * p.C;
    // Per pixel: the input pixel and the weights of each tap that reads the input.
    const float** taps = reinterpret_cast<const float**>(
        thread_scratch(kScratchIndex, static_cast<size_t>(2 * p.taps) * sizeof(float*) / sizeof(float)));
    const float** weights = taps + p.taps;
    for (int64_t ow = 0; ow < p.out[2]; ++ow) {
      float* dst = y + (image * p.out_pixels + row * p.out[2] + ow) * p.K;
      int64_t reading = 0;
      for (int64_t tap = 0; tap < p.taps; ++tap) {
        const TapOffset t = tap_offset(p, tap);
        const int64_t id = od * p.stride[0] - p.pad[0] + t.d;
        const int64_t ih = oh * p.stride[1] - p.pad[1] + t.h;
        const int64_t iw = ow * p.stride[2] - p.pad[2] + t.w;
        if (id < 0 || id >= p.in[0] || ih < 0 || ih >= p.in[1] || iw < 0 || iw >= p.in[2]) continue;
        taps[reading] = in + ((id * p.in[1] + ih) * p.in[2] + iw) * p.C;
        weights[reading++] = plan.packed.data() + tap * p.K;
      }
      if (p.Kg == 1) {
        plan.depthwise_pixel(taps, weights, reading, bias, p.K, dst);
        apply_epilogue(dst, p.K, 1, p.K, nullptr, false, p.activation);
        continue;
      }
      // A channel multiplier above 1: output channel k reads input channel k / Kg.
      std::fill(dst, dst + p.K, 0.f);
      for (int64_t t = 0; t < reading; ++t) {
        for (int64_t k = 0; k < p.K; ++k) dst[k] += weights[t][k] * taps[t][k / p.Kg];
      }
      apply_epilogue(dst, p.K, 1, p.K, bias, false, p.activation);
    }
  }, threads);
}

}  // namespace

void run_depthwise(const sk_plan& plan, const ConvProblem& p, const float* x, float* y) {
  // Strides, pads or dilations so far beyond the input that most taps read padding (runs_direct).
  if (runs_direct(p)) return run_direct(plan, p, x, y);
  const int threads = multiply_adds(p) < kSerialMacs ? 1 : ThreadPool::instance().size();
  if (p.channels_last) {
    run_channels_last(plan, p, x, y, threads);
  } else {
    run_channels_first(plan, p, x, y, threads);
  }
}

}  // namespace stridekit::cpu
