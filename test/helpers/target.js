'use strict';
// Which stridekit and which backend a test file runs against, and how close its results must be.
//
// The backend is STRIDEKIT_BACKEND when set, else the one backends() marks selected:true. Tests pass it
// explicitly as the `backend` option. When it is unavailable here, suites are skipped with its reason in
// their titles (and printed): never passed silently.

const path = require('path');
const reference = require('./reference');

const ROOT = path.resolve(__dirname, '..', '..');
// The package under test: this checkout, or another copy of it (an unpacked `npm pack` tarball).
const PACKAGE = process.env.STRIDEKIT_TEST_PACKAGE ? path.resolve(process.env.STRIDEKIT_TEST_PACKAGE) : ROOT;

/**
 * Normalised error bound per backend: max|got - ref| / max(1, max|ref|), ref being reference.js
 * (float64) or ONNX Runtime (float32). Inputs and weights are uniform in [-1, 1), reductions up to
 * ~1,500 terms.
 *   cpu, openvino: float32 arithmetic; different summation orders (blocking, FMA) stay near 1e-6.
 *   cudnn: cuDNN may run float32 convolutions on TF32 tensor cores (10-bit mantissa), its default math
 *          on Ampere and later: about 5e-4 per product.
 *   coreml: float32 programs (STRIDEKIT_COREML_UNITS cpuOnly or cpuAndGPU) as cpu. Float16 (the precision
 *          fp16, or units that may pick the Neural Engine: `all`, the default, and cpuAndNeuralEngine):
 *          x, w, y rounded to float16 (relative 2^-11 = 4.9e-4). coreml_fp16_error.py simulates the worst
 *          cases (576 terms then tanh; 1,440 terms): 6.0e-3 with wider-than-fp16 sums (the GPU's default,
 *          allowLowPrecisionAccumulationOnGPU = NO), 1.5e-2 with pairwise fp16 sums, 4.8e-2 with
 *          sequential fp16 sums. 2e-2 assumes the Neural Engine sums no worse than pairwise; unmeasured
 *          until a Mac runs it (README, Backends).
 */
function coremlTolerance() {
  const units = process.env.STRIDEKIT_COREML_UNITS || 'all';
  const fp16 = process.env.STRIDEKIT_TEST_PRECISION === 'fp16' || units === 'all' || units === 'cpuAndNeuralEngine';
  return fp16 ? 2e-2 : 1e-4;
}

const TOLERANCE = {
  cpu: 1e-4,
  openvino: 1e-4,
  cudnn: 5e-3,
  coreml: coremlTolerance(),
};

/**
 * Cases a backend cannot run, by case name, with why. They are listed as skipped with that reason,
 * never passed. Empty: every backend runs every case until someone writes down otherwise.
 */
const UNSUPPORTED = {
  cpu: {},
  openvino: {},
  cudnn: {},
  coreml: {},
};

/**
 * Requires the package root as a user does. With a forced backend that is unavailable the package may
 * refuse to load at all (DESIGN.md: an error that says why); then it is loaded again with the variable
 * unset so that backends() can tell the reason. Any other load failure is thrown.
 */
function loadStridekit() {
  const forced = process.env.STRIDEKIT_BACKEND || null;
  try {
    return { sk: require(PACKAGE), forced, loadError: null };
  } catch (loadError) {
    if (!forced) throw loadError;
    let sk;
    delete process.env.STRIDEKIT_BACKEND;
    try {
      jest.isolateModules(() => {
        sk = require(PACKAGE);
      });
    } finally {
      process.env.STRIDEKIT_BACKEND = forced;
    }
    return { sk, forced, loadError };
  }
}

/**
 * { sk, name, info, skipReason, tolerance }: skipReason is set when the target backend is unavailable.
 * Throws when the package cannot load, or when the target backend is unknown.
 */
function target() {
  const { sk, forced, loadError } = loadStridekit();
  const list = sk.backends();
  const selected = list.filter((b) => b.selected);
  const name = forced || (selected.length === 1 ? selected[0].name : null);
  if (!name) throw new Error(`backends() marks ${selected.length} backends selected: ${JSON.stringify(list)}`);
  const info = list.find((b) => b.name === name);
  if (!info) throw new Error(`STRIDEKIT_BACKEND=${name} is not a backend stridekit knows: ${list.map((b) => b.name).join(', ')}`);
  const tolerance = TOLERANCE[name];
  if (tolerance === undefined) throw new Error(`no tolerance for backend ${name} in test/helpers/target.js`);
  if (!info.available) {
    return { sk, name, info, tolerance, skipReason: info.reason || '(backends() gave no reason)' };
  }
  if (loadError) throw loadError; // the backend is available, so refusing to load is a bug
  return { sk, name, info, tolerance, skipReason: null };
}

/** describe, or describe.skip with the reason in the title (and printed) when the target is unavailable. */
function describeOnTarget(t, title, body) {
  if (t.skipReason) {
    const why = `${t.name} unavailable (${t.skipReason})`;
    // eslint-disable-next-line no-console
    console.log(`stridekit tests skipped: ${title}: ${why}`);
    describe.skip(`${title} — skipped: ${why}`, body);
  } else {
    describe(`${title} on ${t.name}${t.info.device ? ` (${t.info.device})` : ''}`, body);
  }
}

function isFloat32Array(a) {
  return Object.prototype.toString.call(a) === '[object Float32Array]';
}

/** Throws a readable error unless got (a Tensor) matches ref within the normalised tolerance. */
function expectClose(got, ref, tolerance, what = 'result') {
  if (!got || !isFloat32Array(got.data)) throw new Error(`${what}: data is not a Float32Array: ${Object.prototype.toString.call(got && got.data)}`);
  const shape = Array.from(got.shape || got.dims || []);
  if (JSON.stringify(shape) !== JSON.stringify(Array.from(ref.shape))) {
    throw new Error(`${what}: shape [${shape}] but expected [${ref.shape}]`);
  }
  const err = reference.normalisedError(got.data, ref.data);
  if (!(err <= tolerance)) {
    throw new Error(`${what}: normalised error ${err.toExponential(3)} > ${tolerance}: ${reference.worstMismatch(got.data, ref.data, ref.shape)}`);
  }
}

module.exports = { ROOT, PACKAGE, TOLERANCE, UNSUPPORTED, loadStridekit, target, describeOnTarget, expectClose, isFloat32Array };
