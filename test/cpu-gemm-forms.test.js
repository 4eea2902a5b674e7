'use strict';
// The CPU backend runs a channels_first forward convolution one of two ways, chosen per input size
// (native/backends/cpu/conv_forward.cc): a GEMM over the input's stride phases with the weights as
// GEMM rows, or, when the output has too few pixels to fill 16-wide column strips, a GEMM over a
// channels_last copy with the weights as GEMM columns. A plan packs its weights in one role when it
// is made (columns for layers with at least 2^20 weights, rows below) and the other from that on
// the first run that needs it. Every plan here runs both ways, in both orders, against the
// reference; the conformance suite's layers are too small to reach the 2^20 side.

const reference = require('./helpers/reference');
const { mulberry32, randomArray } = require('./helpers/cases');
const { loadStridekit, TOLERANCE, expectClose } = require('./helpers/target');

const { sk } = loadStridekit();
const tolerance = TOLERANCE.cpu.fp32;

// 1-D layers: 512 x 512 x 4 = 2^20 weights (packed as columns first) and 128 x 32 x 4 (rows first).
// Input length 67 gives 64 output pixels (whole 16-pixel strips: the phases form); 40 gives 37
// (30% of a strip's lanes wasted: the channels_last form).
const LAYERS = [
  { name: '2^20 weights', C: 512, K: 512, kernel: 4 },
  { name: 'few weights', C: 32, K: 128, kernel: 4 },
];
const LONG = 67;
const SHORT = 40;

// Weights, bias, and one input per length with its reference output (computed once: the 2^20 layer
// takes the JavaScript reference a second).
function layer({ C, K, kernel }, seed, options = {}) {
  const random = mulberry32(seed);
  const w = { data: randomArray(K * C * kernel, random), shape: [K, C, kernel] };
  const bias = randomArray(K, random);
  const cases = new Map();
  const input = (length) => {
    if (!cases.has(length)) {
      const x = { data: randomArray(C * length, random), shape: [1, C, length] };
      cases.set(length, { x, expected: reference.conv(x, w, { bias, ...options }) });
    }
    return cases.get(length);
  };
  return { w, bias, input };
}

describe('cpu backend: a plan runs both GEMM forms with weights packed in either role', () => {
  LAYERS.forEach((spec, index) => {
    for (const order of [[LONG, SHORT], [SHORT, LONG]]) {
      test(`${spec.name}: inputs of length ${order.join(' then ')}`, () => {
        const { w, bias, input } = layer(spec, 100 + index, { activation: 'relu' });
        const plan = sk.createConv({ weight: w, bias, activation: 'relu', backend: 'cpu' });
        try {
          for (const length of [...order, order[0]]) {
            const { x, expected } = input(length);
            expectClose(plan.runSync(x), expected, tolerance, `length ${length}`);
          }
        } finally {
          plan.dispose();
        }
      });
    }
  });

  test('concurrent first runs that both need the other role agree', async () => {
    const { w, bias, input } = layer(LAYERS[0], 7);
    const plan = sk.createConv({ weight: w, bias, backend: 'cpu' });
    try {
      const { x, expected } = input(LONG);
      const results = await Promise.all([plan.run(x), plan.run(x), Promise.resolve(plan.runSync(x))]);
      results.forEach((y, i) => expectClose(y, expected, tolerance, `run ${i}`));
    } finally {
      plan.dispose();
    }
  });
});
