// A CPU plan: the geometry, the weights packed once for the path this geometry takes, and the bias.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "backends/cpu/conv_problem.h"
#include "backends/cpu/large_pages.h"
#include "backends/cpu/microkernel.h"
#include "backends/cpu/shape_cache.h"
#include "stridekit/backend.h"

namespace stridekit::cpu {
struct ShapeOffsets;  // conv_forward.cc
}

struct sk_plan {
  enum class Path { kForwardGemm, kTransposedGemm, kDepthwise };

  sk_conv_geometry geometry;
  Path path;
  std::vector<float, stridekit::cpu::LargeAllocator<float>> packed;  // per group, group_stride floats apart
  int64_t group_stride = 0;
  // A channels_first forward layer runs its GEMM one of two ways depending on the input's size
  // (conv_forward.cc), each with the weights in another GEMM role. `packed` holds them in the role
  // the geometry suggests (packed_as_columns); the other role is packed from it on the first run
  // that needs it, once, even when runs race.
  bool packed_as_columns = false;
  mutable std::once_flag other_role_once;
  mutable std::vector<float, stridekit::cpu::LargeAllocator<float>> packed_other_role;
  // The weights as the direct path (direct.cc) reads them, [group][tap][c][k], unpacked from `packed`
  // on the first run whose geometry takes that path, once, even when runs race; empty until then.
  mutable std::once_flag direct_once;
  mutable std::vector<float> direct_weights;
  // Precision bf16 (gemm.bf16_tile set): the GEMM weights of each role, as rows (0) and as columns
  // (1), converted to bf16 pair strips on the first run that needs them, once, even when runs race.
  mutable std::once_flag bf16_once[2];
  mutable std::vector<stridekit::cpu::Bf16, stridekit::cpu::LargeAllocator<stridekit::cpu::Bf16>> bf16_weights[2];
  // With the bf16 indirect kernel (gemm.bf16_indirect), a channels_first layer's weights as columns in
  // depth pairs of two channels at one tap (conv_forward.cc bf16_channel_pairs), converted likewise.
  mutable std::once_flag bf16_pairs_once;
  mutable std::vector<stridekit::cpu::Bf16, stridekit::cpu::LargeAllocator<stridekit::cpu::Bf16>> bf16_channel_pairs;
  // The offsets a channels_first forward run's tiles read (conv_forward.cc), per image or band shape.
  stridekit::cpu::ShapeCache<stridekit::cpu::ShapeOffsets> shape_offsets;
  std::vector<float> bias;    // K values, or empty
  stridekit::cpu::GemmKernels gemm;
  stridekit::cpu::DepthwiseRowsKernel depthwise_rows;
  stridekit::cpu::DepthwisePixelKernel depthwise_pixel;
};

namespace stridekit::cpu {

// Below this many multiply-adds a convolution runs on the calling thread: waking the pool costs more.
constexpr int64_t kSerialMacs = 1 << 17;

// The multiply-adds a convolution's loops run, all taps counted (saturated: kSaturated when past int64).
int64_t multiply_adds(const ConvProblem& p);

void pack_forward_gemm(sk_plan& plan, const float* weight);
void pack_transposed_gemm(sk_plan& plan, const float* weight);
void pack_depthwise(sk_plan& plan, const float* weight);

void run_forward_gemm(const sk_plan& plan, const ConvProblem& p, const float* x, float* y);
void run_transposed_gemm(const sk_plan& plan, const ConvProblem& p, const float* x, float* y);
void run_depthwise(const sk_plan& plan, const ConvProblem& p, const float* x, float* y);

// A forward plan's weights (kForwardGemm or kDepthwise) read back from their packed layout into
// `direct`, [group][tap][c][k]: the one place besides the packing that knows that layout.
void unpack_forward_gemm(const sk_plan& plan, float* direct);
void unpack_depthwise(const sk_plan& plan, float* direct);

// Whether a forward layer runs as a direct convolution (direct.cc) instead of its plan's path.
bool runs_direct(const ConvProblem& p);

// A forward convolution (either forward plan path, either layout) output pixel by output pixel,
// over only the taps that land inside the input (direct.cc).
void run_direct(const sk_plan& plan, const ConvProblem& p, const float* x, float* y);

}  // namespace stridekit::cpu
