'use strict';
// A plain reference for every convolution stridekit offers, written straight from the README's Options
// and Padding tables: nested loops over output positions, channels and kernel taps, accumulated in
// float64, rounded to float32 once. It is deliberately slow and obvious. It shares no code with lib/
// or native/: its padding resolution is written again from the README's Padding table, so comparing
// it with the facade's resolvePadding checks that too.
//
// Forward:    y[n, g*Kg+k, o] = act(bias[g*Kg+k] + sum_{c,r} x[n, g*Cg+c, o*s - pad_begin + r*d] * w[g*Kg+k, c, r])
// Transposed: y[n, g*Kg+k, o] += x[n, g*Cg+c, i] * w[g*Cg+c, k, r]  where o = i*s - pad_begin + r*d, 0 <= o < out,
//             then bias and activation on every output (also where no input reaches).
// Taps that fall outside the input (forward) or the output (transposed) contribute nothing (zero padding).

// NaN goes through relu and relu6, as in PyTorch: every comparison with NaN is false, and Math.max
// and Math.min return NaN when one argument is.
const ACTIVATIONS = {
  relu: (v) => (v < 0 ? 0 : v),
  relu6: (v) => Math.min(Math.max(v, 0), 6),
  sigmoid: (v) => 1 / (1 + Math.exp(-v)),
  tanh: (v) => Math.tanh(v),
  silu: (v) => v / (1 + Math.exp(-v)),
};

function fail(message) {
  throw new Error(`reference: ${message}`);
}

function perDim(value, rank, name, fallback) {
  if (value === undefined || value === null) value = fallback;
  if (typeof value === 'number') return new Array(rank).fill(value);
  if (!Array.isArray(value) || value.length !== rank) fail(`${name} must be a number or ${rank} numbers, got ${JSON.stringify(value)}`);
  return value.slice();
}

function product(values) {
  return values.reduce((a, b) => a * b, 1);
}

/** Rank, channel counts and per-dimension sizes, read from shapes in the layouts the options name. */
function geometry(xShape, wShape, opts = {}) {
  const rank = wShape.length - 2;
  if (rank < 1 || rank > 3) fail(`weight rank ${wShape.length} is not 3, 4 or 5`);
  if (xShape.length !== rank + 2) fail(`input rank ${xShape.length} does not match weight rank ${wShape.length}`);
  const transposed = !!opts.transposed;
  const channelsLast = opts.layout === 'channels_last';
  const weightLast = opts.weightLayout === 'channels_last';
  const groups = opts.groups || 1;
  const N = xShape[0];
  const C = channelsLast ? xShape[rank + 1] : xShape[1];
  const inSize = channelsLast ? xShape.slice(1, rank + 1) : xShape.slice(2);
  // Weight, channels first: conv (K, C/g, ...k); transposed (C, K/g, ...k).
  // Weight, channels last:  conv (...k, C/g, K); transposed (...k, K/g, C).
  const kernel = weightLast ? wShape.slice(0, rank) : wShape.slice(2);
  const w0 = weightLast ? wShape[rank + 1] : wShape[0];
  const w1 = weightLast ? wShape[rank] : wShape[1];
  let K;
  if (transposed) {
    if (w0 !== C) fail(`transposed weight has ${w0} input channels, input has ${C}`);
    K = w1 * groups;
  } else {
    if (w1 * groups !== C) fail(`weight has ${w1} channels per group x ${groups} groups, input has ${C}`);
    K = w0;
  }
  if (C % groups !== 0 || K % groups !== 0) fail(`groups ${groups} does not divide C=${C} and K=${K}`);
  const stride = perDim(opts.stride, rank, 'stride', 1);
  const dilation = perDim(opts.dilation, rank, 'dilation', 1);
  const outputPadding = perDim(opts.outputPadding, rank, 'outputPadding', 0);
  if (!transposed && outputPadding.some((v) => v !== 0)) fail('outputPadding is for transposed convolutions');
  return { rank, transposed, channelsLast, weightLast, groups, N, C, K, inSize, kernel, stride, dilation, outputPadding };
}

/**
 * [begin, end] per spatial dimension, from the README's Padding table:
 *   e = (k - 1) * d + 1
 *   explicit: as given; 'valid': 0, 0
 *   'same':   out = ceil(n / s), total = max((out - 1) * s + e - n, 0), begin = floor(total / 2), end = total - begin
 *   'same_lower': the same total with the odd pixel at the beginning
 *   'causal' (rank 1, forward): begin = (k - 1) * d, end = 0
 * Transposed 'same' / 'same_lower' give output n * s: the mirror of the forward convolution that maps
 * n * s back to n, whose total is (n - 1) * s + e - n * s = e - s. When e >= s it is split as above.
 * When e < s no tap needs cropping: begin = 0 and the end is negative, i.e. s - e outputs past the last
 * tap that only bias reaches (as TensorFlow's conv2d_transpose with padding='SAME' gives).
 */
