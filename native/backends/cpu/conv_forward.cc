// Forward convolution as packed GEMM with implicit im2col, per image and group:
//   channels_first: Y (Kg x pixels) = W (Kg x Cg*taps) * patches (Cg*taps x pixels), the patches
//                   read from the input's bordered stride phases (phases.h); or, for outputs with few
//                   pixels, Y^T (pixels x Kg) = patches^T * W^T from the same phases, each output tile
//                   transposed on its way out; deep layers take that form too where the indirect
//                   kernel (AVX-512) reads the patches where they lie, in the phases or, when no tap
//                   reads padding, in the input itself, which is then not split
//   channels_last:  Y (pixels x Kg) = patches (pixels x taps*Cg) * W (taps*Cg x Kg)
// Patches are otherwise packed from the input block by block, never materialised whole.
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "backends/cpu/cpu_plan.h"
#include "backends/cpu/gemm.h"
#include "backends/cpu/phases.h"
#include "backends/cpu/scratch.h"
#include "backends/cpu/thread_pool.h"

namespace stridekit::cpu {

namespace {

// An output pixel's first input coordinate, and the input offset of one of its taps (kOutside in
// the padding).
inline Origin origin_of(const ConvProblem& p, int64_t pixel) { return strided_origin(p, p.out, pixel); }

inline int64_t input_offset(const ConvProblem& p, const Origin& o, const TapOffset& t) {
  return offset_within(p.in, o, t);
}

// channels_first patches, depth = (c, tap) of one group, index = output pixel, packed in strips of
// Width pixels: kNR wide in the B role (Y = W * patches), kMR high in the A role (Y^T = patches^T *
// W^T). The input is read through its bordered stride phases (phases.h), where consecutive output
// pixels of one output row read consecutive floats and padding reads the border's zeros. Each
// strip is cut into such runs once per panel; a (run, depth) pair is then one contiguous copy.
template <int Width>
struct PhasePatches {
  const ConvProblem& p;
  const PhaseLayout& phases;
  const int64_t* tap_at;   // phases.tap_offsets()
  const float* x;          // the group's first channel, split into phases (or the plane itself)
  int64_t channel_stride;  // floats from one channel's phases to the next

  struct Run {
    int64_t pixel;  // phases.pixel_offset of the run's first pixel
    int64_t at;     // where its first lane starts in the packed strips, at depth 0 of the panel
    int64_t count;  // lanes
  };

  // Pixels [start, start + count) at depths [k0, k0 + kc), in strips of Width lanes of 32 bits each:
  // a float32 depth step per row of lanes, or a pair of bf16 steps. Strip s at dst + s * strip_stride.
  // Each run of pixels that share an output row goes to copy(first input, depth offsets, lanes, dst);
  // the last strip's unused lanes are zeroed (they multiply into results nobody stores).
  template <class T, class Copy>
  void pack_runs(int64_t start, int64_t count, int64_t k0, int64_t kc, T* dst, int64_t strip_stride, Copy copy) const {
    constexpr int64_t lane_values = sizeof(float) / sizeof(T);  // values of T in a lane: 1 float, 2 bf16
    const int64_t rows = (kc + lane_values - 1) / lane_values, row_values = Width * lane_values;
    const int64_t strips = (count + Width - 1) / Width;
    const int64_t max_runs = count + strips;
    const size_t index_bytes =
        static_cast<size_t>(max_runs) * sizeof(Run) + static_cast<size_t>(kc) * sizeof(int64_t);
    Run* runs = reinterpret_cast<Run*>(thread_scratch(kScratchIndex, index_bytes / sizeof(float) + 1));
    int64_t* source = reinterpret_cast<int64_t*>(runs + max_runs);  // per depth: its channel's tap
    int64_t run_count = 0;
    for (int64_t s = 0; s < strips; ++s) {
      const int64_t first = start + s * Width;
      const int64_t lanes = std::min<int64_t>(Width, start + count - first);
      for (int64_t lane = 0; lane < lanes;) {
        const int64_t pixel = first + lane;
        const int64_t ow = pixel % p.out[2], row = pixel / p.out[2];
        const int64_t n = std::min(lanes - lane, p.out[2] - ow);
        runs[run_count++] = {phases.pixel_offset(row / p.out[1], row % p.out[1], ow),
                             s * strip_stride + lane * lane_values, n};
        lane += n;
      }
      for (int64_t r = 0; lanes < Width && r < rows; ++r) {
        zero_values(dst + s * strip_stride + r * row_values + lanes * lane_values, (Width - lanes) * lane_values);
      }
    }
    for (int64_t k = 0, c = k0 / p.taps, tap = k0 % p.taps; k < kc; ++k) {
      source[k] = c * channel_stride + tap_at[tap];
      if (++tap == p.taps) tap = 0, ++c;
    }
    for (int64_t r = 0; r < run_count; ++r) copy(x + runs[r].pixel, source, runs[r].count, dst + runs[r].at);
  }

  // As float32 strips: depth k0 + k of strip s at dst + s * strip_stride + k * Width.
  void pack(int64_t start, int64_t count, int64_t k0, int64_t kc, float* dst, int64_t strip_stride) const {
    pack_runs(start, count, k0, kc, dst, strip_stride,
              [&](const float* from, const int64_t* depths, int64_t lanes, float* to) {
                gather_run(from, depths, kc, lanes, to, Width);
              });
  }

  // As bf16 pair strips, `strip_stride` values apart, converted as they are gathered
  // (GemmKernels::bf16_gather): no float32 strips to write and read back (converting them took 7% of
  // the stem's bf16 samples).
  void pack_bf16(const GemmKernels& kernels, int64_t start, int64_t count, int64_t k0, int64_t kc, Bf16* dst,
                 int64_t strip_stride) const {
    pack_runs(start, count, k0, kc, dst, strip_stride,
              [&](const float* from, const int64_t* depths, int64_t lanes, Bf16* to) {
                kernels.bf16_gather(from, depths, kc, lanes, to, Width);
              });
  }

