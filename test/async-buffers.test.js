'use strict';
// The asynchronous calls' contract with the caller's buffers (README, "Asynchronous calls,
// buffers and memory"): x, w and bias are copied before conv(), convTranspose() or plan.run() returns, so
// detaching, transferring, shrinking or changing them while the call runs cannot reach the result;
// out is written when the promise settles, and a call whose out was detached or resized meanwhile
// rejects with an Error that says so. Before the core owned its copies these runs read and wrote
// memory that JavaScript had released: SIGSEGV, or a silently mixed result.
//
// Each scenario runs in a child process, so that a crash is this test's failure with the scenario
// named, not a dead jest worker.

const { spawnSync } = require('node:child_process');
const { target, describeOnTarget, PACKAGE } = require('./helpers/target');

const t = target();
const backend = t.name;

// The child's prelude: a 64 -> 64 channel 3x3 layer on a 64 x 64 image (large enough that the run is
// still working when the buffers change), deterministic data, and `same(a, b)` within the backend's
// tolerance.
const PRELUDE = `
  const sk = require(${JSON.stringify(PACKAGE)});
  const backend = ${JSON.stringify(backend)};
  const C = 64, H = 64;
  function fill(a, seed) { for (let i = 0; i < a.length; ++i) a[i] = Math.sin(i * 0.37 + seed); return a; }
  function resizable(n, seed) { const b = new ArrayBuffer(n * 4, { maxByteLength: n * 4 }); return fill(new Float32Array(b), seed); }
  const xLength = C * H * H;
  const w = { data: fill(new Float32Array(C * C * 9), 2), shape: [C, C, 3, 3] };
  const bias = fill(new Float32Array(C), 3);
  const options = { padding: 1, bias, backend };
  const expected = sk.convSync({ data: fill(new Float32Array(xLength), 1), shape: [1, C, H, H] }, w, options).data;
  const expectedT = sk.convTransposeSync({ data: fill(new Float32Array(xLength), 1), shape: [1, C, H, H] }, w, options).data;
  function same(got, want, what) {
    let worst = 0, scale = 1;
    for (let i = 0; i < want.length; ++i) { worst = Math.max(worst, Math.abs(got[i] - want[i])); scale = Math.max(scale, Math.abs(want[i])); }
    if (got.length !== want.length || !(worst / scale <= ${t.tolerance})) throw new Error(what + ': wrong result (error ' + worst / scale + ')');
  }
  function detach(buffer, how) {
    if (how === 'resize') buffer.resize(0);
    else if (how === 'transfer') structuredClone(buffer, { transfer: [buffer] });
    else { const { port1, port2 } = new MessageChannel(); port1.postMessage(buffer, [buffer]); port1.close(); port2.close(); }
  }
`;

