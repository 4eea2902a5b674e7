'use strict';
// The benchmark's timing protocol (bench/timing.js), on stand-in timers that record what they are
// asked: every peer warmed up once, then the fast ones taking turns slice by slice with the same
// share of calls, the slow ones after; the medians taken from what the timers returned;
// functionTimer's slices honouring their call counts, untimed calls and time, sync and async; and the
// per-call measurers of the bridge taking turns round by round.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.

const { functionTimer, measureOverheadsSideBySide, measureSideBySide, median } = require('../bench/timing');

// No pauses and short slices: the tests check the order and the counts, not the machine.
const FAST = { settleSeconds: 0, minSeconds: 0.012, slices: 3, minRuns: 5, maxRuns: 30, slowRuns: 2 };

/** A timer that logs its calls into `log` and returns `times` from each slice. */
function standIn(name, log, { slow = false, times = [1, 2, 3] } = {}) {
  return {
    async warm(options) {
      log.push(`${name} warm`);
      expect(options.slices).toBe(FAST.slices);
      return { slow };
    },
    async slice(share) {
      log.push(`${name} slice ${share.minCalls}-${share.maxCalls} untimed ${share.untimed}`);
      return times;
    },
  };
}

describe('bench/timing.js', () => {
  test('measureSideBySide warms every timer, then interleaves the fast ones slice by slice and runs the slow ones after', async () => {
    const log = [];
    const timers = [standIn('a', log), standIn('slow', log, { slow: true, times: [50, 40] }), standIn('b', log, { times: [4, 5, 6] })];
    const results = await measureSideBySide(timers, FAST);
    // Each slice: at least ceil(5 / 3) = 2 calls, at most floor(30 / 3) = 10, one untimed call first.
    const slice = (name) => `${name} slice 2-10 untimed 1`;
    expect(log).toEqual([
      'a warm', 'slow warm', 'b warm',
      slice('a'), slice('b'), slice('a'), slice('b'), slice('a'), slice('b'),
      'slow slice 2-2 untimed 0',
    ]);
    expect(results).toEqual([
      { ms: 2, minMs: 1, runs: 9 },
      { ms: 45, minMs: 40, runs: 2 },
      { ms: 5, minMs: 4, runs: 9 },
    ]);
  });

  test('functionTimer: a synchronous function, each slice its untimed calls first, then within the call counts', async () => {
    let calls = 0;
    const timer = functionTimer(() => { calls += 1; });
    expect(await timer.warm({ warmup: 3, warmupSeconds: 0, slowSeconds: 2 })).toEqual({ slow: false });
    expect(calls).toBe(3);
    calls = 0;
    const few = await timer.slice({ seconds: 10, minCalls: 1, maxCalls: 7, untimed: 2 });
    expect([few.length, calls]).toEqual([7, 9]); // stopped by maxCalls long before 10 s
    const timed = await timer.slice({ seconds: 0, minCalls: 4, maxCalls: 100, untimed: 0 });
    expect(timed.length).toBe(4); // no time asked for: minCalls
    for (const ms of [...few, ...timed]) expect(ms).toBeGreaterThanOrEqual(0);
  });

  test('functionTimer: an asynchronous function is awaited call by call and timed to its resolution', async () => {
    let inFlight = 0, most = 0;
    const timer = functionTimer(() => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      return new Promise((resolve) => { setTimeout(() => { inFlight -= 1; resolve(); }, 5); });
    });
    await timer.warm({ warmup: 1, warmupSeconds: 0, slowSeconds: 2 });
    const times = await timer.slice({ seconds: 0, minCalls: 3, maxCalls: 3, untimed: 1 });
    expect(most).toBe(1);
    expect(times.length).toBe(3);
    for (const ms of times) expect(ms).toBeGreaterThanOrEqual(4);
  });

  test('a first call slower than slowSeconds: no warm-up, and reported slow', async () => {
    let calls = 0;
    const timer = functionTimer(() => { calls += 1; const t = Date.now(); while (Date.now() - t < 15); });
    expect(await timer.warm({ warmup: 5, warmupSeconds: 1, slowSeconds: 0.01 })).toEqual({ slow: true });
    expect(calls).toBe(1);
  });

  test('measureOverheadsSideBySide: the measurers take turns, round by round; each keeps the median of its rounds and its best batch', async () => {
    const log = [];
    const answers = { plugin: [[15, 14], [18, 13], [16, 15]], direct: [[13, 12], [14, 11], [20, 19]] };
    const measurer = (name) => async () => {
      log.push(name);
      const [m, best] = answers[name].shift();
      return { median: m, best };
    };
    const results = await measureOverheadsSideBySide([measurer('plugin'), measurer('direct')], 3);
    expect(log).toEqual(['plugin', 'direct', 'plugin', 'direct', 'plugin', 'direct']);
    expect(results).toEqual([
      { median: 16, best: 13, roundMedians: [15, 18, 16] },
      { median: 14, best: 11, roundMedians: [13, 14, 20] },
    ]);
  });

  test('median of an even and an odd count', () => {
    expect([median([3, 1, 2]), median([4, 1, 3, 2])]).toEqual([2, 2.5]);
  });
});
