'use strict';
// fast-check arbitraries for fuzz cases (the JSON format is described in materialize.js):
//   validCase(backend, { huge })   a random valid call whose output is not empty and whose reference
//                                  work is small (at most MAX_MACS multiply-adds, MAX_OUTPUT outputs);
//   invalidCase(backend, { huge }) a valid call with one thing broken, which must be refused with a
//                                  TypeError or a RangeError;
//   fuzzCase(backend, { kind, huge }).
// `huge`: strides, dilations and pads sometimes take values up to 2**31 - 1 (the API's limit); 'fit'
// padding then picks pads that bring the output back to a few elements, so such geometries are valid
// often enough to matter.

const fc = require('fast-check');
const { GEOMETRY_MAX, workOf } = require('./geometry');
const { shapes, product, limitSpecial } = require('./materialize');

const MAX_MACS = 200000;
const MAX_OUTPUT = 200000;

const int = (min, max) => fc.integer({ min, max });
const weighted = (...pairs) => fc.oneof(...pairs.map(([weight, arbitrary]) => ({ weight, arbitrary })));

/** Mostly small, sometimes past the input, with `huge` sometimes near or at 2**31 - 1. */
function geometryValue(smallMin, smallMax, mediumMax, huge) {
  const choices = [[12, int(smallMin, smallMax)], [2, int(smallMax + 1, mediumMax)]];
  if (huge) choices.push([1, fc.constantFrom(GEOMETRY_MAX, GEOMETRY_MAX - 1, 2 ** 30, 2 ** 16 + 1)], [1, int(1001, GEOMETRY_MAX)]);
  return weighted(...choices);
}

/** A scalar for every dimension, or one value per dimension: { scalar } or { list }. */
function perDimension(rank, value) {
  return weighted(
    [1, value.map((v) => ({ scalar: v, values: new Array(rank).fill(v) }))],
    [1, fc.tuple(...new Array(rank).fill(value)).map((values) => ({ list: values, values }))],
  );
}

const asOption = (p) => (p.scalar !== undefined ? p.scalar : p.list);

/** Splits a total pad into [begin, end] by a fraction in thousandths; null when a side would pass the limit. */
function split(total, thousandths) {
  const begin = Math.min(Math.floor((total * thousandths) / 1000), GEOMETRY_MAX);
  const end = total - begin;
  return end > GEOMETRY_MAX ? null : [begin, end];
}

const SPECIAL_VALUES = [0, { $: '-0' }, 1, -1, 64, -64, 1e-40, -1e-40, 1024, -1024];
const BOUNDED_ACTIVATIONS = ['sigmoid', 'tanh', 'relu6'];

function validCase(backend, { huge = true } = {}) {
  const head = fc.record({
    rank: int(1, 3),
    transposed: fc.boolean(),
    N: int(1, 2),
    // groups 1..3 with 1..4 channels per group; depthwise (one channel per group) up to 8 groups.
    grouping: weighted(
      [6, fc.record({ groups: int(1, 3), Cg: int(1, 4) })],
      [1, fc.record({ groups: int(1, 8), Cg: fc.constant(1) })],
    ),
    Kg: int(1, 4),
  });
  return head.chain(({ rank, transposed, N, grouping, Kg }) => {
    const dims = fc.record({
      size: fc.tuple(...new Array(rank).fill(int(1, 10))),
      kernel: fc.tuple(...new Array(rank).fill(int(1, 4))),
      stride: perDimension(rank, geometryValue(1, 4, 12, huge)),
      dilation: weighted([3, fc.constant(null)], [2, perDimension(rank, geometryValue(1, 3, 12, huge))]),
      outputPadding: transposed ? weighted([3, fc.constant(null)], [2, fc.record({ scalar: fc.boolean(), thousandths: fc.array(int(0, 1000), { minLength: rank, maxLength: rank }), big: weighted([5, fc.constant(false)], [1, fc.constant(true)]) })]) : fc.constant(null),
      paddingMode: fc.constantFrom('none', 'valid', 'same', 'same_lower', 'int', 'perdim', 'pairs', 'fit', 'fit', ...(rank === 1 && !transposed ? ['causal'] : [])),
      padValues: fc.array(geometryValue(0, 3, 20, huge), { minLength: 2 * rank, maxLength: 2 * rank }),
      pairForm: fc.array(fc.boolean(), { minLength: rank, maxLength: rank }),
      fit: fc.array(fc.record({ out: int(1, 3), slack: int(0, 1000), thousandths: int(0, 1000) }), { minLength: rank, maxLength: rank }),
      activation: weighted([4, fc.constant(null)], [1, fc.constantFrom('relu', 'relu6', 'sigmoid', 'tanh', 'silu')]),
      layout: fc.constantFrom(null, 'channels_first', 'channels_last'),
      weightLayout: fc.constantFrom(null, 'channels_first', 'channels_last'),
      precision: weighted([6, fc.constant(null)], [1, fc.constantFrom('fp32', 'tf32', 'fp16', 'bf16')]),
      bias: fc.boolean(),
      entry: fc.constantFrom('sync', 'async', 'planSync', 'planAsync'),
      out: weighted([3, fc.constant(false)], [1, fc.constant(true)]),
      dims: weighted([4, fc.constant(false)], [1, fc.constant(true)]),
      transposedOption: weighted([4, fc.constant(false)], [1, fc.constant(true)]),
      runs: int(1, 2),
      seed: fc.nat(),
      special: weighted([8, fc.constant(null)], [1, fc.record({ every: fc.constantFrom(2, 8, 32), values: fc.subarray(SPECIAL_VALUES, { minLength: 1 }) })]),
    });
    return dims.map((d) => assemble(backend, { rank, transposed, N, grouping, Kg }, d));
  }).filter((c) => c !== null);
}

