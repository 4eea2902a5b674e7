'use strict';
// Shape arithmetic the fuzzer needs on its own side: what the reference is told, how big a case's
// output and work are. Written from README.md's padding table, sharing nothing with lib/.

const reference = require('../helpers/reference');
const { shapes, product } = require('./materialize');

const GEOMETRY_MAX = 2 ** 31 - 1;

function perDim(value, rank, fallback) {
  if (value === undefined || value === null) return new Array(rank).fill(fallback);
  return typeof value === 'number' ? new Array(rank).fill(value) : value.slice();
}

/**
 * The options reference.js is given for a valid case. reference.js leaves a transposed 'same' /
 * 'same_lower' with outputPadding undefined; README's padding table defines it (output n * s, total
 * pad (n - 1) * s + e + outputPadding - n * s split as for 'same', nothing padded when negative), so
 * that case is handed over as the explicit pads it means: [begin, end] with end = total - begin, or
 * [0, total] when total < 0 (the tail that only the bias reaches).
 */
function referenceOptions(c) {
  const o = { ...c.opts, transposed: c.transposed };
  const rank = c.kernel.length;
  const op = perDim(c.opts.outputPadding, rank, 0);
  if (c.transposed && (o.padding === 'same' || o.padding === 'same_lower') && op.some((v) => v !== 0)) {
    const s = perDim(c.opts.stride, rank, 1);
    const d = perDim(c.opts.dilation, rank, 1);
    o.padding = c.size.map((n, i) => {
      const e = (c.kernel[i] - 1) * d[i] + 1;
      const total = (n - 1) * s[i] + e + op[i] - n * s[i];
      if (total < 0) return [0, total];
      const small = Math.floor(total / 2);
      const begin = o.padding === 'same' ? small : total - small;
      return [begin, total - begin];
    });
  }
  return o;
}

/** { outSize, outputElements, macs } of a valid case, or null when its output would be empty. */
function workOf(c) {
  const s = shapes(c);
  let outSize;
  try {
    outSize = reference.outputSize(s.x, s.w, referenceOptions(c));
  } catch (e) {
    return null;
  }
  const taps = product(c.kernel);
  const outputElements = c.N * c.K * product(outSize);
  const macs = c.transposed
    ? c.N * c.C * product(c.size) * (c.K / c.groups) * taps
    : outputElements * (c.C / c.groups) * taps;
  return { outSize, outputElements, macs };
}

module.exports = { GEOMETRY_MAX, perDim, referenceOptions, workOf };
