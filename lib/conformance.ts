/**
 * The conformance cases: one table of named convolutions that every backend runs, shared by the
 * repository's jest suite (test/helpers/cases.js re-exports it) and by `stridekit selftest`
 * (selftest.ts), which checks an installed package against golden outputs shipped beside it
 * (selftest/goldens.json, selftest/goldens.bin, made by scripts/make-goldens.js). Also here: how close
 * each backend must come, and which cases a backend cannot run yet, with why.
 *
 * A case is written in channels-first terms (N, C, K, spatial size, kernel) plus options; build() turns
 * it into tensors in the layouts the options name, with seeded deterministic data, so the same case
 * always holds the same numbers whatever the order the table is run in, on every platform: the
 * generator is integer arithmetic, and its floats are exact in float32. Sizes are kept modest: the
 * repository's reference (test/helpers/reference.js) is plain JavaScript.
 */
import type { BackendName } from './backend-names';
import type { LayerOptions, Precision, Tensor } from './types';

/** The options a case sets: a layer's options without the data (bias) and without the choice of backend. */
export type CaseOptions = Omit<LayerOptions, 'bias' | 'backend' | 'precision'>;

interface CaseSpec {
  name: string;
  transposed?: boolean;
  N: number;
  C: number;
  K: number;
  /** The input's spatial size. */
  size: readonly number[];
  kernel: readonly number[];
  opts: CaseOptions;
  /** K seeded bias values. */
  bias?: boolean;
  /** The second input shape's spatial size, where each size + 2 would not do (see build()). */
  altSize?: readonly number[];
}

export interface ConformanceCase extends CaseSpec {
  transposed: boolean;
}

/** A case's tensors: x and w in the layouts its options name; opts holds the bias when it has one. */
export interface BuiltCase {
  x: Tensor;
  w: Tensor;
  opts: CaseOptions & { bias?: Float32Array };
  transposed: boolean;
  bias?: Float32Array;
}

/** mulberry32: a tiny, well-known 32-bit PRNG; good enough for test data, and reproducible. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of the text: a case's seed is that of its name. */
export function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; ++i) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Uniform values in [-1, 1). */
export function randomArray(length: number, random: () => number): Float32Array {
  const a = new Float32Array(length);
  for (let i = 0; i < length; ++i) a[i] = random() * 2 - 1;
  return a;
}

const T = true;
const M = 2 ** 31 - 1; // the largest stride, pad or effective kernel the facade takes (options.ts)

