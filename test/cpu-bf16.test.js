'use strict';
// precision: 'bf16' on the cpu backend, held to more than the bf16 bound the conformance file uses
// (lib/conformance.ts: 6e-2, which a squashing activation after a long reduction needs). Where the
// processor has AVX512-BF16, the GEMM paths round x and w to bfloat16 (round to nearest even) and sum
// the products in float32 (native/backends/cpu/gemm.h: gemm_tile_bf16, and gemm_tile_indirect_bf16 for
// deep layers, which read the input as words of two channels); the depthwise and direct paths
// stay float32, as a permission allows. So every case of the conformance table must match, within the
// fp32 bound, either the float64 reference of the bf16-rounded operands (a GEMM path) or the exact one
// (a float32 path): a wrong pairing of depth steps, truncation instead of rounding, or a bf16 sum would
// be 1e-3 to 1e-1 away from both. The long reductions must match the rounded reference and not the exact
// one: the permission reached the kernels. Where cpu does not honour bf16, a bf16 plan is the fp32 one.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.

const reference = require('./helpers/reference');
const { CASES, LONG_REDUCTIONS, build, randomLayer } = require('./helpers/cases');
const { TOLERANCE, UNSUPPORTED, loadStridekit } = require('./helpers/target');

const { sk } = loadStridekit();
const cpu = sk.backends().find((b) => b.name === 'cpu');
const honours = cpu.precisions.includes('bf16');
const FP32 = TOLERANCE.cpu.fp32;
const { roundToBf16 } = reference;

function run(c, b, precision) {
  const fn = c.transposed ? sk.convTransposeSync : sk.convSync;
  return fn(b.x, b.w, { ...b.opts, backend: 'cpu', precision });
}

function errors(c, b) {
  const conv = c.transposed ? reference.convTranspose : reference.conv;
  const exact = conv(b.x, b.w, b.opts);
  const rounded = conv({ ...b.x, data: roundToBf16(b.x.data) }, { ...b.w, data: roundToBf16(b.w.data) }, b.opts);
  const y = run(c, b, 'bf16');
  return { exact: reference.normalisedError(y.data, exact.data), rounded: reference.normalisedError(y.data, rounded.data) };
}

const runnable = CASES.filter((c) => !UNSUPPORTED.cpu || !UNSUPPORTED.cpu[c.name]);

