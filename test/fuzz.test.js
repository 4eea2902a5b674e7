'use strict';
// The fuzzer (test/fuzz/, `npm run fuzz`) with a fixed seed and a fixed budget, on the backend this
// run targets (test/helpers/target.js), in a child process: random valid calls against reference.js
// and random invalid arguments that must be TypeErrors or RangeErrors, strides, dilations and pads up
// to 2**31 - 1 included. A failure is the driver's report: the seed, fast-check's path, the shrunk
// case as JSON and the node command that reproduces it.
//
// Budget: about 45-60 s per backend on a 2-core machine (CI runs the suite once per backend).
// Measured with --no-huge on 2 cores (Intel Xeon, avx512), all kinds (3 valid : 1 invalid):
//   cpu:      100,000 cases in 42 s (~2,400 cases/s: small geometries, one child process)
//   openvino: ~80 cases/s (it compiles a model per new geometry): 5,000 cases in ~60 s
// cudnn and coreml are unmeasured: their budgets are guesses to correct on their first runs.
// STRIDEKIT_FUZZ_CASES and STRIDEKIT_FUZZ_SEED override both; `npm run fuzz -- --cases N --seed S`
// runs more outside jest.

const { spawn } = require('child_process');
const path = require('path');
const { ROOT, target, describeOnTarget } = require('./helpers/target');

const t = target();
const BUDGET = { cpu: 100000, openvino: 5000, cudnn: 3000, coreml: 1000 };
const SEED = Number(process.env.STRIDEKIT_FUZZ_SEED || 20260520);
const CASES = Number(process.env.STRIDEKIT_FUZZ_CASES || BUDGET[t.name] || 1000);
// Bounds a failing run: 60 s of shrinking, a case over 30 s is a hang.
const SHRINK_SECONDS = 60;
const CASE_TIMEOUT_SECONDS = 30;

function runDriver(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'test', 'fuzz', 'driver.js'), ...args], {
      cwd: ROOT,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => { output += chunk; });
    child.stderr.on('data', (chunk) => { output += chunk; });
    child.on('close', (code, signal) => resolve({ code, signal, output }));
  });
}

describeOnTarget(t, 'fuzzer (fast-check, fixed seed and budget)', () => {
  test(`${CASES} cases, seed ${SEED}`, async () => {
    // eslint-disable-next-line no-console
    console.log(`fuzz budget on ${t.name}: ${CASES} cases, seed ${SEED} (STRIDEKIT_FUZZ_CASES / STRIDEKIT_FUZZ_SEED override)`);
    const started = Date.now();
    const { code, signal, output } = await runDriver([
      '--backend', t.name, '--cases', String(CASES), '--seed', String(SEED), '--kind', 'all',
      '--shrink-time', String(SHRINK_SECONDS), '--timeout', String(CASE_TIMEOUT_SECONDS), '--progress', '0',
    ]);
    const summary = output.trim().split('\n').filter((line) => line.startsWith(`${t.name}: `)).pop();
    // eslint-disable-next-line no-console
    console.log(`${summary || '(no summary line)'}; ${((Date.now() - started) / 1000).toFixed(1)} s with start-up`);
    if (code !== 0) throw new Error(`the fuzzer failed (exit ${code}${signal ? `, ${signal}` : ''}):\n${output}`);
  }, 900000);
});
