/**
 * One-shot convolutions. Every argument is checked before native code runs. Rule for all of
 * stridekit: the async functions reject and never throw; the Sync functions throw.
 */
import { resolveBackend } from './backends';
import {
  checkDeviceOut, DeviceConvOptions, DeviceTensor, deviceInput, deviceWhereHostExpected, isDeviceTensor,
  readWeightTensor,
} from './device-tensor';
import { withAwaitingStack } from './errors';
import * as is from './is';
import { binding } from './loader';
import { REQUEST } from './native-abi';
import {
  EntryPoint, FixedOptions, FixedPart, normalizeFixed, notReadHere, readArguments, readFixed, resolveSizes,
  writeGeometry, writeShape,
} from './normalize';
import { CONV_OPTION_NAMES, Direction } from './options';
import { ConvPlan, planOn } from './plan';
import { CheckedTensor, outputBuffer, readTensor, stillSized } from './tensor';
import type { BackendName, ConvOptions, Tensor, TensorInput } from './types';

const FORWARD: Direction = { transposed: false, fn: 'conv', other: 'convTranspose' };
const TRANSPOSED: Direction = { transposed: true, fn: 'convTranspose', other: 'conv' };

/** conv(x, w, options) on host tensors: the request array gets the geometry, so no array of its own. */
const HOST_CALL: EntryPoint<CheckedTensor, CheckedTensor, FixedOptions> = {
  optionNames: CONV_OPTION_NAMES, inputName: 'x', readInput: readTensor,
  weightName: 'w', weightInOptions: false, readWeight: readWeightTensor, readLayer: readFixed,
};

/** conv(x, w, options) on a DeviceTensor x, which is checked against the backend once that is known. */
const DEVICE_CALL: EntryPoint<undefined, CheckedTensor, FixedPart> = {
  optionNames: CONV_OPTION_NAMES, inputName: 'x', readInput: notReadHere,
  weightName: 'w', weightInOptions: false, readWeight: readWeightTensor, readLayer: normalizeFixed,
};

/**
 * The request array of every one-shot call on this thread: the core copies it before the call
 * returns, and prepare() fills it last, after the caller's objects (whose getters could start
 * another convolution) have all been read.
 */
const request = new Float64Array(REQUEST.length);
const requestGeometry = request.subarray(REQUEST.geometry, REQUEST.shape);
const requestShape = request.subarray(REQUEST.shape, REQUEST.length);

/** Everything the native call needs but the request, checked. */
interface OneShot {
  backend: BackendName;
  weight: Float32Array;
  bias: Float32Array | null;
  x: Float32Array;
  /** The caller's out.data, or null. */
  out: Float32Array | null;
  outputShape: number[];
  outputLength: number;
}

function prepare(direction: Direction, x: unknown, w: unknown, options: unknown): OneShot {
  const { options: opts, input, weight, fixed } = readArguments(HOST_CALL, direction, options, x, w);
  const sizes = resolveSizes(fixed, input.shape, input.shapePath);
  const out = opts.out;
  if (isDeviceTensor(out)) throw deviceWhereHostExpected('out', out, 'x');
  const y = is.defined(out)
    ? outputBuffer(out, sizes.outputShape, sizes.outputLength,
      [['x.data', input.data], ['w.data', weight.data], ['bias', fixed.bias]])
    : null;
  const backend = resolveBackend(fixed.backend);
  // Every getter of the caller's has run: the buffers are as checked, or this says why not.
  stillSized(input.data, input.length, 'x.data.length');
  stillSized(weight.data, weight.length, 'w.data.length');
  if (fixed.bias !== null) stillSized(fixed.bias, fixed.outChannels, 'bias length');
  if (y !== null) stillSized(y, sizes.outputLength, 'out.data.length');
  writeGeometry(fixed, requestGeometry);
  writeShape(sizes, requestShape);
  // sizes.outputShape is this call's own array: it becomes the result's shape as it is.
  return {
    backend, weight: weight.data, bias: fixed.bias, x: input.data, out: y,
    outputShape: sizes.outputShape as number[], outputLength: sizes.outputLength,
  };
}

function runSync(direction: Direction, x: unknown, w: unknown, options: unknown): Tensor {
  const call = prepare(direction, x, w, options);
  const y = call.out ?? new Float32Array(call.outputLength);
  binding().convSync(call.backend, request, call.weight, call.bias, call.x, y);
  return { data: y, shape: call.outputShape };
}

/**
 * The core copies x, w and bias before the call returns and computes into memory of its own, so
 * what the caller does with those buffers meanwhile cannot reach the result; out is written when
 * the promise settles.
 */
async function run(direction: Direction, x: unknown, w: unknown, options: unknown): Promise<Tensor> {
  const call = prepare(direction, x, w, options);
  let data: Float32Array | undefined;
  try {
    data = await binding().conv(call.backend, request, call.weight, call.bias, call.x, call.out);
  } catch (error) {
    throw withAwaitingStack(error);
  }
  return { data: call.out ?? (data as Float32Array), shape: call.outputShape };
}

