// The cudnn plugin's own code, run without a GPU: test/fixtures/cudnn/mock/ builds stand-ins for
// libcudart.so.13 and libcudnn.so.9 (host memory as device memory; streams that run their queued work only
// when synchronised; several algorithms with different workspaces; injectable allocation failures;
// every cuDNN call the plugin makes done naively on the CPU from its descriptors, rejecting what cuDNN
// rejects, with TF32 rounding where the math type allows it), which the plugin's loader stub
// finds through STRIDEKIT_CUDA_DIR and STRIDEKIT_CUDNN_DIR, and a libcuda.so.1 stub, put in front of the
// system's driver with LD_LIBRARY_PATH. Then the real plugin, through the real core, runs:
//   - the whole conformance table (test/conformance.test.js with STRIDEKIT_BACKEND=cudnn), which checks
//     its lowering, descriptors, pointer offsets, bias, activations, layouts and plan caching, while the
//     mock aborts on any tensor that reaches outside device memory and any asynchronous copy whose host
//     side is not page-locked;
//   - its C ABI harness: device buffers against plan_run, out of device memory, no leak;
//   - a JavaScript call that runs out of device memory and gets an error instead of a crash;
//   - test/fixtures/cudnn/mock_defects.cc: the defects a review found that only a GPU would show (the
//     probe creating a context, weights read before their upload landed, fp16 without tensor-op math,
//     a workspace smaller than a cached shape's after a failed grow).
// What this cannot check is cuDNN itself on a GPU (its kernels, its algorithm support, real streams): the
// mock follows cuDNN's documented semantics, which is exactly what the plugin relies on.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { UNSUPPORTED } = require('./helpers/target');

const root = path.join(__dirname, '..');
const plugin = path.join(root, 'build', 'Release', 'libstridekit_cudnn.so');
const compiler = process.env.CXX || 'c++';

// The headers the mock is compiled against: those of npm run setup:cuda.
function venvNvidia() {
  const lib = path.join(root, '.venv-cuda', 'lib');
  if (!fs.existsSync(lib)) return null;
  for (const python of fs.readdirSync(lib).sort().reverse()) {
    const dir = path.join(lib, python, 'site-packages', 'nvidia');
    if (fs.existsSync(path.join(dir, 'cudnn', 'include', 'cudnn.h')) && fs.existsSync(path.join(dir, 'cu13', 'include', 'crt'))) return dir;
  }
  return null;
}

const nvidia = venvNvidia();
let skipReason = null;
if (process.platform !== 'linux') skipReason = `the mock libraries are Linux shared objects; this is ${process.platform}`;
else if (!fs.existsSync(plugin)) skipReason = `${path.relative(root, plugin)} was not built (npm run setup:cuda && npm run build)`;
else if (!nvidia) skipReason = 'no CUDA and cuDNN headers in .venv-cuda/ to build the mock against (npm run setup:cuda)';
else if (spawnSync(compiler, ['--version']).status !== 0) skipReason = `no C++ compiler (${compiler})`;
if (skipReason) console.log(`stridekit tests skipped: cudnn on a mock GPU: ${skipReason}`); // eslint-disable-line no-console

