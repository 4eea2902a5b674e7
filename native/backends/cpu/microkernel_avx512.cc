// AVX-512 kernels (Xeon since Skylake-SP, Ice Lake, Sapphire Rapids; Zen 4 and later), compiled for
// that target function by function so the rest of the binary still runs on any x86-64;
// select_microkernel() only picks them when the processor and the operating system support AVX-512F.
//
// The tile keeps the 6 x 16 shape of the other kernels, so weights are packed the same way for
// every instruction set: a row of 16 floats is one zmm register. Six accumulators would be six
// dependent FMA chains, too few to keep two FMA units busy (an FMA takes four cycles), so even and
// odd depth steps accumulate apart, twelve chains, and are summed once at the end. Edge tiles use
// masked loads and stores instead of a buffer.
//
// The pair kernel takes two such strips at once, a 6 x 32 tile, which the GEMM uses wherever two
// strips are left (gemm.h): packed strips lie one after another, so it needs no other packing. Its
// twelve accumulators are twelve chains by themselves, and each A value, loaded once, feeds two FMAs:
// 8 loads per 12 FMAs instead of 7 per 6, so the GEMM runs faster on it than on single strips. Its
// edge tiles, under six rows high, have a loop of their own height each (strips_tile), so that a GEMM's
// last row or two costs what its FMAs do.
//
// The indirect kernel is the same tile, up to four strips wide, reading A where it lies (microkernel.h).
//
// Built with SK_AVX512_EMULATION_HEADER defined (test/fixtures/cpu/avx512_emulated.h), the same
// source compiles against SIMDe's portable implementation of the intrinsics: that is how the
// native checks run these kernels on machines without AVX-512.
#include "backends/cpu/microkernel.h"

#include <vector>

#include "backends/cpu/cpu_features.h"

#if defined(SK_AVX512_EMULATION_HEADER)
#include SK_AVX512_EMULATION_HEADER
#define SK_AVX512
#define SK_AVX512_KERNELS 1
#elif defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define SK_AVX512 __attribute__((target("avx512f")))
#define SK_AVX512_KERNELS 1
#endif

#if defined(SK_AVX512_KERNELS)

namespace stridekit::cpu {

namespace {

// The first n lanes of a 16-float vector (none for n <= 0, all for n >= 16).
inline __mmask16 first_lanes(int64_t n) {
  return static_cast<__mmask16>(n >= 16 ? 0xFFFFu : n <= 0 ? 0u : (1u << n) - 1);
}

// One depth step of the tile: row r (one vector) += a[r] * b, for the six rows.
SK_AVX512 inline void multiply_rows(const float* a, __m512 b, __m512& r0, __m512& r1, __m512& r2,
                                    __m512& r3, __m512& r4, __m512& r5) {
  r0 = _mm512_fmadd_ps(_mm512_set1_ps(a[0]), b, r0);
  r1 = _mm512_fmadd_ps(_mm512_set1_ps(a[1]), b, r1);
  r2 = _mm512_fmadd_ps(_mm512_set1_ps(a[2]), b, r2);
  r3 = _mm512_fmadd_ps(_mm512_set1_ps(a[3]), b, r3);
  r4 = _mm512_fmadd_ps(_mm512_set1_ps(a[4]), b, r4);
  r5 = _mm512_fmadd_ps(_mm512_set1_ps(a[5]), b, r5);
}

// The last step of a tile's row: `v` plus what C held (when accumulating), then the bias vector
// (`bias`, already chosen for this row and these columns) and relu / relu6 when `last` says so, stored
// into the `columns` lanes of out; the other lanes are neither read nor written.
SK_AVX512 inline void store_row(float* out, __m512 v, __mmask16 columns, bool accumulate,
                                const KernelEpilogue* last, __m512 bias) {
  if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(columns, out));
  if (last) {
    if (last->bias) v = _mm512_add_ps(v, bias);
    // The masked forms with every lane set: GCC 12's plain _mm512_max_ps / _mm512_min_ps start
    // from an undefined vector its own -Wmaybe-uninitialized then reports.
    if (last->activation == SK_ACTIVATION_RELU || last->activation == SK_ACTIVATION_RELU6) {
      // The value second: vmaxps / vminps return their second source when one is NaN.
      v = _mm512_mask_max_ps(v, 0xFFFF, _mm512_setzero_ps(), v);
      if (last->activation == SK_ACTIVATION_RELU6) v = _mm512_mask_min_ps(v, 0xFFFF, _mm512_set1_ps(6.f), v);
    }
  }
  _mm512_mask_storeu_ps(out, columns, v);
}

// The bias of row i over 16 columns starting at `column`: the column bias's values there (only the
// `columns` lanes read), or row i's own value in every lane; zero without a bias.
SK_AVX512 inline __m512 bias_of(const KernelEpilogue* last, int i, int column, __mmask16 columns) {
  if (!last || !last->bias) return _mm512_setzero_ps();
  return last->bias_per_row ? _mm512_set1_ps(last->bias[i])
                            : _mm512_maskz_loadu_ps(columns, last->bias + column);
}

}  // namespace