/** The case a draw describes, or null when it is not valid or too much work for the reference. */
function assemble(backend, head, d) {
  const { rank, transposed, N, grouping, Kg } = head;
  const { groups, Cg } = grouping;
  const stride = d.stride.values;
  const dilation = d.dilation ? d.dilation.values : new Array(rank).fill(1);
  const opts = {};
  if (!(d.stride.scalar === 1)) opts.stride = asOption(d.stride);
  if (d.dilation) opts.dilation = asOption(d.dilation);
  if (groups !== 1) opts.groups = groups;
  const eff = d.kernel.map((k, i) => (k - 1) * dilation[i] + 1);
  if (eff.some((e) => e > GEOMETRY_MAX)) return null;

  // outputPadding: below the stride or the dilation of its dimension (big: anywhere below, else at most 3).
  let op = new Array(rank).fill(0);
  if (transposed && d.outputPadding) {
    const limit = stride.map((s, i) => Math.max(s, dilation[i]) - 1);
    const pick = (bound, t) => Math.floor((Math.min(bound, d.outputPadding.big ? bound : 3) * t) / 1000);
    if (d.outputPadding.scalar) {
      const v = pick(Math.min(...limit), d.outputPadding.thousandths[0]);
      op = op.fill(v);
      opts.outputPadding = v;
    } else {
      op = limit.map((bound, i) => pick(bound, d.outputPadding.thousandths[i]));
      opts.outputPadding = op;
    }
  }

  const v = d.padValues;
  switch (d.paddingMode) {
    case 'none': break;
    case 'int': opts.padding = v[0]; break;
    case 'perdim': opts.padding = v.slice(0, rank); break;
    case 'pairs': opts.padding = d.pairForm.map((pair, i) => (pair ? [v[2 * i], v[2 * i + 1]] : v[2 * i])); break;
    case 'fit': {
      // Pads that bring dimension i's output to about fit[i].out elements, however big s, d, e are.
      const pads = [];
      for (let i = 0; i < rank; ++i) {
        const { out, slack, thousandths } = d.fit[i];
        const n = d.size[i];
        const total = transposed
          ? (n - 1) * stride[i] + eff[i] + op[i] - out
          : eff[i] - n + (out - 1) * stride[i] + Math.floor(((stride[i] - 1) * slack) / 1000);
        const pair = split(Math.max(total, 0), thousandths);
        if (pair === null) return null;
        pads.push(pair);
      }
      opts.padding = pads;
      break;
    }
    default: opts.padding = d.paddingMode; // valid, same, same_lower, causal
  }
  if (d.activation) opts.activation = d.activation;
  if (d.layout) opts.layout = d.layout;
  if (d.weightLayout) opts.weightLayout = d.weightLayout;
  if (d.precision) opts.precision = d.precision;
  // Big inputs that cancel lose float32 bits that a bounded activation's output cannot hide.
  const special = BOUNDED_ACTIVATIONS.includes(d.activation) ? limitSpecial(d.special, 1) : d.special;
  const c = {
    kind: 'valid', backend, entry: d.entry, out: d.out, dims: d.dims, transposedOption: d.transposedOption,
    runs: d.entry.startsWith('plan') ? d.runs : 1,
    transposed, N, C: Cg * groups, K: Kg * groups, groups, size: d.size, kernel: d.kernel, opts,
    bias: d.bias, seed: d.seed, special,
  };
  const work = workOf(c);
  if (work === null || work.macs > MAX_MACS || work.outputElements > MAX_OUTPUT) return null;
  return c;
}

