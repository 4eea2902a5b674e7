// The built cudnn plugin, seen through its C ABI from a small harness (test/fixtures/cudnn/plugin_probe.cc)
// that opens it as the core's loader does: its table is complete (the five device-buffer entries
// included), its probe gives a reason a user can act on, and every entry fails cleanly, with a
// "cudnn: ..." message, when there is no usable GPU. Runs in child processes so that a fake driver can be
// put in front of the real one. Skipped, with the reason printed, where the plugin was not built.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const plugin = path.join(root, 'build', 'Release', 'libstridekit_cudnn.so');
const compiler = process.env.CXX || 'c++';
let skipReason = null;
if (process.platform !== 'linux') skipReason = `the harness is Linux-only; this is ${process.platform}`;
else if (!fs.existsSync(plugin)) skipReason = `${path.relative(root, plugin)} was not built (npm run setup:cuda && npm run build)`;
else if (spawnSync(compiler, ['--version']).status !== 0) skipReason = `no C++ compiler (${compiler})`;
if (skipReason) console.log(`stridekit tests skipped: cudnn plugin ABI: ${skipReason}`); // eslint-disable-line no-console

(skipReason ? describe.skip : describe)(skipReason ? `cudnn plugin ABI — skipped: ${skipReason}` : 'cudnn plugin ABI', () => {
  let dir;
  let harness;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-cudnn-plugin-'));
    harness = path.join(dir, 'plugin_probe');
    const r = spawnSync(compiler, ['-std=c++17', '-Wall', '-Wextra', '-Werror', '-I', path.join(root, 'native', 'include'),
      path.join(root, 'test', 'fixtures', 'cudnn', 'plugin_probe.cc'), '-o', harness, '-ldl'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`building the harness failed:\n${r.stderr}`);
  }, 60000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function probe(env = {}) {
    const r = spawnSync(harness, [plugin], { encoding: 'utf8', env: { ...process.env, ...env } });
    const field = (name) => (new RegExp(`^${name} (.*)$`, 'm').exec(r.stdout) || [])[1];
    return { status: r.status, out: r.stdout + r.stderr, available: field('available'), reason: field('reason'), device: field('device') };
  }

  test('the table is complete, the probe answers and every error path returns a status and a message', () => {
    const r = probe();
    expect(r.out).not.toMatch(/FAIL/);
    expect(r.status).toBe(0);
    if (r.available === '1') {
      expect(r.device).toMatch(/\(cuda:\d+, compute \d+\.\d+, [\d.]+ GiB\), cuDNN 9\.\d+\.\d+, CUDA runtime \d+\.\d+, driver \d+\.\d+$/);
    } else {
      expect(r.reason).toMatch(/^(no CUDA driver \(libcuda\.so\.1 not found\)|no CUDA device|driver too old|CUDA runtime cannot list devices|STRIDEKIT_CUDA_DEVICE|cuDNN )/);
      expect(r.out).toMatch(/checked 9 error paths/);
    }
  });

  test('a libcuda.so.1 that is not a working driver is reported, not crashed on', () => {
    const fake = path.join(dir, 'fake-driver');
    fs.mkdirSync(fake, { recursive: true });
    const source = path.join(fake, 'fake.cc');
    fs.writeFileSync(source, 'extern "C" { int stridekit_not_a_cuda_driver = 1; }\n');
    const built = spawnSync(compiler, ['-shared', '-fPIC', '-o', path.join(fake, 'libcuda.so.1'), source], { encoding: 'utf8' });
    expect(built.status).toBe(0);
    const r = probe({ LD_LIBRARY_PATH: fake });
    expect(r.out).not.toMatch(/FAIL/);
    expect(r.available).toBe('0');
    // The stub has none of the driver's entry points: the CUDA runtime calls it insufficient.
    expect(r.reason).toMatch(/^driver too old or broken: libcuda\.so\.1 reports no CUDA version, this plugin's CUDA runtime is \d+\.\d+$/);
  });

  test('STRIDEKIT_CUDA_DEVICE that is not an ordinal is a reason, never a crash', () => {
    const r = probe({ STRIDEKIT_CUDA_DEVICE: 'first' });
    expect(r.out).not.toMatch(/FAIL/);
    expect(r.available).toBe('0');
    expect(r.reason).toBe("STRIDEKIT_CUDA_DEVICE must be a device ordinal (0, 1, ...), got 'first'");
  });
});
