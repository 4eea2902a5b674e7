/** Shape arithmetic without native code: it works even where the native core cannot load. */
import { EntryPoint, FixedOptions, readArguments, readFixed, resolveSizes, Shaped, ShapeSizes } from './normalize';
import { CONV_OPTION_NAMES } from './options';
import { readShape } from './tensor';
import type { ShapeOptions } from './types';

/** xShape and wShape are shapes alone; the direction is options.transposed's. */
const SHAPE_CALL: EntryPoint<Shaped, Shaped, FixedOptions> = {
  optionNames: CONV_OPTION_NAMES, inputName: 'xShape', readInput: readShaped,
  weightName: 'wShape', weightInOptions: false, readWeight: readShaped, readLayer: readFixed,
};

/**
 * The output shape of `conv(x, w, options)`, or of `convTranspose(x, w, options)` when
 * `options.transposed` is true. Throws the same TypeErrors and RangeErrors as the convolution
 * would; `out` is ignored and `backend` only checked for spelling, so one options object can serve
 * both calls.
 */
export function outputShape(xShape: readonly number[], wShape: readonly number[], options?: ShapeOptions): number[] {
  return [...resolve(xShape, wShape, options).outputShape];
}

/**
 * The explicit `[begin, end]` pads, one pair per spatial dimension, that `padding` ('same',
 * 'same_lower', 'causal', 'valid', or explicit values) becomes for this input; transposed when
 * `options.transposed` is true.
 */
export function resolvePadding(xShape: readonly number[], wShape: readonly number[], options?: ShapeOptions): Array<[number, number]> {
  return resolve(xShape, wShape, options).pads.map(([begin, end]) => [begin, end]);
}

function resolve(xShape: unknown, wShape: unknown, options: unknown): ShapeSizes {
  const { input, fixed } = readArguments(SHAPE_CALL, undefined, options, xShape, wShape);
  return resolveSizes(fixed, input.shape, input.shapePath);
}

function readShaped(value: unknown, path: string): Shaped {
  return { shape: readShape(value, path), shapePath: path };
}
