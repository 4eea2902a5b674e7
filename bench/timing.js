'use strict';
// How the benchmark times a layer on its peers: all of them side by side, in short interleaved slices.
// Machines are shared and noisy: the same layer's time can move by 2x within minutes as load comes
// and goes elsewhere. Timing each peer for a stretch in turn lets one peer's stretch fall in a quiet
// minute and another's in a busy one; interleaving slices of about a tenth of a second gives every
// peer the same share of whatever the machine was doing, so their ratio stays fair even when the
// absolute times do not. Each slice starts with one untimed call, so that every timed call finds its
// own weights and buffers in cache, as in a server running one model back to back, and follows a
// pause in which the previous peer's threads stop spinning: onnxruntime-node's pool keeps one core
// busy for 40-70 ms after a run, which would otherwise slow whichever peer came next.
// A peer timed in its own process (bench/peers/openvino-direct.js) implements the same timer
// interface, with these parameters, on its side of a pipe.

const { performance } = require('node:perf_hooks');

// warmup, warmupSeconds: warm-up calls continue for this long (after at least `warmup` of them), so
// that a call of a few microseconds is timed once V8 has optimised its path, as a server's steady
// state is. minRuns, minSeconds, maxRuns: the timed calls of every peer, over all slices. slices:
// into how many interleaved slices they are cut. slowSeconds: a peer whose first call takes longer
// gets no warm-up and slowRuns timed calls, back to back after the others (tfjs-wasm's plain-loop
// Conv3D takes seconds: slices of it would take minutes). settleSeconds: the pause before a slice.
const TIMING_DEFAULTS = {
  warmup: 2, warmupSeconds: 0.1, minRuns: 5, maxRuns: 200, minSeconds: 0.6, slices: 6, settleSeconds: 0.1, slowSeconds: 2, slowRuns: 3,
};

const pause = (seconds) => new Promise((resolve) => { setTimeout(resolve, seconds * 1000); });

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function isPromise(value) {
  return value !== null && typeof value === 'object' && typeof value.then === 'function';
}

/**
 * The timer of an in-process peer's call fn(), which may return a promise: a synchronous fn (its
 * first call returned no promise) is timed with no await in the timed region, an asynchronous one is
 * awaited before the next call starts.
 *   warm(options): the first call and the warm-up; { slow } when the first call took over slowSeconds.
 *   slice({ seconds, minCalls, maxCalls, untimed }): `untimed` calls, then timed calls until `seconds`
 *   have passed (at least minCalls, at most maxCalls); the milliseconds of each.
 */
function functionTimer(fn) {
  let asynchronous = false;
  const once = async () => {
    const t0 = performance.now();
    if (asynchronous) await fn();
    else fn();
    return performance.now() - t0;
  };
  return {
    async warm({ warmup, warmupSeconds, slowSeconds }) {
      const t = performance.now();
      const first = fn();
      asynchronous = isPromise(first);
      if (asynchronous) await first;
      const slow = performance.now() - t > slowSeconds * 1000;
      for (let i = 1; !slow && (i < warmup || performance.now() - t < warmupSeconds * 1000); i++) await once();
      return { slow };
    },
    async slice({ seconds, minCalls, maxCalls, untimed }) {
      for (let i = 0; i < untimed; i++) await once();
      const times = [];
      const start = performance.now();
      while (times.length < maxCalls && (times.length < minCalls || performance.now() - start < seconds * 1000)) {
        if (asynchronous) {
          times.push(await once());
        } else {
          const t0 = performance.now();
          fn();
          times.push(performance.now() - t0);
        }
      }
      return times;
    },
  };
}

/**
 * Times the timers side by side (see the top of this file): every one is warmed up, then the fast
 * ones take turns, `slices` times, each after a pause of settleSeconds (when there are several)
 * running one untimed call and then its share of the timed calls (minSeconds / slices of them, at
 * least minRuns / slices and at most maxRuns / slices); the slow ones run their slowRuns calls after. For each timer, in order: milliseconds of the median and the
 * fastest timed call, and how many there were.
 */
async function measureSideBySide(timers, options = {}) {
  const o = { ...TIMING_DEFAULTS, ...options };
  const slow = [];
  for (const timer of timers) slow.push((await timer.warm(o)).slow);
  const times = timers.map(() => []);
  const share = {
    seconds: o.minSeconds / o.slices,
    minCalls: Math.ceil(o.minRuns / o.slices),
    maxCalls: Math.max(1, Math.floor(o.maxRuns / o.slices)),
    untimed: 1,
  };
  const fast = timers.map((_, i) => i).filter((i) => !slow[i]);
  for (let s = 0; s < o.slices && fast.length > 0; s++) {
    for (const i of fast) {
      if (timers.length > 1) await pause(o.settleSeconds);
      times[i].push(...(await timers[i].slice(share)));
    }
  }
  for (let i = 0; i < timers.length; i++) {
    if (!slow[i]) continue;
    if (timers.length > 1) await pause(o.settleSeconds);
    times[i] = await timers[i].slice({ seconds: 0, minCalls: o.slowRuns, maxCalls: o.slowRuns, untimed: 0 });
  }
  return times.map((t) => ({ ms: median(t), minMs: Math.min(...t), runs: t.length }));
}

/** measureSideBySide of one function (see functionTimer). */
async function measure(fn, options = {}) {
  return (await measureSideBySide([functionTimer(fn)], options))[0];
}

// warmupBatches: V8 optimises a call path after a few thousand calls; measure the steady state a server sees.
// rounds: how many turns each peer takes in measureOverheadsSideBySide.
const OVERHEAD_DEFAULTS = { batch: 200, batches: 15, warmupBatches: 10, rounds: 5 };

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

/**
 * Per-call times of peers whose ratio is the figure wanted (stridekit's openvino plan against OpenVINO
 * called directly: the bridge), taken in turns: each measurer (an async function answering
 * { median, best } microseconds, as measureOverhead does) runs once per round, `rounds` rounds, so that
 * load from elsewhere, which moves a tiny layer's time by 10-30% from one minute to the next, falls on
 * all of them alike. For each, in order: the median of its round medians, its best batch, and the
 * round medians.
 */
async function measureOverheadsSideBySide(measurers, rounds = OVERHEAD_DEFAULTS.rounds) {
  const medians = measurers.map(() => []);
  const bests = measurers.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < measurers.length; i++) {
      const { median: m, best } = await measurers[i]();
      medians[i].push(m);
      bests[i].push(best);
    }
  }
  return measurers.map((_, i) => ({ median: median(medians[i]), best: Math.min(...bests[i]), roundMedians: medians[i] }));
}

module.exports = {
  functionTimer, measureSideBySide, measure, measureOverhead, measureOverheadsSideBySide, median, TIMING_DEFAULTS, OVERHEAD_DEFAULTS,
};
