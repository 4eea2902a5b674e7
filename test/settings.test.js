// STRIDEKIT_NUM_THREADS and STRIDEKIT_CPU_KERNELS: a bad value is a RangeError on the first call that
// needs the native core (and `stridekit info` exits 1), never silently ignored; a good one takes
// effect. The native core, loaded on its own, must never act on a bad value either. Each case runs in
// a child process, because the core reads these variables once per process.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const { MAX_THREADS, CPU_KERNELS } = require(path.join(root, 'dist', 'settings.js'));

const THREADS_EXPECTATION = `an integer from 1 to ${MAX_THREADS}, or unset for one thread per CPU`;
const KERNELS_EXPECTATION = "one of 'avx2', 'portable', or unset for the best kernels this processor runs";

function child(source, env) {
  const base = { ...process.env };
  delete base.STRIDEKIT_NUM_THREADS;
  delete base.STRIDEKIT_CPU_KERNELS;
  const r = spawnSync(process.execPath, ['-e', source], { encoding: 'utf8', env: { ...base, ...env } });
  if (r.status !== 0 || r.signal !== null) throw new Error(`child failed (status ${r.status}, signal ${r.signal}):\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

// Through the package: a convolution on cpu (or its error), the pool's size, backends()' cpu entry,
// and whether the same process works once process.env is corrected.
const facadeScript = `
  const stridekit = require(${JSON.stringify(root)});
  const conv = () => Array.from(stridekit.convSync(
    { data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]), shape: [1, 1, 8] },
    { data: new Float32Array([1, 2, 3]), shape: [1, 1, 3] }, { stride: 2, backend: 'cpu' }).data);
  const out = { shape: stridekit.outputShape([1, 1, 8], [1, 1, 3], { stride: 2 }) };
  try {
    out.result = conv();
    out.threads = require(${JSON.stringify(path.join(root, 'dist', 'loader.js'))}).binding().numThreads;
    out.cpuDevice = stridekit.backends().find((b) => b.name === 'cpu').device;
  } catch (error) {
    out.error = { name: error.name, message: error.message };
    try { stridekit.backends(); } catch (again) { out.backendsError = again.message; }
    delete process.env.STRIDEKIT_NUM_THREADS;
    delete process.env.STRIDEKIT_CPU_KERNELS;
    out.afterFix = conv();
  }
  process.stdout.write(JSON.stringify(out));`;

// The core on its own, bypassing the facade's check: what it does with whatever it is given. It
// knows no backend by name until asked about one.
const coreFile = require(path.join(root, 'dist', 'loader.js')).bindingPath();
const coreScript = `
  const core = require(${JSON.stringify(coreFile)});
  process.stdout.write(JSON.stringify({ threads: core.numThreads, cpuDevice: core.backends(['cpu'])[0].device }));`;

const expected = [14, 26, 38];
const defaults = child(coreScript, {});

describe('STRIDEKIT_NUM_THREADS', () => {
  test.each(['0', '-1', 'abc', '1.5', '10000', String(MAX_THREADS + 1), ' 4', '4 ', '+4', '1e2', '0x10', '99999999999999999999'])(
    '%j is a RangeError naming the variable and its values; the core is not loaded until it is fixed', (value) => {
      const out = child(facadeScript, { STRIDEKIT_NUM_THREADS: value });
      const message = `STRIDEKIT_NUM_THREADS must be ${THREADS_EXPECTATION}, got '${value}'`;
      expect(out.error).toEqual({ name: 'RangeError', message });
      expect(out.backendsError).toBe(message);
      expect(out.shape).toEqual([1, 1, 3]); // the pure parts of the package still work
      expect(out.afterFix).toEqual(expected);
    });

  test.each(['1', '2', '3', '08', String(MAX_THREADS), ''])('%j is accepted and sizes the pool', (value) => {
    const out = child(facadeScript, { STRIDEKIT_NUM_THREADS: value });
    expect(out.error).toBeUndefined();
    expect(out.result).toEqual(expected);
    expect(out.threads).toBe(value === '' ? defaults.threads : Number(value));
  });

  test('the native core on its own never acts on a bad value: the pool keeps its default size', () => {
    for (const value of ['0', '-1', 'abc', '1.5', '10000', ' 4', '+4']) {
      expect([value, child(coreScript, { STRIDEKIT_NUM_THREADS: value }).threads]).toEqual([value, defaults.threads]);
    }
    for (const value of ['1', '3', String(MAX_THREADS)]) {
      expect([value, child(coreScript, { STRIDEKIT_NUM_THREADS: value }).threads]).toEqual([value, Number(value)]);
    }
  });

  test('the facade and the core share one bound', () => {
    const header = fs.readFileSync(path.join(root, 'native', 'backends', 'cpu', 'thread_pool.h'), 'utf8');
    expect(Number(/constexpr int kMaxThreads = (\d+);/.exec(header)[1])).toBe(MAX_THREADS);
  });
});

describe('STRIDEKIT_CPU_KERNELS', () => {
  test.each([
    ['garbage', undefined], ['avx512', undefined], ['Portable', 'portable'], ['AVX2', 'avx2'], [' avx2', 'avx2'],
    ['best', undefined], ['auto', undefined],
  ])('%j is a RangeError naming the variable and its values', (value, suggestion) => {
    const out = child(facadeScript, { STRIDEKIT_CPU_KERNELS: value });
    const hint = suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`;
    expect(out.error).toEqual({ name: 'RangeError', message: `STRIDEKIT_CPU_KERNELS must be ${KERNELS_EXPECTATION}, got '${value}'${hint}` });
    expect(out.afterFix).toEqual(expected);
  });

  test.each(['avx2', 'portable', ''])('%j is accepted and the convolution is right', (value) => {
    const out = child(facadeScript, { STRIDEKIT_CPU_KERNELS: value });
    expect(out.error).toBeUndefined();
    expect(out.result).toEqual(expected);
    if (process.arch === 'x64') {
      if (value === 'portable') expect(out.cpuDevice).toMatch(/\(portable kernels\)/);
      if (value === 'avx2') expect(out.cpuDevice).not.toMatch(/avx512 kernels/);
      if (value === '') expect(out.cpuDevice).toBe(defaults.cpuDevice);
    }
  });

  test('the native core on its own treats a bad value as unset', () => {
    for (const value of ['garbage', 'Portable', 'avx512']) {
      expect([value, child(coreScript, { STRIDEKIT_CPU_KERNELS: value }).cpuDevice]).toEqual([value, defaults.cpuDevice]);
    }
    if (process.arch === 'x64') {
      expect(child(coreScript, { STRIDEKIT_CPU_KERNELS: 'portable' }).cpuDevice).toMatch(/\(portable kernels\)/);
    }
  });

  test('the facade and the core accept the same names', () => {
    const header = fs.readFileSync(path.join(root, 'native', 'backends', 'cpu', 'cpu_features.h'), 'utf8');
    const names = /kCpuKernelSettings\[\] = \{([^}]*)\}/.exec(header)[1].match(/"([^"]*)"/g).map((n) => n.slice(1, -1));
    expect(names).toEqual([...CPU_KERNELS]);
  });
});

