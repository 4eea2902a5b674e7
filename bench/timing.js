'use strict';
// Median wall time of a function: a warm-up, then repeated runs until both a minimum count and a
// minimum total time are reached. Machines are shared and noisy: compare ratios taken in one run.
// A peer timed in its own process (bench/peers/openvino-direct.js) follows the same protocol with
// these parameters.
// A synchronous fn is called plainly and an asynchronous one (returning a promise) is awaited, one
// call after the other: no two calls are ever in flight together.

const { performance } = require('node:perf_hooks');

// slowSeconds: a first (warm-up) call slower than this gets one warm-up and slowRuns timed runs only,
// so that a peer's multi-second layer (tfjs-wasm's plain-loop Conv3D) does not take minutes.
// warmupSeconds: warm-up calls continue for this long (after at least `warmup` of them), so that a
// call of a few microseconds is timed once V8 has optimised its path, as a server's steady state is.
const TIMING_DEFAULTS = { warmup: 2, warmupSeconds: 0.1, minRuns: 5, maxRuns: 200, minSeconds: 0.6, slowSeconds: 2, slowRuns: 3 };

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function isPromise(value) {
  return value !== null && typeof value === 'object' && typeof value.then === 'function';
}

/** Calls fn once, awaiting it only when it returned a promise. */
async function call(fn) {
  const result = fn();
  if (isPromise(result)) await result;
}

/**
 * Milliseconds (median, and the fastest run) of fn(), which may return a promise. A synchronous fn
 * (its first call returned no promise) is timed on its own, with no await in the timed region.
 */
async function measure(fn, options = {}) {
  const { warmup, warmupSeconds, minRuns, maxRuns, minSeconds, slowSeconds, slowRuns } = { ...TIMING_DEFAULTS, ...options };
  const t = performance.now();
  const first = fn();
  const asynchronous = isPromise(first);
  if (asynchronous) await first;
  const slow = performance.now() - t > slowSeconds * 1000;
  const once = asynchronous ? () => call(fn) : fn;
  for (let i = 1; !slow && (i < warmup || performance.now() - t < warmupSeconds * 1000); i++) await once();
  const runsWanted = slow ? slowRuns : minRuns;
  const times = [];
  const start = performance.now();
  while (times.length < maxRuns && (times.length < runsWanted || (!slow && performance.now() - start < minSeconds * 1000))) {
    if (asynchronous) {
      const t0 = performance.now();
      await call(fn);
      times.push(performance.now() - t0);
    } else {
      const t0 = performance.now();
      fn();
      times.push(performance.now() - t0);
    }
  }
  return { ms: median(times), minMs: Math.min(...times), runs: times.length };
}

// warmupBatches: V8 optimises a call path after a few thousand calls; measure the steady state a server sees.
const OVERHEAD_DEFAULTS = { batch: 200, batches: 15, warmupBatches: 10 };

/**
 * Microseconds per call of a cheap fn, timed in batches so the timer's own cost vanishes: the median
 * batch, and the best one (what a call costs when nothing else on the machine interferes). A
 * synchronous fn runs in a plain loop; an asynchronous one is awaited before the next call starts, so
 * the figure is the full round trip of one call (hand-off to the worker thread and back).
 */
async function measureOverhead(fn, options = {}) {
  const { batch, batches, warmupBatches } = { ...OVERHEAD_DEFAULTS, ...options };
  const first = fn();
  const asynchronous = isPromise(first);
  if (asynchronous) await first;
  const runBatch = asynchronous
    ? async () => { for (let i = 0; i < batch; i++) await fn(); }
    : () => { for (let i = 0; i < batch; i++) fn(); };
  for (let i = 0; i < warmupBatches; i++) await runBatch();
  const perCall = [];
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    await runBatch();
    perCall.push(((performance.now() - t0) * 1000) / batch);
  }
  return { median: median(perCall), best: Math.min(...perCall) };
}

module.exports = { measure, measureOverhead, median, TIMING_DEFAULTS, OVERHEAD_DEFAULTS };