  Panel panel(int64_t start, int64_t count, int64_t k0, int64_t kc, float* scratch) const {
    pack(start, count, k0, kc, scratch, kc * Width);
    return {scratch, kc * Width};
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

// Whether a channels_first layer reads its patches in place: where the plan's GEMM has an indirect
// kernel (float32 or bf16), pixel rows need no packing at all, each 6-pixel strip reading the phases
// where they lie, which packing column strips from them cannot match where a kernel has several taps
// (a 16-pixel strip that crosses an output row is two runs to copy, per tap). Its tiles then pay for
// writing each output transposed, a few cycles per output against depth / 16 cycles of FMAs, and for
// A's lines coming from L2 instead of a packed strip: deep layers with spatial kernels gain (ResNet's
// 3 x 3 stages, C3D, the Conformer's subsampling), 1 x 1 layers, whose columns pack as one copy per
// depth, and shallow ones (ResNet's stem, depth 147) run slower so. Output channels fill the strips.
constexpr int64_t kIndirectMinDepth = 256;

bool deep_in_place(const GemmKernels& kernels, int64_t Kg, int64_t Cg, int64_t taps) {
  return (kernels.indirect || kernels.bf16_indirect) && Kg >= kNR && taps > 1 && Cg * taps >= kIndirectMinDepth;
}

bool patches_in_place(const ConvProblem& p, const GemmKernels& kernels) {
  return !p.channels_last && deep_in_place(kernels, p.Kg, p.Cg, p.taps);
}

// Whether a channels_first layer runs its GEMM with pixels as rows (Y^T = patches^T * W^T) instead
// of as columns: when it reads its patches in place, which only rows can, and otherwise when 16-pixel
// column strips waste lanes, the output having few pixels (7 x 7: 64 lanes for 49 pixels), where
// 6-pixel row strips waste few and the output channels fill the 16-wide columns. Layers with few
// output channels keep pixels as columns.
bool pixels_as_rows(const ConvProblem& p, const GemmKernels& kernels) {
  if (p.channels_last || p.Kg < kNR) return false;
  if (patches_in_place(p, kernels)) return true;
  return 10 * round_up(p.out_pixels, kNR) > 11 * p.out_pixels;  // more than 10% of lanes wasted
}

// One group's weights (get(k, c, tap)) in GEMM form, in strips of `width` output channels: kMR
// high as the A operand (pixels as columns), kNR wide as the B operand (pixels as rows, and every
// channels_last layer). The depth is ordered as the patches are: (c, tap) for channels_first,
// whose patches come from per-channel phases, (tap, c) for channels_last, whose come in runs of
// channels.
template <class Get>
void pack_group(int width, bool channels_last, int64_t Kg, int64_t Cg, int64_t taps, float* dst,
                Get get) {
  if (channels_last) {
    pack_strips(Kg, taps, Cg, width, dst, [&](int64_t k, int64_t tap, int64_t c) { return get(k, c, tap); });
  } else {
    pack_strips(Kg, Cg, taps, width, dst, get);
  }
}

// The weights of a channels_first plan as the B operand (columns: pixels as rows) or the A operand
// (rows: pixels as columns): `packed` when that is the role they were packed in, else packed from
// it on first use.
const float* weights_as(bool columns, const sk_plan& plan, const ConvProblem& p) {
  if (columns == plan.packed_as_columns) return plan.packed.data();
  std::call_once(plan.other_role_once, [&] {
    const int from_width = plan.packed_as_columns ? kNR : kMR, width = columns ? kNR : kMR;
    const PackedLayout from_layout(p.Kg, p.Cg * p.taps, from_width);
    const int64_t stride = PackedLayout(p.Kg, p.Cg * p.taps, width).floats();
    std::vector<float, LargeAllocator<float>> other(static_cast<size_t>(stride * p.groups));
    for (int64_t group = 0; group < p.groups; ++group) {
      const float* from = plan.packed.data() + group * plan.group_stride;
      pack_group(width, false, p.Kg, p.Cg, p.taps, other.data() + group * stride,
                 [&](int64_t k, int64_t c, int64_t tap) {
                   return from[from_layout.at(k, c * p.taps + tap)];
                 });
    }
    plan.packed_other_role = std::move(other);
  });
  return plan.packed_other_role.data();
}

// With precision bf16, the weights of a forward GEMM plan in one role (`packed`, as weights_as gives
// them) as bf16 pair strips, converted on first use; null for float32 plans.
const Bf16* bf16_weights_as(bool columns, const sk_plan& plan, const ConvProblem& p, const float* packed) {
  if (!plan.gemm.bf16_tile) return nullptr;
  const int role = columns ? 1 : 0;
  std::call_once(plan.bf16_once[role], [&] {
    const PackedLayout layout(p.Kg, p.Cg * p.taps, columns ? kNR : kMR);
    const int64_t stride = bf16_layout(layout).floats();
    std::vector<Bf16, LargeAllocator<Bf16>> converted(static_cast<size_t>(stride * p.groups));
    for (int64_t group = 0; group < p.groups; ++group) {
      convert_packed(plan.gemm, packed + group * layout.floats(), layout, converted.data() + group * stride);
    }
    plan.bf16_weights[role] = std::move(converted);
  });
  return plan.bf16_weights[role].data();
}

// With the bf16 indirect kernel, a channels_first plan's weights as columns in the order the words of
// two channels hold its input (interleave_channel_pairs): depth pair (c / 2) * taps + tap holds the
// weights of channels c and c + 1 at that tap, an odd Cg's last pair zero in its second channel.
PackedLayout channel_pair_layout(const ConvProblem& p) {
  return PackedLayout(p.Kg, 2 * ((p.Cg + 1) / 2) * p.taps, kNR);
}

// Those weights as bf16 pair strips (channel_pair_layout, in bf16 values), converted from `packed`
// (weights_as columns) on first use, once, even when runs race.
const Bf16* bf16_channel_pairs(const sk_plan& plan, const ConvProblem& p, const float* packed) {
  std::call_once(plan.bf16_pairs_once, [&] {
    const PackedLayout from(p.Kg, p.Cg * p.taps, kNR), to = channel_pair_layout(p);
    std::vector<float> reordered(static_cast<size_t>(to.floats()));
    std::vector<Bf16, LargeAllocator<Bf16>> converted(static_cast<size_t>(to.floats() * p.groups));
    for (int64_t group = 0; group < p.groups; ++group) {
      const float* w = packed + group * from.floats();
      pack_strips(p.Kg, to.depth / 2, 2, kNR, reordered.data(), [&](int64_t k, int64_t pair, int64_t second) {
        const int64_t c = pair / p.taps * 2 + second, tap = pair % p.taps;
        return c < p.Cg ? w[from.at(k, c * p.taps + tap)] : 0.f;
      });
      convert_packed(plan.gemm, reordered.data(), to, converted.data() + group * to.floats());
    }
    plan.bf16_channel_pairs = std::move(converted);
  });
  return plan.bf16_channel_pairs.data();
}

// The role a plan packs its weights in before it has seen an input: channels_last layers always
// take them as columns. Deep channels_first layers run with pixels as rows where they read their
// patches in place (deep_in_place), or else when, with many weights, their outputs are small
// (ResNet's last stage: 7 x 7), and so take them as columns too; the others as rows. A wrong guess
// costs one more packing on the first run, never a wrong result.
bool columns_suggested(const sk_conv_geometry& g, const GemmKernels& kernels, int64_t Kg, int64_t Cg, int64_t taps) {
  if (g.layout == SK_LAYOUT_CHANNELS_LAST || deep_in_place(kernels, Kg, Cg, taps)) return true;
  return Kg >= kNR && Kg * Cg * taps >= (int64_t{1} << 20);
}

// The outermost spatial dimension with more than one output position: the one an image is cut
// along into bands.
int outermost_dimension(const ConvProblem& p) {
  for (int d = 0; d < 2; ++d) {
    if (p.out[d] > 1) return d;
  }
  return 2;
}

// Output rows (positions along dimension d) per band: all of them, unless the image's phases would
// exceed kBandBytes; then as many as keep a band's phases within it. The split scratch stays bounded
// (a video clip's phases would take hundreds of MB) and in the last-level cache while the band's
// tiles read it. Bands cost each a pass over the weights and their tiles are smaller, so they are
// as large as a last-level cache holds well: much smaller bands slow a large layer down.
constexpr int64_t kBandBytes = int64_t{8} << 20;

int64_t rows_per_band(const ConvProblem& p, const PhaseLayout& whole, int d) {
  const int64_t bytes = p.C * whole.floats() * static_cast<int64_t>(sizeof(float));
  if (whole.identity || bytes <= kBandBytes) return p.out[d];
  const int64_t rows = p.out[d] * kBandBytes / bytes;
  return std::max<int64_t>(rows, 4);
}

// Output rows [first, first + count) of dimension d as a convolution of their own: the input rows
// they read (none past the input), the begin pad left before the first, and where the band's input
// and output start within the image's planes (whose strides, p.in_pixels and p.out_pixels, stay).
struct Band {
  ConvProblem q;
  int64_t x_offset, y_offset;
};

Band band_of(const ConvProblem& p, int d, int64_t first, int64_t count) {
  Band band{p, 0, 0};
  ConvProblem& q = band.q;
  q.out[d] = std::min(count, p.out[d] - first);
  if (q.out[d] == p.out[d]) return band;
  const int64_t begin = first * p.stride[d] - p.pad[d];  // the first output's first tap
  const int64_t end = (first + q.out[d] - 1) * p.stride[d] - p.pad[d] + (p.kernel[d] - 1) * p.dilation[d] + 1;
  const int64_t lo = std::max<int64_t>(begin, 0), hi = std::min(end, p.in[d]);
  q.pad[d] = lo - begin;
  q.in[d] = std::max<int64_t>(hi - lo, 0);
  q.in_pixels = q.in[0] * q.in[1] * q.in[2];
  q.out_pixels = q.out[0] * q.out[1] * q.out[2];
  int64_t in_inner = 1, out_inner = 1;
  for (int e = d + 1; e < 3; ++e) in_inner *= p.in[e], out_inner *= p.out[e];
  band.x_offset = lo * in_inner;
  band.y_offset = first * out_inner;
  return band;
}

// The pixels-as-rows form's patch matrix, when it is small enough to pack whole before the tiles
// run: floats per group (of `layout`, the patches' PackedLayout), or 0 when it is packed tile by
// tile. That form's tiles split the output channels, so each would otherwise pack every pixel of
// every depth block again (ResNet l4: 49 x 4608, in runs of 1 to 6 pixels), once per thread.
constexpr int64_t kSharedPatchBytes = int64_t{8} << 20;

int64_t shared_patch_floats(const ConvProblem& q, bool rows, const PackedLayout& layout) {
  const int64_t floats = layout.floats();
  const bool fits = floats * q.groups * static_cast<int64_t>(sizeof(float)) <= kSharedPatchBytes;
  return rows && fits ? floats : 0;
}

// Whether every tap of every output pixel of q lies inside its input: no padding on either side
// ("valid" convolutions: the Conformer's subsampling, wav2vec2's feature encoder). The indirect
// kernel then reads the input planes as they are, at pixel and tap offsets that add up as the phases'
// do (input_offsets), and nothing is split: a strided tap only reads every stride-th float.
bool reads_inside(const ConvProblem& q) {
  for (int d = 0; d < 3; ++d) {
    if (q.pad[d] != 0 || (q.out[d] - 1) * q.stride[d] + (q.kernel[d] - 1) * q.dilation[d] >= q.in[d]) return false;
  }
  return true;
}

// Whether the indirect kernel reads q's input as it is, padding and all, its edge tiles (edge_tiles.h,
// exact) skipping every tap that reads padding, rather than a padded copy: where the input is small
// enough to stay in a core's L2 while the tiles read it (kInPlacePaddedBytes), and read often enough
// there, once per 64 output channels (kInPlaceMinChannels), for the copy to be pure cost. ResNet l4
// (0.4 MB, 512 channels) ran 1.02-1.07x faster so in float32, its input used again and again or
// rotated among eight, and a 3 x 3 stride-1 layer of 256 channels on 14 x 14 1.02x; one of 128
// channels on 28 x 28 (0.4 MB) ran 0.96x. A larger input is read from the L3 at the tiles' scattered
// pace, which a copy streaming it in order outruns: ResNet l2 (1.6 MB) ran 1.06x faster on one input
// used again and again, but 0.88x on eight in turn, and a batch of 8 on one thread per image
// 0.89-0.94x. (bf16 makes words of the input either way and ran within 2-3% both ways on every layer
// tried.) Each output pixel's first input position must lie inside the input, so that a tile's row
// pointers do too (tap offsets reach back from there to its kept taps), and an exact order must exist
// whose empty rows and lists stay small. `steps`: the kernel's depth steps, `block_steps` per block.
constexpr int64_t kInPlacePaddedBytes = int64_t{512} << 10;
constexpr int64_t kInPlaceMinChannels = 256;

bool skips_padding(const ConvProblem& q, int64_t steps, int64_t block_steps) {
  if (q.Kg < kInPlaceMinChannels) return false;
  if (q.C * q.in_pixels * static_cast<int64_t>(sizeof(float)) > kInPlacePaddedBytes) return false;
  for (int d = 0; d < 3; ++d) {
    if ((q.out[d] - 1) * q.stride[d] >= q.in[d]) return false;
  }
  return EdgeTiles(q, steps, block_steps, true).used();
}

// Where each output pixel of q (a band of p: its planes keep p's inner sizes) and each kernel tap read
// in an input plane, for a q that reads_inside or skips_padding: pixel + tap is the input offset of that
// tap of that pixel. A pixel's offset is that of its first tap without padding, inside the input; a
// tap's reaches back by the padding before it, so the taps in the padding, which edge tiles skip, would
// read before the pixel's row or plane.
void input_offsets(const ConvProblem& p, const ConvProblem& q, int64_t* pixel_at, int64_t* tap_at) {
  const int64_t row = p.in[2], plane = p.in[1] * p.in[2];
  for (int64_t od = 0; od < q.out[0]; ++od) {
    for (int64_t oh = 0; oh < q.out[1]; ++oh) {
      for (int64_t ow = 0; ow < q.out[2]; ++ow) {
        *pixel_at++ = od * q.stride[0] * plane + oh * q.stride[1] * row + ow * q.stride[2];
      }
    }
  }
  for (int64_t td = 0; td < q.kernel[0]; ++td) {
    for (int64_t th = 0; th < q.kernel[1]; ++th) {
      for (int64_t tw = 0; tw < q.kernel[2]; ++tw) {
        *tap_at++ = (td * q.dilation[0] - q.pad[0]) * plane + (th * q.dilation[1] - q.pad[1]) * row +
                    tw * q.dilation[2] - q.pad[2];
      }
    }
  }
}

// q seen at stride 1: its outputs spread out to every stride-th position of a grid that reaches as
// far. The one phase of this view is q's input inside the zero border that every tap needs. The
// indirect kernel reads patches where they lie at offsets that add up whatever the stride (a strided
// pixel is only further along a row), so it needs the padding, and no phases.
ConvProblem unit_stride_view(const ConvProblem& q) {
  ConvProblem view = q;
  for (int d = 0; d < 3; ++d) {
    view.out[d] = (q.out[d] - 1) * q.stride[d] + 1;
    view.stride[d] = 1;
  }
  view.out_pixels = view.out[0] * view.out[1] * view.out[2];
  return view;
}

// Whether the indirect kernel reads q padded (unit_stride_view) rather than split into phases: only
// where its taps read every phase, so that the padded copy moves no more floats than the split
// (strides longer than the kernel, or dilated taps, may skip phases, which the split does not write).
// bf16 then makes its words straight from the input, with no float32 copy between: ResNet's 3 x 3
// stages ran 3-10% faster so, C3D 21%, two threads. Float32 copies rows instead of deinterleaving
// them, which gained 1-2.5% on those stages and 9% on a 3-D layer of 8 x 28 x 28 (one thread); but
// over planes as large as C3D's (16 x 56 x 56) the kernel ran 4-5% slower reading them padded, for a
// reason not found, so float32 reads padded planes of at most kPaddedPlaneBytes only.
constexpr int64_t kPaddedPlaneBytes = int64_t{64} << 10;

bool reads_padded(const ConvProblem& q, const PhaseLayout& phases, bool bf16_words) {
  for (int d = 0; d < 3; ++d) {
    if (q.stride[d] > 1 && (q.dilation[d] != 1 || q.kernel[d] < q.stride[d])) return false;
  }
  const int64_t plane = PhaseLayout(unit_stride_view(q)).floats();
  return plane <= phases.floats() && (bf16_words || plane * static_cast<int64_t>(sizeof(float)) <= kPaddedPlaneBytes);
}

// The calling thread's shared scratch for one image or band q of p (run_channels_first), and the
// layouts it is sized from. In floats: its input planes split into phases, or padded (none when the
// split would be the identity, when the indirect kernel reads the input as it is, or when bf16 words
// are made from it directly), then the pixels-as-rows form's whole patch matrix, group after group
// (none when packed tile by tile or read in place), then, for the bf16 indirect kernel, the planes
// (phases, padded or the input) as words of two channels, each rounded up to 16 floats; then the tap
// offsets (int64), unless the indirect kernel reads the patches in place, whose offsets are the
// plan's, per shape (ShapeOffsets).
struct SharedScratch {
  bool indirect;         // pixels as rows, read in place by GemmKernels::indirect or bf16_indirect
  bool bf16_pairs;       // by bf16_indirect, from words of two channels
  bool exact_edges;      // the input read as it is, edge tiles skipping its padding (skips_padding)
  bool unsplit;          // the input read as it is: no phases to split it into (reads_inside, exact_edges)
  bool padded;           // read padded: `view` is q's unit_stride_view, its one phase the padded input
  ConvProblem view;      // what the planes are laid out for: q, or its unit-stride view
  PhaseLayout phases;
  PackedLayout patch_layout;
  int64_t channel_stride;  // floats from one channel's planes (split, padded or not) to the next
  int64_t patch_floats;  // per group (shared_patch_floats): 0 when the patches are packed tile by tile
  int64_t split, patches, words;

  SharedScratch(const ConvProblem& p, const ConvProblem& q, bool rows, const GemmKernels& kernels)
      : indirect(rows && patches_in_place(q, kernels)),
        bf16_pairs(indirect && kernels.bf16_indirect),
        exact_edges(indirect && !reads_inside(q) && skips_padding(q, depth_steps(q), depth_block_steps())),
        unsplit(indirect && (reads_inside(q) || exact_edges)),
        padded(indirect && !unsplit && reads_padded(q, PhaseLayout(q), bf16_pairs)),
        view(padded ? unit_stride_view(q) : q),
        phases(view),
        patch_layout(q.out_pixels, q.Cg * q.taps, kMR),
        channel_stride(unsplit || phases.identity ? p.in_pixels : phases.floats()),
        patch_floats(indirect ? 0 : shared_patch_floats(q, rows, patch_layout)),
        split(unsplit || phases.identity || (padded && bf16_pairs) ? 0 : round_up(q.C * phases.floats(), 16)),
        patches(round_up(patch_floats * q.groups, 16)),
        words(bf16_pairs ? round_up(q.groups * channel_pairs(q) * channel_stride, 16) : 0) {
    unsplit = unsplit || phases.identity;  // a split that would copy the planes unchanged is skipped too
  }

  static int64_t channel_pairs(const ConvProblem& q) { return (q.Cg + 1) / 2; }
  // The indirect kernel's depth steps per group: (channel, tap), or (channel pair, tap) from words;
  // and per depth block.
  int64_t depth_steps(const ConvProblem& q) const { return (bf16_pairs ? channel_pairs(q) : q.Cg) * q.taps; }
  int64_t depth_block_steps() const { return bf16_pairs ? kKC / 2 : kKC; }
  int64_t floats(const ConvProblem& q) const { return split + patches + words + (indirect ? 0 : 2 * q.taps); }
};

// The planes a bf16 indirect tile reads (the phases, or the input itself when unsplit), as words of
// two channels: channels 2 P and 2 P + 1 of a group (the second zero past an odd Cg) at words +
// (group * channel_pairs + P) * channel_stride. Unsplit, the words cover a band's planes from its
// first input row to its last, all that input_offsets reaches.
void interleave_channel_pairs(const GemmKernels& kernels, const ConvProblem& p, const ConvProblem& q,
                              const SharedScratch& scratch, const float* source, uint32_t* words, int threads) {
  const int64_t pairs = SharedScratch::channel_pairs(q), stride = scratch.channel_stride;
  const int64_t span = scratch.unsplit ? ((q.in[0] - 1) * p.in[1] + q.in[1] - 1) * p.in[2] + q.in[2] : stride;
  parallel_runs(q.groups * pairs, threads, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t group = item / pairs, pair = item % pairs;
      const float* first = source + (group * q.Cg + 2 * pair) * stride;
      kernels.bf16_interleave(first, 2 * pair + 1 < q.Cg ? first + stride : nullptr, span, words + item * stride);
    }
  });
}

// With scratch.padded, the same words made straight from the input planes x (p.in_pixels apart; q's
// rows, as PhaseLayout::split reads them) into the padded layout: each input row interleaved into its
// place, zeros around, in one pass.
void interleave_padded_pairs(const GemmKernels& kernels, const ConvProblem& p, const ConvProblem& q,
                             const SharedScratch& scratch, const float* x, uint32_t* words, int threads) {
  const PhaseLayout& layout = scratch.phases;
  const int64_t pairs = SharedScratch::channel_pairs(q);
  const int64_t row = layout.extent[2], slab = layout.extent[1] * row;
  parallel_runs(q.groups * pairs, threads, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t group = item / pairs, pair = item % pairs;
      const float* first = x + (group * q.Cg + 2 * pair) * p.in_pixels;
      const float* second = 2 * pair + 1 < q.Cg ? first + p.in_pixels : nullptr;
      uint32_t* plane = words + item * scratch.channel_stride;
      zero_around(plane, layout.border[0], q.in[0], layout.extent[0], slab);
      for (int64_t jd = 0; jd < q.in[0]; ++jd) {
        uint32_t* rows = plane + (layout.border[0] + jd) * slab;
        zero_around(rows, layout.border[1], q.in[1], layout.extent[1], row);
        for (int64_t jh = 0; jh < q.in[1]; ++jh) {
          uint32_t* dst = rows + (layout.border[1] + jh) * row;
          const int64_t at = (jd * q.in[1] + jh) * q.in[2];
          zero_around(dst, layout.border[2], q.in[2], layout.extent[2], 1);
          kernels.bf16_interleave(first + at, second ? second + at : nullptr, q.in[2], dst + layout.border[2]);
        }
      }
    }
  });
}

