'use strict';
// Runs one fuzz case through stridekit's public API (the package root, as a user requires it) and
// judges it: { ok: true, note } or { ok: false, message }.
//   valid:   the result must match reference.js within the backend's tolerance (test/helpers/target.js),
//            have the reference's shape, land in `out` when one is given, and leave the inputs as they were;
//            outputShape() and a plan's outputShape() must agree with the reference.
//   invalid: the call that receives the broken argument must throw (Sync entry points, createConv) or
//            reject (async entry points, which must never throw) a TypeError or a RangeError, exactly
//            those classes. Another Error class, a result, a synchronous throw from an async function:
//            a failure. Crashes and hangs are the driver's to see.

const { PACKAGE, TOLERANCE } = require('../helpers/target');
const reference = require('../helpers/reference');
const { referenceOptions, workOf } = require('./geometry');
const { buildValid, decode, seededData, tensor, product } = require('./materialize');

let skCache = null;
function sk() {
  if (skCache === null) skCache = require(PACKAGE);
  return skCache;
}

class Failure extends Error {}
const fail = (message) => { throw new Failure(message); };

function outputShapeOf(c) {
  const { outSize } = workOf(c);
  return c.opts.layout === 'channels_last' ? [c.N, ...outSize, c.K] : [c.N, c.K, ...outSize];
}

/** The arguments of a valid case, before any mutation. */
function argumentsOf(c) {
  const b = buildValid(c);
  const layer = { ...b.options, backend: c.backend };
  if (c.transposedOption) layer.transposed = c.transposed;
  const outShape = outputShapeOf(c);
  const out = c.out ? tensor(new Float32Array(product(outShape)).fill(NaN), outShape, false) : undefined;
  return { x: b.x, w: b.w, bias: b.bias, layer, out, outShape, optionsBag: undefined, runOptionsBag: undefined, runOptions: {} };
}

const oneShot = (c) => {
  const api = sk();
  if (c.entry === 'sync') return c.transposed ? api.convTransposeSync : api.convSync;
  return c.transposed ? api.convTranspose : api.conv;
};

function oneShotOptions(a) {
  if (a.optionsBag !== undefined) return a.optionsBag;
  return a.out !== undefined ? { ...a.layer, out: a.out } : a.layer;
}

function planOptions(c, a) {
  if (a.optionsBag !== undefined) return a.optionsBag;
  // transposed first, so that a mutation of it (in layer) wins
  return { ...(c.transposed ? { transposed: true } : {}), ...a.layer, weight: a.w };
}

function runOptions(a) {
  if (a.runOptionsBag !== undefined) return a.runOptionsBag;
  const o = { ...a.runOptions };
  if (a.out !== undefined) o.out = a.out;
  return Object.keys(o).length ? o : undefined;
}

function shapeText(t) {
  return t && (t.shape || t.dims) ? `[${Array.from(t.shape || t.dims)}]` : String(t);
}

function checkResult(y, ref, tolerance, what) {
  if (!y || typeof y !== 'object') fail(`${what}: returned ${String(y)}, not a tensor`);
  if (Object.prototype.toString.call(y.data) !== '[object Float32Array]') fail(`${what}: result data is not a Float32Array`);
  const shape = Array.from(y.shape || []);
  if (JSON.stringify(shape) !== JSON.stringify(ref.shape)) fail(`${what}: shape [${shape}], reference [${ref.shape}]`);
  const err = reference.normalisedError(y.data, ref.data);
  if (!(err <= tolerance)) {
    fail(`${what}: normalised error ${err.toExponential(3)} > ${tolerance}: ${reference.worstMismatch(y.data, ref.data, ref.shape)}`);
  }
}

function sameValues(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; ++i) if (!Object.is(a[i], b[i])) return false;
  return true;
}

