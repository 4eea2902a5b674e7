/**
 * backend: 'fastest' (createConv only): the plan is built on every available backend and timed on the
 * caller's input shape, as cuDNN's cudnnFind and PyTorch's cudnn.benchmark time algorithms, and the
 * fastest backend whose result agrees with cpu's is kept. 'auto' ranks backends by what their device
 * is expected to do (backends.ts); this measures what they do on this machine, for this layer.
 *
 * The cost, paid once in createConv on the calling thread: for each available backend, plan creation
 * and one untimed first run (where OpenVINO and Core ML compile their model for the shape), then
 * TIMED_RUNS_MIN timed runs, and more until TIMED_RUNS_MAX or TIMING_BUDGET_MS of timed runs, whichever
 * comes first. Host tensors are timed, as runSync and run take them.
 */
import { performance } from 'perf_hooks';
import { autoOrder } from './backends';
import { binding } from './loader';
import { NativePlan, SHAPE } from './native-abi';
import { FixedPart, ShapeSizes, writeShape } from './normalize';
import type { BackendName, BackendTiming, Precision } from './types';

/** A median of three outlasts one run disturbed by another process; short layers get up to ten. */
const TIMED_RUNS_MIN = 3;
const TIMED_RUNS_MAX = 10;
/** Timed runs past the third stop once they have taken this long (the untimed first run is extra). */
const TIMING_BUDGET_MS = 200;
/**
 * Largest difference from cpu's result, relative to its largest magnitude, that still counts as the
 * same convolution: a wrong result must never win by being fast. Each is well above the conformance
 * suite's bounds for that precision (test/helpers/target.js) and far below what a wrong result shows.
 */
const AGREEMENT: Record<Precision, number> = { fp32: 1e-3, tf32: 1e-2, fp16: 5e-2, bf16: 2e-1 };

export interface FastestChoice {
  backend: BackendName;
  native: NativePlan;
  timings: BackendTiming[];
}

/** Times `fixed` on every available backend and keeps the fastest; disposes every other plan. */
export function chooseFastest(fixed: FixedPart, weight: Float32Array, sizes: ShapeSizes): FastestChoice {
  const shape = writeShape(sizes, new Float64Array(SHAPE.length));
  const x = timingInput(sizes.batch * sizes.inSize.reduce((n, s) => n * s, fixed.inChannels));
  // cpu first: its result is what the others must agree with; an exact tie keeps the earlier one.
  const candidates: BackendName[] = ['cpu', ...autoOrder().filter((name) => name !== 'cpu')];
  let reference: Float32Array | undefined;
  const timings: BackendTiming[] = [];
  const plans = new Map<BackendName, NativePlan>();
  try {
    for (const backend of candidates) {
      const timing: BackendTiming = { backend, runs: 0, chosen: false };
      timings.push(timing);
      try {
        const y = new Float32Array(sizes.outputLength);
        const start = performance.now();
        const native = binding().createPlan(backend, fixed.geometry, weight, fixed.bias);
        plans.set(backend, native);
        native.runSync(shape, x, y);
        timing.setupMs = performance.now() - start;
        const disagreement = reference === undefined ? undefined : disagrees(y, reference, AGREEMENT[fixed.precision]);
        if (disagreement !== undefined) {
          timing.rejected = `its result differs from cpu's: ${disagreement}`;
          continue;
        }
        reference ??= y.slice();
        const durations = timeRuns(native, shape, x, y);
        timing.runs = durations.length;
        timing.ms = median(durations);
      } catch (error) {
        timing.rejected = error instanceof Error ? error.message : String(error);
      }
    }
    let best: BackendTiming | undefined;
    for (const timing of timings) {
      if (timing.ms !== undefined && (best?.ms === undefined || timing.ms < best.ms)) best = timing;
    }
    if (best === undefined) {
      throw new Error(`backend 'fastest': no backend could run this plan: ${
        timings.map((t) => `${t.backend}: ${t.rejected}`).join('; ')}`);
    }
    best.chosen = true;
    const native = plans.get(best.backend) as NativePlan;
    plans.delete(best.backend);
    return { backend: best.backend, native, timings };
  } finally {
    for (const native of plans.values()) native.dispose();
  }
}

/** Inputs in [-1, 1) from a fixed seed: the same work on every backend and in every process. */
function timingInput(length: number): Float32Array {
  const x = new Float32Array(length);
  let state = 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    x[i] = state / 2 ** 31 - 1;
  }
  return x;
}

/** Durations of timed runs, in milliseconds: TIMED_RUNS_MIN, then until the run count or budget is reached. */
function timeRuns(native: NativePlan, shape: Float64Array, x: Float32Array, y: Float32Array): number[] {
  const durations: number[] = [];
  let spent = 0;
  while (durations.length < TIMED_RUNS_MAX && (durations.length < TIMED_RUNS_MIN || spent < TIMING_BUDGET_MS)) {
    const start = performance.now();
    native.runSync(shape, x, y);
    const ms = performance.now() - start;
    durations.push(ms);
    spent += ms;
  }
  return durations;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Why y is not reference within `bound` (relative to reference's largest magnitude), or undefined. */
function disagrees(y: Float32Array, reference: Float32Array, bound: number): string | undefined {
  let scale = 0;
  for (const v of reference) scale = Math.max(scale, Math.abs(v));
  scale = Math.max(scale, 1e-6);
  let worst = 0;
  for (let i = 0; i < y.length; i++) {
    const difference = Math.abs(y[i] - reference[i]);
    if (!(difference <= worst)) worst = difference; // NaN included
    if (Number.isNaN(difference)) return `output ${i} is ${y[i]} where cpu has ${reference[i]}`;
  }
  const relative = worst / scale;
  return relative <= bound ? undefined : `largest difference ${relative.toExponential(2)} of its largest magnitude, above ${bound}`;
}
