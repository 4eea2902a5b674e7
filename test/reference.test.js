'use strict';
// Proves the test oracle right independently of stridekit: reference.js against hand-computed values,
// against its own adjoint identity, and against ONNX Runtime on every case of the table.
// Needs neither lib/ nor the native addon.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.

const reference = require('./helpers/reference');
const onnx = require('./helpers/onnx');
const { CASES, build, describeCase, mulberry32, randomArray } = require('./helpers/cases');

// ORT computes in float32 (with its own summation order); the reference accumulates in float64.
const REFERENCE_VS_ORT = 2e-5;

const t = (values, shape) => ({ data: Float32Array.from(values), shape });

afterAll(() => onnx.close());

describe('reference.js by hand', () => {
  test('1-D forward: stride, asymmetric pads, bias', () => {
    const x = t([1, 2, 3, 4, 5], [1, 1, 5]);
    const w = t([1, 10], [1, 1, 2]);
    // padded: 0 1 2 3 4 5 0 0; windows (0 1) (2 3) (4 5) (0 0) at stride 2
    const y = reference.conv(x, w, { padding: [[1, 2]], stride: 2, bias: Float32Array.from([0.5]) });
    expect(y.shape).toEqual([1, 1, 4]);
    expect(Array.from(y.data)).toEqual([10.5, 32.5, 54.5, 0.5]);
  });

  test('1-D forward: dilation and groups', () => {
    // two groups, one channel each; kernel taps two apart
    const x = t([1, 2, 3, 4, 5, 10, 20, 30, 40, 50], [1, 2, 5]);
    const w = t([1, 1, 2, -1], [2, 1, 2]);
    const y = reference.conv(x, w, { dilation: 2, groups: 2 });
    expect(y.shape).toEqual([1, 2, 3]);
    expect(Array.from(y.data)).toEqual([1 + 3, 2 + 4, 3 + 5, 20 - 30, 40 - 40, 60 - 50]);
  });

  test('transposed: definition y[o = i*s - pad + r*d] += x[i] * w[r], outputPadding adds bias-only outputs', () => {
    const x = t([1, 2, 3], [1, 1, 3]);
    const w = t([1, 10], [1, 1, 2]);
    const y = reference.convTranspose(x, w, { stride: 3, outputPadding: 2, bias: Float32Array.from([0.25]) });
    expect(y.shape).toEqual([1, 1, 10]);
    expect(Array.from(y.data)).toEqual([1, 10, 0, 2, 20, 0, 3, 30, 0, 0].map((v) => v + 0.25));
    const cropped = reference.convTranspose(x, w, { padding: [[1, 0]] });
    // stride 1, full: 1, 10+2, 20+3, 30 -> the begin pad drops the first
    expect(Array.from(cropped.data)).toEqual([12, 23, 30]);
  });

  test('transposed groups: output channel g*Kg+k reads w[g*Cg+c, k]', () => {
    const x = t([1, 2], [1, 2, 1]);
    // C=2, groups=2, K/g=2: w (2, 2, 1)
    const w = t([3, 5, 7, 11], [2, 2, 1]);
    const y = reference.convTranspose(x, w, { groups: 2 });
    expect(y.shape).toEqual([1, 4, 1]);
    expect(Array.from(y.data)).toEqual([3, 5, 14, 22]);
  });

  test('activations', () => {
    const x = t([-2, -0.5, 0.5, 7], [1, 1, 4]);
    const w = t([1], [1, 1, 1]);
    const run = (activation) => Array.from(reference.conv(x, w, { activation }).data);
    expect(run('relu')).toEqual([0, 0, 0.5, 7]);
    expect(run('relu6')).toEqual([0, 0, 0.5, 6]);
    expect(run('sigmoid')[2]).toBeCloseTo(1 / (1 + Math.exp(-0.5)), 6);
    expect(run('tanh')[0]).toBeCloseTo(Math.tanh(-2), 6);
    expect(run('silu')[0]).toBeCloseTo(-2 / (1 + Math.exp(2)), 6);
  });

  test('resolvePadding follows the padding formulas', () => {
    const x1 = (n) => [1, 1, n];
    const w1 = (k) => [1, 1, k];
    // TF SAME: n=10, k=3, s=2 -> out 5, total 1, extra at the end
    expect(reference.resolvePadding(x1(10), w1(3), { padding: 'same', stride: 2 })).toEqual([[0, 1]]);
    expect(reference.resolvePadding(x1(10), w1(3), { padding: 'same_lower', stride: 2 })).toEqual([[1, 0]]);
    // stride larger than the kernel: no padding needed
    expect(reference.resolvePadding(x1(10), w1(1), { padding: 'same', stride: 3 })).toEqual([[0, 0]]);
    // dilation widens the kernel: e = 5, s = 1 -> total 4
    expect(reference.resolvePadding(x1(7), w1(3), { padding: 'same', dilation: 2 })).toEqual([[2, 2]]);
    expect(reference.resolvePadding(x1(7), w1(3), { padding: 'causal', dilation: 2 })).toEqual([[4, 0]]);
    expect(reference.resolvePadding(x1(7), w1(3), { padding: 'valid' })).toEqual([[0, 0]]);
    expect(reference.resolvePadding([1, 1, 5, 5], [1, 1, 3, 3], { padding: [1, 2] })).toEqual([[1, 1], [2, 2]]);
    expect(reference.resolvePadding([1, 1, 5, 5], [1, 1, 3, 3], { padding: [[0, 1], [2, 3]] })).toEqual([[0, 1], [2, 3]]);
    // channels_last input: the spatial sizes are the middle dimensions
    expect(reference.resolvePadding([1, 10, 1], w1(3), { padding: 'same', stride: 2, layout: 'channels_last' })).toEqual([[0, 1]]);
    // transposed 'same': output n * s
    expect(reference.outputShape(x1(5), w1(3), { padding: 'same', stride: 2, transposed: true })).toEqual([1, 1, 10]);
    expect(reference.outputShape(x1(5), w1(2), { padding: 'same', stride: 3, transposed: true })).toEqual([1, 1, 15]);
    expect(reference.outputShape(x1(5), w1(3), { stride: 2, padding: 1, outputPadding: 1, transposed: true })).toEqual([1, 1, 10]);
  });

  test('layouts: channels_last input and TF weights give the channels_first result transposed', () => {
    const random = mulberry32(7);
    const x = { data: randomArray(2 * 3 * 5 * 6, random), shape: [2, 3, 5, 6] };
    const w = { data: randomArray(4 * 3 * 3 * 2, random), shape: [4, 3, 3, 2] };
    const cf = reference.conv(x, w, { padding: 1 });
    const cl = reference.conv(reference.toChannelsLast(x), reference.weightToChannelsLast(w), {
      padding: 1, layout: 'channels_last', weightLayout: 'channels_last',
    });
    expect(cl.shape).toEqual([2, 5, 7, 4]);
    expect(Array.from(reference.toChannelsFirst(cl).data)).toEqual(Array.from(cf.data));
  });

  test('adjoint: <conv(x), z> = <x, convTranspose(z)> with the same weights', () => {
    const random = mulberry32(11);
    for (const [rank, groups, s, d, pad] of [[1, 1, 2, 1, 1], [2, 2, 3, 2, 2], [3, 1, 2, 1, 0]]) {
      const C = 2 * groups;
      const K = 3 * groups;
      const k = new Array(rank).fill(3);
      const n = new Array(rank).fill(7);
      const x = { data: randomArray(C * 7 ** rank, random), shape: [1, C, ...n] };
      const w = { data: randomArray(K * (C / groups) * 3 ** rank, random), shape: [K, C / groups, ...k] };
      const opts = { stride: s, dilation: d, padding: pad, groups };
      const y = reference.conv(x, w, opts);
      const z = { data: randomArray(y.data.length, random), shape: y.shape };
      // transposed output must be n again: fix the end side with outputPadding
      const m = y.shape[2];
      const e = (3 - 1) * d + 1;
      const full = (m - 1) * s - pad + e; // transposed output with end pad 0
      const endPad = full - 7;
      const topts = { stride: s, dilation: d, groups, padding: new Array(rank).fill([pad, Math.max(endPad, 0)]), outputPadding: Math.max(-endPad, 0) };
      const xt = reference.convTranspose(z, w, topts);
      expect(xt.shape).toEqual(x.shape);
      let lhs = 0;
      let rhs = 0;
      for (let i = 0; i < y.data.length; ++i) lhs += y.data[i] * z.data[i];
      for (let i = 0; i < x.data.length; ++i) rhs += x.data[i] * xt.data[i];
      expect(Math.abs(lhs - rhs)).toBeLessThan(1e-4 * Math.max(1, Math.abs(lhs)));
    }
  });
});

