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
 * Normalised error bound per backend and precision: max|got - ref| / max(1, max|ref|), ref being
 * reference.js (float64) or ONNX Runtime (float32). Inputs and weights are uniform in [-1, 1),
 * reductions up to ~1,500 terms, so max|ref| is ~10-40. `precision` is a permission (README, Options), so a
 * backend may always be more exact than its entry.
 *   cpu, openvino: float32 arithmetic whatever the precision; different summation orders (blocking,
 *          FMA) stay near 1e-6.
 *   cudnn fp32: no TF32 (FMA math), but cuDNN may pick Winograd or FFT algorithms, whose transforms
 *          grow float32 rounding 10-50x over direct summation (~5e-5 at these sizes); 2e-4 keeps 4x
 *          margin and stays below what TF32 products give (~5e-4 per product), so a TF32 leak fails.
 *   cudnn tf32: 10-bit mantissa products, fp32 sums: ~5e-4 per product, 5e-3 with margin.
 *   cudnn fp16: inputs, weights and outputs rounded to 11-bit significands (~5e-4 relative each) with
 *          fp32 accumulation (tensor cores accumulate in fp32): ~1e-3 at these sizes, 1e-2 for the
 *          margin. An fp16 accumulator over 1,500 terms of magnitude ~30 would lose ~3e-2 and fail.
 *   coreml: float32 programs (precision fp32 or tf32 with STRIDEKIT_COREML_UNITS cpuOnly or cpuAndGPU)
 *          as cpu. Float16 (the precision fp16, or units that may pick the Neural Engine, which computes
 *          in float16 whatever the program says: `all`, the default, and cpuAndNeuralEngine): x, w, y
 *          rounded to float16 (relative 2^-11 = 4.9e-4). coreml_fp16_error.py simulates the worst cases
 *          (576 terms then tanh; 1,440 terms): 6.0e-3 with wider-than-fp16 sums (the GPU's default,
 *          allowLowPrecisionAccumulationOnGPU = NO), 1.5e-2 with pairwise fp16 sums, 4.8e-2 with
 *          sequential fp16 sums. 2e-2 assumes the Neural Engine sums no worse than pairwise; unmeasured
 *          until a Mac runs it (README, Backends).
 */
const COREML_FP16 = 2e-2;
const COREML_FP32 = ['all', 'cpuAndNeuralEngine'].includes(process.env.STRIDEKIT_COREML_UNITS || 'all')
  ? COREML_FP16
  : 1e-4;

const TOLERANCE = {
  cpu: { fp32: 1e-4, tf32: 1e-4, fp16: 1e-4 },
  openvino: { fp32: 1e-4, tf32: 1e-4, fp16: 1e-4 },
  cudnn: { fp32: 2e-4, tf32: 5e-3, fp16: 1e-2 },
  coreml: { fp32: COREML_FP32, tf32: COREML_FP32, fp16: COREML_FP16 },
};
const PRECISIONS = ['fp32', 'tf32', 'fp16'];
/** The loosest bound of all: for a call whose backend is not known in advance (backend 'auto'). */
const LOOSEST_TOLERANCE = Math.max(...Object.values(TOLERANCE).flatMap((byPrecision) => Object.values(byPrecision)));

/** STRIDEKIT_TEST_PRECISION (default fp32): the `precision` option the conformance tests pass. */
function testPrecision() {
  const precision = process.env.STRIDEKIT_TEST_PRECISION || 'fp32';
  if (!PRECISIONS.includes(precision)) {
    throw new Error(`STRIDEKIT_TEST_PRECISION must be one of ${PRECISIONS.join(', ')}, got '${precision}'`);
  }
  return precision;
}

/**
 * Cases a backend cannot run, by case name, with why. They are listed as skipped with that reason,
 * never passed. Empty: every backend runs every case until someone writes down otherwise.
 */
