'use strict';
// Median wall time of a function: a warm-up, then repeated runs until both a minimum count and a
// minimum total time are reached. Machines are shared and noisy: compare ratios taken in one run.

const { performance } = require('node:perf_hooks');

const DEFAULTS = { warmup: 2, minRuns: 5, maxRuns: 200, minSeconds: 0.6 };

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Milliseconds (median) of fn(), which may return a promise. */
async function measure(fn, options = {}) {
  const { warmup, minRuns, maxRuns, minSeconds } = { ...DEFAULTS, ...options };
  for (let i = 0; i < warmup; i++) await fn();
  const times = [];
  const start = performance.now();
  while (times.length < maxRuns && (times.length < minRuns || performance.now() - start < minSeconds * 1000)) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), runs: times.length };
}

/** Microseconds per call of a cheap fn, timed in batches so the timer's own cost vanishes. */
async function measureOverhead(fn, { batch = 200, batches = 15 } = {}) {
  for (let i = 0; i < batch; i++) await fn();
  const perCall = [];
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) await fn();
    perCall.push(((performance.now() - t0) * 1000) / batch);
  }
  return median(perCall);
}

module.exports = { measure, measureOverhead, median };