function resolvePadding(xShape, wShape, opts = {}) {
  const g = geometry(xShape, wShape, opts);
  const { rank, kernel, stride, dilation, inSize } = g;
  const p = opts.padding === undefined ? 0 : opts.padding;
  const eff = kernel.map((k, i) => (k - 1) * dilation[i] + 1);
  if (typeof p === 'number') return kernel.map(() => [p, p]);
  if (Array.isArray(p)) {
    if (p.length !== rank) fail(`padding needs ${rank} entries, got ${JSON.stringify(p)}`);
    return p.map((v) => (Array.isArray(v) ? [v[0], v[1]] : [v, v]));
  }
  if (p === 'valid') return kernel.map(() => [0, 0]);
  if (p === 'same' || p === 'same_lower') {
    return inSize.map((n, i) => {
      const s = stride[i];
      let total;
      if (g.transposed) {
        if (g.outputPadding[i] !== 0) fail("outputPadding with 'same' is not written in this reference");
        total = (n - 1) * s + eff[i] - n * s;
        if (total < 0) return [0, total];
      } else {
        const out = Math.ceil(n / s);
        total = Math.max((out - 1) * s + eff[i] - n, 0);
      }
      const small = Math.floor(total / 2);
      const begin = p === 'same' ? small : total - small;
      return [begin, total - begin];
    });
  }
  if (p === 'causal') {
    if (rank !== 1) fail("'causal' padding is for rank 1");
    if (g.transposed) fail("'causal' padding is for forward convolutions");
    return [[(kernel[0] - 1) * dilation[0], 0]];
  }
  return fail(`unknown padding ${JSON.stringify(p)}`);
}

/** Output spatial sizes (the README's Padding table): forward floor((n + b + e_ - eff) / s) + 1; transposed (n - 1) * s - b - e_ + eff + op. */
function outputSize(xShape, wShape, opts = {}) {
  const g = geometry(xShape, wShape, opts);
  const pads = resolvePadding(xShape, wShape, opts);
  return g.inSize.map((n, i) => {
    const eff = (g.kernel[i] - 1) * g.dilation[i] + 1;
    const [b, e] = pads[i];
    const out = g.transposed
      ? (n - 1) * g.stride[i] - b - e + eff + g.outputPadding[i]
      : Math.floor((n + b + e - eff) / g.stride[i]) + 1;
    if (out < 1) fail(`output size ${out} in dimension ${i} is below 1`);
    return out;
  });
}

/** Output shape in the options' layout. */
function outputShape(xShape, wShape, opts = {}) {
  const g = geometry(xShape, wShape, opts);
  const out = outputSize(xShape, wShape, opts);
  return g.channelsLast ? [g.N, ...out, g.K] : [g.N, g.K, ...out];
}

/** Dense row-major permutation: result axis j is source axis perm[j]. */
function permute(data, shape, perm) {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]);
  const srcStrides = new Array(rank);
  let acc = 1;
  for (let i = rank - 1; i >= 0; --i) {
    srcStrides[i] = acc;
    acc *= shape[i];
  }
  const strideOfOut = perm.map((p) => srcStrides[p]);
  const out = new Float32Array(data.length);
  const index = new Array(rank).fill(0);
  for (let flat = 0; flat < out.length; ++flat) {
    let src = 0;
    for (let j = 0; j < rank; ++j) src += index[j] * strideOfOut[j];
    out[flat] = data[src];
    for (let j = rank - 1; j >= 0; --j) {
      if (++index[j] < outShape[j]) break;
      index[j] = 0;
    }
  }
  return { data: out, shape: outShape };
}

const range = (n, from = 0) => Array.from({ length: n }, (_, i) => i + from);

/** (N, ...spatial, C) -> (N, C, ...spatial) */
function toChannelsFirst(t) {
  const r = t.shape.length - 2;
  return permute(t.data, t.shape, [0, r + 1, ...range(r, 1)]);
}

/** (N, C, ...spatial) -> (N, ...spatial, C) */
function toChannelsLast(t) {
  const r = t.shape.length - 2;
  return permute(t.data, t.shape, [0, ...range(r, 2), 1]);
}

/** Weight (...k, A, B) -> (B, A, ...k): TF/Keras layouts to the PyTorch/ONNX ones, conv and transposed alike. */
function weightToChannelsFirst(w) {
  const r = w.shape.length - 2;
  return permute(w.data, w.shape, [r + 1, r, ...range(r)]);
}

