'use strict';
// Device-resident tensors (README, API → Device-resident tensors): upload once, run a chain of plans
// on the backend's memory, download once.
//
// 1. On the backend this environment selects (host memory on cpu and openvino, device buffers on
//    cudnn): chains equal the host path and the float64 reference, download/dispose semantics, errors.
// 2. The core's device-buffer path, on any machine: test/fixtures/plugins/host_device.cc is built as
//    libstridekit_cudnn.so and loaded through STRIDEKIT_PLUGIN_PATH in child processes
//    (test/fixtures/device/scenarios.js), so buffer_create / write / read / plan_run_device, out-of-
//    memory reports, and every path that frees a buffer are exercised without a GPU.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const reference = require('./helpers/reference');
const { buildChain, referenceChain, plansFor } = require('./helpers/device-chain');
const { mulberry32, randomArray } = require('./helpers/cases');
const { target, describeOnTarget, expectClose } = require('./helpers/target');

const t = target();
const sk = t.sk;
const backend = t.name;
const precision = t.precision;
const tol = t.tolerance;
const layerOptions = { backend, precision };

/** Rejections or throws, as { name, message } for exact comparison. */
function caught(fn) {
  try {
    fn();
  } catch (error) {
    return { name: error.constructor.name, message: error.message };
  }
  throw new Error('expected an error');
}

