'use strict';
// Which stridekit and which backend a test file runs against, and how close its results must be.
//
// The backend is STRIDEKIT_BACKEND when set, else the one backends() marks selected:true. Tests pass it
// explicitly as the `backend` option. When it is unavailable here, suites are skipped with its reason in
// their titles (and printed): never passed silently.

const path = require('path');
const reference = require('./reference');
const { conformance } = require('./cases');

const ROOT = path.resolve(__dirname, '..', '..');
// The package under test: this checkout, or another copy of it (an unpacked `npm pack` tarball).
const PACKAGE = process.env.STRIDEKIT_TEST_PACKAGE ? path.resolve(process.env.STRIDEKIT_TEST_PACKAGE) : ROOT;

// Normalised error bound per backend and precision, and why: lib/conformance.ts, shared with
// `stridekit selftest`.
const TOLERANCE = conformance.tolerances(process.env);
// Every precision the table has a bound for: those the facade takes (lib/types.ts Precision).
const PRECISIONS = Object.keys(TOLERANCE.cpu);
/**
 * The loosest fp32 bound of all: for a call whose backend is not known in advance (backend 'auto') and
 * that passes no precision.
 */
const LOOSEST_TOLERANCE = Math.max(...Object.values(TOLERANCE).map((byPrecision) => byPrecision.fp32));

/** STRIDEKIT_TEST_PRECISION (default fp32): the `precision` option the conformance tests pass. */
function testPrecision() {
  const precision = process.env.STRIDEKIT_TEST_PRECISION || 'fp32';
  if (!PRECISIONS.includes(precision)) {
    throw new Error(`STRIDEKIT_TEST_PRECISION must be one of ${PRECISIONS.join(', ')}, got '${precision}'`);
  }
  return precision;
}

// Cases a backend cannot run, by case name, with why (lib/conformance.ts). They are listed as
// skipped with that reason, never passed.
const { UNSUPPORTED } = conformance;

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