/** Weight (B, A, ...k) -> (...k, A, B). */
function weightToChannelsLast(w) {
  const r = w.shape.length - 2;
  return permute(w.data, w.shape, [...range(r, 2), 1, 0]);
}

function biasValues(bias, K) {
  if (bias === undefined || bias === null) return null;
  const data = bias.data !== undefined ? bias.data : bias;
  if (data.length !== K) fail(`bias has ${data.length} values, K is ${K}`);
  return data;
}

// Sizes lifted to three spatial dimensions (leading ones of size 1) so each loop is written once.
function lift3(values, fill) {
  return [...new Array(3 - values.length).fill(fill), ...values];
}

/** Sizes, kernel, strides, dilations and leading pads as three dimensions each (rank 1 and 2 padded). */
function lifted(g, pads, outSize) {
  return {
    i: lift3(g.inSize, 1), o: lift3(outSize, 1), k: lift3(g.kernel, 1), s: lift3(g.stride, 1),
    d: lift3(g.dilation, 1), p: lift3(pads.map((p) => p[0]), 0),
  };
}

function epilogue(acc, K, outPixels, N, bias, activation) {
  const act = activation ? ACTIVATIONS[activation] : null;
  if (activation && !act) fail(`unknown activation ${activation}`);
  const y = new Float32Array(acc.length);
  for (let n = 0; n < N; ++n) {
    for (let k = 0; k < K; ++k) {
      const base = (n * K + k) * outPixels;
      for (let p = 0; p < outPixels; ++p) {
        let v = acc[base + p] + (bias ? bias[k] : 0);
        if (act) v = act(v);
        y[base + p] = v;
      }
    }
  }
  return y;
}

function forwardChannelsFirst(x, w, g, pads, outSize, bias, activation) {
  const { N, C, K, groups } = g;
  const Cg = C / groups;
  const Kg = K / groups;
  const { i: [i0, i1, i2], o: [o0, o1, o2], k: [k0, k1, k2], s: [s0, s1, s2], d: [d0, d1, d2], p: [p0, p1, p2] } =
    lifted(g, pads, outSize);
  const inPixels = i0 * i1 * i2;
  const outPixels = o0 * o1 * o2;
  const taps = k0 * k1 * k2;
  const acc = new Float64Array(N * K * outPixels);
  for (let n = 0; n < N; ++n) {
    for (let grp = 0; grp < groups; ++grp) {
      for (let k = 0; k < Kg; ++k) {
        const ko = grp * Kg + k;
        for (let a = 0; a < o0; ++a) {
          for (let b = 0; b < o1; ++b) {
            for (let c2 = 0; c2 < o2; ++c2) {
              let sum = 0;
              for (let c = 0; c < Cg; ++c) {
                const ci = grp * Cg + c;
                const xBase = (n * C + ci) * inPixels;
                const wBase = (ko * Cg + c) * taps;
                for (let r0 = 0; r0 < k0; ++r0) {
                  const x0 = a * s0 - p0 + r0 * d0;
                  if (x0 < 0 || x0 >= i0) continue;
                  for (let r1 = 0; r1 < k1; ++r1) {
                    const x1 = b * s1 - p1 + r1 * d1;
                    if (x1 < 0 || x1 >= i1) continue;
                    for (let r2 = 0; r2 < k2; ++r2) {
                      const x2 = c2 * s2 - p2 + r2 * d2;
                      if (x2 < 0 || x2 >= i2) continue;
                      sum += x[xBase + (x0 * i1 + x1) * i2 + x2] * w[wBase + (r0 * k1 + r1) * k2 + r2];
                    }
                  }
                }
              }
              acc[(n * K + ko) * outPixels + (a * o1 + b) * o2 + c2] = sum;
            }
          }
        }
      }
    }
  }
  return epilogue(acc, K, outPixels, N, bias, activation);
}