describeOnTarget(t, 'device-resident tensors', () => {
  const chain = buildChain(11);
  const chainLast = buildChain(12, 'channels_last');
  let plans;
  let plansLast;
  beforeAll(() => {
    plans = plansFor(sk, chain, layerOptions);
    plansLast = plansFor(sk, chainLast, layerOptions);
  });
  afterAll(() => [...plans, ...plansLast].forEach((plan) => plan.dispose()));

  test('upload copies once; download gives the same values in a new host tensor each time', () => {
    const x = { data: Float32Array.from(chain.x.data), shape: chain.x.shape };
    const dx = sk.upload(x, { backend });
    expect(dx).toBeInstanceOf(sk.DeviceTensor);
    expect([dx.backend, dx.shape, dx.byteLength, dx.disposed]).toEqual([backend, [2, 3, 12, 10], 4 * 720, false]);
    x.data.fill(0); // the upload is a copy
    const a = dx.download();
    const b = dx.download();
    expect(a.data).not.toBe(b.data);
    expect(a.shape).toEqual([2, 3, 12, 10]);
    expect(Buffer.compare(Buffer.from(a.data.buffer), Buffer.from(chain.x.data.buffer))).toBe(0);
    a.data.fill(0); // neither is the download
    expect(Array.from(dx.download().data)).toEqual(Array.from(chain.x.data));
    dx.dispose();
  });

  test('ONNX Runtime style { data, dims } uploads, and an upload of a DeviceTensor copies it', () => {
    const dx = sk.upload({ data: chain.x.data, dims: chain.x.shape }, { backend });
    const copy = sk.upload(dx, { backend });
    dx.dispose();
    expect(Array.from(copy.download().data)).toEqual(Array.from(chain.x.data));
    copy.dispose();
  });

  for (const [title, c, getPlans] of [['channels_first', chain, () => plans], ['channels_last', chainLast, () => plansLast]]) {
    test(`a chain (strided conv → depthwise dilated conv → transposed conv), ${title}: runSync equals the host path and the reference`, () => {
      const ref = referenceChain(c);
      const host = getPlans().reduce((y, plan) => plan.runSync(y), c.x);
      let y = sk.upload(c.x, { backend });
      const intermediates = [];
      for (const plan of getPlans()) {
        y = plan.runSync(y);
        intermediates.push(y);
        expect(y).toBeInstanceOf(sk.DeviceTensor);
        expect(y.backend).toBe(backend);
      }
      expect(y.shape).toEqual(ref.shape);
      const got = y.download();
      expectClose(got, ref, tol, 'device chain vs reference');
      expectClose(got, host, tol, 'device chain vs host chain');
      // every intermediate too: the layer-by-layer reference
      intermediates.forEach((d, i) => expectClose(d.download(), referenceChain(c, i + 1), tol, `layer ${i + 1}`));
    });
  }

  test('await plan.run chains, downloadAsync reads off the main thread, and the event loop keeps turning', async () => {
    // Large enough that each run takes a while on a CPU: 2 x 32 x 96 x 96 input.
    const random = mulberry32(5);
    const x = { data: randomArray(2 * 32 * 96 * 96, random), shape: [2, 32, 96, 96] };
    const w1 = { data: randomArray(32 * 32 * 9, random), shape: [32, 32, 3, 3] };
    const w2 = { data: randomArray(32 * 16 * 16, random), shape: [32, 16, 4, 4] };
    const a = sk.createConv({ ...layerOptions, weight: w1, stride: 2, padding: 1 });
    const b = sk.createConv({ ...layerOptions, weight: w2, stride: 2, padding: 1, transposed: true });
    let ticks = 0;
    let spinning = true;
    const spin = () => { if (spinning) { ticks++; setImmediate(spin); } };
    setImmediate(spin);
    const dx = sk.upload(x, { backend });
    const y = await b.run(await a.run(dx));
    const got = await y.downloadAsync();
    spinning = false;
    const ref = reference.convTranspose(reference.conv(x, w1, { stride: 2, padding: 1 }), w2, { stride: 2, padding: 1 });
    expectClose(got, ref, tol, 'async chain');
    expectClose(got, b.runSync(a.runSync(x)), tol, 'async chain vs host path');
    // A blocking implementation settles every step in microtasks: no setImmediate callback runs.
    expect(ticks).toBeGreaterThanOrEqual(3);
    a.dispose();
    b.dispose();
  });

  test('one-shot calls take a DeviceTensor and return one; backend \'auto\' is the tensor\'s', async () => {
    const [l1, l2, l3] = chain.layers;
    const dx = sk.upload(chain.x, { backend });
    const y1 = sk.convSync(dx, l1.w, { ...l1.opts, precision });
    const y2 = await sk.conv(y1, l2.w, { ...l2.opts, precision, backend: 'auto' });
    const y3 = await sk.convTranspose(y2, l3.w, { ...l3.opts, precision, backend });
    const y3Sync = sk.convTransposeSync(y2, l3.w, { ...l3.opts, precision });
    for (const y of [y1, y2, y3, y3Sync]) expect([y instanceof sk.DeviceTensor, y.backend]).toEqual([true, backend]);
    expectClose(y3.download(), referenceChain(chain), tol, 'one-shot chain');
    expectClose(y3Sync.download(), referenceChain(chain), tol, 'one-shot chain, sync');
  });

  test('out: a DeviceTensor of the output shape is written and returned, sync and async', async () => {
    const dx = sk.upload(chain.x, { backend });
    const out = sk.upload({ data: new Float32Array(2 * 8 * 6 * 5).fill(NaN), shape: [2, 8, 6, 5] }, { backend });
    expect(plans[0].runSync(dx, { out })).toBe(out);
    expectClose(out.download(), referenceChain(chain, 1), tol, 'out (sync)');
    const again = sk.upload({ data: new Float32Array(2 * 8 * 6 * 5).fill(NaN), shape: [2, 8, 6, 5] }, { backend });
    expect(await plans[0].run(dx, { out: again })).toBe(again);
    expectClose(again.download(), referenceChain(chain, 1), tol, 'out (async)');
    const [l1] = chain.layers;
    expect(sk.convSync(dx, l1.w, { ...l1.opts, precision, out })).toBe(out);
  });

  test('dispose(): idempotent; a disposed tensor cannot be used, whichever call gets it', async () => {
    const dx = sk.upload(chain.x, { backend });
    dx.dispose();
    dx.dispose();
    expect(dx.disposed).toBe(true);
    const disposed = { name: 'Error', message: 'x has been disposed; upload the tensor again' };
    expect(caught(() => plans[0].runSync(dx))).toEqual(disposed);
    await expect(plans[0].run(dx)).rejects.toThrow(disposed.message);
    expect(caught(() => sk.convSync(dx, chain.layers[0].w, chain.layers[0].opts))).toEqual(disposed);
    expect(caught(() => dx.download())).toEqual({ name: 'Error', message: 'this DeviceTensor has been disposed; upload the tensor again' });
    await expect(dx.downloadAsync()).rejects.toThrow('this DeviceTensor has been disposed; upload the tensor again');
    const live = sk.upload(chain.x, { backend });
    expect(caught(() => plans[0].runSync(live, { out: dx }))).toEqual({ name: 'Error', message: 'out has been disposed; upload the tensor again' });
  });

  test('dispose() while a run reads the tensor: the run completes with the right values', async () => {
    const x = { data: randomArray(2 * 32 * 64 * 64, mulberry32(9)), shape: [2, 32, 64, 64] };
    const w = { data: randomArray(16 * 32 * 9, mulberry32(10)), shape: [16, 32, 3, 3] };
    const plan = sk.createConv({ ...layerOptions, weight: w, stride: 2, padding: 1 });
    const dx = sk.upload(x, { backend });
    const pending = plan.run(dx);
    dx.dispose();
    plan.dispose();
    expect(dx.disposed).toBe(true);
    const y = await pending;
    expectClose(y.download(), reference.conv(x, w, { stride: 2, padding: 1 }), tol, 'run whose input was disposed in flight');
  });

  test('a tensor being written by a run in flight is neither read nor written until the run settles', async () => {
    const dx = sk.upload(chain.x, { backend });
    const out = sk.upload({ data: new Float32Array(2 * 8 * 6 * 5), shape: [2, 8, 6, 5] }, { backend });
    const pending = plans[0].run(dx, { out });
    const writing = 'is being written by a run in flight; await that run first';
    expect(caught(() => out.download())).toEqual({ name: 'Error', message: `this DeviceTensor ${writing}` });
    expect(caught(() => plans[1].runSync(out))).toEqual({ name: 'Error', message: `x ${writing}` });
    expect(caught(() => plans[0].runSync(dx, { out }))).toEqual(
      { name: 'Error', message: 'out is being read or written by a run in flight; await that run first' });
    await pending;
    expectClose(plans[1].runSync(out).download(), referenceChain(chain, 2), tol, 'after the run settled');
  });

  test('argument errors name the argument and the values', () => {
    const dx = sk.upload(chain.x, { backend });
    const [l1, l2] = chain.layers;
    const cases = [
      [() => sk.upload(undefined), TypeError, 'x must be a Tensor ({ data: Float32Array, shape: number[] }), got undefined'],
      [() => sk.upload({ data: new Float64Array(2), shape: [2] }), TypeError, 'x.data must be a Float32Array, got Float64Array'],
      [() => sk.upload(chain.x, { backend: 'gpu' }), RangeError, "backend must be one of 'auto', 'cudnn', 'coreml', 'openvino', 'cpu', got 'gpu'"],
      [() => sk.upload(chain.x, { device: 'cuda' }), TypeError, 'options.device is not a known option (known options: backend)'],
      // the depthwise layer wants 8 channels; the input has 3
      [() => plans[1].runSync(dx), RangeError, 'x.shape[1] must be 8 to match weight.shape[1] × groups (1 × 8), got 3'],
      [() => sk.convSync(dx, l2.w, l2.opts), RangeError, 'x.shape[1] must be 8 to match w.shape[1] × groups (1 × 8), got 3'],
      [() => plans[0].runSync(dx, { out: sk.upload({ data: new Float32Array(480), shape: [2, 8, 5, 6] }, { backend }) }), RangeError,
        'out.shape must be [2, 8, 6, 5] (the output shape), got [2, 8, 5, 6]'],
      [() => plans[0].runSync(dx, { out: { data: new Float32Array(480), shape: [2, 8, 6, 5] } }), TypeError,
        'out must be a DeviceTensor when x is one, got an object with keys data, shape'],
      [() => plans[0].runSync(chain.x, { out: sk.upload({ data: new Float32Array(480), shape: [2, 8, 6, 5] }, { backend }) }), TypeError,
        `out must be a Tensor when x is a host Tensor, got a DeviceTensor on '${backend}' (download() it, or upload() x)`],
      [() => sk.convSync(chain.x, sk.upload(l1.w, { backend }), l1.opts), TypeError,
        `w must be a host Tensor (a plan packs its own copy of the weights), got a DeviceTensor on '${backend}' (download() it)`],
      [() => sk.createConv({ weight: sk.upload(l1.w, { backend }) }), TypeError,
        `weight must be a host Tensor (a plan packs its own copy of the weights), got a DeviceTensor on '${backend}' (download() it)`],
      [() => new sk.DeviceTensor(), TypeError, 'DeviceTensor has no public constructor: use upload(tensor, { backend })'],
    ];
    for (const [fn, type, message] of cases) expect(caught(fn)).toEqual({ name: type.name, message });
    const square = sk.createConv({ ...layerOptions, weight: { data: new Float32Array(9), shape: [3, 3, 1, 1] } });
    expect(caught(() => square.runSync(dx, { out: dx }))).toEqual({ name: 'RangeError', message: 'out must be a DeviceTensor other than x, got x itself' });
    square.dispose();
  });

  const other = sk.backends().find((b) => b.available && b.name !== backend);
  (other ? test : test.skip)(other
    ? `a DeviceTensor on ${backend} given to a plan on ${other.name} is a TypeError naming both`
    : `a DeviceTensor of another backend — skipped: no second backend is available here (the fixture test below covers it)`, () => {
    const plan = sk.createConv({ weight: chain.layers[0].w, ...chain.layers[0].opts, backend: other.name });
    const dx = sk.upload(chain.x, { backend });
    expect(caught(() => plan.runSync(dx))).toEqual({
      name: 'TypeError',
      message: `x must be a DeviceTensor on '${other.name}' (the plan's backend), got a DeviceTensor on '${backend}' (upload(x, { backend: '${other.name}' }) copies it there)`,
    });
    plan.dispose();
  });
});

