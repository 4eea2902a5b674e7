// outputShape and resolvePadding against values worked out by hand from the padding formulas (README,
// Padding), and the two Float64Arrays normalize.ts hands the core. Pure: nothing here loads the native addon.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.
const { outputShape, resolvePadding } = require('..');
const { normalizeFixed, resolveShape, ShapeCache } = require('../dist/normalize');

// name, xShape, wShape, options, expected output shape, expected [begin, end] pads
// e: effective kernel (k - 1) * d + 1.
const forward = [
  ['explicit 1-D: floor((10 + 1 + 1 - 3) / 2) + 1 = 5',
    [1, 3, 10], [4, 3, 3], { padding: 1, stride: 2 }, [1, 4, 5], [[1, 1]]],
  ['default options: no padding, stride 1',
    [1, 3, 10], [4, 3, 3], undefined, [1, 4, 8], [[0, 0]]],
  ['valid: floor((7 - 3) / 2) + 1 = 3',
    [1, 1, 7, 7], [1, 1, 3, 3], { padding: 'valid', stride: 2 }, [1, 1, 3, 3], [[0, 0], [0, 0]]],
  ['stride larger than the kernel: floor((10 - 2) / 4) + 1 = 3',
    [1, 1, 10], [1, 1, 2], { stride: 4 }, [1, 1, 3], [[0, 0]]],
  ['same, stride 1: total 4 + 3 - 5 = 2',
    [1, 1, 5], [1, 1, 3], { padding: 'same' }, [1, 1, 5], [[1, 1]]],
  ['same, stride 2, odd n: ceil(5 / 2) = 3, total 2 * 2 + 3 - 5 = 2',
    [1, 1, 5], [1, 1, 3], { padding: 'same', stride: 2 }, [1, 1, 3], [[1, 1]]],
  ['same, stride 2, even n: total 2 * 2 + 3 - 6 = 1, odd pixel at the end',
    [1, 1, 6], [1, 1, 3], { padding: 'same', stride: 2 }, [1, 1, 3], [[0, 1]]],
  ['same_lower, stride 2, even n: odd pixel at the beginning',
    [1, 1, 6], [1, 1, 3], { padding: 'same_lower', stride: 2 }, [1, 1, 3], [[1, 0]]],
  ['same, even kernel: total 3 + 2 - 4 = 1',
    [1, 1, 4], [1, 1, 2], { padding: 'same' }, [1, 1, 4], [[0, 1]]],
  ['same_lower, even kernel',
    [1, 1, 4], [1, 1, 2], { padding: 'same_lower' }, [1, 1, 4], [[1, 0]]],
  ['same, stride above the kernel: max(2 * 3 + 1 - 7, 0) = 0',
    [1, 1, 7], [1, 1, 1], { padding: 'same', stride: 3 }, [1, 1, 3], [[0, 0]]],
  ['same, stride above the kernel, k 2: total 2 * 3 + 2 - 7 = 1',
    [1, 1, 7], [1, 1, 2], { padding: 'same', stride: 3 }, [1, 1, 3], [[0, 1]]],
  ['same, dilation 2: e 5, total 9 + 5 - 10 = 4',
    [1, 1, 10], [1, 1, 3], { padding: 'same', dilation: 2 }, [1, 1, 10], [[2, 2]]],
  ['same, dilation 2, stride 2: total 4 * 2 + 5 - 10 = 3',
    [1, 1, 10], [1, 1, 3], { padding: 'same', dilation: 2, stride: 2 }, [1, 1, 5], [[1, 2]]],
  ['same_lower, dilation 2, stride 2',
    [1, 1, 10], [1, 1, 3], { padding: 'same_lower', dilation: 2, stride: 2 }, [1, 1, 5], [[2, 1]]],
  ['causal, dilation 2: begin (3 - 1) * 2 = 4',
    [1, 2, 9], [3, 2, 3], { padding: 'causal', dilation: 2 }, [1, 3, 9], [[4, 0]]],
  ['causal, stride 2: floor((9 + 4 - 5) / 2) + 1 = 5 = ceil(9 / 2)',
    [1, 2, 9], [3, 2, 3], { padding: 'causal', dilation: 2, stride: 2 }, [1, 3, 5], [[4, 0]]],
  ['anisotropic 2-D: stride, mixed pad forms, dilation and groups per dimension',
    [2, 4, 7, 9], [6, 2, 3, 2], { stride: [2, 3], padding: [[1, 0], 2], dilation: [1, 2], groups: 2 },
    [2, 6, 3, 4], [[1, 0], [2, 2]]],
  ['3-D same with per-dimension stride',
    [1, 2, 5, 4, 6], [3, 2, 2, 3, 2], { stride: [1, 2, 2], padding: 'same' }, [1, 3, 5, 2, 3], [[0, 1], [0, 1], [0, 0]]],
  ['depthwise with channel multiplier 2 (groups = C)',
    [1, 4, 6, 6], [8, 1, 3, 3], { groups: 4 }, [1, 8, 4, 4], [[0, 0], [0, 0]]],
  ['channels_last input and TensorFlow weights (kh, kw, C, K)',
    [1, 8, 8, 3], [3, 3, 3, 4], { layout: 'channels_last', weightLayout: 'channels_last', stride: 2, padding: 'same' },
    [1, 4, 4, 4], [[0, 1], [0, 1]]],
  ['channels_last input with PyTorch weights',
    [1, 8, 8, 3], [4, 3, 3, 3], { layout: 'channels_last' }, [1, 6, 6, 4], [[0, 0], [0, 0]]],
];