SK_AVX512 void microkernel_avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                                  int mr, int nr, bool accumulate, const KernelEpilogue* last,
                                  Prefetch next) {
  __m512 e0 = _mm512_setzero_ps(), e1 = _mm512_setzero_ps(), e2 = _mm512_setzero_ps();
  __m512 e3 = _mm512_setzero_ps(), e4 = _mm512_setzero_ps(), e5 = _mm512_setzero_ps();
  __m512 o0 = _mm512_setzero_ps(), o1 = _mm512_setzero_ps(), o2 = _mm512_setzero_ps();
  __m512 o3 = _mm512_setzero_ps(), o4 = _mm512_setzero_ps(), o5 = _mm512_setzero_ps();
  int64_t k = 0;
  const char* line = next.begin;
  for (; k + 2 <= kc; k += 2, a += 2 * kMR, b += 2 * kNR) {
    if ((k & 7) == 6 && line < next.end) _mm_prefetch(line, _MM_HINT_T0), line += 64;
    multiply_rows(a, _mm512_loadu_ps(b), e0, e1, e2, e3, e4, e5);
    multiply_rows(a + kMR, _mm512_loadu_ps(b + kNR), o0, o1, o2, o3, o4, o5);
  }
  if (k < kc) multiply_rows(a, _mm512_loadu_ps(b), e0, e1, e2, e3, e4, e5);  // an odd depth's last step
  prefetch_lines(line, next.end);  // what a short depth left
  const __m512 rows[kMR] = {_mm512_add_ps(e0, o0), _mm512_add_ps(e1, o1), _mm512_add_ps(e2, o2),
                            _mm512_add_ps(e3, o3), _mm512_add_ps(e4, o4), _mm512_add_ps(e5, o5)};
  // Only nr columns are read or written, and only nr values of a column bias.
  const __mmask16 columns = first_lanes(nr);
  for (int i = 0; i < mr; ++i) {
    store_row(c + i * ldc, rows[i], columns, accumulate, last, bias_of(last, i, 0, columns));
  }
}

namespace {

// Where a tile reads A: a packed strip, kMR values per depth step one after another...
struct PackedA {
  const float* a;
  float at(int r, int step) const { return a[step * kMR + r]; }
  void advance(int steps) { a += steps * kMR; }
};

// ... or each row's values where they lie (IndirectKernel, and Bf16IndirectTile's 32-bit words): row
// r's depth step k at rows[r][depths[k]].
template <class T, int R>
struct InPlaceA {
  const T* rows[R];
  const int64_t* depths;
  T at(int r, int step) const { return rows[r][depths[step]]; }
  void advance(int steps) { depths += steps; }
};

// The A readers of a tile's first R rows: the packed strip's, whatever R...
template <class Reader>
struct MakePacked {
  Reader reader;
  template <int R>
  Reader rows() const { return reader; }
};

// ... or the rows' own places in `a`, offsets rows_at[0..R), with the depth steps' offsets.
template <class T>
struct MakeInPlace {
  const T* a;
  const int64_t* rows_at;
  const int64_t* depths;
  template <int R>
  InPlaceA<T, R> rows() const {
    InPlaceA<T, R> reader{{}, depths};
    for (int r = 0; r < R; ++r) reader.rows[r] = a + rows_at[r];
    return reader;
  }
};

// Where a tile reads B's depth steps: one after another in each strip (`Step` values apart: a float32
// step's kNR floats, a bf16 pair's 2 kNR values)...
template <class T, int Step>
struct SequentialB {
  const T* b;
  const T* at(int step) const { return b + step * Step; }
  void advance(int steps) { b += steps * Step; }
};

// ... or only the steps listed in `steps`, each at its own place in the strips: the depth steps an
// edge tile keeps (edge_tiles.h), the others reading only padding.
template <class T, int Step>
struct ListedB {
  const T* b;
  const int64_t* steps;
  const T* at(int step) const { return b + steps[step] * Step; }
  void advance(int n) { steps += n; }
};

// One depth step (`step` past a's position) of R rows against `Strips` B strips (b_stride floats
// apart): acc[t][r] += a[r] * (strip t).
template <int R, int Strips, class A>
SK_AVX512 __attribute__((always_inline)) inline void strips_step(const A& a, int step, const float* b,
                                                                 int64_t b_stride, __m512 (&acc)[Strips][R]) {
  __m512 x[Strips];
#pragma GCC unroll 4
  for (int t = 0; t < Strips; ++t) x[t] = _mm512_loadu_ps(b + t * b_stride);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    const __m512 v = _mm512_set1_ps(a.at(r, step));
#pragma GCC unroll 4
    for (int t = 0; t < Strips; ++t) acc[t][r] = _mm512_fmadd_ps(v, x[t], acc[t][r]);
  }
}

// A tile of R rows (R <= kMR) and one to four strips, its depth steps accumulated in S interleaved
// sets: Strips R S independent FMA chains. Six rows of two strips make twelve chains by themselves; a
// tile of one to four rows, at the edge of a GEMM whose rows are not a multiple of six (ResNet's 7 x 7
// stage: 49 pixel rows, eight tiles of six and one of one), would otherwise wait on its two to eight
// chains, and cost as much as a full tile. Split, it takes little more than the time its loads need.
//
// Inlined into the kernels, whose switch picks one. As tail calls of their own, the switch copied the
// 16-byte Prefetch its caller had just stored as two 8-byte halves with one 16-byte load (which the
// store buffer cannot forward, presumably): short calls, as a depth of 147 (ResNet's stem) makes, ran
// markedly slower, stalled just after that load.
template <int R, int S, int Strips, class A, class B>
SK_AVX512 __attribute__((always_inline)) inline void strips_tile(
    int64_t kc, A a, B b, int64_t b_stride, float* c, int64_t ldc, int nr,
    bool accumulate, const KernelEpilogue* last, Prefetch next) {
  // Row r of strip t (columns 16 t to 16 t + 15): acc[s][t][r], summed over the sets s at the end.
  __m512 acc[S][Strips][R];
#pragma GCC unroll 4
  for (int s = 0; s < S; ++s) {
#pragma GCC unroll 4
    for (int t = 0; t < Strips; ++t) {
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) acc[s][t][r] = _mm512_setzero_ps();
    }
  }
  const char* line = next.begin;
  // Four depth steps per pass, step u into set u % S, with one line fetched per pass: the loop's
  // bookkeeping and its one test of `line` are shared by 48 FMAs in a full tile of two strips.
  static_assert(4 % S == 0, "the sets divide a pass");
  int64_t k = 0;
  for (; k + 4 <= kc; k += 4, a.advance(4), b.advance(4)) {
    if (line < next.end) _mm_prefetch(line, _MM_HINT_T0), line += 64;
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) strips_step<R, Strips>(a, u, b.at(u), b_stride, acc[u % S]);
  }
  for (; k < kc; ++k, a.advance(1), b.advance(1)) {  // the last depth % 4 steps, into set 0
    strips_step<R, Strips>(a, 0, b.at(0), b_stride, acc[0]);
  }
  prefetch_lines(line, next.end);  // what a short depth left