// ---------------------------------------------------------------------------------------------------
// The core's device-buffer path through the fixture plugin.

const root = path.join(__dirname, '..');
const compiler = process.env.CXX || 'c++';
const haveCompiler = process.platform === 'linux' && spawnSync(compiler, ['--version'], { encoding: 'utf8' }).status === 0;
const fixtureSkip = process.platform !== 'linux'
  ? `the fixture plugin is built as an ELF shared object; this is ${process.platform}`
  : `no C++ compiler (${compiler}) to build the fixture plugin`;

(haveCompiler ? describe : describe.skip)(haveCompiler
  ? 'device buffers through a plugin (test/fixtures/plugins/host_device.cc loaded as cudnn)'
  : `device buffers through a plugin — skipped: ${fixtureSkip}`, () => {
  let dir;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-device-'));
    const r = spawnSync(compiler, ['-shared', '-fPIC', '-O1', '-std=c++17', '-I', path.join(root, 'native', 'include'),
      '-o', path.join(dir, 'libstridekit_cudnn.so'), path.join(__dirname, 'fixtures', 'plugins', 'host_device.cc')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`building host_device.cc failed:\n${r.stderr}`);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** { result, stats }: the scenario's JSON line and the fixture's counters printed at exit. */
  function scenario(name, env = {}) {
    const r = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, 'fixtures', 'device', 'scenarios.js'), name], {
      encoding: 'utf8',
      env: { ...process.env, STRIDEKIT_PLUGIN_PATH: dir, STRIDEKIT_BACKEND: '', ...env },
    });
    if (r.status !== 0) throw new Error(`scenario ${name} exited with ${r.status}:\n${r.stderr}`);
    const line = /^fixture: (.*)$/m.exec(r.stderr);
    if (!line) throw new Error(`scenario ${name}: the fixture printed no counters:\n${r.stderr}`);
    return { result: JSON.parse(r.stdout), stats: JSON.parse(line[1]) };
  }

  test('a chain runs on device buffers: plan_run_device only, one upload, one read per download; equal to cpu and the reference', () => {
    const { result, stats } = scenario('chain');
    expect([result.backend, result.oneShotBackend]).toEqual(['cudnn', 'cudnn']);
    expect(result.device).toMatch(/^host-memory fixture device/);
    const chain = buildChain(7);
    const ref = referenceChain(chain);
    for (const key of ['deviceSync', 'deviceAsync', 'oneShot']) {
      expectClose({ data: Float32Array.from(result[key]), shape: result.shape }, ref, 1e-4, `${key} vs reference`);
      expectClose({ data: Float32Array.from(result[key]), shape: result.shape }, { data: Float32Array.from(result.cpu), shape: ref.shape }, 1e-4, `${key} vs cpu`);
    }
    // 3 plans sync + 3 async + 3 one-shot; the host entry point is never used for device tensors
    expect(stats).toMatchObject({ deviceRuns: 9, hostRuns: 0, writes: 1, reads: 3 });
    expect(stats.destroyed).toBe(stats.created);
  });

  test('out of device memory is an Error with code ERR_STRIDEKIT_OUT_OF_MEMORY, and everything else goes on', () => {
    const { result, stats } = scenario('oom', { STRIDEKIT_FIXTURE_CAPACITY: '1000000' });
    expect(result.tooBig).toEqual({
      name: 'Error',
      code: 'ERR_STRIDEKIT_OUT_OF_MEMORY',
      message: 'cudnn backend failed to allocate 1200000 bytes for a DeviceTensor: fixture device full: 0 of 1000000 bytes in use, 1200000 more asked (out of device memory)',
    });
    expect(result.outputTooBig).toEqual({
      name: 'Error',
      code: 'ERR_STRIDEKIT_OUT_OF_MEMORY',
      message: 'cudnn backend failed to allocate 1200000 bytes for a DeviceTensor: fixture device full: 400000 of 1000000 bytes in use, 1200000 more asked (out of device memory)',
    });
    expect(result.afterwards).toBe(0.5);
    expect(stats.refused).toBe(2);
  });

  test('dispose() frees at once; a tensor nobody references is freed by the garbage collector', () => {
    const { result, stats } = scenario('free', { STRIDEKIT_FIXTURE_CAPACITY: '1000000' });
    expect(result.whileHeld).toMatchObject({ code: 'ERR_STRIDEKIT_OUT_OF_MEMORY' });
    expect(result.afterDispose).toBeNull();
    expect(result.refusedBeforeGc).toBe(true);
    expect(result.freed).toBe(true);
    expect(stats.destroyed).toBe(stats.created);
  });

  test('dispose() of the input and the plan during a run: memory is held until the run ends, the result is right', () => {
    const { result, stats } = scenario('inflight', { STRIDEKIT_FIXTURE_CAPACITY: '400000', STRIDEKIT_FIXTURE_RUN_DELAY_MS: '300' });
    expect(result.disposedAtOnce).toBe(true);
    expect(result.roomDuringRun).toMatchObject({ code: 'ERR_STRIDEKIT_OUT_OF_MEMORY' });
    expect(result.useAfterDispose).toMatchObject({ name: 'Error', message: 'this DeviceTensor has been disposed; upload the tensor again' });
    expect(result.roomAfterRun).toBeNull();
    expect(result.wrong).toBe(-1);
    expect(stats.deviceRuns).toBe(1);
  });

  test('the precision option reaches the backend in sk_conv_geometry (fp32 by default)', () => {
    expect(scenario('precision').stats.precisions).toEqual([2, 2, 2]);
  });

  test('a plugin that fills only some of the five device-buffer entries is refused with a reason', () => {
    const partial = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-partial-'));
    try {
      const file = path.join(partial, 'libstridekit_cudnn.so');
      const r = spawnSync(compiler, ['-shared', '-fPIC', '-O0', '-I', path.join(root, 'native', 'include'), '-o', file,
        path.join(__dirname, 'fixtures', 'plugins', 'partial_buffers.cc')], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`building partial_buffers.cc failed:\n${r.stderr}`);
      const script = `process.stdout.write(JSON.stringify(require(${JSON.stringify(root)}).backends().find((b) => b.name === 'cudnn')))`;
      const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, STRIDEKIT_PLUGIN_PATH: partial, STRIDEKIT_BACKEND: '' } });
      expect(JSON.parse(child.stdout)).toMatchObject({
        available: false,
        reason: `${file} fills 1 of the 5 device-buffer entries (buffer_create, buffer_write, buffer_read, buffer_destroy, plan_run_device): a backend fills all of them or none`,
      });
    } finally {
      fs.rmSync(partial, { recursive: true, force: true });
    }
  });

  test('DeviceTensors of two backends never meet: a TypeError naming both; upload() moves one across', () => {
    const { result } = scenario('cross');
    const hint = (b) => `(upload(x, { backend: '${b}' }) copies it there)`;
    expect(result.deviceToCpuPlan).toEqual({ name: 'TypeError', message: `x must be a DeviceTensor on 'cpu' (the plan's backend), got a DeviceTensor on 'cudnn' ${hint('cpu')}` });
    expect(result.cpuToDevicePlan).toEqual({ name: 'TypeError', message: `x must be a DeviceTensor on 'cudnn' (the plan's backend), got a DeviceTensor on 'cpu' ${hint('cudnn')}` });
    expect(result.outOnOtherBackend).toEqual({
      name: 'TypeError', message: "out must be a DeviceTensor on 'cudnn' (the plan's backend), got a DeviceTensor on 'cpu' (upload(out, { backend: 'cudnn' }) copies it there)",
    });
    expect(result.oneShotExplicit).toEqual({ name: 'TypeError', message: `x must be a DeviceTensor on 'cpu' (options.backend), got a DeviceTensor on 'cudnn' ${hint('cpu')}` });
    expect([result.moved, result.movedBackend]).toEqual([[0.5, 0.5, 0.5, 0.5], 'cpu']);
  });
});
