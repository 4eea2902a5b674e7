'use strict';
// The one table of named convolution cases lives in the package (lib/conformance.ts), so that
// `stridekit selftest` runs on an installed package exactly the cases this repository's suite runs:
// test/conformance.test.js on every backend, test/reference.test.js against ONNX Runtime, and the
// others that borrow its generator. Read from the package under test: STRIDEKIT_TEST_PACKAGE (an
// installed tarball, whose checkout the release workflow never builds) or this checkout's build.

const path = require('path');

const PACKAGE = process.env.STRIDEKIT_TEST_PACKAGE
  ? path.resolve(process.env.STRIDEKIT_TEST_PACKAGE)
  : path.resolve(__dirname, '..', '..');
let conformance;
try {
  conformance = require(path.join(PACKAGE, 'dist', 'conformance.js'));
} catch (error) {
  throw new Error(`test/helpers/cases.js reads the case table from ${path.join(PACKAGE, 'dist', 'conformance.js')}; run \`npm run build\` first (${error.message})`);
}

const { CASES, build, describeCase, weightShape, inputShape, mulberry32, seedOf, randomArray } = conformance;

// The cases with the longest reductions, forward and transposed, where reduced precision's rounding
// adds up most: the bf16 tests of each backend (test/cpu-bf16.test.js, test/openvino-bf16.test.js)
// hold these to more than the conformance file's bound does.
const LONG_REDUCTIONS = [
  'conv2d deep reduction C160 3x3 (C*k=1440), K>144 rows',
  'conv2d many channels C64 3x3 (C*k=576, blocked accumulation) tanh',
  'convT2d many channels C288 k2 s2 (long reduction)',
];

// A layer given as { C, K, batch, input, kernel, options } (options.groups: 1 if absent) with random
// weights, input and bias, drawn in that order from mulberry32(seed): { w, x, opts } (opts: the
// options and the bias).
function randomLayer(spec, seed) {
  const random = mulberry32(seed);
  const groups = spec.options.groups || 1;
  const count = (shape) => shape.reduce((a, b) => a * b, 1);
  const wShape = [spec.K, spec.C / groups, ...spec.kernel], xShape = [spec.batch, spec.C, ...spec.input];
  const w = { data: randomArray(count(wShape), random), shape: wShape };
  const x = { data: randomArray(count(xShape), random), shape: xShape };
  return { w, x, opts: { bias: randomArray(spec.K, random), ...spec.options } };
}

module.exports = {
  conformance, CASES, LONG_REDUCTIONS, build, describeCase, weightShape, inputShape, mulberry32, seedOf, randomArray,
  randomLayer,
};
