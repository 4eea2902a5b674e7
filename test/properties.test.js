'use strict';
// Seeded randomised tests: 200 random configurations (rank, sizes, stride, padding mode, dilation,
// groups, layouts, forward / transposed, bias, activation) and 50 with the channel counts of real
// layers, against reference.js, and invariants that
// need no reference at all (linearity, batch independence, layout equivariance, and the adjoint
// identity between the forward and the transposed convolution).
// A failure prints the configuration; every configuration is reproducible from SEED and its index.

const reference = require('./helpers/reference');
const { build, describeCase, mulberry32, randomArray } = require('./helpers/cases');
const { target, describeOnTarget, expectClose } = require('./helpers/target');

// Another seed or more configurations hunt further: STRIDEKIT_PROPERTY_SEED=7 STRIDEKIT_PROPERTY_COUNT=5000
const SEED = Number(process.env.STRIDEKIT_PROPERTY_SEED || 0x5eed2024);
const CONFIGS = Number(process.env.STRIDEKIT_PROPERTY_COUNT || 200);
const MAX_MACS = 150000; // keeps the JavaScript reference quick
const MAX_MACS_WIDE = 1500000;
const WIDE_CONFIGS = Math.max(1, Math.round(CONFIGS / 4));

const t = target();
const sk = t.sk;
const backend = t.name;
const precision = t.precision;
const tol = t.tolerance;

function generator(seed) {
  const random = mulberry32(seed);
  const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = (values) => values[Math.floor(random() * values.length)];
  return { random, int, pick };
}

const product = (a) => a.reduce((x, y) => x * y, 1);

/** A random valid case in the cases.js format; `constraints` can pin fields. */
function randomCase(g, name, constraints = {}) {
  const { random, int, pick } = g;
  for (;;) {
    const rank = constraints.rank || int(1, 3);
    const transposed = constraints.transposed !== undefined ? constraints.transposed : random() < 0.35;
    const groups = constraints.groups || pick([1, 1, 1, 2, 3]);
    // `wide` draws the channel counts of real layers, which take the backends' blocked paths
    // (a CPU GEMM tile is 6 x 16, and above ~131k multiply-adds the work is split across threads).
    const Cg = constraints.wide ? int(8, 40) : random() < 0.2 ? 1 : int(1, 3);
    const Kg = constraints.wide ? int(16, 48) : int(1, 3);
    const maxSize = constraints.wide ? [0, 60, 14, 7][rank] : [0, 24, 10, 6][rank];
    const size = Array.from({ length: rank }, () => int(1, maxSize));
    // A quarter of the wide cases are pointwise (1x1, as ResNet's strided projections).
    const pointwise = constraints.wide && random() < 0.25;
    const kernel = Array.from({ length: rank }, () => (pointwise ? 1 : int(1, rank === 3 ? 3 : 4)));
    const perDim = (gen) => (random() < 0.5 ? gen() : Array.from({ length: rank }, gen));
    const stride = perDim(() => int(1, 4));
    const dilation = random() < 0.6 ? 1 : perDim(() => int(1, 3));
    const at = (v, i) => (Array.isArray(v) ? v[i] : v);
    const eff = kernel.map((k, i) => (k - 1) * at(dilation, i) + 1);
    const maxPad = (i) => (transposed ? eff[i] - 1 : eff[i]);
    const modes = constraints.explicitPads
      ? ['pairs']
      : ['none', 'valid', 'same', 'same_lower', 'int', 'perdim', 'pairs', ...(rank === 1 && !transposed ? ['causal'] : [])];
    const mode = pick(modes);
    const opts = {};
    if (mode === 'int') opts.padding = int(0, Math.min(...eff.map((e, i) => maxPad(i))));
    else if (mode === 'perdim') opts.padding = eff.map((e, i) => int(0, maxPad(i)));
    else if (mode === 'pairs') opts.padding = eff.map((e, i) => [int(0, maxPad(i)), int(0, maxPad(i))]);
    else if (mode !== 'none') opts.padding = mode;
    if (!(typeof stride === 'number' && stride === 1) || random() < 0.3) opts.stride = stride;
    if (dilation !== 1) opts.dilation = dilation;
    if (groups !== 1) opts.groups = groups;
    if (transposed && mode !== 'same' && mode !== 'same_lower' && random() < 0.4) {
      opts.outputPadding = kernel.map((k, i) => int(0, Math.max(at(stride, i), at(dilation, i)) - 1));
    }
    if (!constraints.plain) {
      const activation = pick([undefined, undefined, undefined, 'relu', 'relu6', 'sigmoid', 'tanh', 'silu']);
      if (activation) opts.activation = activation;
      if (random() < 0.5) opts.layout = 'channels_last';
      if (random() < 0.5) opts.weightLayout = 'channels_last';
    }
    const c = {
      name, transposed, N: constraints.N || int(1, 2), C: Cg * groups, K: Kg * groups, size, kernel, opts,
      bias: !constraints.plain && random() < 0.5,
    };
    let outSize;
    try {
      const b = build(c);
      outSize = reference.outputSize(b.x.shape, b.w.shape, { ...opts, transposed });
    } catch (e) {
      continue; // an output below 1: draw again
    }
    const taps = product(kernel);
    const macs = transposed ? c.N * c.C * product(size) * Kg * taps : c.N * c.K * product(outSize) * Cg * taps;
    if (macs > (constraints.wide ? MAX_MACS_WIDE : MAX_MACS)) continue;
    return c;
  }
}