describe('stridekit info', () => {
  const info = (env) => {
    const base = { ...process.env };
    delete base.STRIDEKIT_NUM_THREADS;
    delete base.STRIDEKIT_CPU_KERNELS;
    return spawnSync(process.execPath, [path.join(root, 'dist', 'cli.js'), 'info'], { encoding: 'utf8', env: { ...base, ...env } });
  };

  test('a bad setting is shown and the exit status is 1', () => {
    const threads = info({ STRIDEKIT_NUM_THREADS: '10000' });
    expect(threads.status).toBe(1);
    expect(threads.stdout).toMatch(/^STRIDEKIT_NUM_THREADS: +10000$/m);
    expect(threads.stderr).toContain(`STRIDEKIT_NUM_THREADS must be ${THREADS_EXPECTATION}, got '10000'`);
    const kernels = info({ STRIDEKIT_CPU_KERNELS: 'garbage' });
    expect(kernels.status).toBe(1);
    expect(kernels.stderr).toContain(`STRIDEKIT_CPU_KERNELS must be ${KERNELS_EXPECTATION}, got 'garbage'`);
  });

  test('good settings are shown and the exit status is 0', () => {
    const r = info({ STRIDEKIT_NUM_THREADS: '3', STRIDEKIT_CPU_KERNELS: 'avx2' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^CPU threads: +3 in the CPU backend's pool/m);
    expect(r.stdout).toMatch(/^STRIDEKIT_CPU_KERNELS: +avx2$/m);
  });
});