if (!honours) {
  const why = `${cpu.device} has no AVX512-BF16 (precisions ${cpu.precisions.join(', ')})`;
  console.log(`stridekit tests skipped: cpu bf16 computes in bfloat16: ${why}`);
  describe('precision bf16 on cpu without AVX512-BF16', () => {
    test.each(LONG_REDUCTIONS)('%s: a bf16 plan gives the fp32 result', (name) => {
      const c = CASES.find((k) => k.name === name);
      const b = build(c);
      expect(reference.normalisedError(run(c, b, 'bf16').data, run(c, b, 'fp32').data)).toBeLessThanOrEqual(FP32);
    });
  });
} else {
  describe(`precision bf16 on cpu (${cpu.device})`, () => {
    test(`every conformance case (${runnable.length}) is the rounded operands' result or the exact one, within ${FP32}`, () => {
      const misses = [];
      let rounded = 0;
      for (const c of runnable) {
        for (const alt of [false, true]) {
          const b = build(c, alt ? 'alt' : 'main');
          const e = errors(c, b);
          if (e.rounded <= FP32 && e.exact > FP32) rounded++;
          if (!(e.rounded <= FP32 || e.exact <= FP32)) misses.push(`${c.name}${alt ? ' (second shape)' : ''}: ${e.rounded.toExponential(2)} from the rounded reference, ${e.exact.toExponential(2)} from the exact one`);
        }
      }
      console.log(`cpu bf16: ${rounded} of ${2 * runnable.length} runs computed in bfloat16 (the others on a float32 path)`);
      expect(misses).toEqual([]);
      expect(rounded).toBeGreaterThan(runnable.length / 2);
    });

    test.each(LONG_REDUCTIONS)('%s: computed in bfloat16, summed in float32', (name) => {
      const c = CASES.find((k) => k.name === name);
      if (!c) throw new Error(`no conformance case named '${name}'`);
      const e = errors(c, build(c));
      console.log(`cpu bf16 ${name}: ${e.rounded.toExponential(2)} from the rounded reference, ${e.exact.toExponential(2)} from the exact one`);
      expect(e.rounded).toBeLessThanOrEqual(FP32);
      expect(e.exact).toBeGreaterThan(FP32);
      expect(e.exact).toBeLessThanOrEqual(TOLERANCE.cpu.bf16);
    });

    // Deep channels_first layers (at least 256 depth steps, several taps, 16 or more output channels
    // per group) read the input, padded, split into phases or as it is when no tap reads padding, as
    // words of two channels at one tap, with the weights paired alike: odd channel counts (a zero second
    // channel), groups, dilation, 1-D to 3-D, two depth blocks, partial tiles and bands, borders of one
    // to three words and at one end only.
    test.each([
      { name: '2-D, padded, 2 groups of 29 channels', C: 58, K: 32, batch: 2, input: [15, 13], kernel: [3, 3],
        options: { stride: 2, padding: 1, groups: 2, activation: 'relu6' } },
      { name: '2-D, valid, dilation 2, 45 channels', C: 45, K: 48, batch: 1, input: [23, 19], kernel: [3, 3],
        options: { stride: 2, dilation: 2 } },
      { name: '3-D, valid, 20 output channels', C: 16, K: 20, batch: 1, input: [5, 9, 11], kernel: [2, 3, 3],
        options: { stride: 2 } },
      { name: '1-D, valid, depth 400 (two blocks)', C: 80, K: 17, batch: 3, input: [50], kernel: [5],
        options: { stride: 3 } },
      { name: '2-D, valid, in bands', C: 64, K: 16, batch: 1, input: [258, 254], kernel: [3, 3], options: { stride: 2 } },
      { name: '2-D, padded, in bands, 33 channels', C: 33, K: 16, batch: 1, input: [258, 254], kernel: [3, 3],
        options: { stride: 2, padding: 1 } },
      { name: '3-D, padded, stride 2', C: 16, K: 24, batch: 1, input: [7, 9, 10], kernel: [3, 3, 3],
        options: { stride: 2, padding: 1 } },
      { name: '2-D, padded 2 around, kernel 5', C: 24, K: 16, batch: 1, input: [13, 12], kernel: [5, 5],
        options: { stride: 2, padding: 2 } },
      { name: '2-D, padded 3 around, kernel 7', C: 8, K: 16, batch: 2, input: [15, 14], kernel: [7, 7],
        options: { stride: 2, padding: 3 } },
      { name: "2-D, 'same' (padded at the end only)", C: 32, K: 16, batch: 1, input: [16, 15], kernel: [3, 3],
        options: { stride: 2, padding: 'same' } },
      { name: '2-D, stride 3 past the kernel 2 (split into phases)', C: 128, K: 16, batch: 1, input: [17, 14],
        kernel: [2, 2], options: { stride: 3, padding: 1 } },
    ])('deep layer read in channel pairs: $name', (spec) => {
      const { w, x, opts } = randomLayer(spec, 700 + spec.C + spec.K);
      const y = sk.convSync(x, w, { ...opts, backend: 'cpu', precision: 'bf16' });
      const rounded = reference.conv({ ...x, data: roundToBf16(x.data) }, { ...w, data: roundToBf16(w.data) }, opts);
      const exact = reference.conv(x, w, opts);
      expect(reference.normalisedError(y.data, rounded.data)).toBeLessThanOrEqual(FP32);
      expect(reference.normalisedError(y.data, exact.data)).toBeGreaterThan(FP32);
    });

    test('a plan and the one-shot call agree; an fp32 plan beside a bf16 one stays fp32', () => {
      const c = CASES.find((k) => k.name === LONG_REDUCTIONS[0]);
      const b = build(c);
      const plan = sk.createConv({ ...b.opts, weight: b.w, backend: 'cpu', precision: 'bf16' });
      const fp32Plan = sk.createConv({ ...b.opts, weight: b.w, backend: 'cpu' });
      try {
        const exact = reference.conv(b.x, b.w, b.opts);
        expect(reference.normalisedError(plan.runSync(b.x).data, run(c, b, 'bf16').data)).toBeLessThanOrEqual(1e-6);
        expect(reference.normalisedError(fp32Plan.runSync(b.x).data, exact.data)).toBeLessThanOrEqual(FP32);
      } finally {
        plan.dispose();
        fp32Plan.dispose();
      }
    });
  });
}
