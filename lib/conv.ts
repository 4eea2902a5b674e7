/**
 * One-shot convolutions. Every argument is checked before native code runs. Rule for all of
 * stridekit: the async functions reject and never throw; the Sync functions throw.
 */
import { resolveBackend } from './backends';
import { withCallerStack } from './errors';
import { binding } from './loader';
import { normalizeFixed, resolveShape } from './normalize';
import { CONV_OPTION_NAMES, readOptionsBag, readTransposed } from './options';
import { outputBuffer, readTensor } from './tensor';
import type { ConvOptions, Tensor, TensorInput } from './types';

interface Direction {
  transposed: boolean;
  fn: string;
  other: string;
}
const FORWARD: Direction = { transposed: false, fn: 'conv', other: 'convTranspose' };
const TRANSPOSED: Direction = { transposed: true, fn: 'convTranspose', other: 'conv' };

/** Everything the native call needs, checked. */
function prepare(direction: Direction, x: unknown, w: unknown, options: unknown) {
  const opts = readOptionsBag(options, CONV_OPTION_NAMES);
  const input = readTensor(x, 'x');
  const weight = readTensor(w, 'w');
  readTransposed(opts.transposed, direction);
  const fixed = normalizeFixed(weight.shape, weight.shapePath, opts, direction.transposed);
  const shape = resolveShape(fixed, input.shape, input.shapePath);
  const y = outputBuffer(opts.out, shape.outputShape, shape.outputLength,
    [['x.data', input.data], ['w.data', weight.data], ['bias', fixed.bias]]);
  const backend = resolveBackend(fixed.backend);
  const args = [backend, fixed.geometry, weight.data, fixed.bias, shape.shape, input.data, y] as const;
  return { args, result: { data: y, shape: [...shape.outputShape] } };
}

function runSync(direction: Direction, x: unknown, w: unknown, options: unknown): Tensor {
  const { args, result } = prepare(direction, x, w, options);
  binding().convSync(...args);
  return result;
}

async function run(direction: Direction, callSite: Error, x: unknown, w: unknown, options: unknown): Promise<Tensor> {
  const { args, result } = prepare(direction, x, w, options);
  try {
    await binding().conv(...args);
  } catch (error) {
    throw withCallerStack(error, callSite);
  }
  return result;
}

/**
 * Convolution (cross-correlation, as in PyTorch, ONNX and TensorFlow) on a worker thread; the event
 * loop keeps turning. Resolves to `options.out` (same data) when given, else to a new tensor.
 * Rejects, never throws: TypeError/RangeError for bad arguments, Error when the backend fails.
 */
export function conv(x: TensorInput, w: TensorInput, options?: ConvOptions): Promise<Tensor> {
  return run(FORWARD, new Error(), x, w, options);
}

/** conv on the calling thread; throws what conv rejects with. */
export function convSync(x: TensorInput, w: TensorInput, options?: ConvOptions): Tensor {
  return runSync(FORWARD, x, w, options);
}

/**
 * Transposed ("fractionally strided") convolution, the gradient of conv with respect to its input,
 * on a worker thread. Weight (C, K/groups, ...k), or (...k, K/groups, C) with weightLayout
 * 'channels_last'. Rejects, never throws.
 */
export function convTranspose(x: TensorInput, w: TensorInput, options?: ConvOptions): Promise<Tensor> {
  return run(TRANSPOSED, new Error(), x, w, options);
}

/** convTranspose on the calling thread; throws what convTranspose rejects with. */
export function convTransposeSync(x: TensorInput, w: TensorInput, options?: ConvOptions): Tensor {
  return runSync(TRANSPOSED, x, w, options);
}
