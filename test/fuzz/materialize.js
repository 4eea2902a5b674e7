'use strict';
// A fuzz case is plain JSON (so that it can cross the IPC channel, be shrunk by fast-check and be
// printed as a reproduction). This module turns one into the JavaScript values the public API is
// called with: seeded tensors, the options bag, and the encoded values that JSON cannot hold (NaN,
// Infinity, typed arrays of other types, functions, symbols, bigints).
//
// Valid case (arbitraries.js validCase):
//   { kind: 'valid', backend, entry, out, dims, transposedOption, runs, transposed, N, C, K, groups,
//     size, kernel, opts, bias, seed, special }
//   entry: 'sync' | 'async' (convSync / conv or convTransposeSync / convTranspose), 'planSync' |
//   'planAsync' (createConv, then runSync / run `runs` times); out: pass a preallocated `out`;
//   dims: x given as { data, dims }; transposedOption: also pass `transposed` (agreeing with the call);
//   opts: the layer options as JSON (stride, padding, dilation, groups, outputPadding, activation,
//   layout, weightLayout, precision); special: null or { every, values }: about one element in
//   `every` of x and w is replaced by one of `values` (w: only those of magnitude <= 1).
// Invalid case: { kind: 'invalid', base: <valid case>, mutation } (see applyMutation).
//
// Encoded values (decode): { $: 'NaN' | 'Infinity' | '-Infinity' | 'undefined' | 'function' | 'symbol' },
// { $: 'bigint', value: '2' }, { $: 'typed', type: 'Float64Array' | ..., length }, { $: 'array', length }.

const { mulberry32 } = require('../helpers/cases');

const product = (a) => a.reduce((x, y) => x * y, 1);

/** Input, weight and output shapes of a valid case, in the layouts its options name. */
function shapes(c) {
  const last = c.opts.layout === 'channels_last';
  const weightLast = c.opts.weightLayout === 'channels_last';
  const [a, b] = c.transposed ? [c.C, c.K / c.groups] : [c.K, c.C / c.groups];
  const x = last ? [c.N, ...c.size, c.C] : [c.N, c.C, ...c.size];
  const w = weightLast ? [...c.kernel, b, a] : [a, b, ...c.kernel];
  return { x, w };
}

/** Uniform values in [-1, 1), about one in `special.every` replaced by one of `special.values`. */
function seededData(length, seed, special) {
  const random = mulberry32(seed);
  const a = new Float32Array(length);
  for (let i = 0; i < length; ++i) {
    a[i] = random() * 2 - 1;
    if (special && random() * special.every < 1) a[i] = decode(special.values[Math.floor(random() * special.values.length)]);
  }
  return a;
}

/**
 * The special values of magnitude at most `limit` (weights get those at most 1: products of two big
 * values, cancelling, lose more float32 bits than any backend's tolerance allows for).
 */
function limitSpecial(special, limit) {
  if (!special) return null;
  const values = special.values.filter((v) => typeof v !== 'number' || Math.abs(v) <= limit);
  return values.length ? { ...special, values } : null;
}

function decode(v) {
  if (Array.isArray(v)) return v.map(decode);
  if (v === null || typeof v !== 'object') return v;
  if (!Object.prototype.hasOwnProperty.call(v, '$')) {
    const o = {};
    for (const [k, value] of Object.entries(v)) o[k] = decode(value);
    return o;
  }
  switch (v.$) {
    case 'NaN': return NaN;
    case 'Infinity': return Infinity;
    case '-Infinity': return -Infinity;
    case '-0': return -0;
    case 'undefined': return undefined;
    case 'function': return function options() { return 1; };
    case 'symbol': return Symbol('fuzz');
    case 'bigint': return BigInt(v.value);
    case 'typed': {
      const Type = globalThis[v.type];
      const a = new Type(v.length);
      const random = mulberry32(v.length + 7);
      for (let i = 0; i < a.length; ++i) a[i] = v.type.startsWith('Float') ? random() * 2 - 1 : Math.floor(random() * 7);
      return a;
    }
    case 'array': {
      const random = mulberry32(v.length + 11);
      return Array.from({ length: v.length }, () => random() * 2 - 1);
    }
    default: throw new Error(`materialize: unknown encoded value ${JSON.stringify(v)}`);
  }
}

function tensor(data, shape, useDims) {
  return useDims ? { data, dims: shape.slice() } : { data, shape: shape.slice() };
}

/**
 * The arguments of a valid case: { x, w, bias, out, options, xShape, wShape } where options is the
 * layer options bag (bias included, without backend/out/transposed: see call()).
 * `xSeed` overrides the input's seed (a plan's second run).
 */
function buildValid(c, xSeed = c.seed) {
  const s = shapes(c);
  const w = tensor(seededData(product(s.w), c.seed ^ 0x5bd1e995, limitSpecial(c.special, 1)), s.w, false);
  const x = tensor(seededData(product(s.x), xSeed, c.special), s.x, c.dims);
  const bias = c.bias ? seededData(c.K, c.seed ^ 0x27d4eb2f, null) : undefined;
  const options = decode(c.opts);
  if (bias) options.bias = bias;
  return { x, w, bias, options, xShape: s.x, wShape: s.w };
}

module.exports = { shapes, seededData, limitSpecial, decode, buildValid, tensor, product };
