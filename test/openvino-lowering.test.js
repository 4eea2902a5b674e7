'use strict';
// Degenerate geometries on the openvino backend (issue 20, items 3 and 5): strides far beyond the input,
// an output extent of 1 under a stride > 1, pads up to 2**31 - 1 with output windows entirely in the
// padding, huge dilations, and huge strides and dilations that cancel, forward and transposed, 1-D to
// 3-D, grouped and depthwise, channels_last. OpenVINO 2025.3 computes some of these wrong, takes seconds
// over others and crashes on a few; native/backends/openvino/geometry_reduction.cc lowers them per input
// shape. Each case runs in a child process, so that a crash inside OpenVINO fails that case (with the
// case printed) instead of killing the jest worker, and is compared with test/helpers/reference.js.
// Runs whatever STRIDEKIT_BACKEND says (the cases name backend 'openvino'); skipped, with the reason
// printed, where the openvino backend is unavailable. No timings are asserted.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.

const { spawnSync } = require('child_process');
const path = require('path');
const { PACKAGE, TOLERANCE, loadStridekit } = require('./helpers/target');

const M = 2 ** 31 - 1; // the facade's limit for strides, dilations and pads
const T = true;

// Fields as in test/helpers/cases.js: N, C, K, size (input spatial, channels-first terms), kernel, opts,
// bias. Output sizes are kept small: the reference is plain JavaScript.
const CASES = [
  // ---- output extent 1 under a stride > 1 (OpenVINO: wrong values with one input channel) ----
  { name: 'item 5: 2-D stride [1,2], output width 1, C=K=1', N: 1, C: 1, K: 1, size: [5, 4], kernel: [1, 3], opts: { stride: [1, 2] } },
  { name: '2-D stride [2,1], output height 1, C=1 K=2', N: 1, C: 1, K: 2, size: [4, 5], kernel: [3, 1], opts: { stride: [2, 1] } },
  { name: '2-D stride [1,3], output width 1, window short of the input end', N: 2, C: 1, K: 1, size: [3, 5], kernel: [1, 3], opts: { stride: [1, 3] }, bias: T },
  { name: '3-D stride [2,1,3], output extent 1 in two dimensions', N: 1, C: 1, K: 2, size: [2, 3, 3], kernel: [1, 1, 2], opts: { stride: [2, 1, 3] } },
  { name: '1-D stride 3, one output, end pad', N: 1, C: 1, K: 1, size: [4], kernel: [2], opts: { stride: 3, padding: [[0, 1]] } },

  // ---- strides far beyond the input (OpenVINO: compile time linear in the stride; crashes) ----
  { name: '1-D stride 2**31-1', N: 1, C: 1, K: 1, size: [8], kernel: [3], opts: { stride: M } },
  { name: '1-D stride 2**24', N: 1, C: 1, K: 1, size: [8], kernel: [3], opts: { stride: 2 ** 24 } },
  { name: '1-D stride 2**25 bias tanh', N: 1, C: 2, K: 3, size: [8], kernel: [3], opts: { stride: 2 ** 25, activation: 'tanh' }, bias: T },
  { name: '2-D stride 2**16', N: 1, C: 2, K: 3, size: [8, 8], kernel: [3, 3], opts: { stride: 2 ** 16, activation: 'relu' }, bias: T },
  { name: '2-D stride [2**20, 2**16] with end pads of a stride: second windows in the padding', N: 1, C: 1, K: 2, size: [5, 5], kernel: [3, 3], opts: { stride: [2 ** 20, 2 ** 16], padding: [[0, 2 ** 20], [0, 2 ** 16]] }, bias: T },
  { name: '3-D stride 2**21', N: 1, C: 1, K: 1, size: [3, 3, 3], kernel: [2, 2, 2], opts: { stride: 2 ** 21 } },
  { name: '3-D stride 2**21 channels_last groups2 bias relu6', N: 2, C: 4, K: 2, size: [3, 3, 4], kernel: [2, 2, 2], opts: { stride: 2 ** 21, groups: 2, layout: 'channels_last', activation: 'relu6' }, bias: T },

  // ---- huge pads: output windows entirely in the padding hold bias + activation ----
  { name: '1-D end pad 2**31-1 stride 2**31-1 (OpenVINO: SIGSEGV)', N: 1, C: 1, K: 1, size: [8], kernel: [3], opts: { stride: M, padding: [[0, M]], activation: 'tanh' }, bias: T },
  { name: '1-D end pad 2**20 stride 2**20 (OpenVINO: 8.8 TB allocation)', N: 1, C: 1, K: 1, size: [8], kernel: [3], opts: { stride: 2 ** 20, padding: [[0, 2 ** 20]] } },
  { name: '1-D pads 2**30 both sides stride 2**30: windows 0 and 2 in the padding, bias relu6', N: 1, C: 3, K: 2, size: [4], kernel: [3], opts: { stride: 2 ** 30, padding: 2 ** 30, activation: 'relu6' }, bias: T },
  { name: 'brief example: pad [2**31-1, 0] dilation 2**31-2 stride 2**31-1 (every window in the padding)', N: 1, C: 1, K: 1, size: [4], kernel: [2], opts: { padding: [[M, 0]], dilation: M - 1, stride: M } },
  { name: 'every window in the padding, bias sigmoid', N: 1, C: 1, K: 2, size: [4], kernel: [2], opts: { padding: [[M, 0]], dilation: M - 1, stride: M, activation: 'sigmoid' }, bias: T },
  { name: '2-D one output, both taps of each dimension in the padding (dilation 5 pad 2), bias relu', N: 1, C: 2, K: 3, size: [3, 3], kernel: [2, 2], opts: { dilation: 5, padding: 2, stride: 3, activation: 'relu' }, bias: T },
  { name: '2-D depthwise multiplier2 channels_last stride [2**21, 2] pads [2**21, 1]', N: 1, C: 6, K: 12, size: [5, 5], kernel: [3, 3], opts: { groups: 6, stride: [2 ** 21, 2], padding: [[2 ** 21, 2 ** 21], [1, 1]], layout: 'channels_last', weightLayout: 'channels_last', activation: 'relu' }, bias: T },
  { name: '3-D groups2 pad 2**31-1 at the end of the middle dimension stride 2**31-1', N: 1, C: 4, K: 4, size: [3, 3, 3], kernel: [2, 2, 2], opts: { groups: 2, stride: [1, M, 1], padding: [[0, 0], [0, M], [1, 1]] }, bias: T },

  // ---- huge dilations ----
  { name: '1-D dilation 2**29 pads 2**29 stride 2**30: only the middle tap meets the input', N: 1, C: 2, K: 2, size: [5], kernel: [3], opts: { dilation: 2 ** 29, padding: 2 ** 29, stride: 2 ** 30 }, bias: T },
  { name: '1-D dilation 2**20 pads 2**20 stride 1: 1x1 over every input', N: 1, C: 2, K: 3, size: [6], kernel: [3], opts: { dilation: 2 ** 20, padding: 2 ** 20 } },
  { name: '2-D dilation [2**30, 1] with a pad of one dilation: taps of one output on both ends', N: 1, C: 1, K: 1, size: [4, 4], kernel: [2, 3], opts: { dilation: [2 ** 30, 1], padding: [[2 ** 30, 0], [1, 1]], stride: [2 ** 30, 1] } },
  // stride and dilation cancel: output 0's second tap and output 1's first tap read the same input
  { name: '1-D stride = dilation = pad = 2**30: far-apart taps of two outputs meet (gathered)', N: 1, C: 2, K: 3, size: [4], kernel: [2], opts: { stride: 2 ** 30, dilation: 2 ** 30, padding: [[2 ** 30, 2 ** 30 - 3]], activation: 'silu' }, bias: T },
  { name: '2-D groups2 channels_last, one dimension gathered (stride = dilation = 2**30), tanh', N: 2, C: 4, K: 6, size: [4, 5], kernel: [2, 3], opts: { groups: 2, stride: [2 ** 30, 1], dilation: [2 ** 30, 1], padding: [[2 ** 30, 2 ** 30 - 3], [1, 1]], layout: 'channels_last', activation: 'tanh' }, bias: T },
  { name: '3-D two dimensions gathered', N: 1, C: 2, K: 2, size: [3, 4, 4], kernel: [2, 2, 2], opts: { stride: [1, 2 ** 30, 2 ** 29], dilation: [1, 2 ** 30, 2 ** 29], padding: [[0, 0], [2 ** 30, 2 ** 30 - 3], [2 ** 29, 2 ** 29 - 3]] } },

  // ---- transposed ----
  // Found by the fuzzer: correct, but OpenVINO took 39 s to compile the stride it never applies.
  { name: 'convT3d one input position under stride [2,2,2**30]', transposed: T, N: 2, C: 4, K: 3, size: [1, 1, 1], kernel: [2, 1, 1], opts: { stride: [2, 2, 2 ** 30] }, bias: T },
  { name: 'convT1d stride 2**30 pads crop to the middle input', transposed: T, N: 1, C: 1, K: 1, size: [3], kernel: [2], opts: { stride: 2 ** 30, padding: [[2 ** 30, 2 ** 30 - 1]] } },
  { name: 'convT1d one input stride 2**31-1 bias', transposed: T, N: 1, C: 2, K: 2, size: [1], kernel: [3], opts: { stride: M }, bias: T },
  { name: 'convT1d stride 2**21: every input lands in the cropped pads, bias tanh', transposed: T, N: 1, C: 2, K: 3, size: [2], kernel: [1], opts: { stride: 2 ** 21, padding: [[1, 2 ** 21 - 4]], activation: 'tanh' }, bias: T },
  { name: 'convT1d dilation 2**29: only the middle tap reaches the output', transposed: T, N: 1, C: 1, K: 2, size: [4], kernel: [3], opts: { dilation: 2 ** 29, padding: [[2 ** 29, 2 ** 29 + 1]] } },
  { name: 'convT1d stride = dilation = 2**30 cancel (run as a gathered forward convolution), sigmoid', transposed: T, N: 1, C: 1, K: 1, size: [2], kernel: [2], opts: { stride: 2 ** 30, dilation: 2 ** 30, padding: [[2 ** 30, 2 ** 30 - 1]], activation: 'sigmoid' }, bias: T },
  { name: 'convT2d groups2 stride [2**30, 2] dilation [2**30, 1] cancel, silu', transposed: T, N: 2, C: 4, K: 6, size: [2, 3], kernel: [2, 2], opts: { groups: 2, stride: [2 ** 30, 2], dilation: [2 ** 30, 1], padding: [[2 ** 30, 2 ** 30 - 1], [1, 0]], activation: 'silu' }, bias: T },
  { name: 'convT2d depthwise channels_last cancel', transposed: T, N: 1, C: 3, K: 3, size: [2, 3], kernel: [2, 2], opts: { groups: 3, stride: [2 ** 30, 2], dilation: [2 ** 30, 1], padding: [[2 ** 30, 2 ** 30 - 1], [1, 0]], layout: 'channels_last' }, bias: T },
  { name: 'convT2d depthwise stride [2**20, 2] outputPadding [3, 1]: the tail holds bias only', transposed: T, N: 1, C: 2, K: 4, size: [3, 3], kernel: [2, 3], opts: { groups: 2, stride: [2 ** 20, 2], outputPadding: [3, 1], padding: [[2 ** 20, 2 ** 20], [1, 0]], activation: 'relu' }, bias: T },
  { name: 'convT3d stride 2**21 pads 2**21 bias relu', transposed: T, N: 1, C: 2, K: 2, size: [3, 3, 3], kernel: [2, 2, 2], opts: { stride: 2 ** 21, padding: 2 ** 21, activation: 'relu' }, bias: T },
  { name: 'convT3d channels_last groups2 stride [1, 2**16, 2]', transposed: T, N: 1, C: 4, K: 2, size: [2, 3, 2], kernel: [2, 2, 2], opts: { groups: 2, stride: [1, 2 ** 16, 2], padding: [[0, 0], [2 ** 16, 2 ** 16], [0, 1]], layout: 'channels_last', weightLayout: 'channels_last' }, bias: T },
];

