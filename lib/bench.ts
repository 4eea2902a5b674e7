/**
 * `stridekit bench`: a short run of the benchmark suite on this machine's stridekit backends, so that a
 * user sees which backend is fastest on their hardware. The layers are the repository's suite
 * (bench/layers.json, the one file of bench/ that ships); the full harness (bench/run.js) also times
 * peer libraries, with longer interleaved slices, and records its runs in bench/results/.
 *
 * Each layer gets one plan per backend (created once, untimed, as a server would), a warm-up, then the
 * backends take turns in SLICES short slices, so that load from elsewhere on the machine falls on all of
 * them alike; the figure is the median of the timed synchronous runs.
 */
import * as fs from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import type { BackendName } from './backend-names';
import { mulberry32, randomArray } from './conformance';
import { createConv, ConvPlan } from './plan';
import type { Tensor } from './types';

export const LAYERS_FILE = path.join(__dirname, '..', 'bench', 'layers.json');

/** A row of bench/layers.json: channels first, symmetric padding. */
interface SuiteLayer {
  name: string;
  n: number;
  c: number;
  in: number[];
  k: number;
  kernel: number[];
  stride: number[];
  pad: number[];
  groups: number;
}

export interface BenchTiming {
  backend: BackendName;
  /** Median of the timed runs, milliseconds; absent when the backend failed on the layer. */
  ms?: number;
  runs: number;
  gflops?: number;
  error?: string;
}

export interface BenchLayer {
  name: string;
  flops: number;
  timings: BenchTiming[];
  /** The backend with the lowest median. */
  fastest?: BackendName;
}

export interface BenchOptions {
  backends: readonly BackendName[];
  /** Only the layers whose name contains this text. */
  filter?: string;
  /** Timed seconds per backend and layer, over all slices. */
  seconds?: number;
  onLayer?: (layer: BenchLayer) => void;
}

const SLICES = 3;
const MIN_RUNS = 3;
const MAX_RUNS = 60;
const WARMUP_SECONDS = 0.05;

function product(values: readonly number[]): number {
  return values.reduce((a, b) => a * b, 1);
}

export function loadLayers(file: string = LAYERS_FILE): SuiteLayer[] {
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { layers: SuiteLayer[] }).layers;
}

function materialise(layer: SuiteLayer, index: number) {
  const random = mulberry32(1000 + index);
  const x: Tensor = { data: randomArray(product([layer.n, layer.c, ...layer.in]), random), shape: [layer.n, layer.c, ...layer.in] };
  const wShape = [layer.k, layer.c / layer.groups, ...layer.kernel];
  const w: Tensor = { data: randomArray(product(wShape), random), shape: wShape };
  const bias = randomArray(layer.k, random);
  const outSize = layer.in.map((n, d) => Math.floor((n + 2 * layer.pad[d] - layer.kernel[d]) / layer.stride[d]) + 1);
  const flops = 2 * layer.n * layer.k * product(outSize) * (layer.c / layer.groups) * product(layer.kernel);
  const options = { stride: layer.stride, padding: layer.pad.map((p) => [p, p] as const), groups: layer.groups, bias };
  return { x, w, options, flops };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Times every layer (or those matching `filter`) on every backend listed. */
export function bench(options: BenchOptions): BenchLayer[] {
  const seconds = options.seconds ?? 0.3;
  const layers = loadLayers()
    .map((layer, index) => ({ layer, index }))
    .filter(({ layer }) => options.filter === undefined || layer.name.includes(options.filter));
  const results: BenchLayer[] = [];
  for (const { layer, index } of layers) {
    const m = materialise(layer, index);
    const timings: BenchTiming[] = options.backends.map((backend) => ({ backend, runs: 0 }));
    const times: number[][] = options.backends.map(() => []);
    const plans: Array<ConvPlan | undefined> = options.backends.map((backend, i) => {
      try {
        const plan = createConv({ ...m.options, weight: m.w, backend });
        const start = performance.now();
        do plan.runSync(m.x); while (performance.now() - start < WARMUP_SECONDS * 1000);
        return plan;
      } catch (error) {
        timings[i].error = message(error);
        return undefined;
      }
    });
    try {
      for (let slice = 0; slice < SLICES; slice++) {
        plans.forEach((plan, i) => {
          if (plan === undefined) return;
          const start = performance.now();
          while (times[i].length < Math.ceil((MAX_RUNS * (slice + 1)) / SLICES)
            && (times[i].length < Math.ceil((MIN_RUNS * (slice + 1)) / SLICES) || performance.now() - start < (seconds * 1000) / SLICES)) {
            const t0 = performance.now();
            plan.runSync(m.x);
            times[i].push(performance.now() - t0);
          }
        });
      }
    } finally {
      for (const plan of plans) plan?.dispose();
    }
    let fastest: BenchTiming | undefined;
    timings.forEach((t, i) => {
      if (times[i].length === 0) return;
      t.runs = times[i].length;
      t.ms = median(times[i]);
      t.gflops = m.flops / (t.ms * 1e6);
      if (fastest === undefined || t.ms < (fastest.ms as number)) fastest = t;
    });
    const result: BenchLayer = { name: layer.name, flops: m.flops, timings, ...(fastest ? { fastest: fastest.backend } : {}) };
    options.onLayer?.(result);
    results.push(result);
  }
  return results;
}