// Transposed: explicit output (n - 1) * s - begin - end + e + outputPadding; 'same' output n * s.
const transposed = [
  ['explicit with outputPadding: 4 * 2 - 1 - 1 + 3 + 1 = 10',
    [1, 3, 5], [3, 2, 3], { stride: 2, padding: 1, outputPadding: 1 }, [1, 2, 10], [[1, 1]]],
  ['PyTorch 2x upsampling k 4, s 2, p 1: 3 * 2 - 2 + 4 = 8, depthwise',
    [1, 8, 4, 4], [8, 1, 4, 4], { stride: 2, padding: 1, groups: 8 }, [1, 8, 8, 8], [[1, 1], [1, 1]]],
  ['valid: 2 * 2 + 3 = 7',
    [1, 1, 3], [1, 1, 3], { stride: 2, padding: 'valid' }, [1, 1, 7], [[0, 0]]],
  ['same: n * s = 8, total 3 * 2 + 3 - 8 = 1 at the end',
    [1, 1, 4], [1, 1, 3], { stride: 2, padding: 'same' }, [1, 1, 8], [[0, 1]]],
  ['same_lower: total 1 at the beginning',
    [1, 1, 4], [1, 1, 3], { stride: 2, padding: 'same_lower' }, [1, 1, 8], [[1, 0]]],
  ['same, k 4: total 6 + 4 - 8 = 2',
    [1, 1, 4], [1, 1, 4], { stride: 2, padding: 'same' }, [1, 1, 8], [[1, 1]]],
  ['same, stride above the kernel: total 4 + 1 - 6 = -1 pads nothing, output still 6',
    [1, 2, 3], [2, 2, 1], { stride: 2, padding: 'same' }, [1, 2, 6], [[0, 0]]],
  ['same with outputPadding: output stays 8, total 6 + 3 + 1 - 8 = 2',
    [1, 1, 4], [1, 1, 3], { stride: 2, padding: 'same', outputPadding: 1 }, [1, 1, 8], [[1, 1]]],
  ['dilation: e 3, 2 * 2 + 3 + 1 = 8',
    [1, 2, 3], [2, 1, 2], { stride: 2, dilation: 2, outputPadding: 1 }, [1, 1, 8], [[0, 0]]],
  ['outputPadding below the dilation though not the stride: e 4, 2 + 4 + 2 = 8',
    [1, 1, 3], [1, 1, 2], { dilation: 3, outputPadding: 2 }, [1, 1, 8], [[0, 0]]],
  ['anisotropic 2-D: 2 * 2 - 0 - 1 + 2 + 1 = 6 and 3 - 2 + 3 = 4',
    [1, 2, 3, 4], [2, 3, 2, 3], { stride: [2, 1], padding: [[0, 1], [1, 1]], outputPadding: [1, 0] },
    [1, 3, 6, 4], [[0, 1], [1, 1]]],
  ['grouped: w (C, K/g, k) = (4, 2, 3) with groups 2 has K = 4; 4 * 3 + 3 = 15',
    [1, 4, 5], [4, 2, 3], { groups: 2, stride: 3 }, [1, 4, 15], [[0, 0]]],
  ['Keras Conv2DTranspose: channels_last, weights (kh, kw, K, C), same: total 4 * 2 + 3 - 10 = 1',
    [1, 5, 5, 3], [3, 3, 2, 3], { layout: 'channels_last', weightLayout: 'channels_last', stride: 2, padding: 'same' },
    [1, 10, 10, 2], [[0, 1], [0, 1]]],
];