/**
 * A one-shot call on a DeviceTensor x is a plan made, run once and disposed: every argument is checked
 * before the weights are packed (on the calling thread). `backend` 'auto' is x's backend.
 */
function devicePlan(direction: Direction, x: DeviceTensor, w: unknown, options: unknown): { plan: ConvPlan; out?: DeviceTensor } {
  const { options: opts, weight, fixed } = readArguments(DEVICE_CALL, direction, options, x, w);
  const auto = fixed.backend === 'auto';
  const backend = auto ? x.backend : resolveBackend(fixed.backend);
  const whose = auto ? "x's backend" : 'options.backend';
  deviceInput(x, backend, whose);
  const sizes = resolveSizes(fixed, x.shape, 'x.shape');
  const out = checkDeviceOut(opts.out, x, backend, whose, sizes.outputShape);
  stillSized(weight.data, weight.length, 'w.data.length');
  if (fixed.bias !== null) stillSized(fixed.bias, fixed.outChannels, 'bias length');
  return { plan: planOn(backend, fixed, weight.data), out };
}

function runDeviceSync(direction: Direction, x: DeviceTensor, w: unknown, options: unknown): DeviceTensor {
  const { plan, out } = devicePlan(direction, x, w, options);
  try {
    return plan.runSync(x, { out });
  } finally {
    plan.dispose();
  }
}

async function runDevice(direction: Direction, x: DeviceTensor, w: unknown, options: unknown): Promise<DeviceTensor> {
  const { plan, out } = devicePlan(direction, x, w, options);
  try {
    return await plan.run(x, { out });
  } catch (error) {
    throw withAwaitingStack(error);
  } finally {
    plan.dispose();
  }
}

/** Rejects, never throws: even telling a DeviceTensor apart can throw (a revoked Proxy's traps). */
function start(direction: Direction, x: unknown, w: unknown, options: unknown): Promise<Tensor | DeviceTensor> {
  try {
    return isDeviceTensor(x) ? runDevice(direction, x, w, options) : run(direction, x, w, options);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Convolution (cross-correlation, as in PyTorch, ONNX and TensorFlow) on a worker thread; the event
 * loop keeps turning. Resolves to `options.out` (same data) when given, else to a new tensor.
 * Rejects, never throws: TypeError/RangeError for bad arguments, Error when the backend fails.
 */
export function conv(x: DeviceTensor, w: TensorInput, options?: DeviceConvOptions): Promise<DeviceTensor>;
export function conv(x: TensorInput, w: TensorInput, options?: ConvOptions): Promise<Tensor>;
export function conv(x: TensorInput | DeviceTensor, w: TensorInput, options?: ConvOptions | DeviceConvOptions): Promise<Tensor | DeviceTensor> {
  return start(FORWARD, x, w, options);
}

/** conv on the calling thread; throws what conv rejects with. */
export function convSync(x: DeviceTensor, w: TensorInput, options?: DeviceConvOptions): DeviceTensor;
export function convSync(x: TensorInput, w: TensorInput, options?: ConvOptions): Tensor;
export function convSync(x: TensorInput | DeviceTensor, w: TensorInput, options?: ConvOptions | DeviceConvOptions): Tensor | DeviceTensor {
  return isDeviceTensor(x) ? runDeviceSync(FORWARD, x, w, options) : runSync(FORWARD, x, w, options);
}

/**
 * Transposed ("fractionally strided") convolution, the gradient of conv with respect to its input,
 * on a worker thread. Weight (C, K/groups, ...k), or (...k, K/groups, C) with weightLayout
 * 'channels_last'. Rejects, never throws.
 */
export function convTranspose(x: DeviceTensor, w: TensorInput, options?: DeviceConvOptions): Promise<DeviceTensor>;
export function convTranspose(x: TensorInput, w: TensorInput, options?: ConvOptions): Promise<Tensor>;
export function convTranspose(
  x: TensorInput | DeviceTensor, w: TensorInput, options?: ConvOptions | DeviceConvOptions,
): Promise<Tensor | DeviceTensor> {
  return start(TRANSPOSED, x, w, options);
}

/** convTranspose on the calling thread; throws what convTranspose rejects with. */
export function convTransposeSync(x: DeviceTensor, w: TensorInput, options?: DeviceConvOptions): DeviceTensor;
export function convTransposeSync(x: TensorInput, w: TensorInput, options?: ConvOptions): Tensor;
export function convTransposeSync(
  x: TensorInput | DeviceTensor, w: TensorInput, options?: ConvOptions | DeviceConvOptions,
): Tensor | DeviceTensor {
  return isDeviceTensor(x) ? runDeviceSync(TRANSPOSED, x, w, options) : runSync(TRANSPOSED, x, w, options);
}