#pragma GCC unroll 4
  for (int s = 1; s < S; ++s) {
#pragma GCC unroll 4
    for (int t = 0; t < Strips; ++t) {
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) acc[0][t][r] = _mm512_add_ps(acc[0][t][r], acc[s][t][r]);
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < Strips; ++t) {
    const __mmask16 columns = first_lanes(nr - t * kNR);
    if (!columns) break;
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      store_row(c + r * ldc + t * kNR, acc[0][t][r], columns, accumulate, last, bias_of(last, r, t * kNR, columns));
    }
  }
}

// Sets for a tile of R rows and `Strips` strips: at least eight chains for two FMA units of four
// cycles' latency each. For one and two strips, the fastest found by timing each height alone against
// a full tile.
constexpr int sets_for(int rows, int strips) {
  if (strips == 2) return rows == 1 ? 4 : rows <= 4 ? 2 : 1;
  if (strips == 1) return rows <= 4 ? 4 : 2;
  return rows * strips >= 8 ? 1 : 2;
}

// The tile of `mr` rows.
template <int Strips, class MakeA, class B>
SK_AVX512 __attribute__((always_inline)) inline void tile_of_height(
    int mr, MakeA make_a, int64_t kc, B b, int64_t b_stride, float* c, int64_t ldc, int nr,
    bool accumulate, const KernelEpilogue* last, Prefetch next) {
  switch (mr) {
#define SK_TILE(R) strips_tile<R, sets_for(R, Strips), Strips>(kc, make_a.template rows<R>(), b, b_stride, c, ldc, nr, accumulate, last, next)
    case 1: return SK_TILE(1);
    case 2: return SK_TILE(2);
    case 3: return SK_TILE(3);
    case 4: return SK_TILE(4);
    case 5: return SK_TILE(5);
    default: return SK_TILE(kMR);
#undef SK_TILE
  }
}

// The indirect tile of `nr` columns, one to four strips.
template <class B>
SK_AVX512 __attribute__((always_inline)) inline void indirect_tile(
    int mr, const MakeInPlace<float>& make_a, int64_t kc, B b, int64_t b_stride, float* c, int64_t ldc, int nr,
    bool accumulate, const KernelEpilogue* last, Prefetch next) {
  switch ((nr + kNR - 1) / kNR) {
    case 1: return tile_of_height<1>(mr, make_a, kc, b, b_stride, c, ldc, nr, accumulate, last, next);
    case 2: return tile_of_height<2>(mr, make_a, kc, b, b_stride, c, ldc, nr, accumulate, last, next);
    case 3: return tile_of_height<3>(mr, make_a, kc, b, b_stride, c, ldc, nr, accumulate, last, next);
    default: return tile_of_height<4>(mr, make_a, kc, b, b_stride, c, ldc, nr, accumulate, last, next);
  }
}

}  // namespace

SK_AVX512 void microkernel_avx512_pair(int64_t kc, const float* a, const float* b, int64_t b_stride,
                                       float* c, int64_t ldc, int mr, int nr, bool accumulate,
                                       const KernelEpilogue* last, Prefetch next) {
  tile_of_height<2>(mr, MakePacked<PackedA>{{a}}, kc, SequentialB<float, kNR>{b}, b_stride, c, ldc, nr,
                    accumulate, last, next);
}

SK_AVX512 void microkernel_avx512_indirect(int64_t kc, const float* a, const int64_t* rows,
                                           const int64_t* depths, const float* b, int64_t b_stride, float* c,
                                           int64_t ldc, int mr, int nr, bool accumulate,
                                           const KernelEpilogue* last, Prefetch next) {
  const MakeInPlace<float> make_a{a, rows, depths};
  indirect_tile(mr, make_a, kc, SequentialB<float, kNR>{b}, b_stride, c, ldc, nr, accumulate, last, next);
}

SK_AVX512 void microkernel_avx512_listed(int64_t kc, const float* a, const int64_t* rows, const int64_t* depths,
                                         const int64_t* b_steps, const float* b, int64_t b_stride, float* c,
                                         int64_t ldc, int mr, int nr, bool accumulate,
                                         const KernelEpilogue* last, Prefetch next) {
  const MakeInPlace<float> make_a{a, rows, depths};
  indirect_tile(mr, make_a, kc, ListedB<float, kNR>{b, b_steps}, b_stride, c, ldc, nr, accumulate, last, next);
}

