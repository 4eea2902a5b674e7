/**
 * Plan once, run many: createConv normalises the options and packs the weights once; each run only
 * checks its input, resolves its shape (cached per input shape) and hands pointers to the core.
 * Same error rule as conv.ts: run() rejects and never throws; runSync() and createConv() throw.
 */
import { resolveBackend } from './backends';
import {
  beginUse, checkDeviceOut, DeviceRunOptions, DeviceTensor, deviceInput, deviceOutput, deviceWhereHostExpected,
  isDeviceTensor, readWeightTensor,
} from './device-tensor';
import { invalid, withAwaitingStack } from './errors';
import { chooseFastest } from './fastest';
import * as is from './is';
import { binding } from './loader';
import type { NativeDeviceTensor, NativePlan } from './native-abi';
import { EntryPoint, FixedPart, normalizeFixed, notReadHere, readArguments, resolveSizes, ShapeCache } from './normalize';
import { PLAN_OPTION_NAMES, RUN_OPTION_NAMES, readOptionsBag } from './options';
import { CheckedTensor, outputBuffer, readShape, readTensor, stillSized } from './tensor';
import type { BackendName, BackendTiming, PlanOptions, RunOptions, Tensor, TensorInput } from './types';

/**
 * A convolution planned once and run many times: options are normalised and weights packed at
 * createConv, shape-dependent work is cached per input shape.
 */
export interface ConvPlan {
  /** The backend that runs this plan. */
  readonly backend: BackendName;
  /**
   * With backend 'fastest': every available backend, cpu first, with its timings on inputShape or why
   * it was rejected; `chosen` marks `backend`. Undefined for any other backend request.
   */
  readonly backendTimings?: readonly BackendTiming[];
  readonly transposed: boolean;
  readonly disposed: boolean;
  /** The output shape for an input shape, without running anything. */
  outputShape(xShape: readonly number[]): number[];
  /**
   * Runs off the main thread. Rejects (never throws) on bad input or after dispose(). On a DeviceTensor
   * of the plan's backend it resolves to a DeviceTensor on that backend (`out` when given).
   */
  run(x: DeviceTensor, options?: DeviceRunOptions): Promise<DeviceTensor>;
  run(x: TensorInput, options?: RunOptions): Promise<Tensor>;
  runSync(x: DeviceTensor, options?: DeviceRunOptions): DeviceTensor;
  runSync(x: TensorInput, options?: RunOptions): Tensor;
  /** Frees the native plan once runs in flight finish. Idempotent. */
  dispose(): void;
}

const DISPOSED_MESSAGE = 'this ConvPlan has been disposed; create a new one with createConv()';

/** createConv(options): the weight is options.weight; the direction is options.transposed's. */
const CREATE_CONV: EntryPoint<undefined, CheckedTensor, FixedPart> = {
  optionNames: PLAN_OPTION_NAMES, optionHints: { out: 'pass out to run() or runSync()' },
  inputName: 'x', readInput: notReadHere,
  weightName: 'weight', weightInOptions: true, readWeight: readWeightTensor, readLayer: normalizeFixed,
};

/**
 * Normalises the options and packs `weight` once on the chosen backend. Throws TypeError/RangeError
 * for bad arguments before anything is packed, and Error when the backend cannot be used.
 */
export function createConv(options: PlanOptions): ConvPlan {
  const { options: opts, weight, fixed } = readArguments(CREATE_CONV, undefined, options, undefined, undefined);
  const inputShape = is.defined(opts.inputShape) ? readShape(opts.inputShape, 'inputShape') : undefined;
  const sizes = inputShape === undefined ? undefined : resolveSizes(fixed, inputShape, 'inputShape');
  const fastest = fixed.backend === 'fastest';
  if (fastest && sizes === undefined) {
    throw invalid('type', 'inputShape', "an array of positive integers with backend 'fastest', which times runs of that shape", opts.inputShape);
  }
  const backend = fastest ? undefined : resolveBackend(fixed.backend);
  stillSized(weight.data, weight.length, 'weight.data.length');
  if (fixed.bias !== null) stillSized(fixed.bias, fixed.outChannels, 'bias length');
  if (backend !== undefined) return planOn(backend, fixed, weight.data);
  const choice = chooseFastest(fixed, weight.data, sizes as NonNullable<typeof sizes>);
  return new Plan(choice.native, choice.backend, fixed, choice.timings);
}

/** Packs the weights on `backend`: the last step of createConv, and of one-shot calls on DeviceTensors. */
export function planOn(backend: BackendName, fixed: FixedPart, weight: Float32Array): ConvPlan {
  return new Plan(binding().createPlan(backend, fixed.geometry, weight, fixed.bias), backend, fixed);
}

/** One run, checked: the native plan, its shape array, input, the caller's out.data (or null), output shape and size. */
interface Run {
  native: NativePlan;
  shape: Float64Array;
  x: Float32Array;
  out: Float32Array | null;
  outputShape: readonly number[];
  outputLength: number;
}

/** One run on device-resident tensors, checked; `fresh` when y was allocated for it. */
interface DeviceRun {
  native: NativePlan;
  shape: Float64Array;
  x: NativeDeviceTensor;
  y: NativeDeviceTensor;
  result: DeviceTensor;
  fresh: boolean;
}