// Whether a batch runs whole images on each thread, each image on one thread from its split to its
// last tile, instead of each image on all threads in turn. An image then waits at no barrier between
// its split and its tiles, and threads splitting their images (bound by memory) overlap with threads
// multiplying theirs (bound by the FMA units), which shortens a batch of small images.
// But every thread then keeps an image's shared scratch in its own, so only images whose scratch
// takes at most kImagePerThreadBytes run so; larger ones keep all threads on one image.
constexpr int64_t kImagePerThreadBytes = int64_t{4} << 20;

bool whole_images_per_thread(const ConvProblem& p, bool rows, const GemmKernels& kernels) {
  const SharedScratch scratch(p, p, rows, kernels);
  return scratch.floats(p) * static_cast<int64_t>(sizeof(float)) <= kImagePerThreadBytes;
}

}  // namespace

// The offsets the indirect kernel's tiles of one image or band q of p read in its planes (split,
// padded or the input, as `scratch` lays them out): every tap's, every output pixel's and every depth
// step's (a channel's tap, or a channel pair's), and the order of its rows when its edge pixels take
// tiles of their own (edge_tiles.h). They follow from the shape alone, so a plan keeps them per shape
// (sk_plan::shape_offsets): built on every call, on the calling thread while the others wait, they
// took 16 µs of ResNet l4's 1.1 ms, a 7 x 7 output of 4608 depth steps with edge tiles. Other layers
// read only the tap offsets, fewer than a lookup costs, and build them on every call.
struct ShapeOffsets {
  std::vector<int64_t> values;  // tap_at, pixel_at, depth_at, then the edge tiles'
  EdgeTiles edges;              // unused unless built
  int64_t taps = 0, pixels = 0;