function runChild(body) {
  const script = `${PRELUDE}\n(async () => {\n${body}\n})().then(() => console.log('done'), (e) => { console.error(e && e.stack || e); process.exit(2); });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120000 });
  if (r.status !== 0 || !/done/.test(r.stdout)) {
    throw new Error(`child exited with status ${r.status}, signal ${r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return r.stdout;
}

const CALLS = {
  'plan.run': `(x, out) => sk.createConv({ weight: w, ...options }).run(x, out ? { out } : undefined)`,
  conv: `(x, out) => sk.conv(x, w, out ? { ...options, out } : options)`,
  convTranspose: `(x, out) => sk.convTranspose(x, w, out ? { ...options, out } : options)`,
};

describeOnTarget(t, 'asynchronous calls and the caller\'s buffers', () => {
  for (const [name, call] of Object.entries(CALLS)) {
    const want = name === 'convTranspose' ? 'expectedT' : 'expected';
    for (const how of ['resize', 'transfer', 'postMessage']) {
      test(`${name}: x's ArrayBuffer ${how === 'resize' ? 'shrunk to 0' : `detached by ${how}`} during the run; the result is right`, () => {
        runChild(`
          const call = ${call};
          const data = resizable(xLength, 1);
          const promise = call({ data, shape: [1, C, H, H] });
          detach(data.buffer, ${JSON.stringify(how)});
          same((await promise).data, ${want}, 'x ${how}');
        `);
      });

      test(`${name}: out's ArrayBuffer ${how === 'resize' ? 'shrunk to 0' : `detached by ${how}`} during the run; the call rejects and says why`, () => {
        runChild(`
          const call = ${call};
          const out = { data: resizable(${want}.length, 9), shape: [1, C, H, H] };
          const promise = call({ data: fill(new Float32Array(xLength), 1), shape: [1, C, H, H] }, out);
          detach(out.data.buffer, ${JSON.stringify(how)});
          let rejected;
          try { await promise; } catch (e) { rejected = e; }
          if (!(rejected instanceof Error) || !/out.data was detached, transferred or resized while the call ran/.test(rejected.message)) {
            throw new Error('expected a rejection naming out.data, got ' + (rejected ? rejected.message : 'a result'));
          }
        `);
      });
    }

    test(`${name}: x changed in place after the call returns; the result is that of x at the call`, () => {
      runChild(`
        const call = ${call};
        const x = { data: fill(new Float32Array(xLength), 1), shape: [1, C, H, H] };
        const promise = call(x);
        x.data.fill(1e6);
        same((await promise).data, ${want}, 'x changed');
      `);
    });

    test(`${name}: into out; out is written when the promise settles, and is the result`, () => {
      runChild(`
        const call = ${call};
        const out = { data: new Float32Array(${want}.length).fill(-7), shape: [1, C, H, H] };
        const result = await call({ data: fill(new Float32Array(xLength), 1), shape: [1, C, H, H] }, out);
        if (result.data !== out.data) throw new Error('the result is not out.data');
        same(out.data, ${want}, 'out');
      `);
    });
  }

  test('conv: w and bias detached and changed during the run; the result is that of the weights at the call', () => {
    runChild(`
      const wData = resizable(C * C * 9, 2), biasData = resizable(C, 3);
      const promise = sk.conv({ data: fill(new Float32Array(xLength), 1), shape: [1, C, H, H] },
        { data: wData, shape: [C, C, 3, 3] }, { padding: 1, bias: biasData, backend });
      detach(wData.buffer, 'resize');
      detach(biasData.buffer, 'transfer');
      same((await promise).data, expected, 'w and bias detached');
    `);
  });

  test('a plan disposed, and its inputs detached, while many runs are in flight: every run finishes right', () => {
    runChild(`
      const plan = sk.createConv({ weight: w, ...options });
      const inputs = Array.from({ length: 8 }, () => resizable(xLength, 1));
      const promises = inputs.map((data) => plan.run({ data, shape: [1, C, H, H] }));
      plan.dispose();
      inputs.forEach((data, i) => detach(data.buffer, i % 2 ? 'resize' : 'transfer'));
      (await Promise.all(promises)).forEach((r, i) => same(r.data, expected, 'run ' + i));
    `);
  });

  test('1,000 concurrent calls, each with its own input, each checked', () => {
    runChild(`
      // A small layer, so that 1,000 of them stay quick: the expectation is computed synchronously.
      const small = { data: fill(new Float32Array(8 * 8 * 9), 4), shape: [8, 8, 3, 3] };
      const plan = sk.createConv({ weight: small, padding: 1, backend });
      const inputs = Array.from({ length: 1000 }, (_, i) => ({ data: fill(new Float32Array(8 * 12 * 12), i), shape: [1, 8, 12, 12] }));
      const wants = inputs.map((x) => sk.convSync(x, small, { padding: 1, backend }).data);
      const results = await Promise.all(inputs.map((x, i) => (i % 2 ? plan.run(x) : sk.conv(x, small, { padding: 1, backend }))));
      results.forEach((r, i) => same(r.data, wants[i], 'call ' + i));
    `);
  });
});
