// Forward convolution as packed GEMM with implicit im2col, per image and group:
//   channels_first: Y (Kg x pixels) = W (Kg x Cg*taps) * patches (Cg*taps x pixels)
//   channels_last:  Y (pixels x Kg) = patches (pixels x taps*Cg) * W (taps*Cg x Kg)
// The vector dimension of the micro-kernel is always the contiguous one of Y, so both layouts store
// whole vectors, and the depth order (c, tap) or (tap, c) follows the input's contiguous dimension.
#include <algorithm>

#include "backends/cpu/cpu_plan.h"
#include "backends/cpu/gemm.h"
#include "backends/cpu/scratch.h"
#include "core/thread_pool.h"

namespace stridekit::cpu {

namespace {

// Input-pixel offset of an output pixel's first tap, or a marker that the tap leaves the input.
constexpr int64_t kOutside = -1;

// The output pixel's top-left-front input coordinate (before adding a tap's offset).
struct Origin {
  int64_t d, h, w;
};

inline Origin origin_of(const ConvProblem& p, int64_t pixel) {
  const int64_t ow = pixel % p.out[2];
  const int64_t oh = (pixel / p.out[2]) % p.out[1];
  const int64_t od = pixel / (p.out[2] * p.out[1]);
  return {od * p.stride[0] - p.pad[0], oh * p.stride[1] - p.pad[1], ow * p.stride[2] - p.pad[2]};
}

inline int64_t input_offset(const ConvProblem& p, const Origin& o, const TapOffset& t) {
  const int64_t d = o.d + t.d, h = o.h + t.h, w = o.w + t.w;
  if (d < 0 || d >= p.in[0] || h < 0 || h >= p.in[1] || w < 0 || w >= p.in[2]) return kOutside;
  return (d * p.in[1] + h) * p.in[2] + w;
}

// channels_first patches in the B role: index = output pixel, depth = (c, tap) of one group.
struct PatchesChannelsFirst {
  const ConvProblem& p;
  const float* x;  // the group's first channel plane of one image

  Panel panel(int64_t start, int64_t count, int64_t k0, int64_t kc, float* scratch) const {
    const int64_t taps = p.taps;
    // offsets[tap][lane] for the current strip; step[tap] > 0 when the 16 lanes read one input row
    // at a constant stride (the common interior case), so the copy needs no per-lane table.
    int64_t* offsets = reinterpret_cast<int64_t*>(
        thread_scratch(kScratchIndex, static_cast<size_t>(taps * (kNR + 1) * 2)));
    int64_t* step = offsets + taps * kNR;
    for (int64_t s = 0; s * kNR < count; ++s) {
      const int64_t first = start + s * kNR;
      const int lanes = static_cast<int>(std::min<int64_t>(kNR, start + count - first));
      Origin origins[kNR];
      for (int lane = 0; lane < lanes; ++lane) origins[lane] = origin_of(p, first + lane);
      for (int64_t tap = 0; tap < taps; ++tap) {
        const TapOffset t = tap_offset(p, tap);
        int64_t* row = offsets + tap * kNR;
        for (int lane = 0; lane < kNR; ++lane) {
          row[lane] = lane < lanes ? input_offset(p, origins[lane], t) : kOutside;
        }
        bool uniform = row[0] != kOutside;
        for (int lane = 1; lane < kNR && uniform; ++lane) {
          uniform = row[lane] != kOutside && row[lane] - row[lane - 1] == p.stride[2];
        }
        step[tap] = uniform ? p.stride[2] : 0;
      }
      float* dst = scratch + s * kc * kNR;
      int64_t c = k0 / taps, tap = k0 % taps;
      for (int64_t k = 0; k < kc; ++k, dst += kNR) {
        const float* plane = x + c * p.in_pixels;
        const int64_t* row = offsets + tap * kNR;
        if (step[tap] == 1) {
          const float* src = plane + row[0];
          for (int lane = 0; lane < kNR; ++lane) dst[lane] = src[lane];
        } else if (step[tap] > 0) {
          const float* src = plane + row[0];
          const int64_t stride = step[tap];
          for (int lane = 0; lane < kNR; ++lane) dst[lane] = src[lane * stride];
        } else {
          for (int lane = 0; lane < kNR; ++lane) {
            dst[lane] = row[lane] == kOutside ? 0.f : plane[row[lane]];
          }
        }
        if (++tap == taps) {
          tap = 0;
          ++c;
        }
      }
    }
    return {scratch, kc * kNR};
  }
};

// channels_last patches in the A role: index = output pixel, depth = (tap, c) of one group.
struct PatchesChannelsLast {
  const ConvProblem& p;
  const float* x;  // one image, offset to the group's first channel