// V vectors of pixels from s and d on, every tap accumulated in registers. LAST_PARTIAL: the last
// vector holds only the pixels below `rest`, its other lanes neither read nor written. TAPS > 0: the
// weights (broadcast) and tap offsets the caller holds in registers for a whole plane; TAPS = 0:
// `taps` of them, read from memory at every step.
template <int TAPS, int V, bool LAST_PARTIAL>
SK_AVX512 inline void depthwise_step(const float* s, const int64_t* at, const __m512* held, const float* w,
                                     int64_t taps, __m512 bias, int64_t rest, float* d) {
  const __mmask16 last = first_lanes(rest - 16 * (V - 1));
  __m512 acc[V];
  for (int v = 0; v < V; ++v) acc[v] = bias;
  const int64_t n = TAPS > 0 ? TAPS : taps;
  for (int64_t t = 0; t < n; ++t) {
    const __m512 wt = TAPS > 0 ? held[t] : _mm512_set1_ps(w[t]);
    const float* tap = s + at[t];
    for (int v = 0; v < V; ++v) {
      const bool partial = LAST_PARTIAL && v == V - 1;
      const __m512 x = partial ? _mm512_maskz_loadu_ps(last, tap + 16 * v) : _mm512_loadu_ps(tap + 16 * v);
      acc[v] = _mm512_fmadd_ps(wt, x, acc[v]);
    }
  }
  for (int v = 0; v < V; ++v) {
    if (LAST_PARTIAL && v == V - 1) {
      _mm512_mask_storeu_ps(d + 16 * v, last, acc[v]);
    } else {
      _mm512_storeu_ps(d + 16 * v, acc[v]);
    }
  }
}

// Four vectors of pixels per pass over the taps (four independent FMA chains); the row's last 1-63
// pixels in as many vectors as they fill, the last of them partial.
template <int TAPS>
SK_AVX512 void depthwise_rows_of(const float* src, int64_t src_row, const int64_t* tap_at, const float* w,
                                 int64_t taps, float bias, int64_t count, int64_t rows, float* dst) {
  const __m512 b = _mm512_set1_ps(bias);
  __m512 held[TAPS > 0 ? TAPS : 1] = {};
  int64_t at[TAPS > 0 ? TAPS : 1] = {};
  for (int t = 0; t < TAPS; ++t) {
    held[t] = _mm512_set1_ps(w[t]);
    at[t] = tap_at[t];
  }
  const int64_t* offsets = TAPS > 0 ? at : tap_at;
  for (int64_t r = 0; r < rows; ++r, src += src_row, dst += count) {
    int64_t i = 0;
    for (; i + 64 <= count; i += 64) depthwise_step<TAPS, 4, false>(src + i, offsets, held, w, taps, b, 64, dst + i);
    const int64_t rest = count - i;
    if (rest > 48) {
      depthwise_step<TAPS, 4, true>(src + i, offsets, held, w, taps, b, rest, dst + i);
    } else if (rest > 32) {
      depthwise_step<TAPS, 3, true>(src + i, offsets, held, w, taps, b, rest, dst + i);
    } else if (rest > 16) {
      depthwise_step<TAPS, 2, true>(src + i, offsets, held, w, taps, b, rest, dst + i);
    } else if (rest > 0) {
      depthwise_step<TAPS, 1, true>(src + i, offsets, held, w, taps, b, rest, dst + i);
    }
  }
}

SK_AVX512 void depthwise_rows_avx512(const float* src, int64_t src_row, const int64_t* tap_at, const float* w,
                                     int64_t taps, float bias, int64_t count, int64_t rows, float* dst) {
  // 3 x 3, the most common depthwise kernel by far, with its nine weights and offsets in registers.
  if (taps == 9) return depthwise_rows_of<9>(src, src_row, tap_at, w, taps, bias, count, rows, dst);
  depthwise_rows_of<0>(src, src_row, tap_at, w, taps, bias, count, rows, dst);
}

// V vectors of channels from k on, for depthwise_pixel_avx512; LAST_PARTIAL: the last vector holds
// only the channels below K.
template <int V, bool LAST_PARTIAL>
SK_AVX512 inline void depthwise_channels(const float* const* src, const float* const* w, int64_t taps,
                                         const float* bias, int64_t k, int64_t K, float* dst) {
  const __mmask16 last = first_lanes(K - k - 16 * (V - 1));
  __m512 acc[V];
  for (int v = 0; v < V; ++v) {
    const bool partial = LAST_PARTIAL && v == V - 1;
    acc[v] = !bias ? _mm512_setzero_ps()
             : partial ? _mm512_maskz_loadu_ps(last, bias + k + 16 * v) : _mm512_loadu_ps(bias + k + 16 * v);
  }
  for (int64_t t = 0; t < taps; ++t) {
    for (int v = 0; v < V; ++v) {
      const float* weights = w[t] + k + 16 * v;
      const float* in = src[t] + k + 16 * v;
      const bool partial = LAST_PARTIAL && v == V - 1;
      const __m512 a = partial ? _mm512_maskz_loadu_ps(last, weights) : _mm512_loadu_ps(weights);
      const __m512 b = partial ? _mm512_maskz_loadu_ps(last, in) : _mm512_loadu_ps(in);
      acc[v] = _mm512_fmadd_ps(a, b, acc[v]);
    }
  }
  for (int v = 0; v < V; ++v) {
    if (LAST_PARTIAL && v == V - 1) {
      _mm512_mask_storeu_ps(dst + k + 16 * v, last, acc[v]);
    } else {
      _mm512_storeu_ps(dst + k + 16 * v, acc[v]);
    }
  }
}

SK_AVX512 void depthwise_pixel_avx512(const float* const* src, const float* const* w, int64_t taps,
                                      const float* bias, int64_t K, float* dst) {
  int64_t k = 0;
  for (; k + 64 <= K; k += 64) depthwise_channels<4, false>(src, w, taps, bias, k, K, dst);
  const int64_t rest = K - k;  // 0-63 channels: as many vectors as they fill, the last partial
  if (rest > 48) return depthwise_channels<4, true>(src, w, taps, bias, k, K, dst);
  if (rest > 32) return depthwise_channels<3, true>(src, w, taps, bias, k, K, dst);
  if (rest > 16) return depthwise_channels<2, true>(src, w, taps, bias, k, K, dst);
  if (rest > 0) depthwise_channels<1, true>(src, w, taps, bias, k, K, dst);
}

