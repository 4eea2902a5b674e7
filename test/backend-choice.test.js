'use strict';
// How a backend is chosen: 'auto' ranks a backend above cpu only when its probe reports a GPU or NPU
// (lib/backends.ts), and says why it passed over one that is available; backend: 'fastest' (createConv)
// times the plan on every available backend and keeps the fastest one whose result agrees with cpu's.
//
// The cases that need a backend of a given kind, speed or correctness use
// test/fixtures/plugins/host_device.cc, built as a plugin and loaded through STRIDEKIT_PLUGIN_PATH in
// child processes (the registry probes once per process): STRIDEKIT_FIXTURE_DEVICE_KIND sets what its
// probe reports, STRIDEKIT_FIXTURE_HOST_DELAY_MS slows its runs, STRIDEKIT_FIXTURE_WRONG corrupts them.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const reference = require('./helpers/reference');
const layer = require('./helpers/choice-layer');
const { loadStridekit, expectClose, ROOT, PACKAGE, TOLERANCE } = require('./helpers/target');

const { sk } = loadStridekit();
const list = sk.backends();
const byName = Object.fromEntries(list.map((b) => [b.name, b]));
const forced = process.env.STRIDEKIT_BACKEND;

/** The rule of lib/backends.ts, restated: a backend ranks above cpu when its work runs on a GPU or NPU
 * (coreml only on Apple silicon). */
const ranksAboveCpu = (b) => b.available && b.name !== 'cpu' && ['gpu', 'npu'].includes(b.deviceKind) &&
  !(b.name === 'coreml' && process.arch !== 'arm64');
/** What 'auto' picks from a backends() list: the first that ranks above cpu (cudnn, coreml, openvino), else cpu. */
const autoChoice = (backends) => (backends.find(ranksAboveCpu) || { name: 'cpu' }).name;

const compiler = process.env.CXX || 'c++';
const haveCompiler = process.platform === 'linux' && spawnSync(compiler, ['--version'], { encoding: 'utf8' }).status === 0;
const fixtureSkip = process.platform !== 'linux'
  ? `the fixture plugin is built as an ELF shared object; this is ${process.platform}`
  : `no C++ compiler (${compiler}) to build the fixture plugin`;


describe("'auto'", () => {
  test('cpu reports its device kind, cpu', () => {
    expect(byName.cpu.deviceKind).toBe('cpu');
  });

  // This machine's openvino plugin, on OpenVINO's CPU device (STRIDEKIT_OPENVINO_DEVICE unset or CPU).
  const openvino = byName.openvino;
  const onCpu = openvino.available && openvino.deviceKind === 'cpu';
  (onCpu ? test : test.skip)(
    onCpu ? 'openvino on its CPU device is available, not selected, and says why'
      : `openvino on its CPU device: skipped (${openvino.available ? `its device kind is ${openvino.deviceKind}` : openvino.reason})`,
    () => {
      expect(openvino.note).toBe("not chosen by 'auto': its device is a CPU, where the built-in cpu backend is expected to be " +
        "faster; STRIDEKIT_OPENVINO_DEVICE=GPU or NPU ranks it above cpu; backend: 'openvino' or 'fastest' still uses it");
      if (!forced) expect(list.filter((b) => b.selected).map((b) => b.name)).not.toContain('openvino');
    });

  test("the backend 'auto' picks is selected (unless STRIDEKIT_BACKEND decides), and every available backend says why or why not", () => {
    const choice = autoChoice(list);
    if (!forced) expect(list.filter((b) => b.selected).map((b) => b.name)).toEqual([choice]);
    for (const b of list.filter((b) => b.available)) {
      expect([b.name, b.note.startsWith(b.name === choice ? "chosen by 'auto': " : "not chosen by 'auto': ")]).toEqual([b.name, true]);
    }
    for (const b of list.filter((b) => !b.available)) expect([b.name, b.note]).toEqual([b.name, undefined]);
    if (choice === 'cpu') expect(byName.cpu.note).toBe("chosen by 'auto': no available backend runs its work on a GPU or NPU");
  });
});

