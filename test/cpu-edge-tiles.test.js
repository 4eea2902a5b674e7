'use strict';
// Deep padded layers on the cpu backend's indirect kernel (AVX-512) gather the output rows whose taps
// read padding (above, below, in front of or behind the input), and on narrow outputs the columns
// whose taps read it left or right, into GEMM tiles of their own, which multiply only the taps that
// read the input (native/backends/cpu/edge_tiles.h). Each layer here is shaped to take that path:
// padding that skips at least 2% of the multiply-adds, and output rows of whole 6-pixel tiles or long
// enough that few empty rows fill the edge classes' tiles. Between them: rows whose every tap reads
// padding (their output the bias alone) across two depth blocks, several edge classes on each side,
// padding at the end only, dilation, groups and batches, 3-D, ResNet l4's 7 x 7 output with its
// first column apart, columns split along with rows and planes, inputs small enough to be read where
// they lie, unpadded, every padded tap skipped (two layers, with the 256 output channels that takes),
// and a padded image large enough to run in bands, each band with edges of its own or none. Checked in float32
// against the float64 reference and, where the processor has AVX512-BF16, in bf16 against the
// reference of the bf16-rounded operands. Elsewhere the same layers take the other paths, checked alike.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.

const reference = require('./helpers/reference');
const { randomLayer } = require('./helpers/cases');
const { TOLERANCE, loadStridekit, expectClose } = require('./helpers/target');

const { sk } = loadStridekit();
const cpu = sk.backends().find((b) => b.name === 'cpu');
const FP32 = TOLERANCE.cpu.fp32;
const { roundToBf16 } = reference;

const LAYERS = [
  { name: "2-D, 'same' at stride 1: the top and bottom rows, 2 groups, batch 2", C: 64, K: 40, batch: 2,
    input: [12, 12], kernel: [3, 3], options: { padding: 1, groups: 2, activation: 'relu' } },
  { name: '2-D, pads past the kernel at stride 2: rows of bias alone, two depth blocks', C: 48, K: 24, batch: 1,
    input: [11, 22], kernel: [3, 3], options: { stride: 2, padding: [3, 2], activation: 'relu6' } },
  { name: '2-D, kernel 5 padded 2: two edge classes on each side', C: 16, K: 16, batch: 1,
    input: [20, 24], kernel: [5, 5], options: { padding: 2 } },
  { name: '2-D, dilation 2 at stride 2, padded 2', C: 32, K: 20, batch: 1, input: [24, 23], kernel: [3, 3],
    options: { stride: 2, dilation: 2, padding: 2 } },
  { name: "2-D, 'same' at stride 2: the bottom row only", C: 32, K: 16, batch: 1, input: [24, 24], kernel: [3, 3],
    options: { stride: 2, padding: 'same', activation: 'sigmoid' } },
  { name: '3-D, stride 2: the front plane and the top rows, two depth blocks', C: 16, K: 24, batch: 1,
    input: [8, 12, 24], kernel: [3, 3, 3], options: { stride: 2, padding: 1 } },
  { name: "2-D, ResNet l4's 7 x 7 output at stride 2: the top row, the first column and their corner", C: 40, K: 48,
    batch: 1, input: [14, 14], kernel: [3, 3], options: { stride: 2, padding: 1 } },
  { name: '3-D, a narrow output: planes, rows and columns each with an edge class on either side', C: 12, K: 20,
    batch: 2, input: [4, 6, 6], kernel: [3, 3, 3], options: { padding: 1, activation: 'relu' } },
  { name: '2-D, the columns alone padded: first and last columns apart, no empty rows', C: 36, K: 32, batch: 1,
    input: [14, 7], kernel: [3, 3], options: { padding: [[0, 0], [1, 1]], activation: 'relu' } },
  { name: '3-D, front and back planes with the first and last columns apart', C: 12, K: 24, batch: 1,
    input: [4, 12, 7], kernel: [3, 3, 3], options: { padding: [[1, 1], [0, 0], [1, 1]] } },
  { name: '2-D, columns padded at the end only, two of them', C: 20, K: 16, batch: 1, input: [9, 8],
    kernel: [3, 5], options: { padding: [[1, 1], [0, 4]] } },
  { name: "2-D, small enough to read in place: 'same' at stride 1, every side an edge class", C: 32, K: 256, batch: 1,
    input: [24, 24], kernel: [3, 3], options: { padding: 1, activation: 'relu' } },
  { name: '1-D, read in place: the first and last samples apart, dilation 2, batch 2', C: 96, K: 256, batch: 2,
    input: [150], kernel: [3], options: { padding: 2, dilation: 2 } },
  { name: '2-D, padded, in bands', C: 64, K: 16, batch: 1, input: [258, 254], kernel: [3, 3],
    options: { stride: 2, padding: [7, 1] } },
];

describe('cpu backend: tiles of edge rows skip the taps that read padding', () => {
  LAYERS.forEach((spec, index) => {
    test(`${spec.name}, float32`, () => {
      const { w, x, opts } = randomLayer(spec, 900 + index);
      expectClose(sk.convSync(x, w, { ...opts, backend: 'cpu' }), reference.conv(x, w, opts), FP32, spec.name);
    });
  });

  const honours = cpu.precisions.includes('bf16');
  if (!honours) console.log(`stridekit tests skipped: cpu bf16 edge tiles: ${cpu.device} has no AVX512-BF16`);
  (honours ? test : test.skip).each(LAYERS.map((spec, index) => [spec.name, spec, index]))('%s, bf16', (name, spec, index) => {
    const { w, x, opts } = randomLayer(spec, 900 + index);
    const y = sk.convSync(x, w, { ...opts, backend: 'cpu', precision: 'bf16' });
    const rounded = reference.conv({ ...x, data: roundToBf16(x.data) }, { ...w, data: roundToBf16(w.data) }, opts);
    expect(reference.normalisedError(y.data, rounded.data)).toBeLessThanOrEqual(FP32);
  });
});
