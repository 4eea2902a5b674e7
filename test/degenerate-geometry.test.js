'use strict';
// Issue 20's reproductions, on the backend this environment selects (as test/conformance.test.js):
// strides, pads and dilations far larger than the input, whose result is a handful of values that
// PyTorch and ONNX Runtime return in milliseconds. A backend must answer them at the cost of that
// output, never at a cost that grows with the numbers: they once took the cpu backend 40 and 80
// seconds and 8.6 and 17 GB, or killed the process (SIGSEGV, an int64 product of three strides).
//
// Each call runs in a child process, so that a crash fails its test instead of killing the jest
// worker. Nothing here is timed: each test has jest's own default timeout (5 s; jest.config.js
// raises the suite's to 120 s for the conformance suite's heavier cases), which a bounded call meets
// with a wide margin and the calls above did not. The values are checked against reference.js; the
// conformance suite runs variants of these (the 'degenerate' cases of test/helpers/cases.js)
// against ONNX Runtime too.

const path = require('path');
const { spawn } = require('child_process');
const reference = require('./helpers/reference');
const { conformance, mulberry32, randomArray, seedOf } = require('./helpers/cases');

const { HUGE_GEOMETRY } = conformance;
const { PACKAGE, target, describeOnTarget, expectClose } = require('./helpers/target');

const t = target();
const JEST_DEFAULT_TIMEOUT = 5000;
const M = 2 ** 31 - 1; // the largest stride, pad or effective kernel the facade takes

// The child: loads the package, runs the call one-shot and through a plan, prints both results.
const CHILD = `
const sk = require(process.argv[1]);
const spec = JSON.parse(process.argv[2]);
const tensor = (t) => ({ data: Float32Array.from(t.data), shape: t.shape });
const x = tensor(spec.x), w = tensor(spec.w);
const opts = { ...spec.opts, backend: spec.backend, precision: spec.precision };
if (spec.bias) opts.bias = Float32Array.from(spec.bias);
const out = (y) => ({ shape: Array.from(y.shape), data: Array.from(y.data) });
// A backend may refuse such a geometry with an Error (HUGE_GEOMETRY): that is an answer too, never a crash.
const answer = (f) => { try { return out(f()); } catch (error) { return { refused: String(error && error.message) }; } };
const oneShot = answer(() => (spec.transposed ? sk.convTransposeSync : sk.convSync)(x, w, opts));
const planned = answer(() => {
  const plan = sk.createConv({ ...opts, weight: w, transposed: spec.transposed });
  try { return plan.runSync(x); } finally { plan.dispose(); }
});
process.stdout.write(JSON.stringify({ oneShot, plan: planned }));
`;

const running = new Set();

function runInChild(spec) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD, PACKAGE, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      running.delete(child);
      if (code !== 0) {
        reject(new Error(`the child process ${signal ? `died of ${signal}` : `exited with ${code}`}:\n${stderr}`));
      } else {
        resolve(JSON.parse(stdout));
      }
    });
  });
}

// A test that times out leaves its child running: end it (by its own pid), so that it neither
// outlives the suite nor slows the next test.
afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
});

function tensorOf(shape, random) {
  return { data: Array.from(randomArray(shape.reduce((a, b) => a * b, 1), random)), shape };
}

