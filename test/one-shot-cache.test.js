'use strict';
// The core keeps the plan of the last small one-shot call (convSync, conv and their transposed kin) and reuses it
// only when backend, options, weights and bias are equal value for value: these calls change each in
// place or hand equal values in other buffers, and every result must still match the reference.

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

describeOnTarget(t, 'one-shot plan reuse', () => {
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
    // conv() keeps the plan it made for the next call too: each step below follows one that may have
    // left a plan made from other values in the cache.
    check(await sk.conv(x, w, opts), 'conv() with the same values');
    check(await sk.conv(x, w, opts), 'conv() again');
    w.data[5] += 0.25;
    check(await sk.conv(x, w, opts), 'conv() after a weight changed in place');
    check(sk.convSync(x, w, opts), 'convSync() after that');
    w.data[5] -= 0.25;
    check(await sk.conv(x, w, opts), 'conv() after the weight changed back');
    const many = await Promise.all([1, 2, 3].map(() => sk.conv(x, w, opts)));
    many.forEach((y, i) => check(y, `conv() ${i} of three in flight together`));
    expectClose(sk.convSync(x, w, { ...opts, padding: 0, activation: 'relu' }),
      reference.conv(x, w, { padding: 0, activation: 'relu' }), tol, 'other options');
    // The same values read in TensorFlow's layout are other weights.
    const hwio = { data: w.data, shape: [3, 3, 8, 8] };
    expectClose(sk.convSync(x, hwio, { padding: 1, weightLayout: 'channels_last', backend }),
      reference.conv(x, hwio, { padding: 1, weightLayout: 'channels_last' }), tol, 'channels_last weights');
  });
});
