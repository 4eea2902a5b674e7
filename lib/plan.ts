/**
 * Plan once, run many: createConv normalises the options and packs the weights once; each run only
 * checks its input, resolves its shape (cached per input shape) and hands pointers to the core.
 * Same error rule as conv.ts: run() rejects and never throws; runSync() and createConv() throw.
 */
import { resolveBackend } from './backends';
import { withCallerStack } from './errors';
import { binding } from './loader';
import type { NativePlan } from './native-abi';
import { FixedPart, normalizeFixed, ShapeCache, ShapePart } from './normalize';
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
    return [...this.#shapes.get(readShape(xShape, 'xShape'), 'xShape').outputShape];
  }

  runSync(x: TensorInput, options?: RunOptions): Tensor {
    const { native, shape, input, y } = this.#prepare(x, options);
    native.runSync(shape.shape, input, y);
    return { data: y, shape: [...shape.outputShape] };
  }

  run(x: TensorInput, options?: RunOptions): Promise<Tensor> {
    return this.#run(new Error(), x, options);
  }

  async #run(callSite: Error, x: TensorInput, options?: RunOptions): Promise<Tensor> {
    const { native, shape, input, y } = this.#prepare(x, options);
    try {
      await native.run(shape.shape, input, y);
    } catch (error) {
      throw withCallerStack(error, callSite);
    }
    return { data: y, shape: [...shape.outputShape] };
  }

  dispose(): void {
    this.#native?.dispose();
    this.#native = undefined;
  }

  #prepare(x: unknown, options: unknown): { native: NativePlan; shape: ShapePart; input: Float32Array; y: Float32Array } {
    const native = this.#native;
    if (native === undefined) throw new Error(DISPOSED_MESSAGE);
    const opts = readOptionsBag(options, RUN_OPTION_NAMES);
    const input = readTensor(x, 'x');
    const shape = this.#shapes.get(input.shape, input.shapePath);
    const y = outputBuffer(opts.out, shape.outputShape, shape.outputLength, [['x.data', input.data]]);
    return { native, shape, input: input.data, y };
  }
}