describe("backend: 'fastest'", () => {
  const { w, x, opts } = layer(1);
  const expected = reference.conv(x, w, opts);

  test('times every available backend, cpu first, and keeps the one with the lowest median', () => {
    const plan = sk.createConv({ weight: w, ...opts, backend: 'fastest', inputShape: x.shape });
    try {
      const timings = plan.backendTimings;
      // cpu, then 'auto''s order: the backends ranked above cpu, then the other available ones
      const others = list.filter((b) => b.available && b.name !== 'cpu');
      expect(timings.map((t) => t.backend)).toEqual(['cpu',
        ...others.filter(ranksAboveCpu).map((b) => b.name), ...others.filter((b) => !ranksAboveCpu(b)).map((b) => b.name)]);
      expect(timings.filter((t) => t.chosen).map((t) => t.backend)).toEqual([plan.backend]);
      const timed = timings.filter((t) => t.rejected === undefined);
      for (const t of timed) {
        expect(t.ms).toBeGreaterThan(0);
        expect(t.setupMs).toBeGreaterThan(0);
        expect(t.runs).toBeGreaterThanOrEqual(3);
        expect(t.runs).toBeLessThanOrEqual(10);
      }
      expect(timings.find((t) => t.chosen).ms).toBe(Math.min(...timed.map((t) => t.ms)));
      expectClose(plan.runSync(x), expected, TOLERANCE[plan.backend].fp32, `fastest (${plan.backend}) vs reference`);
    } finally {
      plan.dispose();
    }
  });

  test("another backend request has no backendTimings", () => {
    const plan = sk.createConv({ weight: w, ...opts, backend: 'cpu', inputShape: x.shape });
    expect(plan.backendTimings).toBeUndefined();
    plan.dispose();
  });

  test('needs inputShape, and inputShape must fit the weight', () => {
    expect(() => sk.createConv({ weight: w, backend: 'fastest' })).toThrow(new TypeError(
      "inputShape must be an array of positive integers with backend 'fastest', which times runs of that shape, got undefined"));
    expect(() => sk.createConv({ weight: w, backend: 'fastest', inputShape: [1, 3, 40, 40] })).toThrow(RangeError);
  });

  test('is for createConv only: one-shot calls and upload refuse it, saying where it belongs', () => {
    const message = "backend must be one of 'auto', 'cudnn', 'coreml', 'openvino', 'cpu', got 'fastest' " +
      "('fastest' times a plan on every backend: pass it to createConv() with inputShape)";
    expect(() => sk.convSync(x, w, { ...opts, backend: 'fastest' })).toThrow(new RangeError(message));
    expect(() => sk.upload(x, { backend: 'fastest' })).toThrow(new RangeError(message));
  });
});

