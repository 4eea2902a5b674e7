'use strict';
// The CPU backend runs a channels_first forward convolution one of two ways, chosen per input size
// (native/backends/cpu/conv_forward.cc), both over the input's stride phases: with output pixels as
// the GEMM's columns and the weights as its rows, or, when the output has too few pixels to fill
// 16-wide column strips, with pixels as rows and the weights as columns, each tile transposed into
// the output. A plan packs its weights in one role when it is made (columns for layers with at least
// 2^20 weights, rows below) and the other from that on the first run that needs it. Every plan here
// runs both ways, in both orders, against the reference; the conformance suite's layers are too
// small to reach the 2^20 side. Images whose phases would take over 8 MB run in bands of output
// rows, each split and multiplied on its own: the last block checks those, whose
// boundaries the conformance suite's small images never reach either. The last block checks the
// pixels-as-rows form that reads its patches in place (AVX-512) instead of packing them.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.

const reference = require('./helpers/reference');
const { mulberry32, randomArray } = require('./helpers/cases');
const { loadStridekit, TOLERANCE, expectClose } = require('./helpers/target');

const { sk } = loadStridekit();
const tolerance = TOLERANCE.cpu.fp32;

// 1-D layers: 512 x 512 x 4 = 2^20 weights (packed as columns first) and 128 x 32 x 4 (rows first).
// Input length 67 gives 64 output pixels (whole 16-pixel strips: pixels as columns); 40 gives 37
// (30% of a strip's lanes wasted: pixels as rows).
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

// With pixels as rows, a small output's whole patch matrix is packed once per image, by the tasks
// that split the input's channels into phases, before any tile runs: each task packs the depths of
// its own channels, group by group and depth block by depth block (blocks of 384), so these layers
// have groups whose channels the tasks cut across (48 channels in 3 groups, split 6 at a time on 2
// threads), runs of depths across block boundaries (864 deep, 108 per task), identity phases
// (stride 1, no padding), batches and 1-D dilation, each with enough work to run on every thread.
const SHARED_PATCHES = [
  { name: '2-D, 3 groups, batch 2', C: 48, K: 48, batch: 2, input: [9, 9], kernel: [3, 3],
    options: { stride: 2, padding: 1, groups: 3, activation: 'relu6' } },
  { name: '2-D, stride 1, no padding, 3 depth blocks', C: 96, K: 32, batch: 1, input: [7, 7], kernel: [3, 3], options: {} },
  { name: '1-D, dilation 2, 2 groups', C: 128, K: 64, batch: 1, input: [60], kernel: [3],
    options: { stride: 3, dilation: 2, groups: 2 } },
];

// A layer of `spec` (C, K, batch, input, kernel, options) with random weights, bias and input, and
// the reference's output.
function randomCase(spec, seed) {
  const random = mulberry32(seed);
  const groups = spec.options.groups || 1;
  const count = (shape) => shape.reduce((a, b) => a * b, 1);
  const wShape = [spec.K, spec.C / groups, ...spec.kernel];
  const w = { data: randomArray(count(wShape), random), shape: wShape };
  const bias = randomArray(spec.K, random);
  const xShape = [spec.batch || 1, spec.C, ...spec.input];
  const x = { data: randomArray(count(xShape), random), shape: xShape };
  return { w, bias, x, expected: reference.conv(x, w, { bias, ...spec.options }) };
}

// A plan of randomCase(spec, seed), run twice on the same input: the second run finds the scratch
// the first one left.
function expectPlanTwice(spec, seed) {
  const { w, bias, x, expected } = randomCase(spec, seed);
  const plan = sk.createConv({ weight: w, bias, ...spec.options, backend: 'cpu' });
  try {
    expectClose(plan.runSync(x), expected, tolerance, spec.name);
    expectClose(plan.runSync(x), expected, tolerance, `${spec.name}, run again`);
  } finally {
    plan.dispose();
  }
}

