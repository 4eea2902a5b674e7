// The CPU backend's table: probe, plan creation (choose a path, pack the weights once), run, destroy.
#include <memory>
#include <string>

#include "backends/cpu/cpu_features.h"
#include "backends/cpu/cpu_plan.h"
#include "backends/cpu/thread_pool.h"
#include "stridekit/backend_guard.h"

namespace stridekit::cpu {
namespace {

constexpr char kName[] = "cpu";

void probe(sk_probe_result* result) {
  result->available = 1;
  result->reason[0] = '\0';
  const int threads = ThreadPool::instance().size();
  result->threads = threads;
  result->device_kind = SK_DEVICE_KIND_CPU;
  // bf16: the GEMM's AVX512-BF16 kernels (dot products of bf16 pairs into fp32 sums), only where the
  // processor has the instructions and STRIDEKIT_CPU_KERNELS does not cap them away.
  result->precisions = (1u << SK_PRECISION_FP32) |
                       (cpu_features().avx512_bf16 ? 1u << SK_PRECISION_BF16 : 0u);
  copy_text(result->device, sizeof(result->device),
               cpu_description() + ", " + std::to_string(threads) +
                   (threads == 1 ? " thread" : " threads"));
}

sk_plan::Path choose_path(const sk_conv_geometry& g) {
  if (g.transposed) return sk_plan::Path::kTransposedGemm;
  const int64_t Cg = g.in_channels / g.groups, Kg = g.out_channels / g.groups;
  // Depthwise with a small multiplier: a GEMM tile would be mostly padding.
  if (Cg == 1 && g.groups > 1 && Kg <= 4) return sk_plan::Path::kDepthwise;
  return sk_plan::Path::kForwardGemm;
}

sk_status plan_create(const sk_conv_geometry* geometry, const float* weight, const float* bias,
                      sk_plan** out, sk_error* error) {
  return guarded(kName, "packing the weights", error, [&] {
    auto plan = std::make_unique<sk_plan>();
    plan->geometry = *geometry;
    plan->path = choose_path(*geometry);
    plan->gemm = {select_microkernel(), select_pair_kernel()};
    plan->gemm.transpose = select_transpose_kernel();
    // bf16 is a permission: without AVX512-BF16 the plan runs float32, as for tf32 and fp16.
    if (geometry->precision == SK_PRECISION_BF16) {
      const Bf16Kernels bf16 = select_bf16_kernels();
      plan->gemm.bf16_convert = bf16.convert;
      plan->gemm.bf16_tile = bf16.tile;
      plan->gemm.bf16_indirect = bf16.indirect;
      plan->gemm.bf16_listed = bf16.listed;
      plan->gemm.bf16_interleave = bf16.interleave;
      plan->gemm.bf16_gather = bf16.gather;
    }
    if (!plan->gemm.bf16_tile) plan->gemm.indirect = select_indirect_kernel(), plan->gemm.listed = select_listed_kernel();
    plan->depthwise_rows = select_depthwise_rows_kernel();
    plan->depthwise_pixel = select_depthwise_pixel_kernel();
    if (bias && geometry->has_bias) plan->bias.assign(bias, bias + geometry->out_channels);
    switch (plan->path) {
      case sk_plan::Path::kForwardGemm: pack_forward_gemm(*plan, weight); break;
      case sk_plan::Path::kTransposedGemm: pack_transposed_gemm(*plan, weight); break;
      case sk_plan::Path::kDepthwise: pack_depthwise(*plan, weight); break;
    }
    *out = plan.release();
  });
}

sk_status plan_run(sk_plan* plan, const sk_conv_shape* shape, const float* x, float* y,
                   sk_error* error) {
  return guarded(kName, "run", error, [&] {
    const ConvProblem p = make_problem(plan->geometry, *shape);
    switch (plan->path) {
      case sk_plan::Path::kForwardGemm: run_forward_gemm(*plan, p, x, y); break;
      case sk_plan::Path::kTransposedGemm: run_transposed_gemm(*plan, p, x, y); break;
      case sk_plan::Path::kDepthwise: run_depthwise(*plan, p, x, y); break;
    }
  });
}

void plan_destroy(sk_plan* plan) { delete plan; }

const sk_backend kCpuBackend = {
    SK_BACKEND_ABI_VERSION, sizeof(sk_backend), "cpu", probe, plan_create, plan_run, plan_destroy,
    /* host memory: no device buffers */ nullptr, nullptr, nullptr, nullptr, nullptr,
};

}  // namespace
}  // namespace stridekit::cpu

// Compiled into the core, which declares this entry among its built-in backends.
SK_DEFINE_BACKEND_ENTRY_NAMED(stridekit_cpu_backend_entry, stridekit::cpu::kCpuBackend)
