'use strict';
// Every case of test/helpers/cases.js on the backend this environment selects (STRIDEKIT_BACKEND, else
// the one backends() marks selected), against (a) reference.js and (b) ONNX Runtime where ORT can run
// the case. Tolerances per backend: test/helpers/target.js.
//
//   STRIDEKIT_BACKEND=cpu npx jest test/conformance.test.js

const reference = require('./helpers/reference');
const onnx = require('./helpers/onnx');
const { CASES, build, describeCase } = require('./helpers/cases');
const { target, describeOnTarget, expectClose, LOOSEST_TOLERANCE, UNSUPPORTED } = require('./helpers/target');

const t = target();
const sk = t.sk;
const backend = t.name;
const precision = t.precision;
const tol = t.tolerance;

function computeReference(b) {
  return (b.transposed ? reference.convTranspose : reference.conv)(b.x, b.w, b.opts);
}

function oneShotSync(b, extra = {}) {
  const opts = { ...b.opts, backend, precision, ...extra };
  return b.transposed ? sk.convTransposeSync(b.x, b.w, opts) : sk.convSync(b.x, b.w, opts);
}

function oneShotAsync(b, extra = {}) {
  const opts = { ...b.opts, backend, precision, ...extra };
  return b.transposed ? sk.convTranspose(b.x, b.w, opts) : sk.conv(b.x, b.w, opts);
}

function snapshot(b) {
  return { x: Float32Array.from(b.x.data), w: Float32Array.from(b.w.data), bias: b.bias ? Float32Array.from(b.bias) : null };
}

function expectUnchanged(b, before) {
  expect(Buffer.compare(Buffer.from(b.x.data.buffer), Buffer.from(before.x.buffer))).toBe(0);
  expect(Buffer.compare(Buffer.from(b.w.data.buffer), Buffer.from(before.w.buffer))).toBe(0);
  if (b.bias) expect(Buffer.compare(Buffer.from(b.bias.buffer), Buffer.from(before.bias.buffer))).toBe(0);
}