describe('cpu backend: pixels as rows with the patch matrix packed whole', () => {
  SHARED_PATCHES.forEach((spec, index) => {
    test(spec.name, () => expectPlanTwice(spec, 300 + index));
  });
});

// A batch of small images is dealt out to the threads whole, each image split and multiplied by one
// thread, as many images as divide evenly among the threads; the rest run one at a time on all of
// them. These batches leave one to three images over on 2 to 4 threads, take both GEMM forms (the
// 3-D case has a 2 x 2 x 2 output: pixels as rows), and have enough work per call to use the pool;
// the last has images too large to deal out (4.5 MB of phases), and runs them one at a time.
const BATCHES = [
  { name: '2-D, batch 5', C: 16, K: 24, batch: 5, input: [21, 19], kernel: [3, 3],
    options: { stride: 2, padding: 1, activation: 'relu' } },
  { name: '1-D, batch 3, 2 groups', C: 32, K: 32, batch: 3, input: [101], kernel: [5],
    options: { stride: 2, padding: 'same', groups: 2 } },
  { name: '3-D, batch 7, pixels as rows', C: 24, K: 32, batch: 7, input: [4, 4, 4], kernel: [3, 3, 3],
    options: { stride: 2, padding: 1, activation: 'relu6' } },
  { name: '2-D, batch 3, images too large to deal out', C: 64, K: 4, batch: 3, input: [130, 130], kernel: [3, 3],
    options: { stride: 2, padding: 1 } },
];

describe('cpu backend: batches of small images run whole images on each thread', () => {
  BATCHES.forEach((spec, index) => {
    test(spec.name, () => expectPlanTwice(spec, 400 + index));
  });
});

// Inputs whose phases take over 8 MB (twice to four times that): each runs in two to four bands
// along its outermost spatial dimension, with padding, dilation, groups and both GEMM forms (the
// last case has a 7 x 7 output: pixels as rows). Few output channels keep the reference quick.
const BANDED = [
  { name: '2-D, asymmetric "same" pads', C: 64, K: 8, input: [258, 254], kernel: [3, 3],
    options: { stride: 2, padding: 'same', activation: 'relu' } },
  { name: '2-D, dilation 2, 2 groups', C: 48, K: 8, input: [241, 239], kernel: [3, 3],
    options: { stride: 2, padding: 2, dilation: 2, groups: 2 } },
  { name: '1-D, stride 3', C: 512, K: 8, input: [8197], kernel: [5], options: { stride: 3, padding: 'same' } },
  { name: '3-D', C: 32, K: 8, input: [17, 80, 76], kernel: [3, 3, 3], options: { stride: 2, padding: 1 } },
  { name: '2-D, 7 x 7 output', C: 12288, K: 16, input: [14, 14], kernel: [3, 3], options: { stride: 2, padding: 1 } },
];

describe('cpu backend: large images run in bands of output rows', () => {
  BANDED.forEach((spec, index) => {
    test(spec.name, () => {
      const { w, bias, x, expected } = randomCase(spec, 500 + index);
      expectClose(sk.convSync(x, w, { bias, ...spec.options, backend: 'cpu' }), expected, tolerance, spec.name);
    });
  });
});