// ---- invalid arguments ----

const enc = { NaN: { $: 'NaN' }, Inf: { $: 'Infinity' }, NegInf: { $: '-Infinity' }, fn: { $: 'function' }, sym: { $: 'symbol' }, big: { $: 'bigint', value: '2' } };
const typed = (type, length) => ({ $: 'typed', type, length });
const plainArray = (length) => ({ $: 'array', length });

/** Values no positive-integer option accepts (a scalar form), whatever the rank. */
const BAD_POSITIVE = [0, -1, 1.5, enc.NaN, enc.Inf, enc.NegInf, 2 ** 31, 2 ** 32, 1e300, '2', true, {}, [], enc.sym, enc.big];
/** Values no non-negative-integer option accepts. */
const BAD_NON_NEGATIVE = [-1, 1.5, -0.5, enc.NaN, enc.Inf, 2 ** 31, '1', true, {}, enc.sym, enc.big];

/** Arbitrary of a mutation that breaks `base` (a valid case); every branch is invalid for any base. */
function mutations(base) {
  const rank = base.kernel.length;
  const plan = base.entry.startsWith('plan');
  const s = shapes(base);
  const choices = [];
  const add = (weight, arbitrary) => choices.push([weight, arbitrary]);
  const opt = (name, values) => fc.constantFrom(...values).map((value) => ({ at: 'options', set: { [name]: value } }));
  const ones = (n) => new Array(n).fill(1);
  const perDimBad = (bad) => fc.tuple(int(0, rank - 1), fc.constantFrom(...bad)).map(([i, b]) => ones(rank).map((one, j) => (j === i ? b : one)));

  // stride and dilation: bad scalars, arrays of the wrong length, one bad entry.
  for (const name of ['stride', 'dilation']) {
    add(2, opt(name, [...BAD_POSITIVE, ones(rank + 1), ...(rank > 1 ? [ones(rank - 1)] : [])]));
    add(1, perDimBad([0, -2, 2.5, enc.NaN, 2 ** 31, '1', null]).map((value) => ({ at: 'options', set: { [name]: value } })));
  }
  // a dilation whose effective kernel passes 2**31 - 1
  if (base.kernel.some((k) => k >= 2)) {
    const i = base.kernel.findIndex((k) => k >= 2);
    add(1, fc.constant({ at: 'options', set: { dilation: ones(rank).map((one, j) => (j === i ? GEOMETRY_MAX : one)) } }));
  }
  // groups: bad values, or a count that does not fit the channels (forward: any other count; the
  // transposed weight fixes C, so a count that does not divide it).
  add(2, opt('groups', [0, -1, 1.5, enc.NaN, enc.Inf, 2 ** 31, '1', [1], {}, true]));
  add(1, (base.transposed ? fc.constant(base.C + 1) : int(1, 9).filter((g) => g !== base.groups))
    .map((groups) => ({ at: 'options', set: { groups } })));
  // padding
  const causalWrong = rank > 1 || base.transposed ? ['causal'] : [];
  add(3, opt('padding', [
    -1, 1.5, enc.NaN, enc.Inf, 2 ** 31, 'SAME', 'Same', 'bogus', '', 'full', 'same ', true, {}, enc.fn, ...causalWrong,
    new Array(rank + 1).fill(0), [], new Array(rank).fill([0, 0, 0]), new Array(rank).fill([1]),
    new Array(rank).fill([-1, 0]), new Array(rank).fill([0, 1.5]), new Array(rank).fill(enc.NaN),
    new Array(rank).fill(null), new Array(rank).fill('1'), new Array(rank).fill([0, 2 ** 31]),
    new Array(rank).fill({}),
  ]));
  // explicit pads that leave no output
  const empty = emptyOutput(base);
  if (empty !== null) add(1, fc.constant(empty));
  // outputPadding: any value on a forward convolution; on a transposed one a bad value, or one that
  // reaches both the stride and the dilation of its dimension.
  if (!base.transposed) {
    add(2, opt('outputPadding', [0, 1, new Array(rank).fill(0), -1, 'x']));
  } else {
    const g = { stride: perDimValues(base.opts.stride, rank, 1), dilation: perDimValues(base.opts.dilation, rank, 1) };
    const reach = g.stride.map((st, i) => Math.max(st, g.dilation[i]));
    add(2, opt('outputPadding', [-1, 1.5, enc.NaN, 2 ** 31, '1', {}, true, new Array(rank + 1).fill(0), reach[0], reach]));
  }
  add(1, opt('activation', ['Relu', 'gelu', '', 'none', 'leaky_relu', 0, 1, true, {}, ['relu']]));
  add(1, opt('layout', ['NCHW', 'nhwc', 'channels-last', 'channelsLast', '', 1, true, {}]));
  add(1, opt('weightLayout', ['OIHW', 'hwio', 'channels-first', '', 0, {}]));
  add(1, opt('backend', ['gpu', 'CPU', 'auto ', 'openVINO', 'ov', 1, {}, true]));
  add(1, opt('precision', ['fp64', 'FP32', 'int8', 'half', 32, true, {}]));
  add(2, opt('bias', [
    typed('Float32Array', base.K + 1), typed('Float32Array', base.K - 1), typed('Float64Array', base.K),
    typed('Int32Array', base.K), plainArray(base.K), 1, 'b', true,
    { data: typed('Float32Array', base.K + 1), shape: [base.K + 1] },
    { data: typed('Float32Array', base.K), shape: [base.K + 1] },
    { data: typed('Float64Array', base.K), shape: [base.K] },
  ]));
  add(1, opt('transposed', [...(plan ? [] : [!base.transposed]), 1, 'true', {}]));
  add(2, fc.constantFrom('strides', 'pads', 'kernel_shape', 'Stride', 'dilations', 'auto_pad', 'foo', 'output_padding',
    ...(plan ? ['out'] : ['weight'])).map((name) => ({ at: 'options', set: { [name]: 1 } })));
  add(1, fc.constantFrom(5, 'same', true, typed('Float32Array', 4), [], enc.fn, enc.sym).map((value) => ({ at: 'optionsBag', value })));
  if (plan) {
    add(1, fc.constantFrom('stride', 'padding', 'backend', 'foo', 'weight').map((name) => ({ at: 'runOptions', set: { [name]: 1 } })));
    add(1, fc.constantFrom(5, 'x', true, []).map((value) => ({ at: 'runOptionsBag', value })));
  }

  // tensors
  for (const which of ['x', 'w']) {
    const shape = s[which];
    const length = product(shape);
    add(1, fc.constantFrom(null, 5, 'x', typed('Float32Array', length), []).map((value) => ({ at: 'tensor', which, op: 'replace', value })));
    add(1, fc.constantFrom(typed('Float64Array', length), plainArray(length), typed('Int32Array', length), typed('Uint8Array', length * 4), null, { $: 'undefined' })
      .map((value) => ({ at: 'tensor', which, op: 'data', value })));
    add(1, fc.constantFrom(-1, 1).map((delta) => ({ at: 'tensor', which, op: 'length', delta })));
    add(2, fc.constant(null).chain(() => badShape(base, which, shape)).map((newShape) => ({ at: 'tensor', which, op: 'shape', shape: newShape })));
    add(1, fc.tuple(int(0, shape.length - 1), fc.constantFrom(0, -1, 1.5, enc.NaN, '3', null, 2 ** 32))
      .map(([axis, bad]) => ({ at: 'tensor', which, op: 'shapeValue', value: shape.map((dim, j) => (j === axis ? bad : dim)) })));
    add(1, fc.constantFrom(5, 'shape', {}, { $: 'undefined' }, [2 ** 16, 2 ** 16, ...ones(shape.length - 2)])
      .map((value) => ({ at: 'tensor', which, op: 'shapeValue', value })));
    add(1, int(0, shape.length - 1).map((axis) => ({ at: 'tensor', which, op: 'dims', dims: shape.map((dim, j) => (j === axis ? dim + 1 : dim)) })));
  }
  // out (the base then passes one)
  const outShape = workOf(base) && outputShapeOf(base);
  const outLength = product(outShape);
  add(1, fc.constantFrom(5, 'o', typed('Float32Array', outLength), []).map((value) => ({ at: 'tensor', which: 'out', op: 'replace', value })));
  add(1, fc.constantFrom(typed('Float64Array', outLength), plainArray(outLength), typed('Int32Array', outLength), null)
    .map((value) => ({ at: 'tensor', which: 'out', op: 'data', value })));
  add(1, fc.constantFrom(-1, 1).map((delta) => ({ at: 'tensor', which: 'out', op: 'length', delta })));
  add(2, fc.oneof(
    int(0, outShape.length - 1).map((axis) => outShape.map((dim, j) => (j === axis ? dim + 1 : dim))),
    fc.constant([...outShape, 1]),
    fc.constant(outShape.slice(0, -1)),
  ).map((shape) => ({ at: 'tensor', which: 'out', op: 'shape', shape })));
  add(1, int(0, outShape.length - 1).map((axis) => ({ at: 'tensor', which: 'out', op: 'dims', dims: outShape.map((dim, j) => (j === axis ? dim + 1 : dim)) })));
  const overlapWith = plan ? ['x'] : ['x', 'w', ...(base.bias ? ['bias'] : [])];
  add(2, fc.tuple(fc.constantFrom(...overlapWith), int(0, 1000)).map(([with_, thousandths]) => ({ at: 'tensor', which: 'out', op: 'overlap', with: with_, thousandths })));

  return weighted(...choices);
}