  const int64_t* tap_at() const { return values.data(); }
  const int64_t* pixel_at() const { return values.data() + taps; }
  const int64_t* depth_at() const { return pixel_at() + pixels; }
  // The indirect GEMM's rows: the pixels in their order, or reordered with the edge rows apart.
  const EdgeTiles* used_edges() const { return edges.used() ? &edges : nullptr; }
  const int64_t* row_at() const { return edges.used() ? edges.row_at() : pixel_at(); }
};

namespace {

std::shared_ptr<const ShapeOffsets> build_offsets(const ConvProblem& p, const ConvProblem& q,
                                                  const SharedScratch& scratch) {
  auto offsets = std::make_shared<ShapeOffsets>();
  const int64_t steps = scratch.depth_steps(q);
  offsets->edges = EdgeTiles(q, steps, scratch.depth_block_steps(), scratch.exact_edges);
  offsets->taps = q.taps;
  offsets->pixels = q.out_pixels;
  const int64_t edge_values = offsets->edges.used() ? offsets->edges.values() : 0;
  offsets->values.resize(static_cast<size_t>(q.taps + offsets->pixels + steps + edge_values));
  int64_t* tap_at = offsets->values.data();
  int64_t* pixel_at = tap_at + q.taps;
  int64_t* depth_at = pixel_at + offsets->pixels;
  const PhaseLayout& phases = scratch.phases;
  if (scratch.unsplit && !phases.identity) {
    input_offsets(p, q, pixel_at, tap_at);
  } else {
    phases.tap_offsets(scratch.view, tap_at);
    // Split, output pixel o reads at index o of every phase; padded, at index o * stride of the one.
    const int64_t sd = scratch.padded ? q.stride[0] : 1, sh = scratch.padded ? q.stride[1] : 1,
                  sw = scratch.padded ? q.stride[2] : 1;
    for (int64_t pixel = 0, od = 0, oh = 0, ow = 0; pixel < q.out_pixels; ++pixel) {
      pixel_at[pixel] = phases.pixel_offset(od * sd, oh * sh, ow * sw);
      if (++ow < q.out[2]) continue;
      ow = 0;
      if (++oh == q.out[1]) oh = 0, ++od;
    }
  }
  // Depth step (c, tap) at c's plane, or, from words, depth pair (c / 2, tap) at that pair's plane.
  for (int64_t k = 0, c = 0, tap = 0; k < steps; ++k) {
    depth_at[k] = c * scratch.channel_stride + tap_at[tap];
    if (++tap == q.taps) tap = 0, ++c;
  }
  if (edge_values > 0) offsets->edges.build(depth_at + steps, pixel_at, depth_at);
  return offsets;
}

// One image, or one band of it (q; p is the whole image, whose plane strides q's input and output
// keep): split its input planes into bordered phases (one pass, in parallel), so that packing the
// patches is contiguous copies, or, for the indirect kernel, pad them or leave them as they are
// (SharedScratch), then run its tiles while the planes are still in cache. Where the patch matrix is
// packed whole (shared_patch_floats), the same tasks that split a run of planes pack their depths.
void run_channels_first(const sk_plan& plan, const ConvProblem& p, const ConvProblem& q, bool rows,
                        const float* packed, const Bf16* packed_bf16, const float* x, float* y,
                        int threads) {
  ThreadPool& pool = ThreadPool::instance();
  const int64_t depth = q.Cg * q.taps;
  const float* bias = plan.bias.empty() ? nullptr : plan.bias.data();
  const SharedScratch scratch(p, q, rows, plan.gemm);
  const PhaseLayout& phases = scratch.phases;
  const PackedLayout& patch_layout = scratch.patch_layout;
  const int64_t patch_floats = scratch.patch_floats;
  float* split = thread_scratch(kScratchShared, static_cast<size_t>(scratch.floats(q)));
  float* patches = split + scratch.split;
  uint32_t* words = reinterpret_cast<uint32_t*>(patches + scratch.patches);
  const float* source = scratch.unsplit ? x : split;
  const int64_t channel_stride = scratch.channel_stride;
  // The offsets the tiles read: the plan's for this shape where the indirect kernel reads the patches
  // in place (ShapeOffsets), else only the taps', made here in the scratch.
  std::shared_ptr<const ShapeOffsets> offsets;
  const int64_t* tap_at;
  if (scratch.indirect) {
    // Keyed without the batch: the tables are per image, whatever the batch size.
    ConvProblem image = p, band = q;
    image.batch = band.batch = 1;
    offsets = plan.shape_offsets.get(image, band, [&] { return build_offsets(p, q, scratch); });
    tap_at = offsets->tap_at();
  } else {
    int64_t* taps = reinterpret_cast<int64_t*>(words + scratch.words);
    phases.tap_offsets(scratch.view, taps);
    tap_at = taps;
  }
  const int64_t* depth_at = offsets ? offsets->depth_at() : nullptr;
  const EdgeTiles* edges = offsets ? offsets->used_edges() : nullptr;
  const int64_t* row_at = offsets ? offsets->row_at() : nullptr;
  if (scratch.split > 0 || patch_floats > 0) {
    // Runs of planes: small planes (14 x 14) are many and quick, and each split call sets its
    // phases up again.
    parallel_runs(q.C, threads, [&](int64_t begin, int64_t end) {
      if (scratch.split > 0) {
        phases.split(scratch.view, x + begin * p.in_pixels, p.in_pixels, split + begin * phases.floats(),
                     end - begin);
      }
      // The run's channels' depths, group by group and depth block by depth block.
      for (int64_t c = begin; patch_floats > 0 && c < end;) {
        const int64_t group = c / q.Cg, stop = std::min(end, (group + 1) * q.Cg);
        const PhasePatches<kMR> group_patches{q, phases, tap_at, source + group * q.Cg * channel_stride,
                                              channel_stride};
        for (int64_t k = (c - group * q.Cg) * q.taps, k_end = (stop - group * q.Cg) * q.taps; k < k_end;) {
          const int64_t k0 = k - k % kKC, kc = std::min(k_end, k0 + kKC) - k;
          group_patches.pack(0, q.out_pixels, k, kc,
                             patches + group * patch_floats + patch_layout.strip(0, k0) + (k - k0) * kMR,
                             std::min(kKC, depth - k0) * kMR);
          k += kc;
        }
        c = stop;
      }
    });
  }
  if (scratch.bf16_pairs && scratch.padded) {
    interleave_padded_pairs(plan.gemm, p, q, scratch, x, words, threads);
  } else if (scratch.bf16_pairs) {
    interleave_channel_pairs(plan.gemm, p, q, scratch, source, words, threads);
  }
  const PackedLayout weight_layout(q.Kg, depth, rows ? kNR : kMR);
  const int64_t bf16_group_stride = bf16_layout(weight_layout).floats();
  Blocking b = rows ? choose_blocking(edges ? edges->rows() : q.out_pixels, q.Kg, q.groups, threads, true)
                    : choose_blocking(q.Kg, q.out_pixels, q.groups, threads, false);
  if (edges) {
    int64_t* cuts = reinterpret_cast<int64_t*>(thread_scratch(kScratchCuts, static_cast<size_t>(2 * (b.m_tiles + 1))));
    edges->row_cuts(b.m_tiles, cuts);
    b.row_cuts = cuts;
  }
  const int64_t out_stride = p.out_pixels;  // floats from one output channel to the next
  pool.parallel_for(q.groups * b.m_tiles * b.n_tiles, [&](int64_t item, int) {
    const Tile t = tile_at(b, item, q.groups);
    const float* group_x = source + t.group * q.Cg * channel_stride;
    const PrepackedSource weights{packed + t.group * weight_layout.floats(), weight_layout,
                                  packed_bf16 ? packed_bf16 + t.group * bf16_group_stride : nullptr};
    const float* group_bias = bias ? bias + t.group * q.Kg : nullptr;
    float* group_y = y + t.group * q.Kg * out_stride;
    if (rows) {
      // The tile comes out pixels x channels; the epilogue writes it transposed, strip by strip (its
      // rows to their pixels' places when reordered).
      TileEpilogue epilogue{group_bias ? group_bias + t.col0 : nullptr, false, q.activation,
                            group_y + t.col0 * out_stride + (edges ? 0 : t.row0), out_stride,
                            edges ? edges->pixel_of() + t.row0 : nullptr};
      float* tile = thread_scratch(kScratchTile, static_cast<size_t>(t.mc * t.nc));
      if (scratch.bf16_pairs) {
        const int64_t group_words = t.group * SharedScratch::channel_pairs(q) * channel_stride;
        const PackedLayout pair_layout = channel_pair_layout(q);
        gemm_tile_indirect_bf16(plan.gemm, t.mc, t.nc, IndirectPairSource{words + group_words, row_at, depth_at, edges},
                                t.row0, packed_bf16 + t.group * pair_layout.floats(), pair_layout, t.col0, tile,
                                t.nc, epilogue);
      } else if (scratch.indirect) {
        gemm_tile_indirect(plan.gemm, t.mc, t.nc, depth, IndirectSource{group_x, row_at, depth_at, edges}, t.row0,
                           weights, t.col0, tile, t.nc, epilogue, nullptr);
      } else if (patch_floats > 0) {
        const PrepackedSource group_patches{patches + t.group * patch_floats, patch_layout};
        gemm_tile(plan.gemm, t.mc, t.nc, depth, group_patches, t.row0, weights, t.col0, tile, t.nc,
                  epilogue, nullptr, nullptr);
      } else {
        const PhasePatches<kMR> group_patches{q, phases, tap_at, group_x, channel_stride};
        float* a_scratch = thread_scratch(kScratchPackA, pack_scratch_floats(kMCMax, kMR));
        gemm_tile(plan.gemm, t.mc, t.nc, depth, group_patches, t.row0, weights, t.col0, tile, t.nc,
                  epilogue, a_scratch, nullptr);
      }
    } else {
      const PhasePatches<kNR> group_patches{q, phases, tap_at, group_x, channel_stride};
      TileEpilogue epilogue{group_bias ? group_bias + t.row0 : nullptr, true, q.activation};
      float* b_scratch = thread_scratch(kScratchPackB, pack_scratch_floats(t.nc, kNR));
      gemm_tile(plan.gemm, t.mc, t.nc, depth, weights, t.row0, group_patches, t.col0,
                group_y + t.row0 * out_stride + t.col0, out_stride, epilogue, nullptr, b_scratch);
    }
  }, threads);
}

}  // namespace