SK_AVX512 void deinterleave_avx512(const float* src, int64_t src_stride, float* even, float* odd,
                                   int64_t dst_stride, int64_t rows, int64_t pairs) {
  // Lane j of the result takes lane 2 j (or 2 j + 1) of the 32 floats of two vectors.
  const __m512i pick_even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i pick_odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
#if !defined(SK_AVX512_EMULATION_HEADER)
  // Rows of under 16 pairs fill no zmm register: here they would only be stored masked, which AMD
  // processors do slowly, where the AVX2 kernel (every AVX-512 processor has AVX2) stores whole ymm
  // and xmm registers (small strided layers, whose split into phases is a large share of their time).
  if (pairs < 16) return deinterleave_avx2(src, src_stride, even, odd, dst_stride, rows, pairs);
#endif
  for (int64_t r = 0; r < rows; ++r, src += src_stride, even += dst_stride, odd += dst_stride) {
    for (int64_t j = 0; j < pairs; j += 16) {
      const int64_t n = pairs - j < 16 ? pairs - j : 16;  // the last 1-15 pairs masked
      const __m512 lo = _mm512_maskz_loadu_ps(first_lanes(2 * n), src + 2 * j);
      const __m512 hi = _mm512_maskz_loadu_ps(first_lanes(2 * n - 16), src + 2 * j + 16);
      _mm512_mask_storeu_ps(even + j, first_lanes(n), _mm512_permutex2var_ps(lo, pick_even, hi));
      _mm512_mask_storeu_ps(odd + j, first_lanes(n), _mm512_permutex2var_ps(lo, pick_odd, hi));
    }
  }
}

SK_AVX512 void gather_run_avx512(const float* src, const int64_t* offsets, int64_t depth, int64_t count,
                                 float* dst, int64_t width) {
  const __mmask16 lanes = first_lanes(count);
  int64_t k = 0;
  for (; k + 4 <= depth; k += 4, dst += 4 * width) {  // four independent copies in flight
    const __m512 v0 = _mm512_maskz_loadu_ps(lanes, src + offsets[k]);
    const __m512 v1 = _mm512_maskz_loadu_ps(lanes, src + offsets[k + 1]);
    const __m512 v2 = _mm512_maskz_loadu_ps(lanes, src + offsets[k + 2]);
    const __m512 v3 = _mm512_maskz_loadu_ps(lanes, src + offsets[k + 3]);
    _mm512_mask_storeu_ps(dst, lanes, v0);
    _mm512_mask_storeu_ps(dst + width, lanes, v1);
    _mm512_mask_storeu_ps(dst + 2 * width, lanes, v2);
    _mm512_mask_storeu_ps(dst + 3 * width, lanes, v3);
  }
  for (; k < depth; ++k, dst += width) _mm512_mask_storeu_ps(dst, lanes, _mm512_maskz_loadu_ps(lanes, src + offsets[k]));
}

SK_AVX512 void pad_rows_avx512(const float* src, int64_t src_stride, int64_t width, int64_t rows, float* dst,
                               int64_t row, int64_t first) {
  // Vector j of a padded row takes lanes [first - 16 j, first + width - 16 j) from the input, at
  // input index 16 j - first + lane, zeros elsewhere (masked loads read nothing there). That index
  // is negative in the left border: the address is formed as an integer, never as a pointer before
  // the row.
  constexpr int64_t kBytes = sizeof(float);
  const int64_t vectors = (row + 15) / 16, end = rows * row;
  for (int64_t r = 0; r < rows; ++r, src += src_stride) {
    const uintptr_t row_begin = reinterpret_cast<uintptr_t>(src);
    for (int64_t v = 0; v < vectors; ++v) {
      const int64_t lane0 = 16 * v - first, at = r * row + 16 * v;
      const __mmask16 lanes = static_cast<__mmask16>(first_lanes(width - lane0) & ~first_lanes(-lane0));
      const float* from = reinterpret_cast<const float*>(row_begin + static_cast<uintptr_t>(lane0 * kBytes));
      const __m512 values = _mm512_maskz_loadu_ps(lanes, from);
      // A whole vector where it ends inside the rows written here: what it writes past its row, the
      // next rows overwrite. Only the last ones are masked (AMD stores masked vectors slowly).
      if (at + 16 <= end) {
        _mm512_storeu_ps(dst + at, values);
      } else {
        _mm512_mask_storeu_ps(dst + at, first_lanes(end - at), values);
      }
    }
  }
}

#if defined(SK_AVX512_EMULATION_HEADER)
// SIMDe's emulation covers AVX-512F, not AVX512-BF16: the native checks run the float32 kernels only.
Bf16Kernels select_bf16_kernels() { return {}; }
#else

// Precision 'bf16' (microkernel.h): AVX512-BF16 and AVX512BW, which the BF16 processors all have.
#define SK_AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

namespace {

// The 16 bf16 values of a 16-float vector, rounded to nearest even (NaN stays NaN).
SK_AVX512_BF16 inline __m256i to_bf16(__m512 v) { return reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v)); }