const PLAN_BACKEND = "the plan's backend";

class Plan implements ConvPlan {
  readonly backend: BackendName;
  readonly backendTimings?: readonly BackendTiming[];
  readonly transposed: boolean;
  #native: NativePlan | undefined;
  readonly #shapes: ShapeCache;

  constructor(native: NativePlan, backend: BackendName, fixed: FixedPart, backendTimings?: readonly BackendTiming[]) {
    this.#native = native;
    this.backend = backend;
    if (backendTimings !== undefined) this.backendTimings = backendTimings;
    this.transposed = fixed.transposed;
    this.#shapes = new ShapeCache(fixed);
  }

  get disposed(): boolean {
    return this.#native === undefined;
  }

  outputShape(xShape: readonly number[]): number[] {
    return this.#shapes.get(readShape(xShape, 'xShape'), 'xShape').outputShape.slice();
  }

  runSync(x: DeviceTensor, options?: DeviceRunOptions): DeviceTensor;
  runSync(x: TensorInput, options?: RunOptions): Tensor;
  runSync(x: TensorInput | DeviceTensor, options?: RunOptions | DeviceRunOptions): Tensor | DeviceTensor {
    if (isDeviceTensor(x)) return this.#runDeviceSync(x, options);
    const run = this.#prepare(x, options);
    const y = run.out ?? new Float32Array(run.outputLength);
    run.native.runSync(run.shape, run.x, y);
    return { data: y, shape: run.outputShape.slice() };
  }

  run(x: DeviceTensor, options?: DeviceRunOptions): Promise<DeviceTensor>;
  run(x: TensorInput, options?: RunOptions): Promise<Tensor>;
  /** Rejects, never throws: even telling a DeviceTensor apart can throw (a revoked Proxy's traps). */
  run(x: TensorInput | DeviceTensor, options?: RunOptions | DeviceRunOptions): Promise<Tensor | DeviceTensor> {
    try {
      return isDeviceTensor(x) ? this.#runDevice(x, options) : this.#run(x, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #runDeviceSync(x: DeviceTensor, options: unknown): DeviceTensor {
    const run = this.#prepareDevice(x, options);
    try {
      run.native.runDeviceSync(run.shape, run.x, run.y);
    } catch (error) {
      if (run.fresh) run.result.dispose();
      throw error;
    }
    return run.result;
  }

  async #runDevice(x: DeviceTensor, options: unknown): Promise<DeviceTensor> {
    const run = this.#prepareDevice(x, options);
    const endRead = beginUse(x, 'read');
    const endWrite = beginUse(run.result, 'write');
    try {
      await run.native.runDevice(run.shape, run.x, run.y);
    } catch (error) {
      if (run.fresh) run.result.dispose();
      throw withAwaitingStack(error);
    } finally {
      endRead();
      endWrite();
    }
    return run.result;
  }

  /**
   * The core copies x before the call returns and computes into memory of its own, so what the
   * caller does with x.data meanwhile cannot reach the result; out is written when the promise settles.
   */
  async #run(x: TensorInput, options: unknown): Promise<Tensor> {
    const run = this.#prepare(x, options);
    let data: Float32Array | undefined;
    try {
      data = await run.native.run(run.shape, run.x, run.out);
    } catch (error) {
      throw withAwaitingStack(error);
    }
    return { data: run.out ?? (data as Float32Array), shape: run.outputShape.slice() };
  }

  dispose(): void {
    this.#native?.dispose();
    this.#native = undefined;
  }

  #prepare(x: unknown, options: unknown): Run {
    const native = this.#native;
    if (native === undefined) throw new Error(DISPOSED_MESSAGE);
    const opts = readOptionsBag(options, RUN_OPTION_NAMES);
    const input = readTensor(x, 'x');
    const shape = this.#shapes.get(input.shape, input.shapePath);
    const out = opts.out;
    if (isDeviceTensor(out)) throw deviceWhereHostExpected('out', out, 'x');
    const y = is.defined(out) ? outputBuffer(out, shape.outputShape, shape.outputLength, [['x.data', input.data]]) : null;
    // Every getter of the caller's has run: the buffers are as checked, or this says why not.
    stillSized(input.data, input.length, 'x.data.length');
    if (y !== null) stillSized(y, shape.outputLength, 'out.data.length');
    return { native, shape: shape.shape, x: input.data, out: y, outputShape: shape.outputShape, outputLength: shape.outputLength };
  }

  /** As #prepare, for a DeviceTensor x; a new output is allocated last, after every check passed. */
  #prepareDevice(x: DeviceTensor, options: unknown): DeviceRun {
    const native = this.#native;
    if (native === undefined) throw new Error(DISPOSED_MESSAGE);
    const opts = readOptionsBag(options, RUN_OPTION_NAMES);
    const xNative = deviceInput(x, this.backend, PLAN_BACKEND);
    const shape = this.#shapes.get(x.shape, 'x.shape');
    const out = checkDeviceOut(opts.out, x, this.backend, PLAN_BACKEND, shape.outputShape);
    const y = deviceOutput(out, this.backend, shape.outputShape, shape.outputLength);
    return { native, shape: shape.shape, x: xNative, y: y.native, result: y.tensor, fresh: y.fresh };
  }
}

