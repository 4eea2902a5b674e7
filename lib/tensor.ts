/** Tensor arguments: `{ data: Float32Array, shape }` or ONNX Runtime's `{ data, dims }`. */
import { describe, indexed, invalid } from './errors';
import * as is from './is';

/**
 * The most elements any tensor may have. Every count then is a safe integer, and the native core's
 * 64-bit index arithmetic has room to spare.
 */
const MAX_ELEMENTS = 2 ** 32 - 1;

export interface CheckedTensor {
  data: Float32Array;
  shape: number[];
  /** `x.shape` or `x.dims`: whichever the caller wrote, for later messages. */
  shapePath: string;
  /** data.length when it was checked: the product of shape. */
  length: number;
}

/**
 * A shape: an array of positive integers whose product is at most MAX_ELEMENTS. Returns a copy, so
 * what was checked is what is used. Paths are only spelled out when a check fails.
 */
export function readShape(value: unknown, path: string): number[] {
  if (!is.array(value)) throw invalid('type', path, 'an array of positive integers', value);
  const shape = value.slice(); // checked after the copy: what is checked is what is used
  for (let axis = 0; axis < shape.length; axis++) readDimension(shape[axis], path, axis);
  elementCount(shape as number[], path);
  return shape as number[];
}

function readDimension(dim: unknown, path: string, axis: number): number {
  if (!is.number(dim)) throw invalid('type', indexed(path, axis), 'a positive integer', dim);
  if (!is.positiveInteger(dim)) throw invalid('range', indexed(path, axis), 'a positive integer', dim);
  if (dim > MAX_ELEMENTS) throw invalid('range', indexed(path, axis), `at most ${MAX_ELEMENTS}`, dim);
  return dim;
}

/** The product of a shape; a RangeError naming `path` when it exceeds MAX_ELEMENTS. */
export function elementCount(shape: readonly number[], path: string): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  if (count > MAX_ELEMENTS) {
    throw invalid('range', path, `a shape of at most ${MAX_ELEMENTS} elements`, shape,
      { got: `${describe(shape)} (${count} elements)` });
  }
  return count;
}

export function readTensor(value: unknown, name: string): CheckedTensor {
  if (!is.object(value)) {
    throw invalid('type', name, 'a Tensor ({ data: Float32Array, shape: number[] })', value);
  }
  const { data } = value;
  if (!is.float32Array(data)) throw invalid('type', `${name}.data`, 'a Float32Array', data);
  const dims = value.dims;
  let shape: number[];
  let shapePath: string;
  if (!is.defined(dims)) {
    shapePath = `${name}.shape`;
    shape = readShape(value.shape, shapePath);
  } else {
    shape = readShapeAndDims(value.shape, dims, name);
    shapePath = is.defined(value.shape) ? `${name}.shape` : `${name}.dims`;
  }
  const count = elementCount(shape, shapePath);
  if (data.length !== count) {
    throw invalid('range', `${name}.data.length`, `${count} (the product of ${shapePath} ${describe(shape)})`, data.length);
  }
  return { data, shape, shapePath, length: count };
}

/** ONNX Runtime's `dims`, alone or beside a `shape` it must equal. */
function readShapeAndDims(shapeValue: unknown, dimsValue: unknown, name: string): number[] {
  const dims = readShape(dimsValue, `${name}.dims`);
  if (!is.defined(shapeValue)) return dims;
  const shape = readShape(shapeValue, `${name}.shape`);
  if (dims.length !== shape.length || dims.some((dim, axis) => dim !== shape[axis])) {
    throw invalid('range', `${name}.dims`, `equal to ${name}.shape ${describe(shape)} when both are given`, dims);
  }
  return shape;
}

/** True when two views share at least one byte. */
function overlaps(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.buffer === b.buffer &&
    a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/**
 * The output buffer: `out.data` when `out` is given (it must have exactly the output shape and share
 * no memory with `inputs`, which the core reads while it writes), else a new Float32Array.
 */
export function outputBuffer(
  out: unknown, outputShape: readonly number[], length: number, inputs: ReadonlyArray<readonly [string, ArrayBufferView | null]>,
): Float32Array {
  if (!is.defined(out)) return new Float32Array(length);
  const checked = readTensor(out, 'out');
  const same = checked.shape.length === outputShape.length && checked.shape.every((dim, axis) => dim === outputShape[axis]);
  if (!same) throw invalid('range', checked.shapePath, `${describe(outputShape)} (the output shape)`, checked.shape);
  for (const [name, input] of inputs) {
    if (input !== null && overlaps(checked.data, input)) {
      throw invalid('range', 'out.data', `memory separate from ${name}`, checked.data, { got: 'a view that overlaps it' });
    }
  }
  return checked.data;
}

/**
 * The last check before native code runs: `data` still has the `length` elements it was checked to
 * have. A getter that runs after a tensor is read (an option's, another tensor's) can detach,
 * transfer or shrink that tensor's ArrayBuffer meanwhile.
 */
export function stillSized(data: Float32Array, length: number, path: string): void {
  if (data.length !== length) {
    throw invalid('range', path, `${length} elements long as when it was checked`, data.length, {
      got: `${data.length} (its ArrayBuffer was detached, transferred or resized while the arguments were read)`,
    });
  }
}