// Two depth steps of 16 lanes as 16 pair words, lane i's two bf16 values side by side: converted together
// into one vector ([first | second]) that one permutation interleaves.
SK_AVX512_BF16 inline __m512i pair_words(__m512 first, __m512 second) {
  alignas(64) static constexpr uint16_t kInterleave[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,
                                                           21, 6, 22, 7, 23, 8,  24, 9,  25, 10, 26,
                                                           11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  const __m512bh both = _mm512_cvtne2ps_pbh(second, first);
  return _mm512_permutexvar_epi16(_mm512_load_si512(kInterleave), reinterpret_cast<__m512i>(both));
}

// A float32 strip of 16 lanes into pairs.
SK_AVX512_BF16 void convert_wide(const float* src, int64_t kc, Bf16* dst) {
  int64_t k = 0;
  for (; k + 2 <= kc; k += 2, src += 2 * kNR, dst += 2 * kNR) {
    _mm512_storeu_si512(dst, pair_words(_mm512_loadu_ps(src), _mm512_loadu_ps(src + kNR)));
  }
  if (k < kc) {  // an odd depth: the last pair's second values are zero
    _mm512_storeu_si512(dst, pair_words(_mm512_loadu_ps(src), _mm512_setzero_ps()));
  }
}

// A pair row of a run: whole where the run fills Full (16) lanes, else only its lanes, masked (AMD
// stores masked vectors slowly, and a 16-pixel strip is one run wherever output rows are multiples of
// 16 pixels: ResNet's stem, 112).
template <bool Full>
SK_AVX512_BF16 inline void store_pairs(Bf16* dst, __mmask16 lanes, __m512i words) {
  if (Full) {
    _mm512_storeu_si512(dst, words);
  } else {
    _mm512_mask_storeu_epi32(dst, lanes, words);
  }
}

// gather_bf16_avx512's loop: the run's `depth` steps in pair rows `pair_stride` values apart.
template <bool Full>
SK_AVX512_BF16 __attribute__((always_inline)) inline void gather_pairs(const float* src, const int64_t* offsets,
                                                                      int64_t depth, __mmask16 lanes, Bf16* dst,
                                                                      int64_t pair_stride) {
  int64_t k = 0;
  for (; k + 4 <= depth; k += 4, dst += 2 * pair_stride) {  // two pairs in flight
    const __m512 v0 = _mm512_maskz_loadu_ps(lanes, src + offsets[k]);
    const __m512 v1 = _mm512_maskz_loadu_ps(lanes, src + offsets[k + 1]);
    const __m512 v2 = _mm512_maskz_loadu_ps(lanes, src + offsets[k + 2]);
    const __m512 v3 = _mm512_maskz_loadu_ps(lanes, src + offsets[k + 3]);
    store_pairs<Full>(dst, lanes, pair_words(v0, v1));
    store_pairs<Full>(dst + pair_stride, lanes, pair_words(v2, v3));
  }
  for (; k < depth; k += 2, dst += pair_stride) {
    const __m512 first = _mm512_maskz_loadu_ps(lanes, src + offsets[k]);
    const __m512 second = k + 1 < depth ? _mm512_maskz_loadu_ps(lanes, src + offsets[k + 1]) : _mm512_setzero_ps();
    store_pairs<Full>(dst, lanes, pair_words(first, second));
  }
}

// A float32 strip of kMR (6) lanes into pairs: a depth pair is 12 consecutive floats, [step k's 6 |
// step k + 1's 6], converted and interleaved in one 256-bit vector.
SK_AVX512_BF16 void convert_narrow(const float* src, int64_t kc, Bf16* dst) {
  static_assert(kMR == 6, "a depth pair of the A strip is 12 values");
  alignas(32) static constexpr uint16_t kInterleave[16] = {0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11, 12, 13, 14, 15};
  const __m256i interleave = _mm256_load_si256(reinterpret_cast<const __m256i*>(kInterleave));
  int64_t k = 0;
  for (; k + 2 <= kc; k += 2, src += 2 * kMR, dst += 2 * kMR) {
    const __m256i both = to_bf16(_mm512_maskz_loadu_ps(0x0FFF, src));
    _mm256_mask_storeu_epi16(dst, 0x0FFF, _mm256_permutexvar_epi16(interleave, both));
  }
  if (k < kc) {
    const __m256i both = to_bf16(_mm512_maskz_loadu_ps(0x003F, src));
    _mm256_mask_storeu_epi16(dst, 0x0FFF, _mm256_permutexvar_epi16(interleave, both));
  }
}

// Where a bf16 tile reads A, one 32-bit word (a depth pair of one row) at a time: a packed pair
// strip, kMR words per pair, or the words where they lie (InPlaceA<uint32_t, R>).
struct PackedBf16A {
  const Bf16* a;
  uint32_t at(int r, int step) const {
    uint32_t word;
    __builtin_memcpy(&word, a + 2 * (step * kMR + r), sizeof(word));
    return word;
  }
  void advance(int steps) { a += 2 * kMR * steps; }
};

// R rows against one to four B strips (b_stride values apart): Strips R accumulators, each depth pair
// one vdpbf16ps per row and strip, the A pair (two bf16 in one 32-bit word) broadcast. Six rows and two
// strips make twelve chains, more than the instruction's latency needs on the processors that have it.
template <int R, int Strips, class A, class B>
SK_AVX512_BF16 __attribute__((always_inline)) inline void bf16_tile(
    int64_t pairs, A a, B b, int64_t b_stride, float* c, int64_t ldc, int nr,
    bool accumulate, const KernelEpilogue* last) {
  __m512 acc[Strips][R];
#pragma GCC unroll 4
  for (int t = 0; t < Strips; ++t) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) acc[t][r] = _mm512_setzero_ps();
  }
  for (int64_t q = 0; q < pairs; ++q, a.advance(1), b.advance(1)) {
    __m512bh x[Strips];
#pragma GCC unroll 4
    for (int t = 0; t < Strips; ++t) x[t] = reinterpret_cast<__m512bh>(_mm512_loadu_si512(b.at(0) + t * b_stride));
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512bh v = reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(a.at(r, 0))));
#pragma GCC unroll 4
      for (int t = 0; t < Strips; ++t) acc[t][r] = _mm512_dpbf16_ps(acc[t][r], v, x[t]);
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < Strips; ++t) {
    const __mmask16 columns = first_lanes(nr - t * kNR);
    if (!columns) break;
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      store_row(c + r * ldc + t * kNR, acc[t][r], columns, accumulate, last, bias_of(last, r, t * kNR, columns));
    }
  }
}