// Fields: name; transposed; N, C, K; size (input spatial); kernel; opts (stride, padding, dilation,
// groups, outputPadding, activation, layout, weightLayout); bias (adds K seeded values); altSize (the
// second input shape's spatial size, where each size + 2 would not do: see build()).
const TABLE: readonly CaseSpec[] = [
  // ---- 1-D forward ----
  { name: 'conv1d valid', N: 1, C: 3, K: 4, size: [17], kernel: [3], opts: { padding: 'valid' } },
  { name: 'conv1d same stride2 dilation2', N: 2, C: 4, K: 5, size: [19], kernel: [3], opts: { padding: 'same', stride: 2, dilation: 2 } },
  { name: 'conv1d same even kernel stride2 (odd total)', N: 1, C: 3, K: 2, size: [15], kernel: [4], opts: { padding: 'same', stride: 2 } },
  { name: 'conv1d same_lower even kernel stride2 (odd total)', N: 1, C: 3, K: 2, size: [15], kernel: [4], opts: { padding: 'same_lower', stride: 2 } },
  { name: 'conv1d causal dilation2', N: 1, C: 2, K: 3, size: [20], kernel: [3], opts: { padding: 'causal', dilation: 2 } },
  { name: 'conv1d causal stride2 k5', N: 2, C: 3, K: 4, size: [21], kernel: [5], opts: { padding: 'causal', stride: 2 }, bias: T },
  { name: 'conv1d wav2vec2 first layer C1 k10 s5 long input', N: 1, C: 1, K: 32, size: [3203], kernel: [10], opts: { stride: 5 } },
  { name: 'conv1d stride5 > kernel2 asymmetric pads', N: 1, C: 2, K: 3, size: [23], kernel: [2], opts: { stride: 5, padding: [[1, 2]] } },
  { name: 'conv1d many channels C96 k7 (C*k=672, blocked accumulation)', N: 1, C: 96, K: 24, size: [45], kernel: [7], opts: { stride: 2, padding: 3 }, bias: T },
  { name: 'conv1d channels_last both layouts groups2', N: 2, C: 6, K: 4, size: [13], kernel: [3], opts: { groups: 2, padding: 1, layout: 'channels_last', weightLayout: 'channels_last' } },
  { name: 'conv1d 1x1 strided', N: 1, C: 8, K: 5, size: [14], kernel: [1], opts: { stride: 2 }, bias: T },
  { name: 'conv1d depthwise multiplier2 same (Conformer-like)', N: 1, C: 6, K: 12, size: [25], kernel: [7], opts: { groups: 6, padding: 'same', activation: 'silu' }, bias: T },

  // ---- 2-D forward ----
  { name: 'conv2d valid 3x3', N: 1, C: 3, K: 8, size: [9, 11], kernel: [3, 3], opts: { padding: 'valid' } },
  { name: 'conv2d same 3x3 batch2 bias relu', N: 2, C: 4, K: 6, size: [8, 7], kernel: [3, 3], opts: { padding: 'same', activation: 'relu' }, bias: T },
  { name: 'conv2d same anisotropic stride[2,1] kernel[3,5] dilation[1,2]', N: 1, C: 3, K: 4, size: [11, 12], kernel: [3, 5], opts: { padding: 'same', stride: [2, 1], dilation: [1, 2] } },
  { name: 'conv2d same_lower 4x4 stride2', N: 1, C: 2, K: 3, size: [9, 10], kernel: [4, 4], opts: { padding: 'same_lower', stride: 2 } },
  { name: 'conv2d same stride3 > kernel2', N: 1, C: 2, K: 3, size: [10, 8], kernel: [2, 2], opts: { padding: 'same', stride: 3 } },
  { name: 'conv2d explicit per-dim pads [1,2] anisotropic stride[2,3]', N: 1, C: 3, K: 5, size: [10, 13], kernel: [3, 3], opts: { padding: [1, 2], stride: [2, 3] } },
  { name: 'conv2d asymmetric pads [[0,2],[1,0]] stride2', N: 2, C: 3, K: 4, size: [9, 8], kernel: [3, 2], opts: { padding: [[0, 2], [1, 0]], stride: 2 } },
  { name: 'conv2d patchify k4 s4 (stride = kernel)', N: 1, C: 3, K: 8, size: [17, 18], kernel: [4, 4], opts: { stride: 4 }, bias: T },
  { name: 'conv2d stride[3,4] > kernel 2x2', N: 1, C: 2, K: 3, size: [11, 14], kernel: [2, 2], opts: { stride: [3, 4] } },
  { name: 'conv2d dilation2 stride2 pad2', N: 1, C: 3, K: 4, size: [13, 12], kernel: [3, 3], opts: { dilation: 2, stride: 2, padding: 2 } },
  { name: 'conv2d groups2', N: 1, C: 8, K: 6, size: [7, 9], kernel: [3, 3], opts: { groups: 2, padding: 1 }, bias: T },
  { name: 'conv2d depthwise s2 same bias relu6 (MobileNetV2)', N: 1, C: 8, K: 8, size: [11, 10], kernel: [3, 3], opts: { groups: 8, stride: 2, padding: 'same', activation: 'relu6' }, bias: T },
  { name: 'conv2d depthwise multiplier2 k5 pad2 silu', N: 1, C: 6, K: 12, size: [9, 9], kernel: [5, 5], opts: { groups: 6, padding: 2, activation: 'silu' }, bias: T },
  { name: 'conv2d depthwise multiplier4 channels_last + TF weights', N: 2, C: 3, K: 12, size: [7, 8], kernel: [3, 3], opts: { groups: 3, padding: 'same', layout: 'channels_last', weightLayout: 'channels_last' }, bias: T },
  { name: 'conv2d depthwise multiplier5 stride2', N: 1, C: 3, K: 15, size: [9, 8], kernel: [3, 3], opts: { groups: 3, stride: 2, padding: 1 } },
  { name: 'conv2d channels_last + TF weights same s2 sigmoid', N: 2, C: 3, K: 5, size: [9, 10], kernel: [3, 3], opts: { padding: 'same', stride: 2, layout: 'channels_last', weightLayout: 'channels_last', activation: 'sigmoid' }, bias: T },
  { name: 'conv2d channels_last input, channels_first weights', N: 1, C: 4, K: 5, size: [7, 8], kernel: [3, 2], opts: { padding: 1, layout: 'channels_last' } },
  { name: 'conv2d channels_first input, TF weights groups2', N: 1, C: 4, K: 6, size: [8, 7], kernel: [2, 3], opts: { groups: 2, weightLayout: 'channels_last' } },
  { name: 'conv2d 1x1 stride2 bias (ResNet downsample)', N: 2, C: 16, K: 24, size: [9, 9], kernel: [1, 1], opts: { stride: 2 }, bias: T },
  { name: 'conv2d 1x1 stride2 end pads run past the input (C16 K32)', N: 1, C: 16, K: 32, size: [8, 6], kernel: [1, 1], opts: { stride: 2, padding: [[0, 1], [0, 2]] }, bias: T },
  { name: 'conv2d many channels C64 3x3 (C*k=576, blocked accumulation) tanh', N: 1, C: 64, K: 20, size: [10, 11], kernel: [3, 3], opts: { padding: 1, activation: 'tanh' }, bias: T },
  { name: 'conv2d deep reduction C160 3x3 (C*k=1440), K>144 rows', N: 1, C: 160, K: 150, size: [5, 6], kernel: [3, 3], opts: { padding: 1 } },
  { name: 'conv2d odd output 17x19 K19 batch3', N: 3, C: 5, K: 19, size: [17, 19], kernel: [3, 3], opts: { padding: 'same' }, bias: T },
  { name: 'conv2d tiny 1x1 output', N: 1, C: 2, K: 3, size: [3, 3], kernel: [3, 3], opts: {} },
  { name: 'conv2d tiny 1x1 input same 3x3', N: 1, C: 2, K: 3, size: [1, 1], kernel: [3, 3], opts: { padding: 'same' }, bias: T },
  { name: 'conv2d activation without bias (relu)', N: 1, C: 3, K: 4, size: [6, 6], kernel: [3, 3], opts: { activation: 'relu' } },

  // ---- 3-D forward ----
  { name: 'conv3d valid 3x3x3', N: 1, C: 2, K: 4, size: [6, 7, 8], kernel: [3, 3, 3], opts: {} },
  { name: 'conv3d same stride[1,2,2] channels_last both bias relu (C3D-like)', N: 1, C: 3, K: 4, size: [4, 9, 8], kernel: [3, 3, 3], opts: { padding: 'same', stride: [1, 2, 2], layout: 'channels_last', weightLayout: 'channels_last', activation: 'relu' }, bias: T },
  { name: 'conv3d groups2 dilation[2,1,1] asymmetric pads', N: 2, C: 4, K: 2, size: [7, 5, 6], kernel: [2, 3, 2], opts: { groups: 2, dilation: [2, 1, 1], padding: [[1, 0], [0, 1], [1, 1]] } },
  { name: 'conv3d depthwise stride2 same_lower', N: 1, C: 3, K: 3, size: [5, 6, 7], kernel: [3, 3, 3], opts: { groups: 3, stride: 2, padding: 'same_lower' }, bias: T },
  { name: 'conv3d anisotropic stride[2,1,3] kernel[1,3,3]', N: 1, C: 3, K: 5, size: [6, 7, 10], kernel: [1, 3, 3], opts: { stride: [2, 1, 3], padding: [0, 1, 1] } },

  // ---- transposed ----
  { name: 'convT1d s2 k4 pad1 (2x upsample)', transposed: T, N: 1, C: 3, K: 4, size: [9], kernel: [4], opts: { stride: 2, padding: 1 } },
  { name: 'convT1d s3 > k2 outputPadding2', transposed: T, N: 2, C: 2, K: 3, size: [7], kernel: [2], opts: { stride: 3, outputPadding: 2 }, bias: T },
  { name: 'convT1d same_lower s2 k3', transposed: T, N: 1, C: 3, K: 2, size: [8], kernel: [3], opts: { stride: 2, padding: 'same_lower' } },
  { name: 'convT1d s1 dilation3 outputPadding2 (< dilation)', transposed: T, N: 1, C: 2, K: 3, size: [8], kernel: [2], opts: { dilation: 3, outputPadding: 2 } },
  { name: 'convT1d k1 s2 holes hold bias+sigmoid', transposed: T, N: 1, C: 3, K: 2, size: [6], kernel: [1], opts: { stride: 2, outputPadding: 1, activation: 'sigmoid' }, bias: T },
  { name: 'convT2d s2 k3 pad1 outputPadding1 bias relu', transposed: T, N: 2, C: 4, K: 3, size: [5, 6], kernel: [3, 3], opts: { stride: 2, padding: 1, outputPadding: 1, activation: 'relu' }, bias: T },
  { name: 'convT2d same s2 k3 (Keras Conv2DTranspose)', transposed: T, N: 1, C: 3, K: 4, size: [5, 4], kernel: [3, 3], opts: { padding: 'same', stride: 2 } },
  { name: 'convT2d same s2 k4', transposed: T, N: 1, C: 2, K: 3, size: [4, 5], kernel: [4, 4], opts: { padding: 'same', stride: 2 }, bias: T },
  { name: 'convT2d same stride3 > kernel2', transposed: T, N: 1, C: 2, K: 3, size: [4, 3], kernel: [2, 2], opts: { padding: 'same', stride: 3 }, bias: T },
  { name: 'convT2d valid s2 k2 groups2 channels_last + Keras weights', transposed: T, N: 1, C: 4, K: 6, size: [5, 4], kernel: [2, 2], opts: { padding: 'valid', stride: 2, groups: 2, layout: 'channels_last', weightLayout: 'channels_last' } },
  { name: 'convT2d dilation2 stride2 outputPadding1 asymmetric pads', transposed: T, N: 1, C: 3, K: 2, size: [5, 6], kernel: [3, 2], opts: { dilation: 2, stride: 2, outputPadding: [1, 0], padding: [[1, 0], [0, 2]] } },
  { name: 'convT2d depthwise multiplier2 bias silu', transposed: T, N: 1, C: 4, K: 8, size: [6, 5], kernel: [3, 3], opts: { groups: 4, stride: 2, padding: 1, activation: 'silu' }, bias: T },
  { name: 'convT2d many channels C288 k2 s2 (long reduction)', transposed: T, N: 1, C: 288, K: 8, size: [5, 5], kernel: [2, 2], opts: { stride: 2 }, bias: T },
  { name: 'convT2d channels_last input, channels_first weights, tanh', transposed: T, N: 2, C: 3, K: 5, size: [4, 4], kernel: [3, 3], opts: { stride: [2, 1], padding: [1, 0], layout: 'channels_last', activation: 'tanh' }, bias: T },
  { name: 'convT2d tiny 1x1 input k3 s2 pad1 (1x1 output)', transposed: T, N: 1, C: 2, K: 3, size: [1, 1], kernel: [3, 3], opts: { stride: 2, padding: 1 }, bias: T },
  { name: 'convT3d s2 k3 pad1 outputPadding1 batch2', transposed: T, N: 2, C: 3, K: 2, size: [3, 4, 3], kernel: [3, 3, 3], opts: { stride: 2, padding: 1, outputPadding: 1 } },
  { name: 'convT3d same stride[1,2,2] channels_last relu6', transposed: T, N: 1, C: 4, K: 3, size: [3, 4, 5], kernel: [3, 3, 3], opts: { padding: 'same', stride: [1, 2, 2], layout: 'channels_last', weightLayout: 'channels_last', activation: 'relu6' }, bias: T },

  // ---- degenerate geometry: strides, pads and dilations far beyond the input (issue 20). The output
  // is small whatever the numbers; every backend must answer at the cost of that output. ----
  { name: 'degenerate conv2d output width 1 under stride [1,2]', N: 1, C: 1, K: 1, size: [5, 4], kernel: [1, 3], opts: { stride: [1, 2] } },
  { name: 'degenerate conv2d output extents 1 under stride [3,5] groups2 bias', N: 1, C: 4, K: 2, size: [4, 6], kernel: [2, 2], opts: { stride: [3, 5], groups: 2 }, bias: T },
  { name: 'degenerate conv1d stride 2^31-1 (one output)', N: 2, C: 2, K: 3, size: [8], kernel: [3], opts: { stride: M }, bias: T },
  { name: 'degenerate conv2d stride 2^16 (one output)', N: 1, C: 3, K: 4, size: [5, 6], kernel: [2, 3], opts: { stride: 2 ** 16 } },
  { name: 'degenerate conv3d stride 2^21 (one output)', N: 1, C: 2, K: 3, size: [3, 3, 3], kernel: [2, 2, 2], opts: { stride: 2 ** 21 }, bias: T },
  { name: 'degenerate conv2d stride [2^31-1,2] mixed', N: 1, C: 3, K: 5, size: [4, 9], kernel: [3, 3], opts: { stride: [M, 2], padding: [0, 1] } },
  { name: 'degenerate conv1d window in padding: pad [2^31-1,0] dilation 2^31-2 stride 2^31-1 bias sigmoid', N: 1, C: 2, K: 3, size: [4], kernel: [2], opts: { padding: [[M, 0]], dilation: M - 1, stride: M, activation: 'sigmoid' }, bias: T },
  { name: 'degenerate conv1d pad [2^31-2,0] dilation 2^31-2 stride 2^31-1 (last tap reads x[0]) tanh', N: 1, C: 2, K: 3, size: [4], kernel: [2], opts: { padding: [[M - 1, 0]], dilation: M - 1, stride: M, activation: 'tanh' }, bias: T },
  { name: 'degenerate conv1d pads 2^30 stride 2^20 (outputs in padding hold bias+tanh)', N: 1, C: 2, K: 2, size: [5], kernel: [3], opts: { padding: 2 ** 30, stride: 2 ** 20, activation: 'tanh' }, bias: T },
  { name: 'degenerate conv2d pads 2^31-1 stride [1,2^31-1] (first and last outputs in padding)', N: 1, C: 2, K: 3, size: [4, 3], kernel: [2, 2], opts: { padding: [[0, 0], [M, M]], stride: [1, M] }, bias: T },
  { name: 'degenerate conv1d dilation 2^30-1 pads [2^30-1,2^30-5] (one output)', N: 1, C: 3, K: 2, size: [5], kernel: [3], opts: { dilation: 2 ** 30 - 1, padding: [[2 ** 30 - 1, 2 ** 30 - 5]] }, bias: T },
  { name: 'degenerate conv1d dilation 2^30-1 pads 2^30 stride 1 (one live tap)', N: 1, C: 2, K: 3, size: [6], kernel: [3], opts: { dilation: 2 ** 30 - 1, padding: 2 ** 30 } },
  { name: 'degenerate conv2d groups2 pads 2^30 stride [2^21,1] dilation [1,2]', N: 1, C: 4, K: 6, size: [5, 6], kernel: [3, 2], opts: { groups: 2, padding: [[2 ** 30, 2 ** 30], [1, 1]], stride: [2 ** 21, 1], dilation: [1, 2] }, bias: T },
  { name: 'degenerate conv2d channels_last + TF weights pads 2^31-2 dilation 2^31-2 stride [2^31-1,1]', N: 1, C: 3, K: 4, size: [5, 4], kernel: [2, 3], opts: { padding: [[M - 1, 0], [1, 1]], dilation: [M - 1, 1], stride: [M, 1], layout: 'channels_last', weightLayout: 'channels_last' }, bias: T },
  { name: 'degenerate conv2d depthwise multiplier2 pads 2^31-2 dilation 2^31-2 stride [2^31-1,1] relu6', N: 1, C: 4, K: 8, size: [5, 4], kernel: [2, 3], opts: { groups: 4, padding: [[M - 1, 0], [1, 1]], dilation: [M - 1, 1], stride: [M, 1], activation: 'relu6' }, bias: T },
  { name: 'degenerate conv2d depthwise channels_last pads [2^30,1] stride [2^22,1]', N: 1, C: 3, K: 3, size: [4, 5], kernel: [3, 3], opts: { groups: 3, padding: [2 ** 30, 1], stride: [2 ** 22, 1], layout: 'channels_last' }, bias: T },
  { name: 'degenerate conv3d depthwise stride 2^21 (one output)', N: 1, C: 3, K: 3, size: [3, 4, 3], kernel: [2, 2, 2], opts: { groups: 3, stride: 2 ** 21 }, bias: T },
  { name: 'degenerate conv3d mixed: stride 2^21 | pads 2^30 dilation 2^30-1 | stride 2', N: 1, C: 2, K: 3, size: [3, 5, 7], kernel: [2, 3, 3], opts: { stride: [2 ** 21, 1, 2], dilation: [1, 2 ** 30 - 1, 1], padding: [[0, 0], [2 ** 30, 2 ** 30], [1, 1]] }, bias: T },
  { name: 'degenerate conv2d channels_last stride 2^31-1 (one output) silu', N: 2, C: 3, K: 4, size: [4, 5], kernel: [3, 2], opts: { stride: M, layout: 'channels_last', activation: 'silu' }, bias: T },
  { name: 'degenerate conv3d depthwise multiplier2 channels_last stride [2^21,1,2^31-1]', N: 1, C: 2, K: 4, size: [3, 4, 5], kernel: [2, 2, 2], opts: { groups: 2, stride: [2 ** 21, 1, M], layout: 'channels_last', weightLayout: 'channels_last' }, bias: T },
  { name: 'degenerate conv3d channels_last both layouts pads 2^31-2 dilation 2^31-2 groups3', N: 1, C: 3, K: 6, size: [2, 3, 4], kernel: [2, 2, 2], opts: { groups: 3, padding: [[1, 1], [M - 1, 0], [0, 0]], dilation: [1, M - 1, 1], stride: [1, M, 3], layout: 'channels_last', weightLayout: 'channels_last' } },

  // transposed: the stride spaces the inputs out; pads crop the output back to a few values
  { name: 'degenerate convT1d stride 2^31-1 on one input position', transposed: T, N: 1, C: 2, K: 3, size: [1], kernel: [3], opts: { stride: M }, bias: T, altSize: [1] },
  { name: 'degenerate convT1d stride 2^21 pads 2^21-1 (outputs between inputs hold bias+silu)', transposed: T, N: 1, C: 2, K: 3, size: [3], kernel: [2], opts: { stride: 2 ** 21, padding: 2 ** 21 - 1, activation: 'silu' }, bias: T, altSize: [3] },
  { name: 'degenerate convT2d stride [2^31-1,2] mixed', transposed: T, N: 1, C: 3, K: 2, size: [1, 3], kernel: [3, 3], opts: { stride: [M, 2], padding: [0, 1] }, altSize: [1, 5] },
  { name: 'degenerate convT3d stride 2^21 on one input pixel', transposed: T, N: 1, C: 2, K: 3, size: [1, 1, 1], kernel: [3, 3, 2], opts: { stride: 2 ** 21, padding: [[1, 0], [0, 1], [0, 0]] }, bias: T, altSize: [1, 1, 1] },
  { name: 'degenerate convT1d dilation 2^31-2 pad 2^31-2', transposed: T, N: 1, C: 2, K: 3, size: [3], kernel: [2], opts: { dilation: M - 1, padding: [[M - 1, 0]] } },
  { name: 'degenerate convT2d groups2 channels_last stride [2^20,1] pads crop', transposed: T, N: 1, C: 4, K: 6, size: [2, 3], kernel: [1, 2], opts: { groups: 2, stride: [2 ** 20, 1], padding: [[0, 2 ** 20 - 3], [0, 0]], layout: 'channels_last', weightLayout: 'channels_last', activation: 'relu' }, bias: T, altSize: [2, 5] },
  // Found by the fuzzer (test/fuzz): OpenVINO refused the empty ConvolutionBackpropData a begin pad
  // that crops all the input reaches leaves, and crashed on a forward end-padding window with a bias.
  { name: 'degenerate convT1d begin pad crops all the input reaches, outputPadding makes the output', transposed: T, N: 1, C: 1, K: 2, size: [1], kernel: [1], opts: { stride: 3, padding: [[2, 0]], outputPadding: 2 }, bias: T },
  { name: 'degenerate conv1d k1 end pad 1: the last output is bias alone', N: 1, C: 3, K: 3, size: [1], kernel: [1], opts: { padding: [[0, 1]] }, bias: T },
  { name: 'degenerate convT2d depthwise stride [2^31-1,2] pad 2^31-2 dilation 2^31-2', transposed: T, N: 1, C: 3, K: 3, size: [1, 4], kernel: [2, 2], opts: { groups: 3, stride: [M, 2], padding: [[M - 1, 0], [0, 0]], dilation: [M - 1, 1] }, bias: T, altSize: [1, 6] },
];