// Degenerate geometries (cases.js, issue 20) whose pads, dilations or strides near 2**31 reach past
// what the vendor API can describe. The cpu and openvino backends lower them to what they touch
// (native/backends/cpu/direct.cc, native/backends/openvino/geometry_reduction.h); the cudnn and coreml
// backends do not yet. cudnn refuses them with an Error naming the descriptor that does not fit
// ("... does not fit cuDNN's 32-bit descriptors"), never a crash; the coreml model builder writes
// int32 attributes that overflow. Listed by name, exactly the cases that fail there.
const BEYOND_32_BIT_DESCRIPTORS = [
  'degenerate conv1d dilation 2^30-1 pads 2^30 stride 1 (one live tap)',
  'degenerate conv1d dilation 2^30-1 pads [2^30-1,2^30-5] (one output)',
  'degenerate conv1d pad [2^31-2,0] dilation 2^31-2 stride 2^31-1 (last tap reads x[0]) tanh',
  'degenerate conv1d pads 2^30 stride 2^20 (outputs in padding hold bias+tanh)',
  'degenerate conv1d window in padding: pad [2^31-1,0] dilation 2^31-2 stride 2^31-1 bias sigmoid',
  'degenerate conv2d channels_last + TF weights pads 2^31-2 dilation 2^31-2 stride [2^31-1,1]',
  'degenerate conv2d depthwise channels_last pads [2^30,1] stride [2^22,1]',
  'degenerate conv2d depthwise multiplier2 pads 2^31-2 dilation 2^31-2 stride [2^31-1,1] relu6',
  'degenerate conv2d groups2 pads 2^30 stride [2^21,1] dilation [1,2]',
  'degenerate conv2d pads 2^31-1 stride [1,2^31-1] (first and last outputs in padding)',
  'degenerate conv3d channels_last both layouts pads 2^31-2 dilation 2^31-2 groups3',
  'degenerate conv3d mixed: stride 2^21 | pads 2^30 dilation 2^30-1 | stride 2',
  'degenerate convT1d dilation 2^31-2 pad 2^31-2',
  'degenerate convT2d depthwise stride [2^31-1,2] pad 2^31-2 dilation 2^31-2',
];
const NOT_LOWERED = 'a pad, dilation or stride near 2**31 beyond the vendor API\'s 32-bit sizes; this backend does not lower such geometries yet (cpu and openvino do)';

const UNSUPPORTED = {
  cpu: {},
  openvino: {},
  cudnn: Object.fromEntries(BEYOND_32_BIT_DESCRIPTORS.map((name) => [name, NOT_LOWERED])),
  coreml: Object.fromEntries([
    ...BEYOND_32_BIT_DESCRIPTORS.map((name) => [name, NOT_LOWERED]),
    ['degenerate convT1d begin pad crops all the input reaches, outputPadding makes the output',
      'conv_transpose cannot describe a begin pad past everything the input reaches; not lowered yet'],
  ]),
};

/**
 * Requires the package root as a user does. With a forced backend that is unavailable the package may
 * refuse to load at all (the README: an error that says why); then it is loaded again with the variable
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
 * { sk, name, info, precision, skipReason, tolerance }: skipReason is set when the target backend is
 * unavailable; tolerance is the bound for that backend at `precision`.
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
  const precision = testPrecision();
  const tolerance = TOLERANCE[name] && TOLERANCE[name][precision];
  if (tolerance === undefined) throw new Error(`no tolerance for backend ${name} in test/helpers/target.js`);
  if (!info.available) {
    return { sk, name, info, precision, tolerance, skipReason: info.reason || '(backends() gave no reason)' };
  }
  if (loadError) throw loadError; // the backend is available, so refusing to load is a bug
  return { sk, name, info, precision, tolerance, skipReason: null };
}

/** describe, or describe.skip with the reason in the title (and printed) when the target is unavailable. */
function describeOnTarget(t, title, body) {
  if (t.skipReason) {
    const why = `${t.name} unavailable (${t.skipReason})`;
    // eslint-disable-next-line no-console
    console.log(`stridekit tests skipped: ${title}: ${why}`);
    describe.skip(`${title} — skipped: ${why}`, body);
  } else {
    const precision = t.precision === 'fp32' ? '' : `, precision ${t.precision}`;
    describe(`${title} on ${t.name}${t.info.device ? ` (${t.info.device})` : ''}${precision}`, body);
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

module.exports = { ROOT, PACKAGE, TOLERANCE, LOOSEST_TOLERANCE, UNSUPPORTED, loadStridekit, target, describeOnTarget, expectClose, isFloat32Array };