// Run in a child: build the case's tensors (seeded, as test/helpers/cases.js builds its own), call
// convSync / convTransposeSync and the async form on backend 'openvino', compare both with the reference
// and print one JSON line.
const CHILD = `
const c = JSON.parse(process.argv[1]);
const sk = require(${JSON.stringify(PACKAGE)});
const reference = require(${JSON.stringify(path.join(__dirname, 'helpers', 'reference'))});
const { build } = require(${JSON.stringify(path.join(__dirname, 'helpers', 'cases'))});
const b = build(c);
const ref = (c.transposed ? reference.convTranspose : reference.conv)(b.x, b.w, b.opts);
const opts = { ...b.opts, backend: 'openvino' };
const check = (y) => ({ shape: Array.from(y.shape), expected: ref.shape, error: String(reference.normalisedError(y.data, ref.data)),
  worst: reference.worstMismatch(y.data, ref.data, ref.shape) });
const sync = check((c.transposed ? sk.convTransposeSync : sk.convSync)(b.x, b.w, opts));
(c.transposed ? sk.convTranspose : sk.conv)(b.x, b.w, opts).then((y) => {
  console.log(JSON.stringify({ sync, async: check(y) }));
});
`;

function runCase(c) {
  const env = { ...process.env };
  delete env.STRIDEKIT_BACKEND; // the case names its backend; a forced other one must not stop the load
  return spawnSync(process.execPath, ['-e', CHILD, JSON.stringify(c)], { encoding: 'utf8', env, timeout: 120000 });
}

