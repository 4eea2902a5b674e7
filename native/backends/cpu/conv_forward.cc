// Forward convolution as packed GEMM with implicit im2col, per image and group:
//   channels_last:  Y (pixels x Kg) = patches (pixels x taps*Cg) * W (taps*Cg x Kg)
//   channels_first: Y (Kg x pixels) = W (Kg x Cg*taps) * patches (Cg*taps x pixels), patches read
//                   from the input's bordered stride phases; or, for outputs with few pixels, the
//                   channels_last GEMM over a channels_last copy of the input, each output tile
//                   transposed on its way out
// Patches are packed from the input block by block, never materialised whole.
#include <algorithm>

#include "backends/cpu/cpu_plan.h"
#include "backends/cpu/gemm.h"
#include "backends/cpu/phases.h"
#include "backends/cpu/scratch.h"
#include "core/thread_pool.h"

namespace stridekit::cpu {

namespace {

// An output pixel's first input coordinate, and the input offset of one of its taps (kOutside in
// the padding).
inline Origin origin_of(const ConvProblem& p, int64_t pixel) { return strided_origin(p, p.out, pixel); }

inline int64_t input_offset(const ConvProblem& p, const Origin& o, const TapOffset& t) {
  return offset_within(p.in, o, t);
}

// channels_first patches in the B role: index = output pixel, depth = (c, tap) of one group.
// The input is read through its bordered stride phases (phases.h), where consecutive output pixels
// of one output row read consecutive floats and padding reads the border's zeros. Each packed strip
// is cut into such runs once per panel; a (run, depth) pair is then one contiguous copy.
struct PatchesChannelsFirst {
  const ConvProblem& p;
  const PhaseLayout& phases;
  const int64_t* tap_at;   // phases.tap_offsets()
  const float* x;          // the group's first channel, split into phases (or the plane itself)
  int64_t channel_stride;  // floats from one channel's phases to the next

  struct Run {
    int64_t pixel;  // phases.pixel_offset of the run's first pixel
    float* dst;     // its first lane in the strip, at depth 0 of the panel
    int64_t count;  // lanes
  };

  Panel panel(int64_t start, int64_t count, int64_t k0, int64_t kc, float* scratch) const {
    const int64_t strips = (count + kNR - 1) / kNR;
    const int64_t max_runs = count + strips;
    const size_t index_bytes =
        static_cast<size_t>(max_runs) * sizeof(Run) + static_cast<size_t>(kc) * sizeof(int64_t);
    Run* runs = reinterpret_cast<Run*>(thread_scratch(kScratchIndex, index_bytes / sizeof(float) + 1));
    int64_t* source = reinterpret_cast<int64_t*>(runs + max_runs);  // per depth: its channel's tap
    int64_t run_count = 0;
    for (int64_t s = 0; s < strips; ++s) {
      const int64_t first = start + s * kNR;
      const int64_t lanes = std::min<int64_t>(kNR, start + count - first);
      float* strip = scratch + s * kc * kNR;
      for (int64_t lane = 0; lane < lanes;) {
        const int64_t pixel = first + lane;
        const int64_t ow = pixel % p.out[2], row = pixel / p.out[2];
        const int64_t n = std::min(lanes - lane, p.out[2] - ow);
        runs[run_count++] = {phases.pixel_offset(row / p.out[1], row % p.out[1], ow), strip + lane, n};
        lane += n;
      }
      if (lanes < kNR) {  // the last strip's unused lanes multiply into columns nobody stores
        for (int64_t k = 0; k < kc; ++k) zero_floats(strip + k * kNR + lanes, kNR - lanes);
      }
    }
    for (int64_t k = 0, c = k0 / p.taps, tap = k0 % p.taps; k < kc; ++k) {
      source[k] = c * channel_stride + tap_at[tap];
      if (++tap == p.taps) tap = 0, ++c;
    }
    for (int64_t r = 0; r < run_count; ++r) {
      gather_run(x + runs[r].pixel, source, kc, runs[r].count, runs[r].dst, kNR);
    }
    return {scratch, kc * kNR};
  }
};

// channels_last patches in the A role: index = output pixel, depth = (tap, c) of one group.
struct PatchesChannelsLast {
  const ConvProblem& p;
  const float* x;  // one image, offset to the group's first channel