template <int Strips, class MakeA, class B>
SK_AVX512_BF16 __attribute__((always_inline)) inline void bf16_rows(
    int64_t pairs, MakeA make_a, B b, int64_t b_stride, float* c, int64_t ldc, int mr, int nr,
    bool accumulate, const KernelEpilogue* last) {
  switch (mr) {
    case 1: return bf16_tile<1, Strips>(pairs, make_a.template rows<1>(), b, b_stride, c, ldc, nr, accumulate, last);
    case 2: return bf16_tile<2, Strips>(pairs, make_a.template rows<2>(), b, b_stride, c, ldc, nr, accumulate, last);
    case 3: return bf16_tile<3, Strips>(pairs, make_a.template rows<3>(), b, b_stride, c, ldc, nr, accumulate, last);
    case 4: return bf16_tile<4, Strips>(pairs, make_a.template rows<4>(), b, b_stride, c, ldc, nr, accumulate, last);
    case 5: return bf16_tile<5, Strips>(pairs, make_a.template rows<5>(), b, b_stride, c, ldc, nr, accumulate, last);
    default: return bf16_tile<kMR, Strips>(pairs, make_a.template rows<kMR>(), b, b_stride, c, ldc, nr, accumulate, last);
  }
}

// The bf16 indirect tile of `nr` columns, one to four strips.
template <class B>
SK_AVX512_BF16 __attribute__((always_inline)) inline void bf16_indirect_tile(
    int64_t pairs, const MakeInPlace<uint32_t>& make_a, B b, int64_t b_stride, float* c, int64_t ldc, int mr,
    int nr, bool accumulate, const KernelEpilogue* last) {
  switch ((nr + kNR - 1) / kNR) {
    case 1: return bf16_rows<1>(pairs, make_a, b, b_stride, c, ldc, mr, nr, accumulate, last);
    case 2: return bf16_rows<2>(pairs, make_a, b, b_stride, c, ldc, mr, nr, accumulate, last);
    case 3: return bf16_rows<3>(pairs, make_a, b, b_stride, c, ldc, mr, nr, accumulate, last);
    default: return bf16_rows<4>(pairs, make_a, b, b_stride, c, ldc, mr, nr, accumulate, last);
  }
}

}  // namespace

SK_AVX512_BF16 void convert_bf16_avx512(const float* src, int64_t src_stride, int64_t strips, int64_t kc,
                                        int width, Bf16* dst, int64_t dst_stride) {
  for (int64_t s = 0; s < strips; ++s, src += src_stride, dst += dst_stride) {
    if (width == kNR) {
      convert_wide(src, kc, dst);
    } else {
      convert_narrow(src, kc, dst);
    }
  }
}

SK_AVX512_BF16 void microkernel_bf16_avx512(int64_t pairs, const Bf16* a, const Bf16* b, int64_t b_stride,
                                            float* c, int64_t ldc, int mr, int nr, bool accumulate,
                                            const KernelEpilogue* last) {
  const MakePacked<PackedBf16A> make_a{{a}};
  const SequentialB<Bf16, 2 * kNR> strips{b};
  if (nr > kNR) return bf16_rows<2>(pairs, make_a, strips, b_stride, c, ldc, mr, nr, accumulate, last);
  bf16_rows<1>(pairs, make_a, strips, b_stride, c, ldc, mr, nr, accumulate, last);
}

SK_AVX512_BF16 void microkernel_bf16_avx512_indirect(int64_t pairs, const uint32_t* a, const int64_t* rows,
                                                     const int64_t* depths, const Bf16* b, int64_t b_stride,
                                                     float* c, int64_t ldc, int mr, int nr, bool accumulate,
                                                     const KernelEpilogue* last) {
  const MakeInPlace<uint32_t> make_a{a, rows, depths};
  bf16_indirect_tile(pairs, make_a, SequentialB<Bf16, 2 * kNR>{b}, b_stride, c, ldc, mr, nr, accumulate, last);
}

SK_AVX512_BF16 void microkernel_bf16_avx512_listed(int64_t pairs, const uint32_t* a, const int64_t* rows,
                                                   const int64_t* depths, const int64_t* b_steps, const Bf16* b,
                                                   int64_t b_stride, float* c, int64_t ldc, int mr, int nr,
                                                   bool accumulate, const KernelEpilogue* last) {
  const MakeInPlace<uint32_t> make_a{a, rows, depths};
  bf16_indirect_tile(pairs, make_a, ListedB<Bf16, 2 * kNR>{b, b_steps}, b_stride, c, ldc, mr, nr, accumulate, last);
}

SK_AVX512_BF16 void interleave_bf16_avx512(const float* first, const float* second, int64_t count,
                                           uint32_t* dst) {
  // The zero-masked forms, with every lane set: GCC 12's plain ones start from an undefined vector its
  // own -Wmaybe-uninitialized then reports (as store_row says).
  for (int64_t i = 0; i < count; i += 16) {
    const __mmask16 lanes = first_lanes(count - i);
    const __m512i low = _mm512_maskz_cvtepu16_epi32(0xFFFF, to_bf16(_mm512_maskz_loadu_ps(lanes, first + i)));
    const __m512i high =
        second ? _mm512_maskz_cvtepu16_epi32(0xFFFF, to_bf16(_mm512_maskz_loadu_ps(lanes, second + i)))
               : _mm512_setzero_si512();
    _mm512_mask_storeu_epi32(dst + i, lanes, _mm512_or_si512(low, _mm512_maskz_slli_epi32(0xFFFF, high, 16)));
  }
}