export const CASES: readonly ConformanceCase[] = TABLE.map((c) => ({ ...c, transposed: !!c.transposed }));

// Names are seeds, test titles and the keys of the golden outputs: they must be unique.
if (new Set(CASES.map((c) => c.name)).size !== CASES.length) throw new Error('conformance.ts: duplicate case names');

function product(values: readonly number[]): number {
  return values.reduce((a, b) => a * b, 1);
}

/** Weight shape for a case in its weight layout. */
export function weightShape(c: ConformanceCase): number[] {
  const groups = c.opts.groups || 1;
  const last = c.opts.weightLayout === 'channels_last';
  const [a, b] = c.transposed ? [c.C, c.K / groups] : [c.K, c.C / groups];
  return last ? [...c.kernel, b, a] : [a, b, ...c.kernel];
}

/** Input shape in the case's layout (optionally with another batch / spatial size). */
export function inputShape(c: ConformanceCase, N: number = c.N, size: readonly number[] = c.size): number[] {
  return c.opts.layout === 'channels_last' ? [N, ...size, c.C] : [N, c.C, ...size];
}

function fmt(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : JSON.stringify(v);
}

const DESCRIBED: ReadonlyArray<keyof CaseOptions> = ['stride', 'padding', 'dilation', 'groups', 'outputPadding', 'layout', 'weightLayout', 'activation'];

