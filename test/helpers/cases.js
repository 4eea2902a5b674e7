'use strict';
// The one table of named convolution cases that every backend runs (test/conformance.test.js) and that
// the reference is checked on against ONNX Runtime (test/reference.test.js). Sizes are kept modest:
// the reference is plain JavaScript.
//
// A case is written in channels-first terms (N, C, K, spatial size, kernel) plus options; build() turns
// it into tensors in the layouts the options name, with seeded deterministic data, so the same case
// always holds the same numbers whatever the order the table is run in.

// mulberry32: a tiny, well-known 32-bit PRNG; good enough for test data, and reproducible.
function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// FNV-1a of the case name: the case's seed.
function seedOf(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; ++i) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Uniform values in [-1, 1). */
function randomArray(length, random) {
  const a = new Float32Array(length);
  for (let i = 0; i < length; ++i) a[i] = random() * 2 - 1;
  return a;
}

const T = true;
const M = 2 ** 31 - 1; // the largest stride, pad or effective kernel the facade takes (lib/options.ts)

// Fields: name; transposed; N, C, K; size (input spatial); kernel; opts (stride, padding, dilation,
// groups, outputPadding, activation, layout, weightLayout); bias (adds K seeded values); altSize (the
// second input shape's spatial size, where each size + 2 would not do: see build()).
const CASES = [
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

for (const c of CASES) c.transposed = !!c.transposed;

// Names are seeds and test titles: they must be unique.
if (new Set(CASES.map((c) => c.name)).size !== CASES.length) throw new Error('cases.js: duplicate case names');

function rankOf(c) {
  return c.kernel.length;
}

/** Weight shape for a case in its weight layout. */
function weightShape(c) {
  const groups = c.opts.groups || 1;
  const last = c.opts.weightLayout === 'channels_last';
  const [a, b] = c.transposed ? [c.C, c.K / groups] : [c.K, c.C / groups];
  return last ? [...c.kernel, b, a] : [a, b, ...c.kernel];
}

/** Input shape in the case's layout (optionally with another batch / spatial size). */
function inputShape(c, N = c.N, size = c.size) {
  return c.opts.layout === 'channels_last' ? [N, ...size, c.C] : [N, c.C, ...size];
}

function fmt(v) {
  return typeof v === 'string' ? `'${v}'` : JSON.stringify(v);
}

/** A printable one-line description: what the case is, in full. */
function describeCase(c) {
  const op = `${c.transposed ? 'convTranspose' : 'conv'}${rankOf(c)}d`;
  const parts = [`${op} x[${inputShape(c).join(',')}] w[${weightShape(c).join(',')}]`];
  for (const key of ['stride', 'padding', 'dilation', 'groups', 'outputPadding', 'layout', 'weightLayout', 'activation']) {
    if (c.opts[key] !== undefined) parts.push(`${key}=${fmt(c.opts[key])}`);
  }
  if (c.bias) parts.push('bias');
  return `${c.name} — ${parts.join(' ')}`;
}

/**
 * Tensors and options for a case: { x, w, opts, transposed, bias }. opts has bias (Float32Array) when the
 * case has one. variant 'alt' gives another input shape (batch + 1, each spatial size + 2, or the case's
 * altSize) with the same weights, for plans run on two shapes. altSize is for transposed cases whose
 * strides are huge: there each input position more would add a stride's worth of output (2^21 values
 * per dimension, billions across two), so their second shape differs in batch and the small dimensions.
 */
function build(c, variant = 'main') {
  const alt = variant === 'alt';
  const random = mulberry32(seedOf(c.name));
  const wShape = weightShape(c);
  const w = { data: randomArray(wShape.reduce((a, b) => a * b, 1), random), shape: wShape };
  const bias = c.bias ? randomArray(c.K, random) : undefined;
  const N = alt ? c.N + 1 : c.N;
  const size = alt ? c.altSize || c.size.map((s) => s + 2) : c.size;
  const xShape = inputShape(c, N, size);
  const xRandom = alt ? mulberry32(seedOf(`${c.name}/alt`)) : random;
  const x = { data: randomArray(xShape.reduce((a, b) => a * b, 1), xRandom), shape: xShape };
  const opts = { ...c.opts };
  if (bias) opts.bias = bias;
  return { x, w, opts, transposed: c.transposed, bias };
}

module.exports = { CASES, build, describeCase, weightShape, inputShape, mulberry32, seedOf, randomArray };