function run(b, opts = b.opts, asyncRun = false) {
  const o = { ...opts, backend, precision };
  if (asyncRun) return b.transposed ? sk.convTranspose(b.x, b.w, o) : sk.conv(b.x, b.w, o);
  return b.transposed ? sk.convTransposeSync(b.x, b.w, o) : sk.convSync(b.x, b.w, o);
}

describeOnTarget(t, 'random configurations against the reference', () => {
  const g = generator(SEED);
  for (let i = 0; i < CONFIGS; ++i) {
    const c = randomCase(g, `random #${i} (seed ${SEED})`);
    const asyncRun = i % 8 === 7;
    test(`${describeCase(c)}${asyncRun ? ' [async]' : ''}`, async () => {
      const b = build(c);
      const shapeOpts = { ...b.opts, transposed: c.transposed };
      const ref = (c.transposed ? reference.convTranspose : reference.conv)(b.x, b.w, b.opts);
      expect(Array.from(sk.outputShape(b.x.shape, b.w.shape, shapeOpts))).toEqual(ref.shape);
      const y = await run(b, b.opts, asyncRun);
      expect(Array.from(y.shape)).toEqual(ref.shape);
      expectClose(y, ref, tol);
    });
  }
});

describeOnTarget(t, 'random wide configurations (8-40 input and 16-48 output channels per group) against the reference', () => {
  const g = generator(SEED + 7);
  for (let i = 0; i < WIDE_CONFIGS; ++i) {
    const c = randomCase(g, `wide #${i} (seed ${SEED})`, { wide: true });
    test(describeCase(c), () => {
      const b = build(c);
      const ref = (c.transposed ? reference.convTranspose : reference.conv)(b.x, b.w, b.opts);
      const y = run(b);
      expect(Array.from(y.shape)).toEqual(ref.shape);
      expectClose(y, ref, tol);
    });
  }
});

