'use strict';
// conv() and plan.run() on work too small to be worth a worker thread. The core may run such work on
// the calling thread (the CPU backend: up to 2**16 multiply-adds, see lib/native-abi.ts); whichever
// way it goes, the promise settles after the call returns, with the right result, and the call never
// makes the event loop wait for a long run already in flight.

const reference = require('./helpers/reference');
const { mulberry32, randomArray } = require('./helpers/cases');
const { target, describeOnTarget, expectClose } = require('./helpers/target');

const t = target();
const sk = t.sk;
const backend = t.name;
const tol = t.tolerance;

function tensor(shape, seed) {
  return { data: randomArray(shape.reduce((a, b) => a * b, 1), mulberry32(seed)), shape };
}

// 64 -> 64 channels, 4x4 kernel, no padding: each output pixel is 64 * 64 * 16 = 65,536
// multiply-adds, so a 4x4 input is a tiny run and a large one a long run of the same plan.
const layer = { w: tensor([64, 64, 4, 4], 1), opts: { bias: randomArray(64, mulberry32(2)), backend } };
const tiny = { x: tensor([1, 64, 4, 4], 3) };
tiny.expected = reference.conv(tiny.x, layer.w, layer.opts);

// An input large enough that one run takes at least MIN_MS (filled, not random: the test helpers'
// loops are slow under jest).
const MIN_MS = 50;
let large;
function calibrated() {
  if (large) return large;
  for (let side = 32; ; side *= 2) {
    const x = { data: new Float32Array(64 * side * side).fill(0.25), shape: [1, 64, side, side] };
    const start = process.hrtime.bigint();
    const expected = sk.convSync(x, layer.w, layer.opts);
    const ms = msSince(start);
    if (ms >= MIN_MS || side >= 256) {
      large = { x, expected, ms };
      return large;
    }
  }
}

function msSince(start) {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Lets a run just started get well under way on its worker thread. */
function underWay(big) {
  return new Promise((resolve) => setTimeout(resolve, big.ms / 4));
}

describeOnTarget(t, 'small async calls', () => {
  test('tiny conv(), convTranspose() and plan.run() settle after the call has returned, with the right results', async () => {
    // bench/layers.json's tiny layer: 8 -> 8 channels, 16x16, 3x3, stride 2, padding 1, bias.
    const x = tensor([1, 8, 16, 16], 4);
    const w = tensor([8, 8, 3, 3], 5);
    const opts = { stride: 2, padding: 1, bias: randomArray(8, mulberry32(6)), backend };
    const wT = tensor([8, 4, 3, 3], 7);
    const xT = tensor([1, 8, 6, 6], 8);
    const plan = sk.createConv({ ...opts, weight: w });
    try {
      const events = [];
      const settled = (name) => (y) => {
        events.push(name);
        return y;
      };
      const runs = [
        sk.conv(x, w, opts).then(settled('conv')),
        plan.run(x).then(settled('plan.run')),
        sk.convTranspose(xT, wT, { stride: 2, backend }).then(settled('convTranspose')),
      ];
      events.push('returned');
      const [a, b, c] = await Promise.all(runs);
      expect(events[0]).toBe('returned');
      const expected = reference.conv(x, w, opts);
      expectClose(a, expected, tol, 'conv()');
      expectClose(b, expected, tol, 'plan.run()');
      expectClose(c, reference.convTranspose(xT, wT, { stride: 2 }), tol, 'convTranspose()');
    } finally {
      plan.dispose();
    }
  });

  test('a tiny plan.run() while a long run of the same plan is in flight returns at once and waits its turn', async () => {
    const big = calibrated();
    const plan = sk.createConv({ ...layer.opts, weight: layer.w });
    try {
      const long = plan.run(big.x);
      await underWay(big);
      const start = process.hrtime.bigint();
      const short = plan.run(tiny.x);
      expect(msSince(start)).toBeLessThan(big.ms / 2);
      const [yLong, yShort] = await Promise.all([long, short]);
      expectClose(yLong, big.expected, tol, 'long run');
      expectClose(yShort, tiny.expected, tol, 'tiny run');
    } finally {
      plan.dispose();
    }
  });

  test('a tiny conv() while a long conv() is in flight returns at once', async () => {
    const big = calibrated();
    const long = sk.conv(big.x, layer.w, layer.opts);
    await underWay(big);
    const start = process.hrtime.bigint();
    const short = sk.conv(tiny.x, layer.w, layer.opts);
    expect(msSince(start)).toBeLessThan(big.ms / 2);
    const first = await Promise.race([long.then(() => 'long'), short.then(() => 'tiny')]);
    // The CPU backend runs the tiny one on this thread, without waiting for its pool.
    if (backend === 'cpu') expect(first).toBe('tiny');
    expectClose(await short, tiny.expected, tol, 'tiny conv()');
    expectClose(await long, big.expected, tol, 'long conv()');
  });

  test('one-shot calls never reuse what was made from other weights, biases or options: changed in place or not', async () => {
    // The core may keep the plan of the last small one-shot call, and must compare values, not buffers.
    const x = tensor([1, 8, 10, 10], 9);
    const w = tensor([8, 8, 3, 3], 10);
    const bias = randomArray(8, mulberry32(11));
    const opts = { padding: 1, bias, backend };
    const check = (y, what) => expectClose(y, reference.conv(x, w, { padding: 1, bias: opts.bias }), tol, what);
    check(sk.convSync(x, w, opts), 'first call');
    check(sk.convSync(x, w, opts), 'same arguments again');
    w.data[17] += 0.5;
    check(sk.convSync(x, w, opts), 'after one weight changed in place');
    check(await sk.conv(x, w, opts), 'conv() after that');
    w.data[17] = -w.data[17];
    check(await sk.conv(x, w, opts), 'conv() after the weight changed again');
    check(sk.convSync(x, w, opts), 'convSync() after that');
    bias[3] -= 1;
    check(sk.convSync(x, w, opts), 'after one bias value changed in place');
    opts.bias = undefined;
    check(sk.convSync(x, w, opts), 'without the bias');
    const copy = { data: Float32Array.from(w.data), shape: w.shape };
    check(sk.convSync(x, copy, opts), 'equal weights in another buffer');
    expectClose(sk.convSync(x, w, { ...opts, padding: 0, activation: 'relu' }),
      reference.conv(x, w, { padding: 0, activation: 'relu' }), tol, 'other options');
    // The same values read in TensorFlow's layout are other weights.
    const hwio = { data: w.data, shape: [3, 3, 8, 8] };
    expectClose(sk.convSync(x, hwio, { padding: 1, weightLayout: 'channels_last', backend }),
      reference.conv(x, hwio, { padding: 1, weightLayout: 'channels_last' }), tol, 'channels_last weights');
  });
});
