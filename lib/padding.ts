/**
 * The padding formulas (the README's Padding table) for one spatial dimension: input size n, kernel k, stride s,
 * dilation d, effective kernel e = (k - 1) * d + 1. Pure arithmetic; normalize.ts applies it per
 * dimension and nothing else derives a pad or an output size.
 */
import { invalid } from './errors';
import type { PaddingSpec } from './options';

export interface DimensionGeometry {
  /** Spatial dimension index, for messages. */
  readonly dim: number;
  readonly n: number;
  readonly k: number;
  readonly s: number;
  readonly d: number;
  /** Transposed only; 0 for forward. */
  readonly outputPadding: number;
}

export interface ResolvedDimension {
  readonly begin: number;
  readonly end: number;
  readonly out: number;
}

export function effectiveKernel(k: number, d: number): number {
  return (k - 1) * d + 1;
}

export function forwardDimension(g: DimensionGeometry, padding: PaddingSpec): ResolvedDimension {
  const e = effectiveKernel(g.k, g.d);
  switch (padding.mode) {
    case 'same':
    case 'same_lower': {
      const out = Math.ceil(g.n / g.s);
      const total = Math.max((out - 1) * g.s + e - g.n, 0);
      return { ...split(total, padding.mode), out };
    }
    case 'causal':
      return explicitForward(g, (g.k - 1) * g.d, 0);
    case 'valid':
      return explicitForward(g, 0, 0);
    case 'explicit':
      return explicitForward(g, padding.pads[g.dim][0], padding.pads[g.dim][1]);
  }
}

function explicitForward(g: DimensionGeometry, begin: number, end: number): ResolvedDimension {
  const e = effectiveKernel(g.k, g.d);
  const out = Math.floor((g.n + begin + end - e) / g.s) + 1;
  if (out < 1) {
    throw invalid('range', `output size[${g.dim}]`, 'at least 1', out, {
      got: `${out} = floor((input ${g.n} + padding ${begin} + ${end} - effective kernel ${e}) / stride ${g.s}) + 1`,
    });
  }
  return { begin, end, out };
}

/**
 * 'same' keeps the output at n * s; outputPadding then adds to the total pad (ONNX ConvTranspose).
 * A negative total (stride above the effective kernel) pads nothing and the tail of the output gets
 * only the bias: the core takes the output size explicitly.
 */
export function transposedDimension(g: DimensionGeometry, padding: PaddingSpec): ResolvedDimension {
  const e = effectiveKernel(g.k, g.d);
  switch (padding.mode) {
    case 'same':
    case 'same_lower': {
      const out = g.n * g.s;
      const total = (g.n - 1) * g.s + e + g.outputPadding - out;
      return total >= 0 ? { ...split(total, padding.mode), out } : { begin: 0, end: 0, out };
    }
    case 'causal': // options.ts refuses 'causal' for transposed convolutions
    case 'valid':
      return explicitTransposed(g, 0, 0);
    case 'explicit':
      return explicitTransposed(g, padding.pads[g.dim][0], padding.pads[g.dim][1]);
  }
}

function explicitTransposed(g: DimensionGeometry, begin: number, end: number): ResolvedDimension {
  const e = effectiveKernel(g.k, g.d);
  const out = (g.n - 1) * g.s - begin - end + e + g.outputPadding;
  if (out < 1) {
    throw invalid('range', `output size[${g.dim}]`, 'at least 1', out, {
      got: `${out} = (input ${g.n} - 1) * stride ${g.s} - padding ${begin} - ${end} + effective kernel ${e}` +
        ` + outputPadding ${g.outputPadding}`,
    });
  }
  return { begin, end, out };
}

/** 'same' puts an odd pixel at the end, 'same_lower' at the beginning. */
function split(total: number, mode: 'same' | 'same_lower'): { begin: number; end: number } {
  const begin = mode === 'same' ? Math.floor(total / 2) : Math.ceil(total / 2);
  return { begin, end: total - begin };
}