SK_AVX512_BF16 void gather_bf16_avx512(const float* src, const int64_t* offsets, int64_t depth, int64_t count,
                                       Bf16* dst, int64_t width) {
  if (count == 16) return gather_pairs<true>(src, offsets, depth, 0xFFFF, dst, 2 * width);
  gather_pairs<false>(src, offsets, depth, first_lanes(count), dst, 2 * width);
}

Bf16Kernels select_bf16_kernels() {
  if (cpu_features().avx512_bf16) {
    return {convert_bf16_avx512, microkernel_bf16_avx512, microkernel_bf16_avx512_indirect,
            microkernel_bf16_avx512_listed, interleave_bf16_avx512, gather_bf16_avx512};
  }
  return {};
}
#endif  // SK_AVX512_EMULATION_HEADER

}  // namespace stridekit::cpu

#else

namespace stridekit::cpu {
Bf16Kernels select_bf16_kernels() { return {}; }
void gather_run_avx512(const float* src, const int64_t* offsets, int64_t depth, int64_t count, float* dst,
                       int64_t width) {
  for (int64_t k = 0; k < depth; ++k) {
    for (int64_t i = 0; i < count; ++i) dst[k * width + i] = src[offsets[k] + i];
  }
}
// Not an x86-64 GCC/Clang build: select_microkernel() and select_pair_kernel() never pick these.
void microkernel_avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr,
                        int nr, bool accumulate, const KernelEpilogue* last, Prefetch next) {
  microkernel_generic(kc, a, b, c, ldc, mr, nr, accumulate, last, next);
}
void depthwise_rows_avx512(const float* src, int64_t src_row, const int64_t* tap_at, const float* w,
                           int64_t taps, float bias, int64_t count, int64_t rows, float* dst) {
  depthwise_rows_generic(src, src_row, tap_at, w, taps, bias, count, rows, dst);
}
void depthwise_pixel_avx512(const float* const* src, const float* const* w, int64_t taps, const float* bias,
                            int64_t K, float* dst) {
  depthwise_pixel_generic(src, w, taps, bias, K, dst);
}
void deinterleave_avx512(const float* src, int64_t src_stride, float* even, float* odd,
                         int64_t dst_stride, int64_t rows, int64_t pairs) {
  deinterleave_generic(src, src_stride, even, odd, dst_stride, rows, pairs);
}
void pad_rows_avx512(const float* src, int64_t src_stride, int64_t width, int64_t rows, float* dst, int64_t row,
                     int64_t first) {
  for (int64_t r = 0; r < rows; ++r, src += src_stride) {
    for (int64_t j = 0; j < row; ++j) dst[r * row + j] = j >= first && j < first + width ? src[j - first] : 0.f;
  }
}
void microkernel_avx512_pair(int64_t kc, const float* a, const float* b, int64_t b_stride, float* c,
                             int64_t ldc, int mr, int nr, bool accumulate, const KernelEpilogue* last,
                             Prefetch next) {
  microkernel_pair_generic(kc, a, b, b_stride, c, ldc, mr, nr, accumulate, last, next);
}
void microkernel_avx512_listed(int64_t kc, const float* a, const int64_t* rows, const int64_t* depths,
                               const int64_t* b_steps, const float* b, int64_t b_stride, float* c, int64_t ldc,
                               int mr, int nr, bool accumulate, const KernelEpilogue* last, Prefetch next) {
  // The listed steps of B gathered into strips of their own, then as microkernel_avx512_indirect.
  const int64_t strips = (nr + kNR - 1) / kNR;
  std::vector<float> listed(static_cast<size_t>(strips * kc * kNR));
  for (int64_t t = 0; t < strips; ++t) {
    for (int64_t k = 0; k < kc; ++k) {
      for (int j = 0; j < kNR; ++j) listed[(t * kc + k) * kNR + j] = b[t * b_stride + b_steps[k] * kNR + j];
    }
  }
  microkernel_avx512_indirect(kc, a, rows, depths, listed.data(), kc * kNR, c, ldc, mr, nr, accumulate, last, next);
}
void microkernel_avx512_indirect(int64_t kc, const float* a, const int64_t* rows, const int64_t* depths,
                                 const float* b, int64_t b_stride, float* c, int64_t ldc, int mr, int nr,
                                 bool accumulate, const KernelEpilogue* last, Prefetch next) {
  // Packed as microkernel_pair_generic reads A, then multiplied by it two strips at a time.
  std::vector<float> packed(static_cast<size_t>(kc * kMR), 0.f);
  for (int64_t k = 0; k < kc; ++k) {
    for (int i = 0; i < mr; ++i) packed[k * kMR + i] = a[rows[i] + depths[k]];
  }
  for (int first = 0; first < nr; first += 2 * kNR) {
    KernelEpilogue these;
    if (last) {
      these = *last;
      if (these.bias && !these.bias_per_row) these.bias += first;  // these strips' columns
    }
    microkernel_pair_generic(kc, packed.data(), b + first / kNR * b_stride, b_stride, c + first, ldc, mr,
                             nr - first < 2 * kNR ? nr - first : 2 * kNR, accumulate, last ? &these : nullptr,
                             first == 0 ? next : Prefetch{});
  }
}
}  // namespace stridekit::cpu

#endif