function transposedChannelsFirst(x, w, g, pads, outSize, bias, activation) {
  const { N, C, K, groups } = g;
  const Cg = C / groups;
  const Kg = K / groups;
  const { i: [i0, i1, i2], o: [o0, o1, o2], k: [k0, k1, k2], s: [s0, s1, s2], d: [d0, d1, d2], p: [p0, p1, p2] } =
    lifted(g, pads, outSize);
  const inPixels = i0 * i1 * i2;
  const outPixels = o0 * o1 * o2;
  const taps = k0 * k1 * k2;
  const acc = new Float64Array(N * K * outPixels);
  for (let n = 0; n < N; ++n) {
    for (let grp = 0; grp < groups; ++grp) {
      for (let c = 0; c < Cg; ++c) {
        const ci = grp * Cg + c;
        for (let a = 0; a < i0; ++a) {
          for (let b = 0; b < i1; ++b) {
            for (let c2 = 0; c2 < i2; ++c2) {
              const xv = x[(n * C + ci) * inPixels + (a * i1 + b) * i2 + c2];
              for (let k = 0; k < Kg; ++k) {
                const ko = grp * Kg + k;
                const wBase = (ci * Kg + k) * taps;
                const yBase = (n * K + ko) * outPixels;
                for (let r0 = 0; r0 < k0; ++r0) {
                  const y0 = a * s0 - p0 + r0 * d0;
                  if (y0 < 0 || y0 >= o0) continue;
                  for (let r1 = 0; r1 < k1; ++r1) {
                    const y1 = b * s1 - p1 + r1 * d1;
                    if (y1 < 0 || y1 >= o1) continue;
                    for (let r2 = 0; r2 < k2; ++r2) {
                      const y2 = c2 * s2 - p2 + r2 * d2;
                      if (y2 < 0 || y2 >= o2) continue;
                      acc[yBase + (y0 * o1 + y1) * o2 + y2] += xv * w[wBase + (r0 * k1 + r1) * k2 + r2];
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  return epilogue(acc, K, outPixels, N, bias, activation);
}

function run(x, w, opts, transposed) {
  const o = { ...opts, transposed };
  const xShape = x.shape || x.dims;
  const g = geometry(xShape, w.shape, o);
  const pads = resolvePadding(xShape, w.shape, o);
  const outSize = outputSize(xShape, w.shape, o);
  if (x.data.length !== product(xShape)) fail(`input has ${x.data.length} values, shape says ${product(xShape)}`);
  if (w.data.length !== product(w.shape)) fail(`weight has ${w.data.length} values, shape says ${product(w.shape)}`);
  const xcf = g.channelsLast ? toChannelsFirst({ data: x.data, shape: xShape }) : { data: x.data, shape: xShape };
  const wcf = g.weightLast ? weightToChannelsFirst(w) : w;
  const bias = biasValues(o.bias, g.K);
  const body = transposed ? transposedChannelsFirst : forwardChannelsFirst;
  const y = { data: body(xcf.data, wcf.data, g, pads, outSize, bias, o.activation), shape: [g.N, g.K, ...outSize] };
  return g.channelsLast ? toChannelsLast(y) : y;
}

/** Forward convolution: x, w are {data: Float32Array, shape}; options as in the README's Options table. */
function conv(x, w, opts = {}) {
  return run(x, w, opts, false);
}

/** Transposed convolution. */
function convTranspose(x, w, opts = {}) {
  return run(x, w, opts, true);
}

/** Normalised error: max|a - b| / max(1, max|ref|). NaN anywhere, or a length mismatch, is Infinity. */
function normalisedError(actual, ref) {
  if (actual.length !== ref.length) return Infinity;
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < ref.length; ++i) {
    const d = Math.abs(actual[i] - ref[i]);
    if (!(d <= diff)) diff = Number.isNaN(d) ? Infinity : d;
    const m = Math.abs(ref[i]);
    if (m > scale) scale = m;
  }
  return diff / scale;
}

/** Where actual and ref differ most: for failure messages. */
function worstMismatch(actual, ref, shape) {
  let worst = -1;
  let worstDiff = -1;
  for (let i = 0; i < ref.length; ++i) {
    const d = Math.abs(actual[i] - ref[i]);
    if (Number.isNaN(d) || d > worstDiff) {
      worst = i;
      worstDiff = Number.isNaN(d) ? Infinity : d;
      if (Number.isNaN(d)) break;
    }
  }
  if (worst < 0) return 'no elements';
  const index = [];
  let rest = worst;
  for (let j = shape.length - 1; j >= 0; --j) {
    index.unshift(rest % shape[j]);
    rest = Math.floor(rest / shape[j]);
  }
  return `at [${index.join(', ')}] (flat ${worst}) got ${actual[worst]}, expected ${ref[worst]}`;
}

/**
 * data rounded to bfloat16, to nearest, ties to even (as vcvtne2ps2bf16 rounds; NaN is not handled):
 * the operands a bf16 kernel multiplies, for a reference of the rounded operands.
 */
function roundToBf16(data) {
  const out = Float32Array.from(data);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) bits[i] = ((bits[i] + 0x7fff + ((bits[i] >>> 16) & 1)) & 0xffff0000) >>> 0;
  return out;
}

module.exports = {
  ACTIVATIONS,
  roundToBf16,
  conv,
  convTranspose,
  resolvePadding,
  outputShape,
  outputSize,
  geometry,
  permute,
  toChannelsFirst,
  toChannelsLast,
  weightToChannelsFirst,
  weightToChannelsLast,
  normalisedError,
  worstMismatch,
};