function perDimValues(value, rank, fallback) {
  if (value === undefined) return new Array(rank).fill(fallback);
  return typeof value === 'number' ? new Array(rank).fill(value) : value;
}

function outputShapeOf(base) {
  const { outSize } = workOf(base);
  return base.opts.layout === 'channels_last' ? [base.N, ...outSize, base.K] : [base.N, base.K, ...outSize];
}

/** Explicit pads (and, forward, a dilation) under which some dimension's output is below 1, or null. */
function emptyOutput(base) {
  const rank = base.kernel.length;
  const stride = perDimValues(base.opts.stride, rank, 1);
  const dilation = perDimValues(base.opts.dilation, rank, 1);
  if (!base.transposed) {
    const i = base.kernel.findIndex((k) => k >= 2);
    if (i < 0) return null;
    // effective kernel (k - 1) * n + 1 > n with no padding
    const d = dilation.map((v, j) => (j === i ? base.size[i] : v));
    if ((base.kernel[i] - 1) * d[i] + 1 > GEOMETRY_MAX) return null;
    return { at: 'options', set: { padding: 0, dilation: d } };
  }
  const op = perDimValues(base.opts.outputPadding, rank, 0);
  const pads = base.size.map((n, i) => [(n - 1) * stride[i] + (base.kernel[i] - 1) * dilation[i] + 1 + op[i], 0]);
  if (pads.some(([b]) => b > GEOMETRY_MAX)) return null;
  return { at: 'options', set: { padding: pads } };
}

