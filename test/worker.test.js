'use strict';
// The addon in worker_threads: two workers load the package and convolve (sync, async and through a
// plan) at the same time as each other; their results equal the main thread's. A worker terminated in
// the middle of a run must not take the process down (tried in a child process, so a crash is a
// failed test and not a dead jest).

const { Worker } = require('worker_threads');
const { spawnSync } = require('child_process');
const { CASES, build, describeCase } = require('./helpers/cases');
const { target, describeOnTarget, expectClose, ROOT, PACKAGE } = require('./helpers/target');

const t = target();
const sk = t.sk;
const backend = t.name;
const tol = t.tolerance;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('worker_threads');
const sk = require(workerData.root);
(async () => {
  const { x, w, opts, transposed } = workerData;
  const sync = transposed ? sk.convTransposeSync(x, w, opts) : sk.convSync(x, w, opts);
  const asyncResult = await (transposed ? sk.convTranspose(x, w, opts) : sk.conv(x, w, opts));
  const plan = sk.createConv({ ...opts, weight: w, transposed });
  const planned = await plan.run(x);
  plan.dispose();
  const pack = (y) => ({ data: Float32Array.from(y.data), shape: Array.from(y.shape) });
  parentPort.postMessage({ sync: pack(sync), async: pack(asyncResult), plan: pack(planned) });
})().catch((e) => parentPort.postMessage({ error: String(e && e.stack ? e.stack : e) }));
`;

function runInWorker(b) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { root: PACKAGE, x: b.x, w: b.w, opts: { ...b.opts, backend }, transposed: b.transposed },
    });
    let message = null;
    worker.on('message', (m) => {
      message = m;
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (!message) reject(new Error(`worker exited with code ${code} before posting a result`));
      else if (message.error) reject(new Error(`in the worker: ${message.error}`));
      else if (code !== 0) reject(new Error(`worker exited with code ${code}`));
      else resolve(message);
    });
  });
}

describeOnTarget(t, 'worker_threads', () => {
  test('two workers convolve at once; results equal the main thread\'s', async () => {
    const cases = [
      CASES.find((c) => c.name === 'conv2d same 3x3 batch2 bias relu'),
      CASES.find((c) => c.name === 'convT2d s2 k3 pad1 outputPadding1 bias relu'),
    ];
    const built = cases.map((c) => build(c));
    const results = await Promise.all(built.map(runInWorker));
    results.forEach((r, i) => {
      const b = built[i];
      const opts = { ...b.opts, backend };
      const main = b.transposed ? sk.convTransposeSync(b.x, b.w, opts) : sk.convSync(b.x, b.w, opts);
      const expected = { data: main.data, shape: Array.from(main.shape) };
      for (const kind of ['sync', 'async', 'plan']) expectClose(r[kind], expected, tol, `${describeCase(cases[i])}: worker ${kind}`);
    });
  });

  test('terminating a worker in the middle of a run does not crash the process', () => {
    const script = `
      const { Worker } = require('worker_threads');
      const source = \`
        const { parentPort, workerData } = require('worker_threads');
        const sk = require(workerData.root);
        const x = { data: new Float32Array(2 * 64 * 48 * 48).fill(0.5), shape: [2, 64, 48, 48] };
        const w = { data: new Float32Array(64 * 64 * 9).fill(0.25), shape: [64, 64, 3, 3] };
        const plan = sk.createConv({ weight: w, padding: 1, backend: workerData.backend });
        parentPort.postMessage('started');
        for (let i = 0; i < 50; ++i) sk.conv(x, w, { padding: 1, backend: workerData.backend });
        plan.run(x);
      \`;
      const worker = new Worker(source, { eval: true, workerData: { root: ${JSON.stringify(PACKAGE)}, backend: ${JSON.stringify(backend)} } });
      worker.on('error', (e) => { console.error('worker error', e); process.exit(3); });
      worker.on('message', () => setTimeout(() => worker.terminate().then(() => {
        setTimeout(() => { console.log('survived'); }, 300);
      }), 20));
    `;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 90000 });
    if (r.status !== 0 || !/survived/.test(r.stdout)) {
      throw new Error(`child exited with status ${r.status}, signal ${r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    }
  });
});