describeOnTarget(t, 'invariants', () => {
  test('linearity: conv(a*x1 + x2) = a*conv(x1) + conv(x2) without bias and activation (30 configurations)', () => {
    const g = generator(SEED + 1);
    for (let i = 0; i < 30; ++i) {
      const c = randomCase(g, `linear #${i}`, { plain: true });
      const b1 = build(c);
      const b2 = build({ ...c, name: `${c.name}/second` });
      const a = -1.75;
      const mixed = { ...b1, x: { data: b1.x.data.map((v, j) => a * v + b2.x.data[j]), shape: b1.x.shape } };
      const y1 = run(b1);
      const y2 = run({ ...b1, x: b2.x });
      const expected = { data: new Float32Array(y1.data.length), shape: Array.from(y1.shape) };
      for (let j = 0; j < y1.data.length; ++j) expected.data[j] = a * y1.data[j] + y2.data[j];
      expectClose(run(mixed), expected, tol, describeCase(c));
      // and a*x alone scales the output
      const scaled = run({ ...b1, x: { data: b1.x.data.map((v) => a * v), shape: b1.x.shape } });
      expectClose(scaled, { data: y1.data.map((v) => a * v), shape: Array.from(y1.shape) }, tol, `${describeCase(c)} (scaling)`);
    }
  });

  test('batch independence: each item of a batch of 3 equals that item run alone (20 configurations)', () => {
    const g = generator(SEED + 2);
    for (let i = 0; i < 20; ++i) {
      const c = randomCase(g, `batch #${i}`, { N: 3 });
      const b = build(c);
      const y = run(b);
      const per = b.x.data.length / 3;
      const perOut = y.data.length / 3;
      for (let n = 0; n < 3; ++n) {
        const item = { data: b.x.data.slice(n * per, (n + 1) * per), shape: [1, ...b.x.shape.slice(1)] };
        const yn = run({ ...b, x: item });
        expectClose(yn, { data: y.data.slice(n * perOut, (n + 1) * perOut), shape: [1, ...Array.from(y.shape).slice(1)] }, tol, `${describeCase(c)} item ${n}`);
      }
    }
  });

  test('layout equivariance: channels_last in/out and TF/Keras weights give the channels_first result transposed (20 configurations)', () => {
    const g = generator(SEED + 3);
    for (let i = 0; i < 20; ++i) {
      const c = randomCase(g, `layout #${i}`);
      const cf = build({ ...c, opts: { ...c.opts, layout: undefined, weightLayout: undefined } });
      const ycf = run(cf);
      const cl = {
        ...cf,
        x: reference.toChannelsLast(cf.x),
        w: reference.weightToChannelsLast(cf.w),
        opts: { ...cf.opts, layout: 'channels_last', weightLayout: 'channels_last' },
      };
      const ycl = run(cl);
      expectClose(ycl, reference.toChannelsLast({ data: ycf.data, shape: Array.from(ycf.shape) }), tol, describeCase(c));
    }
  });

  test('adjoint: <conv(x), z> = <x, convTranspose(z)> with the same weight tensor (30 configurations)', () => {
    const g = generator(SEED + 4);
    for (let i = 0; i < 30; ++i) {
      const c = randomCase(g, `adjoint #${i}`, { transposed: false, plain: true, explicitPads: true });
      const b = build(c);
      const rank = c.kernel.length;
      const y = run(b);
      const z = { data: randomArray(y.data.length, mulberry32(1000 + i)), shape: Array.from(y.shape) };
      // The transposed convolution of z with w (read as (C_in = K, K_out / groups = C / groups, ...k))
      // must give x's shape: same begin pads, the end side set so the output size is n.
      const stride = reference.geometry(b.x.shape, b.w.shape, b.opts).stride;
      const dilation = reference.geometry(b.x.shape, b.w.shape, b.opts).dilation;
      const padding = [];
      const outputPadding = [];
      for (let d = 0; d < rank; ++d) {
        const eff = (c.kernel[d] - 1) * dilation[d] + 1;
        const begin = b.opts.padding[d][0];
        const end = (z.shape[2 + d] - 1) * stride[d] - begin + eff - c.size[d];
        padding.push([begin, Math.max(end, 0)]);
        outputPadding.push(Math.max(-end, 0));
      }
      const topts = { stride, dilation, groups: b.opts.groups || 1, padding, outputPadding, backend, precision };
      const xt = sk.convTransposeSync(z, b.w, topts);
      expect(Array.from(xt.shape)).toEqual(b.x.shape);
      let lhs = 0;
      let rhs = 0;
      let scale = 1;
      for (let j = 0; j < y.data.length; ++j) {
        lhs += y.data[j] * z.data[j];
        scale += Math.abs(y.data[j] * z.data[j]);
      }
      for (let j = 0; j < xt.data.length; ++j) rhs += b.x.data[j] * xt.data[j];
      if (!(Math.abs(lhs - rhs) <= tol * scale)) {
        throw new Error(`${describeCase(c)}: <conv(x), z> = ${lhs} but <x, convTranspose(z)> = ${rhs} (transposed options ${JSON.stringify(topts)})`);
      }
    }
  });
});