// Each case: x and w shapes, options; transposed; bias (K seeded values). The data are seeded by name.
const REPRODUCTIONS = [
  { name: 'conv3d x[1,1,3,3,3] w[1,1,2,2,2] stride 2^21 (was SIGSEGV)', x: [1, 1, 3, 3, 3], w: [1, 1, 2, 2, 2], opts: { stride: 2 ** 21 } },
  { name: 'conv1d x[1,1,8] w[1,1,3] stride 2^31-1 (was 40 s, 8.6 GB)', x: [1, 1, 8], w: [1, 1, 3], opts: { stride: M } },
  { name: 'conv1d x[1,1,4] w[1,1,2] padding [[2^31-1,0]] dilation 2^31-2 stride 2^31-1 (was 80 s, 17 GB)', x: [1, 1, 4], w: [1, 1, 2], opts: { padding: [[M, 0]], dilation: M - 1, stride: M } },
  { name: 'the same with bias and sigmoid: the one output lies in the padding', x: [1, 1, 4], w: [1, 1, 2], opts: { padding: [[M, 0]], dilation: M - 1, stride: M, activation: 'sigmoid' }, bias: true },
  { name: 'the same with padding [[2^31-2,0]]: its last tap reads x[0]', x: [1, 1, 4], w: [1, 1, 2], opts: { padding: [[M - 1, 0]], dilation: M - 1, stride: M } },
  // "any 2-D stride of 2^16 or more fails with out of memory for some sizes"
  { name: 'conv2d x[1,3,7,6] w[2,3,3,3] stride 2^16', x: [1, 3, 7, 6], w: [2, 3, 3, 3], opts: { stride: 2 ** 16 } },
  { name: 'conv2d x[1,3,7,6] w[2,3,3,3] stride [2^22,2^24] padding 2^28', x: [1, 3, 7, 6], w: [2, 3, 3, 3], opts: { stride: [2 ** 22, 2 ** 24], padding: 2 ** 28 } },
  { name: 'conv2d x[2,4,33,17] w[8,4,3,3] stride 2^31-1 padding 2^31-1', x: [2, 4, 33, 17], w: [8, 4, 3, 3], opts: { stride: M, padding: M }, bias: true },
  { name: 'conv2d depthwise x[1,4,9,9] w[4,1,3,3] stride 2^17 padding 1', x: [1, 4, 9, 9], w: [4, 1, 3, 3], opts: { stride: 2 ** 17, padding: 1, groups: 4 } },
  { name: 'conv2d channels_last x[1,9,9,4] w[8,4,3,3] stride [2^20,2^31-1] dilation 2^29 padding 2^30', x: [1, 9, 9, 4], w: [8, 4, 3, 3], opts: { stride: [2 ** 20, M], dilation: 2 ** 29, padding: 2 ** 30, layout: 'channels_last' } },
  { name: 'conv3d depthwise x[1,2,3,3,3] w[2,1,2,2,2] stride 2^21 dilation 2^30 padding [2^30,0]', x: [1, 2, 3, 3, 3], w: [2, 1, 2, 2, 2], opts: { stride: 2 ** 21, dilation: 2 ** 30, padding: [[2 ** 30, 0], [2 ** 30, 0], [2 ** 30, 0]], groups: 2 } },
  { name: 'convTranspose3d x[1,1,1,1,1] w[1,1,2,2,2] stride 2^21', x: [1, 1, 1, 1, 1], w: [1, 1, 2, 2, 2], opts: { stride: 2 ** 21 }, transposed: true },
  { name: 'convTranspose2d x[1,2,3,2] w[2,1,2,2] stride [2^21,1] padding [[2^21-1,2^21-1],[0,0]] (outputs between the inputs hold the bias)', x: [1, 2, 3, 2], w: [2, 1, 2, 2], opts: { stride: [2 ** 21, 1], padding: [[2 ** 21 - 1, 2 ** 21 - 1], [0, 0]] }, transposed: true, bias: true },
];

describeOnTarget(t, 'issue 20: strides, pads and dilations far beyond the input', () => {
  for (const r of REPRODUCTIONS) {
    const huge = HUGE_GEOMETRY[t.name] ?? { handling: 'lowered' };
    const unsupported = huge.handling === 'unsupported';
    const title = huge.handling === 'refused' ? 'the right values or a clean refusal' : 'the right values';
    (unsupported ? test.skip : test)(`${r.name}: ${title}, one-shot and through a plan, in a child process${unsupported ? ` — skipped on ${t.name}: not lowered or refused yet` : ''}`, async () => {
      const random = mulberry32(seedOf(r.name));
      const x = tensorOf(r.x, random);
      const w = tensorOf(r.w, random);
      const K = reference.outputShape(r.x, r.w, { ...r.opts, transposed: !!r.transposed })[r.opts.layout === 'channels_last' ? r.x.length - 1 : 1];
      const bias = r.bias ? Array.from(randomArray(K, random)) : undefined;
      const spec = { x, w, opts: r.opts, bias, transposed: !!r.transposed, backend: t.name, precision: t.precision };
      const f32 = (u) => ({ data: Float32Array.from(u.data), shape: u.shape });
      const opts = { ...r.opts, ...(bias ? { bias: Float32Array.from(bias) } : {}) };
      const expected = (r.transposed ? reference.convTranspose : reference.conv)(f32(x), f32(w), opts);
      const got = await runInChild(spec);
      for (const [how, result] of [['one-shot', got.oneShot], ['plan.runSync', got.plan]]) {
        if (result.refused !== undefined && huge.handling === 'refused') {
          expect(result.refused).toContain(huge.refusal);
        } else {
          expect(result.refused).toBeUndefined();
          expectClose(f32(result), expected, t.tolerance, how);
        }
      }
    }, JEST_DEFAULT_TIMEOUT);
  }
});
