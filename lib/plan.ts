/**
 * Plan once, run many: createConv normalises the options and packs the weights once; each run only
 * checks its input, resolves its shape (cached per input shape) and hands pointers to the core.
 * Same error rule as conv.ts: run() rejects and never throws; runSync() and createConv() throw.
 */
import { resolveBackend } from './backends';
import { withCallerStack } from './errors';
import * as is from './is';
import { binding } from './loader';
import type { NativePlan } from './native-abi';
import { FixedPart, normalizeFixed, ShapeCache } from './normalize';
import { PLAN_OPTION_NAMES, RUN_OPTION_NAMES, readOptionsBag, readTransposed } from './options';
import { outputBuffer, readShape, readTensor } from './tensor';
import type { BackendName, ConvPlan, PlanOptions, RunOptions, Tensor, TensorInput } from './types';

export const DISPOSED_MESSAGE = 'this ConvPlan has been disposed; create a new one with createConv()';

/**
 * Normalises the options and packs `weight` once on the chosen backend. Throws TypeError/RangeError
 * for bad arguments before anything is packed, and Error when the backend cannot be used.
 */
export function createConv(options: PlanOptions): ConvPlan {
  const opts = readOptionsBag(options, PLAN_OPTION_NAMES, { out: 'pass out to run() or runSync()' });
  const weight = readTensor(opts.weight, 'weight');
  const transposed = readTransposed(opts.transposed);
  const fixed = normalizeFixed(weight.shape, weight.shapePath, opts, transposed);
  const backend = resolveBackend(fixed.backend);
  const native = binding().createPlan(backend, fixed.geometry, weight.data, fixed.bias);
  return new Plan(native, backend, fixed);
}

/** One run, checked: the native plan, its shape array, input and output, and the result to return. */
interface Run {
  native: NativePlan;
  shape: Float64Array;
  x: Float32Array;
  result: Tensor;
}

class Plan implements ConvPlan {
  readonly backend: BackendName;
  readonly transposed: boolean;
  #native: NativePlan | undefined;
  readonly #shapes: ShapeCache;

  constructor(native: NativePlan, backend: BackendName, fixed: FixedPart) {
    this.#native = native;
    this.backend = backend;
    this.transposed = fixed.transposed;
    this.#shapes = new ShapeCache(fixed);
  }

  get disposed(): boolean {
    return this.#native === undefined;
  }

  outputShape(xShape: readonly number[]): number[] {
    return this.#shapes.get(readShape(xShape, 'xShape'), 'xShape').outputShape.slice();
  }

  runSync(x: TensorInput, options?: RunOptions): Tensor {
    const run = this.#prepare(x, options);
    run.native.runSync(run.shape, run.x, run.result.data);
    return run.result;
  }

  run(x: TensorInput, options?: RunOptions): Promise<Tensor> {
    return this.#run(new Error(), x, options);
  }

  async #run(callSite: Error, x: TensorInput, options?: RunOptions): Promise<Tensor> {
    const run = this.#prepare(x, options);
    try {
      await run.native.run(run.shape, run.x, run.result.data);
    } catch (error) {
      throw withCallerStack(error, callSite);
    }
    return run.result;
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
    const y = is.defined(out)
      ? outputBuffer(out, shape.outputShape, shape.outputLength, [['x.data', input.data]])
      : new Float32Array(shape.outputLength);
    return { native, shape: shape.shape, x: input.data, result: { data: y, shape: shape.outputShape.slice() } };
  }
}
