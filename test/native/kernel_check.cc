// Every CPU inner kernel this build can run on this processor, checked alone against a float64
// reference: the GEMM micro-kernels (every tile height and width, accumulating or not, each
// epilogue) and the depthwise row kernels (every row length up to 70, 1 to 27 taps). Built and run
// by test/cpu-kernels.test.js, for the host and, under qemu, for arm64: the NEON kernels cannot run
// on an x86-64 machine any other way. Writes past a tile's edge are caught by guard values.
// Prints one line per kernel and exits 1 on the first mismatch.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/cpu_features.h"
#include "backends/cpu/microkernel.h"

using namespace stridekit::cpu;

namespace {

constexpr float kGuard = -12345.f;
std::mt19937 random_engine(20261123);

float uniform() { return std::uniform_real_distribution<float>(-1.f, 1.f)(random_engine); }

bool close(double got, double want, double scale) {
  return std::fabs(got - want) <= 1e-5 * scale + 1e-6;
}

[[noreturn]] void fail(const std::string& kernel, const std::string& what) {
  std::printf("FAIL %s: %s\n", kernel.c_str(), what.c_str());
  std::exit(1);
}

double activate(int activation, double v) {
  if (activation == SK_ACTIVATION_RELU) return v > 0 ? v : 0;
  if (activation == SK_ACTIVATION_RELU6) return v > 0 ? (v < 6 ? v : 6) : 0;
  return v;
}

int check_gemm(const std::string& name, MicroKernel kernel) {
  int cases = 0;
  const int64_t depths[] = {1, 2, 7, 64, 384};
  const int activations[] = {SK_ACTIVATION_NONE, SK_ACTIVATION_RELU, SK_ACTIVATION_RELU6};
  for (int64_t kc : depths) {
    for (int mr = 1; mr <= kMR; ++mr) {
      for (int nr = 1; nr <= kNR; ++nr) {
        for (int variant = 0; variant < 8; ++variant) {
          const bool accumulate = variant & 1;
          const int epilogue = variant >> 1;  // 0: none, 1: row bias, 2: column bias, 3: no bias
          const int activation = activations[(kc + mr + nr + variant) % 3];
          std::vector<float> a(kc * kMR), b(kc * kNR);
          for (float& v : a) v = uniform();
          for (float& v : b) v = uniform();
          // Exactly mr or nr bias values, at the end of their array: reading more is a bug the
          // values past it (guards) would show.
          std::vector<float> bias(kNR + kMR, kGuard);
          const int bias_count = epilogue == 1 ? mr : nr;
          float* bias_values = bias.data() + bias.size() - bias_count;
          for (int i = 0; i < bias_count; ++i) bias_values[i] = uniform();
          const KernelEpilogue last{epilogue == 1 || epilogue == 2 ? bias_values : nullptr, epilogue == 1,
                                    activation};
          const bool has_last = epilogue != 0 || activation != SK_ACTIVATION_NONE;
          const int64_t ldc = kNR + 3;
          std::vector<float> c((kMR + 1) * ldc, kGuard);
          for (int i = 0; i < mr; ++i) {
            for (int j = 0; j < nr; ++j) c[i * ldc + j] = uniform();
          }
          const std::vector<float> before = c;
          kernel(kc, a.data(), b.data(), c.data(), ldc, mr, nr, accumulate, has_last ? &last : nullptr);
          for (int i = 0; i <= kMR; ++i) {
            for (int j = 0; j < ldc; ++j) {
              const float got = c[i * ldc + j];
              if (i >= mr || j >= nr) {
                if (got != kGuard) fail(name, "wrote outside its " + std::to_string(mr) + "x" + std::to_string(nr) + " tile");
                continue;
              }
              double want = accumulate ? before[i * ldc + j] : 0.0, scale = 1.0;
              for (int64_t k = 0; k < kc; ++k) {
                want += static_cast<double>(a[k * kMR + i]) * b[k * kNR + j];
                scale += std::fabs(a[k * kMR + i] * b[k * kNR + j]);
              }
              if (has_last && last.bias) want += last.bias[last.bias_per_row ? i : j];
              if (has_last) want = activate(activation, want);
              if (!close(got, want, scale)) {
                fail(name, "kc " + std::to_string(kc) + " tile " + std::to_string(mr) + "x" + std::to_string(nr) +
                               " variant " + std::to_string(variant) + " at (" + std::to_string(i) + ", " +
                               std::to_string(j) + "): " + std::to_string(got) + " != " + std::to_string(want));
              }
            }
          }
          ++cases;
        }
      }
    }
  }
  return cases;
}

int check_row(const std::string& name, DepthwiseRowKernel kernel) {
  int cases = 0;
  for (int64_t taps = 1; taps <= 27; taps += 13) {
    for (int64_t count = 1; count <= 70; ++count) {
      std::vector<float> src(4 * (count + 64)), w(taps);
      for (float& v : src) v = uniform();
      for (float& v : w) v = uniform();
      std::vector<int64_t> tap_at(taps);
      for (int64_t t = 0; t < taps; ++t) tap_at[t] = static_cast<int64_t>(random_engine() % (3 * (count + 64) - count));
      const float bias = uniform();
      std::vector<float> dst(count + 8, kGuard);
      kernel(src.data(), tap_at.data(), w.data(), taps, bias, count, dst.data());
      for (int64_t i = 0; i < count + 8; ++i) {
        if (i >= count) {
          if (dst[i] != kGuard) fail(name, "wrote past a row of " + std::to_string(count));
          continue;
        }
        double want = bias, scale = 1.0;
        for (int64_t t = 0; t < taps; ++t) {
          want += static_cast<double>(w[t]) * src[tap_at[t] + i];
          scale += std::fabs(w[t] * src[tap_at[t] + i]);
        }
        if (!close(dst[i], want, scale)) {
          fail(name, std::to_string(taps) + " taps, row of " + std::to_string(count) + " at " + std::to_string(i));
        }
      }
      ++cases;
    }
  }
  return cases;
}

}  // namespace

int main() {
  struct Gemm { const char* name; MicroKernel kernel; bool runs; };
  struct Row { const char* name; DepthwiseRowKernel kernel; bool runs; };
#if defined(__x86_64__)
  const bool avx2 = cpu_features().avx2_fma;
#else
  const bool avx2 = false;
#endif
#if defined(__aarch64__)
  const bool neon = true;
#else
  const bool neon = false;
#endif
  const Gemm gemms[] = {{"microkernel_generic", microkernel_generic, true},
                        {"microkernel_avx2", microkernel_avx2, avx2},
                        {"microkernel_neon", microkernel_neon, neon}};
  const Row rows[] = {{"depthwise_row_generic", depthwise_row_generic, true},
                      {"depthwise_row_avx2", depthwise_row_avx2, avx2},
                      {"depthwise_row_neon", depthwise_row_neon, neon}};
  for (const Gemm& g : gemms) {
    if (g.runs) std::printf("ok %s: %d tiles\n", g.name, check_gemm(g.name, g.kernel));
  }
  for (const Row& r : rows) {
    if (r.runs) std::printf("ok %s: %d rows\n", r.name, check_row(r.name, r.kernel));
  }
  const bool selected = select_microkernel() == (neon ? microkernel_neon : avx2 ? microkernel_avx2 : microkernel_generic);
  std::printf("%s select_microkernel picks the %s kernel\n", selected ? "ok" : "FAIL",
              neon ? "neon" : avx2 ? "avx2" : "generic");
  return selected ? 0 : 1;
}