describe('reference.js against ONNX Runtime on every case', () => {
  for (const c of CASES) {
    for (const variant of ['main', 'alt']) {
      const b = build(c, variant);
      const title = `${describeCase(c)}${variant === 'alt' ? ' [second input shape]' : ''}`;
      const reason = onnx.unsupportedReason(b.x, b.w, b.opts, c.transposed);
      if (reason) {
        test.skip(`${title} — no golden: ${reason}`, () => {});
        continue;
      }
      test(title, async () => {
        const ref = (c.transposed ? reference.convTranspose : reference.conv)(b.x, b.w, b.opts);
        const gold = await onnx.golden(b.x, b.w, b.opts, c.transposed);
        expect(gold.shape).toEqual(ref.shape);
        const err = reference.normalisedError(gold.data, ref.data);
        if (!(err <= REFERENCE_VS_ORT)) {
          throw new Error(`normalised error ${err} > ${REFERENCE_VS_ORT}: ${reference.worstMismatch(gold.data, ref.data, ref.shape)}`);
        }
      });
    }
  }
});

describe('ONNX Runtime ConvTranspose auto_pad, as onnx.js relies on (quirks recorded)', () => {
  const x = t([1, 2, 3, 4, 5], [1, 1, 5]);
  const kernel = (k) => t(Array.from({ length: k }, (_, i) => 10 ** i), [1, 1, k]);

  test.each([[3, 2], [4, 2], [5, 2], [3, 1]])('k=%i s=%i: SAME_UPPER / SAME_LOWER match the reference\'s same / same_lower', async (k, s) => {
    for (const [autoPad, padding] of [['SAME_UPPER', 'same'], ['SAME_LOWER', 'same_lower']]) {
      const ort = await onnx.runRaw({ x, w: kernel(k), opType: 'ConvTranspose', attributes: { auto_pad: autoPad, strides: [s], kernel_shape: [k] } });
      const ref = reference.convTranspose(x, kernel(k), { stride: s, padding });
      expect([autoPad, ort.shape, Array.from(ort.data)]).toEqual([autoPad, ref.shape, Array.from(ref.data)]);
    }
  });

  // Quirk: the ONNX spec says SAME output is n * s, but when stride > effective kernel ORT 1.30 clamps
  // the (negative) total padding to 0 and returns (n - 1) * s + e outputs. onnx.js therefore passes
  // explicit pads and output_padding for every transposed case. If this test starts failing, ORT changed.
  test('quirk: with stride > kernel, ORT\'s SAME_UPPER output is (n - 1) * s + e, not n * s', async () => {
    const ort = await onnx.runRaw({ x, w: kernel(2), opType: 'ConvTranspose', attributes: { auto_pad: 'SAME_UPPER', strides: [3], kernel_shape: [2] } });
    expect(ort.shape).toEqual([1, 1, 4 * 3 + 2]);
    expect(reference.outputShape(x.shape, [1, 1, 2], { padding: 'same', stride: 3, transposed: true })).toEqual([1, 1, 15]);
  });
});