/** A shape for x or w (data resized to it) that cannot fit the rest of the call. */
function badShape(base, which, shape) {
  const rank = base.kernel.length;
  const options = [fc.constant([...shape, 1]), fc.constant(shape.slice(0, -1))];
  if (which === 'x') {
    const channelAxis = base.opts.layout === 'channels_last' ? rank + 1 : 1;
    options.push(fc.constant(shape.map((dim, j) => (j === channelAxis ? dim + 1 : dim))));
  } else {
    // forward: channels per group (inner axis); transposed: input channels (outer axis). The other
    // axis would only change K, which is valid.
    const last = base.opts.weightLayout === 'channels_last';
    const axis = base.transposed ? (last ? rank + 1 : 0) : (last ? rank : 1);
    options.push(fc.constant(shape.map((dim, j) => (j === axis ? dim + 1 : dim))));
    options.push(fc.constant([shape[0], ...shape.slice(2)])); // a rank-1 convolution's weight, for another rank
  }
  return fc.oneof(...options).filter((sh) => sh.length !== shape.length || sh.some((dim, j) => dim !== shape[j]));
}

function invalidCase(backend, { huge = true } = {}) {
  return validCase(backend, { huge }).chain((base) => mutations(base).map((mutation) => {
    const b = { ...base };
    if (mutation.at === 'tensor' && mutation.which === 'out') b.out = true;
    if (b.entry.startsWith('plan')) b.runs = 1;
    return { kind: 'invalid', backend, base: b, mutation };
  }));
}

function fuzzCase(backend, { kind = 'all', huge = true } = {}) {
  if (kind === 'valid') return validCase(backend, { huge });
  if (kind === 'invalid') return invalidCase(backend, { huge });
  return weighted([3, validCase(backend, { huge })], [1, invalidCase(backend, { huge })]);
}

module.exports = { validCase, invalidCase, fuzzCase, MAX_MACS, MAX_OUTPUT };