/** A printable one-line description: what the case is, in full. */
export function describeCase(c: ConformanceCase): string {
  const op = `${c.transposed ? 'convTranspose' : 'conv'}${c.kernel.length}d`;
  const parts = [`${op} x[${inputShape(c).join(',')}] w[${weightShape(c).join(',')}]`];
  for (const key of DESCRIBED) {
    if (c.opts[key] !== undefined) parts.push(`${key}=${fmt(c.opts[key])}`);
  }
  if (c.bias) parts.push('bias');
  return `${c.name} — ${parts.join(' ')}`;
}

/**
 * Tensors and options for a case. variant 'alt' gives another input shape (batch + 1, each spatial
 * size + 2, or the case's altSize) with the same weights, for plans run on two shapes. altSize is for
 * transposed cases whose strides are huge: there each input position more would add a stride's worth
 * of output (2^21 values per dimension, billions across two), so their second shape differs in batch
 * and the small dimensions.
 */
export function build(c: ConformanceCase, variant: 'main' | 'alt' = 'main'): BuiltCase {
  const alt = variant === 'alt';
  const random = mulberry32(seedOf(c.name));
  const wShape = weightShape(c);
  const w = { data: randomArray(product(wShape), random), shape: wShape };
  const bias = c.bias ? randomArray(c.K, random) : undefined;
  const N = alt ? c.N + 1 : c.N;
  const size = alt ? c.altSize || c.size.map((s) => s + 2) : c.size;
  const xShape = inputShape(c, N, size);
  const xRandom = alt ? mulberry32(seedOf(`${c.name}/alt`)) : random;
  const x = { data: randomArray(product(xShape), xRandom), shape: xShape };
  const opts: BuiltCase['opts'] = { ...c.opts };
  if (bias) opts.bias = bias;
  return { x, w, opts, transposed: c.transposed, ...(bias ? { bias } : {}) };
}

