'use strict';
// conv() and plan.run() run off the main thread: the event loop keeps turning while they work.
// A blocking implementation (work done inside the call, or in one setImmediate as onnxruntime-node
// does) lets at most a tick or two through before it resolves; a real off-thread run lets many.
// Also: many concurrent calls, dispose() while a run is in flight, and a process whose only pending
// work is a conv() staying alive until it resolves.

const { spawnSync } = require('node:child_process');
const reference = require('./helpers/reference');
const { CASES, build, describeCase, mulberry32, randomArray } = require('./helpers/cases');
const { target, describeOnTarget, expectClose, PACKAGE } = require('./helpers/target');

const t = target();
const sk = t.sk;
const backend = t.name;
const tol = t.tolerance;

// ~0.92 GFLOP: N=1, C=K=128, 56x56, 3x3, padding 1 (2 * 128 * 128 * 9 * 56 * 56).
function bigProblem(N) {
  const random = mulberry32(42);
  const C = 128;
  const K = 128;
  return {
    x: { data: randomArray(N * C * 56 * 56, random), shape: [N, C, 56, 56] },
    w: { data: randomArray(K * C * 3 * 3, random), shape: [K, C, 3, 3] },
    opts: { padding: 1, backend },
  };
}

// A fast backend (a GPU) may finish 1 GFLOP before the loop can turn a few times; grow the batch until
// one synchronous run takes at least MIN_MS, so "several ticks" is a fair expectation. This sizes the
// work; nothing asserts on time.
const MIN_MS = 60;
let problem;
function calibrated() {
  if (problem) return problem;
  let N = 1;
  for (;;) {
    const p = bigProblem(N);
    const start = process.hrtime.bigint();
    p.expected = sk.convSync(p.x, p.w, p.opts);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (ms >= MIN_MS || N >= 32) {
      problem = p;
      problem.ms = ms;
      return problem;
    }
    N = Math.min(32, N * Math.max(2, Math.ceil(MIN_MS / Math.max(ms, 1))));
  }
}

/** Starts `start()` and counts setImmediate and 1 ms setInterval ticks until its promise settles. */
async function countTicks(start) {
  let immediates = 0;
  let intervals = 0;
  let settled = false;
  const spin = () => {
    if (settled) return;
    immediates += 1;
    setImmediate(spin);
  };
  const timer = setInterval(() => {
    intervals += 1;
  }, 1);
  try {
    setImmediate(spin);
    const promise = start();
    expect(typeof promise.then).toBe('function');
    const value = await promise;
    settled = true;
    return { value, immediates, intervals };
  } finally {
    settled = true;
    clearInterval(timer);
  }
}

describeOnTarget(t, 'async runs', () => {
  test('await conv() on ~1 GFLOP lets the event loop turn while it runs', async () => {
    const p = calibrated();
    const { value, immediates, intervals } = await countTicks(() => sk.conv(p.x, p.w, p.opts));
    // eslint-disable-next-line no-console
    console.log(`conv() x[${p.x.shape}]: ${immediates} setImmediate and ${intervals} setInterval(1 ms) ticks while it ran (sync run took ${p.ms.toFixed(1)} ms)`);
    expect(immediates).toBeGreaterThanOrEqual(5);
    expect(intervals).toBeGreaterThanOrEqual(2);
    expectClose(value, p.expected, tol, 'conv() vs convSync()');
  });

  test('await plan.run() on ~1 GFLOP lets the event loop turn while it runs', async () => {
    const p = calibrated();
    const plan = sk.createConv({ ...p.opts, weight: p.w });
    try {
      const { value, immediates, intervals } = await countTicks(() => plan.run(p.x));
      expect(immediates).toBeGreaterThanOrEqual(5);
      expect(intervals).toBeGreaterThanOrEqual(2);
      expectClose(value, p.expected, tol, 'plan.run() vs convSync()');
    } finally {
      plan.dispose();
    }
  });

  test('24 concurrent conv() / convTranspose() calls over the case table all resolve with correct results', async () => {
    const chosen = CASES.filter((c) => !/wav2vec2|C160|C288/.test(c.name)).filter((c, i) => i % 2 === 0).slice(0, 24);
    const runs = chosen.map((c) => {
      const b = build(c);
      const opts = { ...b.opts, backend };
      const promise = c.transposed ? sk.convTranspose(b.x, b.w, opts) : sk.conv(b.x, b.w, opts);
      return { c, b, promise };
    });
    const results = await Promise.all(runs.map((r) => r.promise));
    results.forEach((y, i) => {
      const { c, b } = runs[i];
      const ref = (c.transposed ? reference.convTranspose : reference.conv)(b.x, b.w, b.opts);
      expectClose(y, ref, tol, describeCase(c));
    });
  });

  test('several runs of one plan in flight at once each resolve with the result for their own input', async () => {
    const c = CASES.find((k) => k.name === 'conv2d groups2');
    const b = build(c);
    const plan = sk.createConv({ ...b.opts, backend, weight: b.w });
    try {
      const inputs = [0, 1, 2, 3].map((i) => ({ data: randomArray(b.x.data.length, mulberry32(500 + i)), shape: b.x.shape }));
      const outputs = await Promise.all(inputs.map((x) => plan.run(x)));
      outputs.forEach((y, i) => expectClose(y, reference.conv(inputs[i], b.w, b.opts), tol, `run ${i}`));
    } finally {
      plan.dispose();
    }
  });

  test('dispose() while a run is in flight: no crash, the run resolves correctly, later runs say the plan is disposed', async () => {
    const p = calibrated();
    const plan = sk.createConv({ ...p.opts, weight: p.w });
    const inFlight = plan.run(p.x);
    plan.dispose();
    plan.dispose(); // idempotent
    const y = await inFlight;
    expectClose(y, p.expected, tol, 'run in flight at dispose()');
    expect(() => plan.runSync(p.x)).toThrow(/dispos/i);
    await expect((async () => plan.run(p.x))()).rejects.toThrow(/dispos/i);
  });

  test('a script whose only pending work is conv() stays alive until the promise settles', () => {
    // Nothing but the native job keeps this event loop alive: if the core did not hold it open,
    // node would exit before the .then() callbacks print.
    const script = `
      const sk = require(${JSON.stringify(PACKAGE)});
      const x = { data: new Float32Array(1 * 64 * 96 * 96).fill(0.5), shape: [1, 64, 96, 96] };
      const w = { data: new Float32Array(64 * 64 * 3 * 3).fill(0.25), shape: [64, 64, 3, 3] };
      sk.conv(x, w, { padding: 1, backend: ${JSON.stringify(backend)} })
        .then((y) => process.stdout.write('resolved ' + y.data[96 * 10 + 10]));
      sk.conv(x, w, { padding: 1, bias: new Float32Array(3), backend: ${JSON.stringify(backend)} })
        .catch((e) => process.stdout.write(' rejected ' + e.constructor.name));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60000 });
    expect(r.stderr).toBe('');
    // 64 channels * 9 taps * 0.5 * 0.25 in the interior.
    expect(r.stdout).toBe(' rejected RangeErrorresolved 72');
  });
});