  Panel panel(int64_t start, int64_t count, int64_t k0, int64_t kc, float* scratch) const {
    for (int64_t s = 0; s * kMR < count; ++s) {
      float* dst = scratch + s * kc * kMR;
      for (int lane = 0; lane < kMR; ++lane) {
        const int64_t pixel = start + s * kMR + lane;
        const bool live = pixel < start + count;
        const Origin origin = live ? origin_of(p, pixel) : Origin{};
        int64_t k = k0;
        while (k < k0 + kc) {
          const int64_t tap = k / p.Cg, c = k % p.Cg;
          const int64_t run = std::min(p.Cg - c, k0 + kc - k);
          const int64_t offset = live ? input_offset(p, origin, tap_offset(p, tap)) : kOutside;
          float* out = dst + (k - k0) * kMR + lane;
          if (offset == kOutside) {
            for (int64_t i = 0; i < run; ++i) out[i * kMR] = 0.f;
          } else {
            const float* src = x + offset * p.C + c;
            for (int64_t i = 0; i < run; ++i) out[i * kMR] = src[i];
          }
          k += run;
        }
      }
    }
    return {scratch, kc * kMR};
  }
};

}  // namespace

int64_t multiply_adds(const ConvProblem& p) {
  const int64_t pixels = p.transposed ? p.in_pixels : p.out_pixels;
  return p.batch * p.K * pixels * p.Cg * p.taps;
}

void pack_forward_gemm(sk_plan& plan, const float* weight) {
  const sk_conv_geometry& g = plan.geometry;
  const int64_t Cg = g.in_channels / g.groups, Kg = g.out_channels / g.groups;
  int64_t taps = 1;
  for (int d = 0; d < g.rank; ++d) taps *= g.kernel[d];
  const int64_t depth = Cg * taps;
  const bool channels_last = g.layout == SK_LAYOUT_CHANNELS_LAST;
  const int width = channels_last ? kNR : kMR;
  plan.group_stride = round_up(Kg, width) * depth;
  plan.packed.assign(static_cast<size_t>(plan.group_stride * g.groups), 0.f);
  for (int64_t group = 0; group < g.groups; ++group) {
    const float* w = weight + group * Kg * depth;  // (Kg, Cg, taps) of this group
    std::vector<float> strips =
        channels_last
            ? pack_strips(Kg, depth, width,
                          [&](int64_t k, int64_t i) { return w[k * depth + (i % Cg) * taps + i / Cg]; })
            : pack_strips(Kg, depth, width, [&](int64_t k, int64_t i) { return w[k * depth + i]; });
    std::copy(strips.begin(), strips.end(), plan.packed.begin() + group * plan.group_stride);
  }
}

void run_forward_gemm(const sk_plan& plan, const ConvProblem& p, const float* x, float* y) {
  ThreadPool& pool = ThreadPool::instance();
  const int threads = multiply_adds(p) < kSerialMacs ? 1 : pool.size();
  const int64_t depth = p.Cg * p.taps;
  const int64_t outer = p.batch * p.groups;
  const float* bias = plan.bias.empty() ? nullptr : plan.bias.data();

  if (!p.channels_last) {
    const Blocking b = choose_blocking(p.Kg, p.out_pixels, outer, threads, false);
    pool.parallel_for(outer * b.m_tiles * b.n_tiles, [&](int64_t item, int) {
      const int64_t n_tile = item % b.n_tiles, m_tile = (item / b.n_tiles) % b.m_tiles;
      const int64_t group = (item / (b.n_tiles * b.m_tiles)) % p.groups;
      const int64_t image = item / (b.n_tiles * b.m_tiles * p.groups);
      const int64_t row0 = m_tile * b.mc, col0 = n_tile * b.nc;
      const int64_t mc = std::min(b.mc, p.Kg - row0), nc = std::min(b.nc, p.out_pixels - col0);
      const PrepackedSource weights{plan.packed.data() + group * plan.group_stride, depth, kMR};
      const PatchesChannelsFirst patches{p, x + (image * p.C + group * p.Cg) * p.in_pixels};
      float* out = y + (image * p.K + group * p.Kg + row0) * p.out_pixels + col0;
      TileEpilogue epilogue{bias ? bias + group * p.Kg + row0 : nullptr, true, p.activation};
      float* b_scratch = thread_scratch(kScratchPackB, pack_scratch_floats(nc, kNR));
      gemm_tile(plan.kernel, mc, nc, depth, weights, row0, patches, col0, out, p.out_pixels,
                epilogue, nullptr, b_scratch);
    }, threads);
    return;
  }

  const Blocking b = choose_blocking(p.out_pixels, p.Kg, outer, threads, true);
  pool.parallel_for(outer * b.m_tiles * b.n_tiles, [&](int64_t item, int) {
    const int64_t n_tile = item % b.n_tiles, m_tile = (item / b.n_tiles) % b.m_tiles;
    const int64_t group = (item / (b.n_tiles * b.m_tiles)) % p.groups;
    const int64_t image = item / (b.n_tiles * b.m_tiles * p.groups);
    const int64_t row0 = m_tile * b.mc, col0 = n_tile * b.nc;
    const int64_t mc = std::min(b.mc, p.out_pixels - row0), nc = std::min(b.nc, p.Kg - col0);
    const PatchesChannelsLast patches{p, x + image * p.in_pixels * p.C + group * p.Cg};
    const PrepackedSource weights{plan.packed.data() + group * plan.group_stride, depth, kNR};
    float* out = y + (image * p.out_pixels + row0) * p.K + group * p.Kg + col0;
    TileEpilogue epilogue{bias ? bias + group * p.Kg + col0 : nullptr, false, p.activation};
    float* a_scratch = thread_scratch(kScratchPackA, pack_scratch_floats(kMCMax, kMR));
    gemm_tile(plan.kernel, mc, nc, depth, patches, row0, weights, col0, out, p.K, epilogue,
              a_scratch, nullptr);
  }, threads);
}

}  // namespace stridekit::cpu