async function checkValid(c) {
  const api = sk();
  const a = argumentsOf(c);
  const precision = c.opts.precision || 'fp32';
  const tolerance = TOLERANCE[c.backend][precision];
  const refOpts = { ...referenceOptions(c), bias: a.bias };
  const referenceOf = (x) => (c.transposed ? reference.convTranspose : reference.conv)(x, a.w, refOpts);
  const ref = referenceOf(a.x);
  const shapeOptions = { ...a.layer, transposed: c.transposed };
  const predicted = Array.from(api.outputShape(a.x.shape || a.x.dims, a.w.shape, shapeOptions));
  if (JSON.stringify(predicted) !== JSON.stringify(ref.shape)) fail(`outputShape() gave [${predicted}], reference [${ref.shape}]`);
  const before = { x: a.x.data.slice(), w: a.w.data.slice(), bias: a.bias ? a.bias.slice() : null };
  const unchanged = () => {
    if (!sameValues(a.x.data, before.x)) fail('x.data was modified by the call');
    if (!sameValues(a.w.data, before.w)) fail('w.data was modified by the call');
    if (a.bias && !sameValues(a.bias, before.bias)) fail('bias was modified by the call');
  };
  const expectOut = (y, what) => {
    if (a.out && y && y.data !== a.out.data) fail(`${what}: the result's data is not out.data`);
  };

  if (c.entry === 'sync' || c.entry === 'async') {
    const y = await oneShot(c)(a.x, a.w, oneShotOptions(a));
    expectOut(y, c.entry);
    checkResult(y, ref, tolerance, c.entry);
    unchanged();
    return { ok: true };
  }
  const plan = api.createConv(planOptions(c, a));
  try {
    if (plan.backend !== c.backend) fail(`plan.backend is '${plan.backend}', asked for '${c.backend}'`);
    const planned = Array.from(plan.outputShape(a.x.shape || a.x.dims));
    if (JSON.stringify(planned) !== JSON.stringify(ref.shape)) fail(`plan.outputShape() gave [${planned}], reference [${ref.shape}]`);
    for (let run = 0; run < c.runs; ++run) {
      const x = run === 0 ? a.x : tensor(seededData(a.x.data.length, (c.seed + run) >>> 0, c.special), a.x.shape || a.x.dims, c.dims);
      const r = run === 0 ? ref : referenceOf(x);
      if (a.out) a.out.data.fill(NaN);
      const what = `${c.entry} run ${run + 1}`;
      const y = c.entry === 'planSync' ? plan.runSync(x, runOptions(a)) : await plan.run(x, runOptions(a));
      expectOut(y, what);
      checkResult(y, r, tolerance, what);
    }
    unchanged();
  } finally {
    plan.dispose();
  }
  return { ok: true };
}

// ---- invalid cases ----

/** Applies `m` to the arguments `a` of the base case (materialize.js describes the encodings). */
function applyMutation(c, a, m) {
  switch (m.at) {
    case 'options': Object.assign(a.layer, decode(m.set)); return;
    case 'optionsBag': a.optionsBag = decode(m.value); return;
    case 'runOptions': Object.assign(a.runOptions, decode(m.set)); return;
    case 'runOptionsBag': a.runOptionsBag = decode(m.value); return;
    case 'tensor': break;
    default: throw new Error(`unknown mutation ${JSON.stringify(m)}`);
  }
  const which = m.which;
  const t = a[which];
  const key = t.dims ? 'dims' : 'shape';
  switch (m.op) {
    case 'replace': a[which] = decode(m.value); return;
    case 'data': t.data = decode(m.value); return;
    case 'length': {
      const data = new Float32Array(t.data.length + m.delta);
      data.set(t.data.subarray(0, Math.min(t.data.length, data.length)));
      t.data = data;
      return;
    }
    case 'shape': t[key] = m.shape.slice(); t.data = seededData(product(m.shape), 99, null); return;
    case 'shapeValue': t[key] = decode(m.value); return;
    case 'dims': t.shape = (t.shape || t.dims).slice(); t.dims = m.dims.slice(); return;
    case 'overlap': {
      const other = m.with === 'bias' ? a.bias : a[m.with].data;
      const outLength = t.data.length;
      const offset = Math.min(Math.floor((other.length * m.thousandths) / 1000), other.length - 1);
      const buffer = new ArrayBuffer(4 * Math.max(other.length, offset + outLength));
      const moved = new Float32Array(buffer, 0, other.length);
      moved.set(other);
      if (m.with === 'bias') {
        a.bias = moved;
        a.layer.bias = moved;
      } else {
        a[m.with].data = moved;
      }
      t.data = new Float32Array(buffer, 4 * offset, outLength);
      return;
    }
    default: throw new Error(`unknown tensor mutation ${JSON.stringify(m)}`);
  }
}