// ---- how close each backend must come --------------------------------------------------------------

/**
 * Normalised error bound per backend and precision: max|got - ref| / max(1, max|ref|), ref being the
 * float64 reference (test/helpers/reference.js) or ONNX Runtime (float32, the shipped goldens). Inputs
 * and weights are uniform in [-1, 1), reductions up to ~1,500 terms, so max|ref| is ~10-40. `precision`
 * is a permission (README, Options), so a backend may always be more exact than its entry.
 *   cpu, openvino: float32 arithmetic whatever the precision; different summation orders (blocking,
 *          FMA) stay near 1e-6.
 *   cudnn fp32: no TF32 (FMA math), but cuDNN may pick Winograd or FFT algorithms, whose transforms
 *          grow float32 rounding 10-50x over direct summation (~5e-5 at these sizes); 2e-4 keeps 4x
 *          margin and stays below what TF32 products give (~5e-4 per product), so a TF32 leak fails.
 *   cudnn tf32: 10-bit mantissa products, fp32 sums: ~5e-4 per product, 5e-3 with margin.
 *   cudnn fp16: inputs, weights and outputs rounded to 11-bit significands (~5e-4 relative each) with
 *          fp32 accumulation (tensor cores accumulate in fp32): ~1e-3 at these sizes, 1e-2 for the
 *          margin. An fp16 accumulator over 1,500 terms of magnitude ~30 would lose ~3e-2 and fail.
 *   coreml: float32 programs (precision fp32 or tf32 with STRIDEKIT_COREML_UNITS cpuOnly or cpuAndGPU)
 *          as cpu. Float16 (the precision fp16, or units that may pick the Neural Engine, which computes
 *          in float16 whatever the program says: `all`, the default, and cpuAndNeuralEngine): x, w, y
 *          rounded to float16 (relative 2^-11 = 4.9e-4). test/helpers/coreml_fp16_error.py simulates
 *          the worst cases (576 terms then tanh; 1,440 terms): 6.0e-3 with wider-than-fp16 sums (the
 *          GPU's default, allowLowPrecisionAccumulationOnGPU = NO), 1.5e-2 with pairwise fp16 sums,
 *          4.8e-2 with sequential fp16 sums. 2e-2 assumes the Neural Engine sums no worse than pairwise;
 *          unmeasured until a Mac runs it (CONTRIBUTING.md, Vendor plugins).
 *   bf16 (cpu with AVX512-BF16, openvino on a device that lists BF16; BF16 below): x and w rounded to
 *          nearest bfloat16, 8 significant bits, so each |δ| <= u = 2^-8 (RMS 0.41u = 1.6e-3 on uniform
 *          data); a product of two rounded values is exact in fp32 and off by δx + δw + δxδw, at most
 *          2u + u² = 7.8e-3 relative (RMS 2.25e-3); fp32 sums add ~n·2^-24, nothing by comparison.
 *          Worst case, every error of one sign: |Δy| <= 7.8e-3 · Σ|x·w| ≈ 7.8e-3 · n/4, 2.9 at 1,500
 *          terms: provable, and no use as a test bound. Expected, errors of random sign: Δy ≈ N(0, σ²)
 *          with σ = 2.25e-3 · sqrt(Σ(x·w)²) ≈ 2.25e-3 · sqrt(n/9). Without an activation max|ref| grows
 *          with the same sqrt(n/9), so the normalised error stays near 2.25e-3 whatever n (2.1e-3 the
 *          median over the cases, 5.7e-3 the largest). An activation bounded by 1 (tanh, sigmoid) leaves
 *          the denominator at 1 while Δy keeps its sqrt(n/9) growth, passed on with slope tanh' <= 1
 *          where the pre-activation is near 0: 576 terms then tanh (σ = 0.018; about 110 of 2,200
 *          outputs with |pre-activation| < 0.5) expects about 2.6σ = 4.7e-2, and measures 4.05e-2, in a
 *          float64 simulation of exactly this rounding and on OpenVINO's bf16 alike (both
 *          deterministic: round-to-nearest-even gives every correct implementation the same operands).
 *          6e-2 keeps 1.5x margin over that, and fails bf16 sums, which lose 8.7e-2 over the 1,440-term
 *          case and 2.7e-1 over the tanh case (simulated). cudnn and coreml run bf16 as fp32 (their
 *          probes do not report it), so their fp32 bounds hold.
 */