describe('outputShape and resolvePadding: forward', () => {
  test.each(forward)('%s', (_name, xShape, wShape, options, shape, pads) => {
    expect(outputShape(xShape, wShape, options)).toEqual(shape);
    expect(resolvePadding(xShape, wShape, options)).toEqual(pads);
  });
});

describe('outputShape and resolvePadding: transposed (options.transposed)', () => {
  test.each(transposed)('%s', (_name, xShape, wShape, options, shape, pads) => {
    expect(outputShape(xShape, wShape, { ...options, transposed: true })).toEqual(shape);
    expect(resolvePadding(xShape, wShape, { ...options, transposed: true })).toEqual(pads);
  });
});

describe('shape functions', () => {
  test('return fresh plain arrays', () => {
    const a = outputShape([1, 1, 5], [1, 1, 3]);
    a.push(99);
    expect(outputShape([1, 1, 5], [1, 1, 3])).toEqual([1, 1, 3]);
    expect(Array.isArray(resolvePadding([1, 1, 5], [1, 1, 3])[0])).toBe(true);
  });

  test('ignore out and accept a shared options object', () => {
    const options = { stride: 2, padding: 'same', transposed: false, out: undefined, bias: new Float32Array(4) };
    expect(outputShape([1, 3, 8, 8], [4, 3, 3, 3], options)).toEqual([1, 4, 4, 4]);
  });

  test('null and undefined mean the default', () => {
    expect(outputShape([1, 1, 5], [1, 1, 3], { stride: null, padding: undefined, activation: null })).toEqual([1, 1, 3]);
  });
});

describe('the arrays handed to the native core (native-abi.ts)', () => {
  const fixed = normalizeFixed([6, 2, 3, 2], 'w.shape',
    { stride: [2, 3], padding: [[1, 0], 2], dilation: [1, 2], groups: 2, activation: 'relu6' }, false);

  test('geometry: rank, transposed, layout, activation, groups, C, K, kernel, stride, dilation, weight layout, precision', () => {
    expect(Array.from(fixed.geometry)).toEqual([2, 0, 0, 2, 2, 4, 6, 3, 2, 1, 2, 3, 1, 1, 2, 1, 0, 0]);
  });

  test('precision: fp32 0 (the default), tf32 1, fp16 2, bf16 3 (backend.h sk_precision)', () => {
    const codes = [undefined, 'fp32', 'tf32', 'fp16', 'bf16'].map((precision) =>
      normalizeFixed([6, 2, 3, 2], 'w.shape', { precision }, false).geometry[17]);
    expect(codes).toEqual([0, 0, 1, 2, 3]);
  });

  test('shape: batch, input size, output size, pad begins, pad ends (unused dimensions 1, 1, 0, 0)', () => {
    const part = resolveShape(fixed, [2, 4, 7, 9], 'x.shape');
    expect(Array.from(part.shape)).toEqual([2, 7, 9, 1, 3, 4, 1, 1, 2, 0, 0, 2, 0]);
    expect(part.outputLength).toBe(2 * 6 * 3 * 4);
  });

  test('transposed, channels_last, Keras weights', () => {
    const t = normalizeFixed([3, 3, 2, 3], 'w.shape',
      { layout: 'channels_last', weightLayout: 'channels_last', stride: 2, padding: 'same' }, true);
    expect(Array.from(t.geometry)).toEqual([2, 1, 1, 0, 1, 3, 2, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 0]);
    const part = resolveShape(t, [1, 5, 5, 3], 'x.shape');
    expect(Array.from(part.shape)).toEqual([1, 5, 5, 1, 10, 10, 1, 0, 0, 0, 1, 1, 0]);
    expect(part.outputShape).toEqual([1, 10, 10, 2]);
  });

  test('the shape cache resolves each input shape once and stays bounded', () => {
    const cache = new ShapeCache(fixed, 2);
    const first = cache.get([2, 4, 7, 9], 'x.shape');
    expect(cache.get([2, 4, 7, 9], 'x.shape')).toBe(first);
    cache.get([1, 4, 7, 9], 'x.shape');
    cache.get([3, 4, 7, 9], 'x.shape');
    expect(cache.get([2, 4, 7, 9], 'x.shape')).not.toBe(first);
  });
});