(skipReason ? describe.skip : describe)(skipReason ? `cudnn on a mock GPU — skipped: ${skipReason}` : 'cudnn plugin on a mock GPU', () => {
  let dir;
  let mock;
  let env;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-cudnn-mock-'));
    mock = path.join(dir, 'lib');
    fs.mkdirSync(mock);
    const fixtures = path.join(root, 'test', 'fixtures', 'cudnn');
    const includes = ['-I', path.join(nvidia, 'cu13', 'include'), '-I', path.join(nvidia, 'cudnn', 'include')];
    const stub = path.join(dir, 'driver.cc');
    fs.writeFileSync(stub, 'extern "C" { int stridekit_mock_driver = 1; }\n');
    const builds = [
      ['libcudart.so.13', path.join(fixtures, 'mock', 'mock_cudart.cc')],
      ['libcudnn.so.9', path.join(fixtures, 'mock', 'mock_cudnn.cc')],
      ['libcuda.so.1', stub],
    ];
    for (const [name, source] of builds) {
      // The mock cuDNN asks the mock runtime whether each pointer it is given is device memory.
      const link = name === 'libcudnn.so.9' ? ['-L', mock, '-l:libcudart.so.13'] : [];
      const r = spawnSync(compiler, ['-std=c++17', '-O1', '-shared', '-fPIC', '-Wall', '-Wextra', '-Werror', ...includes,
        `-Wl,-soname,${name}`, source, '-o', path.join(mock, name), ...link], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`building ${name} failed:\n${r.stderr}`);
    }
    const harness = spawnSync(compiler, ['-std=c++17', '-Wall', '-Wextra', '-Werror', '-I', path.join(root, 'native', 'include'),
      path.join(fixtures, 'plugin_probe.cc'), '-o', path.join(dir, 'plugin_probe'), '-ldl'], { encoding: 'utf8' });
    if (harness.status !== 0) throw new Error(`building the harness failed:\n${harness.stderr}`);
    const defects = spawnSync(compiler, ['-std=c++17', '-Wall', '-Wextra', '-Werror', '-I', path.join(root, 'native', 'include'),
      path.join(fixtures, 'mock_defects.cc'), '-o', path.join(dir, 'mock_defects'), '-ldl'], { encoding: 'utf8' });
    if (defects.status !== 0) throw new Error(`building the defects harness failed:\n${defects.stderr}`);
    env = {
      ...process.env,
      STRIDEKIT_CUDA_DIR: mock,
      STRIDEKIT_CUDNN_DIR: mock,
      LD_LIBRARY_PATH: [mock, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
    };
  }, 120000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('the C ABI on the mock device: buffers match plan_run, out of memory is reported, nothing leaks', () => {
    const r = spawnSync(path.join(dir, 'plugin_probe'), [plugin], { encoding: 'utf8', env });
    expect(r.stdout).not.toMatch(/FAIL/);
    expect(r.stdout).toMatch(/^available 1$/m);
    expect(r.stdout).toMatch(/^device stridekit mock GPU \(cuda:0, compute 9\.0, 1\.0 GiB\), cuDNN 9\.\d+\.\d+, CUDA runtime 13\.5, driver 13\.5$/m);
    expect(r.stdout).toMatch(/^device buffers match plan_run$/m);
    // The mock rounds float products to TF32 under tf32's math type; fp16 goes through half tensors.
    expect(r.stdout).toMatch(/^precision tf32: max difference from fp32 (?!0 )[\d.e-]+ /m);
    expect(r.stdout).toMatch(/^precision fp16: max difference from fp32 (?!0 )[\d.e-]+ /m);
    // bf16 is not asked of cuDNN (the probe reports fp32, fp16 and, from compute 8.0, tf32): fp32's result.
    expect(r.stdout).toMatch(/^precision bf16: max difference from fp32 0 /m);
    expect(r.stdout).toMatch(/^precisions 0x7$/m);
    expect(r.stdout).toMatch(/^out of memory reported: cudnn: buffer creation failed: out of GPU memory: a device tensor needs 1024\.0 TiB/m);
    expect(r.stdout).toMatch(/^mock device memory still allocated: 0 bytes$/m);
    expect(r.status).toBe(0);
  });

  test('the whole conformance table, and the degenerate geometries (right values or a clean refusal), pass through the real plugin and core on the mock device', () => {
    const jest = path.join(root, 'node_modules', 'jest', 'bin', 'jest.js');
    const r = spawnSync(process.execPath, [jest, 'test/conformance.test.js', 'test/degenerate-geometry.test.js', '--reporters=default', '--ci', '--verbose'], {
      cwd: root, encoding: 'utf8', env: { ...env, STRIDEKIT_BACKEND: 'cudnn' }, timeout: 300000,
    });
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/conformance on cudnn \(stridekit mock GPU/);
    expect(out).not.toMatch(/\d+ failed/);
    const counts = /Tests:\s+(?:(\d+) skipped, )?(\d+) passed, (\d+) total/.exec(out);
    expect(counts).not.toBeNull();
    expect(Number(counts[2])).toBeGreaterThan(300);
    // Skipped: only cases with no ONNX Runtime golden, and those target.js lists as unsupported on
    // cudnn (each skipped with its reason).
    const unsupported = Object.keys(UNSUPPORTED.cudnn).length;
    expect(Number(counts[1] || 0)).toBeLessThan(5 + unsupported);
    expect(r.status).toBe(0);
  }, 300000);

  test('a convolution that does not fit in device memory is an Error, not a crash', () => {
    const script = `
      const sk = require(${JSON.stringify(root)});
      const x = { data: new Float32Array(1 * 8 * 64 * 64), shape: [1, 8, 64, 64] };
      const w = { data: new Float32Array(8 * 8 * 3 * 3), shape: [8, 8, 3, 3] };
      try { sk.convSync(x, w, { padding: 1, backend: 'cudnn' }); console.log('no error'); }
      catch (e) { console.log('error: ' + e.message); }`;
    // 64 KiB of "device": the weights fit, the 128 KiB input does not.
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...env, STRIDEKIT_MOCK_CUDA_MEMORY: '65536' } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^error: .*out of GPU memory: the input needs 128\.0 KiB/m);
  });

  function defect(check) {
    const r = spawnSync(path.join(dir, 'mock_defects'), [plugin, check], { encoding: 'utf8', env });
    return { status: r.status, signal: r.signal, out: r.stdout + r.stderr };
  }

  test('the probe creates no CUDA context; the first plan does', () => {
    const r = defect('context');
    expect(r.out).not.toMatch(/FAIL/);
    expect(r.out).toMatch(/^ok context$/m);
    expect(r.status).toBe(0);
  });

  test("a plan's first run sees its weights and bias at fp32, tf32 and fp16 (the uploads landed first)", () => {
    const r = defect('weights');
    expect(r.out).not.toMatch(/FAIL/);
    expect(r.out).toMatch(/^fp16 first run: relative error [\d.e-]+$/m);
    expect(r.out).toMatch(/^ok weights$/m);
    expect(r.status).toBe(0);
  });

  test('fp32 runs with FMA math, tf32 with default math (TF32), fp16 with tensor-op math', () => {
    const r = defect('math');
    expect(r.out).not.toMatch(/FAIL/);
    expect(r.out).toMatch(/^ok math$/m);
    expect(r.status).toBe(0);
  });

  test('a workspace that fails to grow leaves the shapes measured before it inside the buffer', () => {
    const r = defect('workspace');
    // Before the fix the mock aborted: "cudnnConvolutionForward workspace: ... not inside one allocation".
    expect(r.out).not.toMatch(/not inside one allocation/);
    expect(r.out).not.toMatch(/FAIL/);
    expect(r.out).toMatch(/^ok workspace$/m);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
  });

  // What repeated calls cost, counted by the mock (STRIDEKIT_MOCK_CUDA_STATS prints its counts at exit).
  function stats(body) {
    const script = `
      const sk = require(${JSON.stringify(root)});
      const x = { data: new Float32Array(1 * 64 * 8 * 8).fill(0.5), shape: [1, 64, 8, 8] };
      ${body}
      console.log('done');`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...env, STRIDEKIT_MOCK_CUDA_STATS: '1' } });
    const count = (name) => Number((new RegExp(`${name} (\\d+)`).exec(r.stderr) || [])[1]);
    return { out: r.stdout + r.stderr, status: r.status, handles: count('cudnnCreate'), finds: count('cudnnFind'),
      mallocs: count('cudaMalloc'), frees: count('cudaFree') };
  }

  test('one-shot calls with small weights (at most 4096 values) reuse one plan: one handle, one measurement', () => {
    const r = stats(`const w = { data: new Float32Array(8 * 8 * 3 * 3).fill(0.01), shape: [8, 8, 3, 3] };
      const x8 = { data: new Float32Array(8 * 64).fill(0.5), shape: [1, 8, 8, 8] };
      for (let i = 0; i < 5; i++) sk.convSync(x8, w, { padding: 1, backend: 'cudnn' });`);
    expect(r.out).toMatch(/done/);
    expect(r.handles).toBe(1);
    expect(r.finds).toBe(1);
  });

  // Known costs the issue lists, kept as failing tests until they are fixed (jest's test.failing passes
  // while the expectation fails, and fails the run once the behaviour changes, so that it is updated).
  test.failing('KNOWN COST: one-shot calls with more than 4096 weights each create a handle and measure again', () => {
    const r = stats(`const w = { data: new Float32Array(8 * 64 * 3 * 3).fill(0.01), shape: [8, 64, 3, 3] };
      for (let i = 0; i < 5; i++) sk.convSync(x, w, { padding: 1, backend: 'cudnn' });`);
    expect(r.out).toMatch(/done/);
    expect(r.handles).toBeLessThanOrEqual(1);  // today: 5 (a whole plan per call: handle, stream, cudnnFind)
  });

  test.failing('KNOWN COST: every disposed DeviceTensor is a cudaFree (which synchronises the device)', () => {
    const r = stats(`const w = { data: new Float32Array(8 * 64 * 3 * 3).fill(0.01), shape: [8, 64, 3, 3] };
      const plan = sk.createConv({ weight: w, padding: 1, backend: 'cudnn' });
      for (let i = 0; i < 10; i++) {
        const dx = sk.upload(x, { backend: 'cudnn' });
        const dy = plan.runSync(dx);
        dx.dispose();
        dy.dispose();
      }
      plan.dispose();`);
    expect(r.out).toMatch(/done/);
    // A pool (or cudaFreeAsync on a stream) would free a few buffers, not one per tensor; today: 20 of them.
    expect(r.frees).toBeLessThan(10);
  });
});