const BF16 = 6e-2;

export function tolerances(env: NodeJS.ProcessEnv = process.env): Record<BackendName, Record<Precision, number>> {
  const coremlFp16 = 2e-2;
  const coremlFp32 = ['all', 'cpuAndNeuralEngine'].includes(env.STRIDEKIT_COREML_UNITS || 'all') ? coremlFp16 : 1e-4;
  return {
    cpu: { fp32: 1e-4, tf32: 1e-4, fp16: 1e-4, bf16: BF16 },
    openvino: { fp32: 1e-4, tf32: 1e-4, fp16: 1e-4, bf16: BF16 },
    cudnn: { fp32: 2e-4, tf32: 5e-3, fp16: 1e-2, bf16: 2e-4 },
    coreml: { fp32: coremlFp32, tf32: coremlFp32, fp16: coremlFp16, bf16: coremlFp32 },
  };
}

// ---- what a backend cannot run yet -----------------------------------------------------------------

// Degenerate geometries (issue 20) whose pads, dilations or strides near 2**31 reach past what the
// vendor API can describe. The cpu and openvino backends lower them to what they touch
// (native/backends/cpu/direct.cc, native/backends/openvino/geometry_reduction.h); the cudnn and coreml
// backends do not yet. cudnn refuses them with an Error naming the descriptor that does not fit
// ("... does not fit cuDNN's 32-bit descriptors"), never a crash; the coreml model builder writes
// int32 attributes that overflow. Listed by name, exactly the cases that fail there.
const BEYOND_32_BIT_DESCRIPTORS = [
  'degenerate conv1d dilation 2^30-1 pads 2^30 stride 1 (one live tap)',
  'degenerate conv1d dilation 2^30-1 pads [2^30-1,2^30-5] (one output)',
  'degenerate conv1d pad [2^31-2,0] dilation 2^31-2 stride 2^31-1 (last tap reads x[0]) tanh',
  'degenerate conv1d pads 2^30 stride 2^20 (outputs in padding hold bias+tanh)',
  'degenerate conv1d window in padding: pad [2^31-1,0] dilation 2^31-2 stride 2^31-1 bias sigmoid',
  'degenerate conv2d channels_last + TF weights pads 2^31-2 dilation 2^31-2 stride [2^31-1,1]',
  'degenerate conv2d depthwise channels_last pads [2^30,1] stride [2^22,1]',
  'degenerate conv2d depthwise multiplier2 pads 2^31-2 dilation 2^31-2 stride [2^31-1,1] relu6',
  'degenerate conv2d groups2 pads 2^30 stride [2^21,1] dilation [1,2]',
  'degenerate conv2d pads 2^31-1 stride [1,2^31-1] (first and last outputs in padding)',
  'degenerate conv3d channels_last both layouts pads 2^31-2 dilation 2^31-2 groups3',
  'degenerate conv3d mixed: stride 2^21 | pads 2^30 dilation 2^30-1 | stride 2',
  'degenerate convT1d dilation 2^31-2 pad 2^31-2',
  'degenerate convT2d depthwise stride [2^31-1,2] pad 2^31-2 dilation 2^31-2',
];
const NOT_LOWERED = 'a pad, dilation or stride near 2**31 beyond the vendor API\'s 32-bit sizes; this backend does not lower such geometries yet (cpu and openvino do)';