int64_t multiply_adds(const ConvProblem& p) {
  const int64_t pixels = p.transposed ? p.in_pixels : p.out_pixels;
  // batch * K * pixels is at most an output's (forward) or input's (transposed) size, Cg * taps at
  // most a weight's; their product can pass int64 only for sizes no run would finish, but saturates.
  return mul_saturated(p.batch * p.K * pixels, p.Cg * p.taps);
}

void pack_forward_gemm(sk_plan& plan, const float* weight) {
  const sk_conv_geometry& g = plan.geometry;
  const int64_t Cg = g.in_channels / g.groups, Kg = g.out_channels / g.groups;
  int64_t taps = 1;
  for (int d = 0; d < g.rank; ++d) taps *= g.kernel[d];
  plan.packed_as_columns = columns_suggested(g, plan.gemm, Kg, Cg, taps);
  const int width = plan.packed_as_columns ? kNR : kMR;
  plan.group_stride = PackedLayout(Kg, Cg * taps, width).floats();
  plan.packed.resize(static_cast<size_t>(plan.group_stride * g.groups));
  for (int64_t group = 0; group < g.groups; ++group) {
    const float* w = weight + group * Kg * Cg * taps;  // (Kg, Cg, taps) of this group
    pack_group(width, g.layout == SK_LAYOUT_CHANNELS_LAST, Kg, Cg, taps,
               plan.packed.data() + group * plan.group_stride,
               [&](int64_t k, int64_t c, int64_t tap) { return w[(k * Cg + c) * taps + tap]; });
  }
}

