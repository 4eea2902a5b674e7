'use strict';
// The one table of named convolution cases lives in the package (lib/conformance.ts), so that
// `stridekit selftest` runs on an installed package exactly the cases this repository's suite runs:
// test/conformance.test.js on every backend, test/reference.test.js against ONNX Runtime, and the
// others that borrow its generator. Read from this checkout's build (`npm run build`), whichever copy
// of the package a test file runs against.

const path = require('path');

let conformance;
try {
  conformance = require(path.join(__dirname, '..', '..', 'dist', 'conformance.js'));
} catch (error) {
  throw new Error(`test/helpers/cases.js reads the case table from dist/conformance.js; run \`npm run build\` first (${error.message})`);
}

const { CASES, build, describeCase, weightShape, inputShape, mulberry32, seedOf, randomArray } = conformance;

module.exports = { conformance, CASES, build, describeCase, weightShape, inputShape, mulberry32, seedOf, randomArray };