function openvinoInfo() {
  const { sk } = loadStridekit();
  return sk.backends().find((b) => b.name === 'openvino');
}

const info = openvinoInfo();
const tolerance = TOLERANCE.openvino.fp32;

if (!info || !info.available) {
  const why = `openvino unavailable (${info ? info.reason || '(backends() gave no reason)' : 'not a known backend'})`;
  // eslint-disable-next-line no-console
  console.log(`stridekit tests skipped: openvino lowering of degenerate geometries: ${why}`);
  describe.skip(`openvino lowering of degenerate geometries — skipped: ${why}`, () => {
    test('degenerate geometries', () => {});
  });
} else {
  describe(`openvino lowering of degenerate geometries (${info.device})`, () => {
    test('case names are unique', () => {
      expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
    });

    for (const raw of CASES) {
      const c = { transposed: false, ...raw };
      test(c.name, () => {
        const r = runCase(c);
        const what = `case ${JSON.stringify(c)}`;
        if (r.error) throw new Error(`${what}: the child process failed to run: ${r.error.message}`);
        if (r.signal || r.status !== 0) {
          throw new Error(`${what}: the child process ended with ${r.signal ? `signal ${r.signal}` : `status ${r.status}`}\n${r.stderr}`);
        }
        const lines = r.stdout.trim().split('\n');
        const result = JSON.parse(lines[lines.length - 1]);
        for (const form of ['sync', 'async']) {
          const got = result[form];
          if (JSON.stringify(got.shape) !== JSON.stringify(got.expected)) {
            throw new Error(`${what} (${form}): shape [${got.shape}] but expected [${got.expected}]`);
          }
          if (!(Number(got.error) <= tolerance)) { // NaN and Infinity fail
            throw new Error(`${what} (${form}): normalised error ${got.error} > ${tolerance}: ${got.worst}`);
          }
        }
      });
    }
  });
}