void unpack_forward_gemm(const sk_plan& plan, float* direct) {
  const sk_conv_geometry& g = plan.geometry;
  const int64_t Cg = g.in_channels / g.groups, Kg = g.out_channels / g.groups;
  int64_t taps = 1;
  for (int d = 0; d < g.rank; ++d) taps *= g.kernel[d];
  const bool channels_last = g.layout == SK_LAYOUT_CHANNELS_LAST;
  // plan.packed keeps the role it was packed in (pack_forward_gemm); weights_as() only adds the other.
  const PackedLayout layout(Kg, Cg * taps, plan.packed_as_columns ? kNR : kMR);
  for (int64_t group = 0; group < g.groups; ++group) {
    const float* from = plan.packed.data() + group * plan.group_stride;
    for (int64_t tap = 0; tap < taps; ++tap) {
      for (int64_t c = 0; c < Cg; ++c) {
        const int64_t depth = channels_last ? tap * Cg + c : c * taps + tap;  // as pack_group orders it
        for (int64_t k = 0; k < Kg; ++k) *direct++ = from[layout.at(k, depth)];
      }
    }
  }
}

void run_forward_gemm(const sk_plan& plan, const ConvProblem& p, const float* x, float* y) {
  // Strides, pads or dilations so far beyond the input that most taps read padding (runs_direct),
  // asked of the layout that rows_per_band sizes the bands by: one layout for both.
  const PhaseLayout whole(p);
  if (!whole.bounded(p)) return run_direct(plan, p, x, y);
  ThreadPool& pool = ThreadPool::instance();
  const int threads = multiply_adds(p) < kSerialMacs ? 1 : pool.size();
  const int64_t depth = p.Cg * p.taps;
  const float* bias = plan.bias.empty() ? nullptr : plan.bias.data();

  if (p.channels_last) {
    const Blocking b = choose_blocking(p.out_pixels, p.Kg, p.batch * p.groups, threads, true);
    const PackedLayout weight_layout(p.Kg, depth, kNR);
    const Bf16* packed_bf16 = bf16_weights_as(true, plan, p, plan.packed.data());
    const int64_t bf16_group_stride = bf16_layout(weight_layout).floats();
    pool.parallel_for(p.batch * p.groups * b.m_tiles * b.n_tiles, [&](int64_t item, int) {
      const Tile t = tile_at(b, item, p.groups);
      const PatchesChannelsLast patches{p, x + t.image * p.in_pixels * p.C + t.group * p.Cg};
      const PrepackedSource weights{
          plan.packed.data() + t.group * plan.group_stride, weight_layout,
          packed_bf16 ? packed_bf16 + t.group * bf16_group_stride : nullptr};
      float* out = y + (t.image * p.out_pixels + t.row0) * p.K + t.group * p.Kg + t.col0;
      TileEpilogue epilogue{bias ? bias + t.group * p.Kg + t.col0 : nullptr, false, p.activation};
      float* a_scratch = thread_scratch(kScratchPackA, pack_scratch_floats(kMCMax, kMR));
      gemm_tile(plan.gemm, t.mc, t.nc, depth, patches, t.row0, weights, t.col0, out, p.K, epilogue,
                a_scratch, nullptr);
    }, threads);
    return;
  }

  // channels_first: small images dealt out whole to the threads (whole_images_per_thread), as many
  // as divide evenly; the others one at a time on all threads. Each image runs in bands of output
  // rows where its phases would not stay in cache (rows_per_band), each band split into phases first.
  const bool rows = pixels_as_rows(p, plan.gemm);
  const float* packed = weights_as(rows, plan, p);
  // With the bf16 indirect kernel, pixels as rows take the weights in channel pairs (run_channels_first).
  const Bf16* packed_bf16 = plan.gemm.bf16_indirect && patches_in_place(p, plan.gemm)
                                ? bf16_channel_pairs(plan, p, packed)
                                : bf16_weights_as(rows, plan, p, packed);
  const int band_dimension = outermost_dimension(p);
  const int64_t band_rows = rows_per_band(p, whole, band_dimension);
  auto run_image = [&](int64_t image, int image_threads) {
    for (int64_t first = 0; first < p.out[band_dimension]; first += band_rows) {
      const Band band = band_of(p, band_dimension, first, band_rows);
      run_channels_first(plan, p, band.q, rows, packed, packed_bf16,
                         x + image * p.C * p.in_pixels + band.x_offset,
                         y + image * p.K * p.out_pixels + band.y_offset, image_threads);
    }
  };
  int64_t image = 0;
  if (threads > 1 && p.batch >= threads && whole_images_per_thread(p, rows, plan.gemm)) {
    const int64_t dealt = p.batch / threads * threads;
    pool.parallel_for(dealt, [&](int64_t i, int) { run_image(i, 1); }, threads);
    image = dealt;
  }
  for (; image < p.batch; ++image) run_image(image, threads);
}

}  // namespace stridekit::cpu