/**
 * What each backend does with a stride, pad or dilation near 2**31: computes it ('lowered'), refuses it
 * with an Error whose message contains `refusal` ('refused': cudnn checks every descriptor it fills), or
 * nothing that has been checked yet ('unsupported': coreml's builder writes int32 attributes).
 */
export const HUGE_GEOMETRY: Readonly<Record<BackendName, { handling: 'lowered' | 'refused' | 'unsupported'; refusal?: string }>> = {
  cpu: { handling: 'lowered' },
  openvino: { handling: 'lowered' },
  cudnn: { handling: 'refused', refusal: "does not fit cuDNN's 32-bit descriptors" },
  coreml: { handling: 'unsupported' },
};

/**
 * Cases a backend cannot run, by case name, with why. They are reported as skipped with that reason,
 * never passed. A backend runs every other case.
 */
export const UNSUPPORTED: Readonly<Record<BackendName, Readonly<Record<string, string>>>> = {
  cpu: {},
  openvino: {},
  cudnn: Object.fromEntries(BEYOND_32_BIT_DESCRIPTORS.map((name) => [name, NOT_LOWERED])),
  coreml: Object.fromEntries([
    ...BEYOND_32_BIT_DESCRIPTORS.map((name) => [name, NOT_LOWERED]),
    ['degenerate convT1d begin pad crops all the input reaches, outputPadding makes the output',
      'conv_transpose cannot describe a begin pad past everything the input reaches; not lowered yet'],
  ]),
};