  Panel panel(int64_t start, int64_t count, int64_t k0, int64_t kc, float* scratch) const {
    // Lanes whose tap falls outside the input (or past the last pixel) read a row of zeros.
    float* zeros = thread_scratch(kScratchIndex, static_cast<size_t>(p.Cg));
    std::fill(zeros, zeros + p.Cg, 0.f);
    for (int64_t s = 0; s * kMR < count; ++s) {
      Origin origins[kMR];
      bool live[kMR];
      for (int lane = 0; lane < kMR; ++lane) {
        const int64_t pixel = start + s * kMR + lane;
        live[lane] = pixel < start + count;
        origins[lane] = live[lane] ? origin_of(p, pixel) : Origin{};
      }
      float* dst = scratch + s * kc * kMR;
      for (int64_t k = k0; k < k0 + kc;) {
        const int64_t tap = k / p.Cg, c = k % p.Cg;
        const int64_t run = std::min(p.Cg - c, k0 + kc - k);
        const TapOffset t = tap_offset(p, tap);
        const float* src[kMR];
        for (int lane = 0; lane < kMR; ++lane) {
          const int64_t offset = live[lane] ? input_offset(p, origins[lane], t) : kOutside;
          src[lane] = offset == kOutside ? zeros : x + offset * p.C + c;
        }
        // Six channel runs interleaved: each packed row of the strip is written whole.
        float* out = dst + (k - k0) * kMR;
        for (int64_t i = 0; i < run; ++i, out += kMR) {
          for (int lane = 0; lane < kMR; ++lane) out[lane] = src[lane][i];
        }
        k += run;
      }
    }
    return {scratch, kc * kMR};
  }
};

// Whether a channels_first layer runs as the channels_last GEMM over a transposed copy of its
// input instead of over its bordered phases. The phases form packs each patch row with contiguous
// copies and writes its tiles straight into the output, but its 16-pixel column strips waste lanes
// when the output has few pixels (7 x 7: 64 lanes for 49 pixels), where the channels_last form
// cuts pixels into 6-high rows and output channels into 16-wide columns. Layers with few output
// channels (a narrow column strip) or few input channels (short channel runs, as in an RGB stem)
// stay with the phases.
bool via_channels_last(const ConvProblem& p) {
  if (p.channels_last || p.Kg < kNR || p.Cg < 8) return false;
  return 10 * round_up(p.out_pixels, kNR) > 11 * p.out_pixels;  // more than 10% of lanes wasted
}

// One group's weights (get(k, c, tap)) in GEMM form: as columns (kNR-wide strips of output
// channels, depth (tap, c)) for the channels_last GEMM, or as rows (kMR-high strips, depth (c, tap),
// the order of channels_first patches) for the phases one.
template <class Get>
void pack_group(bool columns, int64_t Kg, int64_t Cg, int64_t taps, float* dst, Get get) {
  if (columns) {
    pack_strips(Kg, taps, Cg, kNR, dst, [&](int64_t k, int64_t tap, int64_t c) { return get(k, c, tap); });
  } else {
    pack_strips(Kg, Cg, taps, kMR, dst, get);
  }
}

// Floats per group of weights packed by pack_group.
int64_t packed_group_floats(bool columns, int64_t Kg, int64_t Cg, int64_t taps) {
  return round_up(Kg, columns ? kNR : kMR) * Cg * taps;
}

// The weights of a channels_first plan as GEMM columns (for the channels_last form) or rows (for
// the phases form): `packed` when that is the role they were packed in, else packed from it on
// first use.
const float* weights_as(bool columns, const sk_plan& plan, const ConvProblem& p) {
  if (columns == plan.packed_as_columns) return plan.packed.data();
  std::call_once(plan.other_role_once, [&] {
    const bool from_columns = plan.packed_as_columns;
    const int from_width = from_columns ? kNR : kMR;
    const int64_t depth = p.Cg * p.taps;
    const int64_t stride = packed_group_floats(columns, p.Kg, p.Cg, p.taps);
    std::vector<float> other(static_cast<size_t>(stride * p.groups));
    for (int64_t group = 0; group < p.groups; ++group) {
      const float* from = plan.packed.data() + group * plan.group_stride;
      pack_group(columns, p.Kg, p.Cg, p.taps, other.data() + group * stride,
                 [&](int64_t k, int64_t c, int64_t tap) {
                   const int64_t i = from_columns ? tap * p.Cg + c : c * p.taps + tap;
                   return from[(k / from_width) * depth * from_width + i * from_width + k % from_width];
                 });
    }
    plan.packed_other_role = std::move(other);
  });
  return plan.packed_other_role.data();
}

// The role a channels_first plan packs its weights in before it has seen an input: deep layers,
// with many weights, usually have small outputs (ResNet's last stage: 7 x 7), which take the
// channels_last form; the others the phases form. A wrong guess costs one more packing on the
// first run, never a wrong result.
bool columns_suggested(const sk_conv_geometry& g, int64_t Kg, int64_t Cg, int64_t taps) {
  if (g.layout == SK_LAYOUT_CHANNELS_LAST) return true;
  return Kg >= kNR && Cg >= 8 && Kg * Cg * taps >= (int64_t{1} << 20);
}

// The channels_last copy of a channels_first input, as the problem `q` reads it: (C, pixels) ->
// (pixels, C). For a 1x1 kernel without padding q is the same convolution at
// stride 1 over only the pixels the strides land on, so a strided projection copies a quarter of
// its input (stride 2 in 2-D) instead of all of it.
ConvProblem channels_last_view(const ConvProblem& p) {
  ConvProblem q = p;
  q.channels_last = true;
  const bool pointwise = p.taps == 1 && p.pad[0] == 0 && p.pad[1] == 0 && p.pad[2] == 0;
  if (pointwise) {
    for (int d = 0; d < 3; ++d) {
      q.in[d] = p.out[d];
      q.stride[d] = 1;
    }
    q.in_pixels = p.out_pixels;
  }
  return q;
}

// One image: x is its (C, pixels) input, xt receives (pixels of q, C).
void transpose_input(const ConvProblem& p, const ConvProblem& q, const float* x, float* xt,
                     int threads) {
  constexpr int64_t kBlock = 64;  // pixels per task: their rows of xt stay in L1 while written
  const int64_t blocks = (q.in_pixels + kBlock - 1) / kBlock;
  ThreadPool::instance().parallel_for(blocks, [&](int64_t item, int) {
    const int64_t first = item * kBlock;
    const int64_t count = std::min(q.in_pixels - first, kBlock);
    // The input pixel each pixel of q reads, or kOutside where an end pad lets the output run past
    // the input (that pixel is zero).
    int64_t source[kBlock];
    const int64_t step[3] = {p.stride[0] / q.stride[0], p.stride[1] / q.stride[1],
                             p.stride[2] / q.stride[2]};
    for (int64_t i = 0; i < count; ++i) {
      const int64_t pixel = first + i;
      const int64_t w = pixel % q.in[2] * step[2], h = (pixel / q.in[2]) % q.in[1] * step[1];
      const int64_t d = pixel / (q.in[2] * q.in[1]) * step[0];
      source[i] = d < p.in[0] && h < p.in[1] && w < p.in[2] ? (d * p.in[1] + h) * p.in[2] + w
                                                            : kOutside;
    }
    const float* src = x;
    float* dst = xt + first * p.C;
    // Eight channels at a time: each pixel's row of xt gets 32 contiguous bytes per pass.
    constexpr int64_t kChannels = 8;
    int64_t c = 0;
    for (; c + kChannels <= p.C; c += kChannels) {
      const float* planes = src + c * p.in_pixels;
      for (int64_t i = 0; i < count; ++i) {
        float* row = dst + i * p.C + c;
        if (source[i] == kOutside) {
          for (int64_t j = 0; j < kChannels; ++j) row[j] = 0.f;
        } else {
          for (int64_t j = 0; j < kChannels; ++j) row[j] = planes[j * p.in_pixels + source[i]];
        }
      }
    }
    for (; c < p.C; ++c) {
      for (int64_t i = 0; i < count; ++i) {
        dst[i * p.C + c] = source[i] == kOutside ? 0.f : src[c * p.in_pixels + source[i]];
      }
    }
  }, threads);
}

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
  plan.packed_as_columns = columns_suggested(g, Kg, Cg, taps);
  plan.group_stride = packed_group_floats(plan.packed_as_columns, Kg, Cg, taps);
  plan.packed.resize(static_cast<size_t>(plan.group_stride * g.groups));
  for (int64_t group = 0; group < g.groups; ++group) {
    const float* w = weight + group * Kg * Cg * taps;  // (Kg, Cg, taps) of this group
    pack_group(plan.packed_as_columns, Kg, Cg, taps, plan.packed.data() + group * plan.group_stride,
               [&](int64_t k, int64_t c, int64_t tap) { return w[(k * Cg + c) * taps + tap]; });
  }
}

void run_forward_gemm(const sk_plan& plan, const ConvProblem& p, const float* x, float* y) {
  ThreadPool& pool = ThreadPool::instance();
  const int threads = multiply_adds(p) < kSerialMacs ? 1 : pool.size();
  const int64_t depth = p.Cg * p.taps;
  const int64_t outer = p.batch * p.groups;
  const float* bias = plan.bias.empty() ? nullptr : plan.bias.data();

  if (via_channels_last(p)) {
    // One image at a time, so its channels_last copy is still in cache when the tiles read it.
    const float* packed = weights_as(true, plan, p);
    const int64_t group_floats = packed_group_floats(true, p.Kg, p.Cg, p.taps);
    const ConvProblem q = channels_last_view(p);
    float* xt = thread_scratch(kScratchShared, static_cast<size_t>(p.C * q.in_pixels));
    const Blocking b = choose_blocking(p.out_pixels, p.Kg, p.groups, threads, true);
    for (int64_t image = 0; image < p.batch; ++image) {
      transpose_input(p, q, x + image * p.C * p.in_pixels, xt, threads);
      pool.parallel_for(p.groups * b.m_tiles * b.n_tiles, [&](int64_t item, int) {
        const Tile t = tile_at(b, item, p.groups);
        const int64_t group = t.group, row0 = t.row0, col0 = t.col0, mc = t.mc, nc = t.nc;
        const PatchesChannelsLast patches{q, xt + group * p.Cg};
        const PrepackedSource weights{packed + group * group_floats, depth, kNR};
        // The tile comes out pixels x channels; channels_first wants it the other way round,
        // which the epilogue writes strip by strip.
        TileEpilogue epilogue{bias ? bias + group * p.Kg + col0 : nullptr, false, p.activation,
                              y + (image * p.K + group * p.Kg + col0) * p.out_pixels + row0,
                              p.out_pixels};
        float* tile = thread_scratch(kScratchTile, static_cast<size_t>(mc * nc));
        float* a_scratch = thread_scratch(kScratchPackA, pack_scratch_floats(kMCMax, kMR));
        gemm_tile(plan.kernel, mc, nc, depth, patches, row0, weights, col0, tile, nc, epilogue,
                  a_scratch, nullptr);
      }, threads);
    }
    return;
  }

  if (!p.channels_last) {
    // One image at a time: split its input planes into bordered phases (one pass, in parallel),
    // so that packing the patches is contiguous copies, then run its tiles while the phases are
    // still in cache.
    const PhaseLayout phases(p);
    // The calling thread's shared scratch: one image's split planes, then the tap offsets.
    const int64_t split_floats = phases.identity ? 0 : round_up(p.C * phases.floats(), 16);
    float* split = thread_scratch(kScratchShared, static_cast<size_t>(split_floats + 2 * p.taps));
    int64_t* tap_at = reinterpret_cast<int64_t*>(split + split_floats);
    phases.tap_offsets(p, tap_at);
    const int64_t channel_stride = phases.identity ? p.in_pixels : phases.floats();
    const Blocking b = choose_blocking(p.Kg, p.out_pixels, p.groups, threads, false);
    const float* packed = weights_as(false, plan, p);
    const int64_t group_floats = packed_group_floats(false, p.Kg, p.Cg, p.taps);
    for (int64_t image = 0; image < p.batch; ++image) {
      const float* source = x + image * p.C * p.in_pixels;
      if (!phases.identity) {
        pool.parallel_for(p.C, [&](int64_t plane, int) {
          phases.split(p, source + plane * p.in_pixels, split + plane * phases.floats());
        }, threads);
        source = split;
      }
      pool.parallel_for(p.groups * b.m_tiles * b.n_tiles, [&](int64_t item, int) {
        const Tile t = tile_at(b, item, p.groups);
        const int64_t group = t.group, row0 = t.row0, col0 = t.col0, mc = t.mc, nc = t.nc;
        const PrepackedSource weights{packed + group * group_floats, depth, kMR};
        const PatchesChannelsFirst patches{p, phases, tap_at, source + group * p.Cg * channel_stride,
                                           channel_stride};
        float* out = y + (image * p.K + group * p.Kg + row0) * p.out_pixels + col0;
        TileEpilogue epilogue{bias ? bias + group * p.Kg + row0 : nullptr, true, p.activation};
        float* b_scratch = thread_scratch(kScratchPackB, pack_scratch_floats(nc, kNR));
        gemm_tile(plan.kernel, mc, nc, depth, weights, row0, patches, col0, out, p.out_pixels,
                  epilogue, nullptr, b_scratch);
      }, threads);
    }
    return;
  }

  const Blocking b = choose_blocking(p.out_pixels, p.Kg, outer, threads, true);
  pool.parallel_for(outer * b.m_tiles * b.n_tiles, [&](int64_t item, int) {
    const Tile t = tile_at(b, item, p.groups);
    const int64_t image = t.image, group = t.group, row0 = t.row0, col0 = t.col0, mc = t.mc, nc = t.nc;
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