describeOnTarget(t, 'conformance', () => {
  afterAll(() => onnx.close());

  for (const c of CASES) {
    const title = describeCase(c);
    const unsupported = (UNSUPPORTED[backend] || {})[c.name];
    if (unsupported) {
      test.skip(`${title} — unsupported on ${backend}: ${unsupported}`, () => {});
      continue;
    }

    describe(title, () => {
      const main = build(c);
      const alt = build(c, 'alt');
      const memo = {};
      const ref = () => memo.main || (memo.main = computeReference(main));
      const refAlt = () => memo.alt || (memo.alt = computeReference(alt));
      const shapeOpts = { ...main.opts, transposed: c.transposed };

      test('outputShape and resolvePadding agree with the reference', () => {
        expect(Array.from(sk.outputShape(main.x.shape, main.w.shape, shapeOpts))).toEqual(reference.outputShape(main.x.shape, main.w.shape, shapeOpts));
        const pads = sk.resolvePadding(main.x.shape, main.w.shape, shapeOpts).map((p) => Array.from(p));
        const refPads = reference.resolvePadding(main.x.shape, main.w.shape, shapeOpts);
        if (refPads.every(([, end]) => end >= 0)) {
          expect(pads).toEqual(refPads);
        } else {
          // transposed 'same' with stride > kernel: the end side may be told as a negative pad or as
          // output padding; the begin side, which places every tap, is fixed.
          expect(pads.map((p) => p[0])).toEqual(refPads.map((p) => p[0]));
        }
      });

      test(`${c.transposed ? 'convTransposeSync' : 'convSync'} matches the reference and leaves its inputs alone`, () => {
        const before = snapshot(main);
        const y = oneShotSync(main);
        expectClose(y, ref(), tol, 'sync');
        expectUnchanged(main, before);
      });

      test(`await ${c.transposed ? 'convTranspose' : 'conv'} matches the reference`, async () => {
        const before = snapshot(main);
        const y = await oneShotAsync(main);
        expectClose(y, ref(), tol, 'async');
        expectUnchanged(main, before);
      });

      const ortReason = onnx.unsupportedReason(main.x, main.w, main.opts, c.transposed);
      if (ortReason) {
        test.skip(`ONNX Runtime golden — none: ${ortReason}`, () => {});
      } else {
        test('matches ONNX Runtime', async () => {
          const gold = await onnx.golden(main.x, main.w, main.opts, c.transposed);
          expectClose(oneShotSync(main), gold, tol, 'vs ONNX Runtime');
        });
      }

      test('plan: runSync and await run on two input shapes, then dispose', async () => {
        const plan = sk.createConv({ ...main.opts, backend, precision, weight: main.w, transposed: c.transposed });
        try {
          expectClose(plan.runSync(main.x), ref(), tol, 'plan.runSync, first shape');
          expectClose(await plan.run(alt.x), refAlt(), tol, `plan.run, second shape [${alt.x.shape}]`);
          expectClose(plan.runSync(alt.x), refAlt(), tol, 'plan.runSync, second shape again');
          expectClose(await plan.run(main.x), ref(), tol, 'plan.run, back to the first shape');
        } finally {
          plan.dispose();
        }
      });

      test('out: the result is written into the given tensor, sync and async', async () => {
        const r = ref();
        const out = { data: new Float32Array(r.data.length).fill(NaN), shape: r.shape.slice() };
        const y = oneShotSync(main, { out });
        expect(y.data).toBe(out.data);
        expectClose(out, r, tol, 'out (sync)');
        out.data.fill(NaN);
        const z = await oneShotAsync(main, { out });
        expect(z.data).toBe(out.data);
        expectClose(out, r, tol, 'out (async)');
      });
    });
  }

  describe('argument forms', () => {
    const c = CASES.find((k) => k.name === 'conv2d groups2');
    const b = build(c);
    test('input given as { data, dims } (ONNX Runtime style) and bias as a Tensor', () => {
      const y = sk.convSync({ data: b.x.data, dims: b.x.shape }, b.w, { ...b.opts, bias: { data: b.bias, shape: [c.K] }, backend, precision });
      expectClose(y, computeReference(b), tol, 'dims + Tensor bias');
    });
    test('Float32Array views at a non-zero byteOffset (input, weight, bias, out)', () => {
      const view = (a, offset) => {
        const backing = new Float32Array(a.length + offset + 3).fill(1e6);
        backing.set(a, offset);
        return backing.subarray(offset, offset + a.length);
      };
      const r = computeReference(b);
      const out = { data: view(new Float32Array(r.data.length).fill(NaN), 5), shape: r.shape.slice() };
      const y = sk.convSync({ data: view(b.x.data, 3), shape: b.x.shape }, { data: view(b.w.data, 7), shape: b.w.shape },
        { ...b.opts, bias: view(b.bias, 1), out, backend, precision });
      expect(y.data).toBe(out.data);
      expectClose(out, r, tol, 'views');
      const backing = new Float32Array(out.data.buffer);
      expect([...backing.subarray(0, 5), ...backing.subarray(5 + r.data.length)]).toEqual(new Array(8).fill(1e6)); // nothing written outside the view
    });
    test('a plan keeps its own copy of weight and bias: changing them after createConv changes nothing', async () => {
      const w = { data: Float32Array.from(b.w.data), shape: b.w.shape };
      const bias = Float32Array.from(b.bias);
      const plan = sk.createConv({ ...b.opts, bias, weight: w, backend, precision });
      try {
        w.data.fill(0);
        bias.fill(100);
        expectClose(plan.runSync(b.x), computeReference(b), tol, 'runSync after the weight changed');
        expectClose(await plan.run(b.x), computeReference(b), tol, 'run after the weight changed');
      } finally {
        plan.dispose();
      }
    });
    test("backend: 'auto' runs on whichever backend is selected", () => {
      expectClose(sk.convSync(b.x, b.w, { ...b.opts, backend: 'auto' }), computeReference(b), LOOSEST_TOLERANCE, "backend 'auto'");
    });
  });

  // A NaN in the input comes out as NaN in every output it reaches, through relu and relu6 too, as in
  // PyTorch: an activation must not turn a broken input into plausible zeros. The layers take the cpu
  // backend's paths: a GEMM with pixels as rows and one with pixels as columns (the vector kernels'
  // in-register activation), channels_last, depthwise, transposed and the one-channel 1-D layer.
  describe('NaN in the input', () => {
    const LAYERS = [
      { name: 'conv2d s2 (pixels as GEMM rows)', N: 1, C: 16, K: 32, size: [10, 9], kernel: [3, 3], opts: { stride: 2, padding: 1 } },
      { name: 'conv2d s1 (pixels as GEMM columns)', N: 1, C: 8, K: 16, size: [18, 17], kernel: [3, 3], opts: { padding: 1 } },
      { name: 'conv2d s2 channels_last', N: 1, C: 8, K: 16, size: [9, 9], kernel: [3, 3], opts: { stride: 2, padding: 1, layout: 'channels_last', weightLayout: 'channels_last' } },
      { name: 'conv2d depthwise s2', N: 1, C: 8, K: 8, size: [9, 9], kernel: [3, 3], opts: { stride: 2, padding: 1, groups: 8 } },
      { name: 'convT2d s2', transposed: true, N: 1, C: 8, K: 16, size: [5, 5], kernel: [3, 3], opts: { stride: 2, padding: 1 } },
      { name: 'conv1d C=1 k10 s5', N: 1, C: 1, K: 16, size: [64], kernel: [10], opts: { stride: 5 } },
    ];
    // Backends whose relu and relu6 give 0 for NaN, with what was found.
    const ACTIVATIONS_SWALLOW_NAN = {
      openvino: "OpenVINO 2025.3's CPU plugin gives 0 for NaN in Relu and Clamp (also written as PRelu with slope 0), where ONNX Runtime and PyTorch give NaN",
    };
    for (const layer of LAYERS) {
      for (const activation of [undefined, 'relu', 'relu6']) {
        const c = { ...layer, bias: true, opts: { ...layer.opts, ...(activation ? { activation } : {}) } };
        const title = `${layer.name}, ${activation || 'no activation'}: NaN wherever it reaches, the rest as the reference`;
        if (activation && ACTIVATIONS_SWALLOW_NAN[backend]) {
          test.skip(`${title} — not on ${backend}: ${ACTIVATIONS_SWALLOW_NAN[backend]}`, () => {});
          continue;
        }
        test(title, () => {
          const b = build(c);
          b.x.data[Math.floor(b.x.data.length / 2) + 1] = NaN;
          const r = computeReference(b);
          const y = oneShotSync(b);
          const reached = r.data.map((v) => Number.isNaN(v));
          expect(reached.some(Boolean)).toBe(true);
          const missing = [...reached.keys()].filter((i) => reached[i] && !Number.isNaN(y.data[i]));
          expect(missing).toEqual([]);
          // Elsewhere the values as the reference. A backend may compute with transforms (Winograd,
          // FFT) that spread a NaN over a whole tile, as cuDNN's algorithms can: extra NaNs are
          // tolerated there, never on the cpu backend, whose every output reads only its own taps.
          const elsewhere = (data) => data.map((v, i) => (reached[i] || (backend !== 'cpu' && Number.isNaN(y.data[i])) ? 0 : v));
          expectClose({ data: elsewhere(y.data), shape: y.shape }, { data: elsewhere(r.data), shape: r.shape }, tol, 'outputs the NaN does not reach');
        });
      }
    }
  });
});
