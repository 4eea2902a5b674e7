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

module.exports = { conformance, CASES, build, describeCase, weightShape, inputShape, mulberry32, seedOf, randomArray };