(haveCompiler ? describe : describe.skip)(haveCompiler
  ? 'through a fixture plugin (test/fixtures/plugins/host_device.cc)'
  : `through a fixture plugin — skipped: ${fixtureSkip}`, () => {
  let dir;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-choice-'));
    for (const name of ['openvino', 'cudnn']) {
      fs.mkdirSync(path.join(dir, name));
      const r = spawnSync(compiler, ['-shared', '-fPIC', '-O1', '-std=c++17', '-I', path.join(ROOT, 'native', 'include'),
        `-DFIXTURE_BACKEND_NAME="${name}"`, '-o', path.join(dir, name, `libstridekit_${name}.so`),
        path.join(__dirname, 'fixtures', 'plugins', 'host_device.cc')], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`building host_device.cc as ${name} failed:\n${r.stderr}`);
    }
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** `source` in a child whose plugins come from dir/<as> first; its last stdout line as JSON. */
  function child(as, env, source) {
    const r = spawnSync(process.execPath, ['-e', `const sk = require(${JSON.stringify(PACKAGE)});\n${source}`], {
      encoding: 'utf8',
      env: { ...process.env, STRIDEKIT_PLUGIN_PATH: path.join(dir, as), STRIDEKIT_BACKEND: '', ...env },
    });
    if (r.status !== 0 || r.signal !== null) throw new Error(`child failed (${r.status}, ${r.signal}):\n${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop());
  }

  const LIST = 'console.log(JSON.stringify(sk.backends()));';
  const selectedOf = (backends) => backends.filter((b) => b.selected).map((b) => b.name);

  for (const [kind, value] of [['gpu', 2], ['npu', 3]]) {
    test(`openvino whose probe reports a ${kind.toUpperCase()} ranks above cpu`, () => {
      const backends = child('openvino', { STRIDEKIT_FIXTURE_DEVICE_KIND: String(value) }, LIST);
      const openvino = backends.find((b) => b.name === 'openvino');
      expect([openvino.available, openvino.deviceKind]).toEqual([true, kind]);
      // cudnn and coreml rank above openvino: where this machine has either, it is 'auto''s choice instead
      const choice = autoChoice(backends);
      expect(selectedOf(backends)).toEqual([choice]);
      expect(openvino.note).toBe(choice === 'openvino'
        ? `chosen by 'auto': it runs its work on ${kind === 'npu' ? 'an NPU' : 'a GPU'}`
        : `not chosen by 'auto': ${choice} ranks above it`);
      expect(backends.find((b) => b.name === 'cpu').note).toBe(`not chosen by 'auto': ${choice} runs its work on a GPU or NPU`);
    });
  }

  test('openvino whose probe does not say its device kind stays below cpu, and says why', () => {
    const backends = child('openvino', { STRIDEKIT_FIXTURE_DEVICE_KIND: '0' }, LIST);
    const openvino = backends.find((b) => b.name === 'openvino');
    expect(openvino.deviceKind).toBeUndefined();
    expect(openvino.note).toBe("not chosen by 'auto': its probe does not say that a GPU or NPU runs its work; " +
      "STRIDEKIT_OPENVINO_DEVICE=GPU or NPU ranks it above cpu; backend: 'openvino' or 'fastest' still uses it");
    expect(selectedOf(backends)).toEqual([autoChoice(backends)]);
  });

  const { w, x, opts } = layer(2);
  // The child builds the same layer (seed 2) from the same helper: too much data for a command line.
  const FASTEST = `
    const { w, x, opts } = require(${JSON.stringify(path.join(__dirname, 'helpers', 'choice-layer.js'))})(2);
    const plan = sk.createConv({ weight: w, ...opts, backend: 'fastest', inputShape: x.shape });
    const y = plan.runSync(x);
    console.log(JSON.stringify({ backend: plan.backend, timings: plan.backendTimings, y: Array.from(y.data) }));`;

  test('a slower backend is timed and passed over; its timed runs stop at the budget', () => {
    const out = child('cudnn', { STRIDEKIT_FIXTURE_HOST_DELAY_MS: '40' }, FASTEST);
    const fixture = out.timings.find((t) => t.backend === 'cudnn');
    expect(fixture.chosen).toBe(false);
    expect(fixture.ms).toBeGreaterThanOrEqual(40);
    // 200 ms of timed runs at 40 ms or more each: 3 (the least) to 6 runs, not the 10 a fast backend gets
    expect(fixture.runs).toBeGreaterThanOrEqual(3);
    expect(fixture.runs).toBeLessThanOrEqual(6);
    expect(out.timings.find((t) => t.chosen).backend).toBe(out.backend);
    expect(out.backend).not.toBe('cudnn');
  });

  test('a backend with the lowest median is kept: the fixture without delay against cpu, whichever wins', () => {
    const out = child('cudnn', {}, FASTEST);
    const timed = out.timings.filter((t) => t.rejected === undefined);
    expect(timed.map((t) => t.backend)).toContain('cudnn');
    expect(out.timings.find((t) => t.chosen).ms).toBe(Math.min(...timed.map((t) => t.ms)));
    expectClose({ data: Float32Array.from(out.y), shape: expectedShape() }, reference.conv(x, w, opts), TOLERANCE[out.backend].fp32, 'fastest vs reference');
  });

  test('a backend whose result disagrees with cpu is rejected, however fast, and says why', () => {
    const out = child('cudnn', { STRIDEKIT_FIXTURE_WRONG: '1' }, FASTEST);
    const fixture = out.timings.find((t) => t.backend === 'cudnn');
    expect(fixture.rejected).toMatch(/^its result differs from cpu's: largest difference \S+ of its largest magnitude, above 0\.001$/);
    expect([fixture.chosen, fixture.ms, fixture.runs]).toEqual([false, undefined, 0]);
    expect(out.backend).not.toBe('cudnn');
    expectClose({ data: Float32Array.from(out.y), shape: expectedShape() }, reference.conv(x, w, opts), TOLERANCE[out.backend].fp32, 'fastest vs reference');
  });

  function expectedShape() {
    return sk.outputShape(x.shape, w.shape, opts);
  }
});