// Where the processor has AVX-512, deep layers (at least 256 depth steps, several taps, 16 or more
// output channels per group) run with pixels as rows and no patches packed: the indirect kernel reads
// each 6-pixel strip's values where they lie, in the phases, or, when no tap of any pixel reaches
// past the input (no padding on either side), in the input itself, which is then not split at all.
// These layers take that path there (and the packed one elsewhere, checked alike): both kinds of
// input, groups, dilation, 1-D and 3-D, depths that cross a 384-step block, output channels that
// leave part of a 32-wide tile, "same" padding whose only pad is on the end side (split: its last
// tap reads past the input), pads that leave whole strips reading only zeros, and a valid layer large
// enough to run in bands.
const IN_PLACE = [
  { name: '2-D, padded, 2 groups, batch 2', C: 64, K: 32, batch: 2, input: [15, 13], kernel: [3, 3],
    options: { stride: 2, padding: 1, groups: 2, activation: 'relu6' } },
  { name: '2-D, valid, dilation 2', C: 40, K: 48, batch: 1, input: [23, 19], kernel: [3, 3],
    options: { stride: 2, dilation: 2, activation: 'relu' } },
  { name: '3-D, valid, 20 output channels', C: 16, K: 20, batch: 1, input: [5, 9, 11], kernel: [2, 3, 3],
    options: { stride: 2 } },
  { name: '1-D, valid, depth 400 (two blocks)', C: 80, K: 17, batch: 3, input: [50], kernel: [5],
    options: { stride: 3 } },
  { name: '2-D, "same" padding on the end side only', C: 32, K: 16, batch: 1, input: [16, 16], kernel: [3, 3],
    options: { stride: 2, padding: 'same' } },
  // Padded layers whose taps reach every stride phase read the input padded, at strided offsets; those
  // that skip phases (a stride longer than the kernel, dilated taps at a stride) read them split.
  { name: '3-D, padded, stride 2 (read padded)', C: 16, K: 24, batch: 1, input: [7, 9, 10], kernel: [3, 3, 3],
    options: { stride: 2, padding: 1, activation: 'relu' } },
  { name: '1-D, kernel 4 at stride 2, padded (read padded)', C: 96, K: 16, batch: 2, input: [33], kernel: [4],
    options: { stride: 2, padding: 1 } },
  { name: '2-D, stride 3 past the kernel 2 (read split)', C: 128, K: 16, batch: 1, input: [17, 14], kernel: [2, 2],
    options: { stride: 3, padding: 1 } },
  { name: '2-D, dilation 2 at stride 2, padded (read split)', C: 32, K: 16, batch: 1, input: [19, 21], kernel: [3, 3],
    options: { stride: 2, dilation: 2, padding: 2 } },
  // Pads wider than the kernel: whole 6-pixel strips whose every tap reads padding, their output the
  // bias alone; pads on both ends of a dilated 1-D layer, and in depth, across two 384-step blocks.
  { name: '2-D, pads past the kernel: whole strips of zeros', C: 48, K: 16, batch: 1, input: [9, 8], kernel: [3, 3],
    options: { padding: [4, 1], activation: 'relu' } },
  { name: '2-D, pads past the kernel at stride 2', C: 48, K: 20, batch: 2, input: [11, 13], kernel: [3, 3],
    options: { stride: 2, padding: [3, 2] } },
  { name: '1-D, dilation 2, padding on both ends', C: 100, K: 16, batch: 1, input: [20], kernel: [5],
    options: { stride: 2, padding: 3, dilation: 2 } },
  { name: '3-D, padded 2 in depth', C: 20, K: 16, batch: 1, input: [4, 6, 7], kernel: [3, 3, 3],
    options: { padding: [2, 1, 1], activation: 'sigmoid' } },
];

describe('cpu backend: deep layers with pixels as rows read their patches in place', () => {
  IN_PLACE.forEach((spec, index) => {
    test(spec.name, () => expectPlanTwice(spec, 600 + index));
  });

  test.each([
    { name: 'valid', seed: 650, options: { stride: 2 } },
    { name: 'padded', seed: 651, options: { stride: 2, padding: 1 } },
  ])('2-D, $name, in bands', ({ seed, options }) => {
    const spec = { name: 'banded', C: 64, K: 16, input: [258, 254], kernel: [3, 3], options };
    const { w, bias, x, expected } = randomCase(spec, seed);
    expectClose(sk.convSync(x, w, { bias, ...spec.options, backend: 'cpu' }), expected, tolerance, spec.name);
  });
});