function describeError(e) {
  if (e instanceof Error) return `${e.constructor && e.constructor.name}: ${e.message}`;
  return `a thrown non-Error ${String(e)}`;
}

function judge(e, what) {
  const proto = e !== null && typeof e === 'object' ? Object.getPrototypeOf(e) : null;
  if (proto === TypeError.prototype || proto === RangeError.prototype) return { ok: true, note: `${e.constructor.name}: ${e.message}` };
  return fail(`${what} failed with ${describeError(e)}, not a TypeError or RangeError${e && e.stack ? `\n${e.stack}` : ''}`);
}

function expectThrow(f, what) {
  let result;
  try {
    result = f();
  } catch (e) {
    return judge(e, what);
  }
  return fail(`${what} returned ${result && result.shape ? `a result of shape ${shapeText(result)}` : String(result)} instead of throwing`);
}

async function expectReject(f, what) {
  let promise;
  try {
    promise = f();
  } catch (e) {
    return fail(`${what} threw synchronously (${describeError(e)}); async functions must reject`);
  }
  if (!(promise instanceof Promise)) fail(`${what} returned ${String(promise)}, not a Promise`);
  let result;
  try {
    result = await promise;
  } catch (e) {
    return judge(e, `${what} (rejection)`);
  }
  return fail(`${what} resolved to ${result && result.shape ? `a result of shape ${shapeText(result)}` : String(result)} instead of rejecting`);
}

/**
 * Mutations that createConv sees (options, the weight). It may refuse them there, or, when the fault
 * only shows against an input shape (channels that do not match, pads that leave no output), the run
 * must. The others (x, out, run options) reach run/runSync only, and createConv must accept the plan.
 */
function reachesPlanCreation(m) {
  return m.at === 'options' || m.at === 'optionsBag' || (m.at === 'tensor' && m.which === 'w');
}

async function checkInvalid(c) {
  const api = sk();
  const base = c.base;
  const a = argumentsOf(base);
  applyMutation(base, a, c.mutation);
  const direction = base.transposed ? 'convTranspose' : 'conv';
  if (base.entry === 'sync') return expectThrow(() => oneShot(base)(a.x, a.w, oneShotOptions(a)), `${direction}Sync`);
  if (base.entry === 'async') return expectReject(() => oneShot(base)(a.x, a.w, oneShotOptions(a)), direction);
  let plan;
  try {
    plan = api.createConv(planOptions(base, a));
  } catch (e) {
    if (reachesPlanCreation(c.mutation)) return judge(e, 'createConv');
    return fail(`createConv refused the valid plan of this case: ${describeError(e)}`);
  }
  try {
    const created = reachesPlanCreation(c.mutation) ? 'createConv accepted it and ' : '';
    if (base.entry === 'planSync') return expectThrow(() => plan.runSync(a.x, runOptions(a)), `${created}plan.runSync`);
    return await expectReject(() => plan.run(a.x, runOptions(a)), `${created}plan.run`);
  } finally {
    plan.dispose();
  }
}

/** { ok, note?, message?, harness? }: harness marks an error of the fuzzer itself, not of stridekit. */
async function check(c) {
  try {
    return c.kind === 'valid' ? await checkValid(c) : await checkInvalid(c);
  } catch (e) {
    if (e instanceof Failure) return { ok: false, message: e.message };
    if (c.kind === 'valid') {
      return { ok: false, message: `the valid call failed: ${describeError(e)}${e && e.stack ? `\n${e.stack}` : ''}` };
    }
    return { ok: false, harness: true, message: `fuzzer error: ${e && e.stack ? e.stack : String(e)}` };
  }
}

module.exports = { check, applyMutation, argumentsOf };
