// The plugin loader, seen from outside: real shared libraries built from test/fixtures/plugins
// with the system C++ compiler, placed where STRIDEKIT_PLUGIN_PATH points, and the reasons each
// one produces in backends(). Each case runs in a child process because the registry is loaded once
// per process.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const fixtures = path.join(__dirname, 'fixtures', 'plugins');
// The host's ABI, read from the header both sides compile against, so the expectation follows a bump.
const hostAbi = Number(/#define SK_BACKEND_ABI_VERSION (\d+)u/.exec(
  fs.readFileSync(path.join(root, 'native', 'include', 'stridekit', 'backend.h'), 'utf8'))[1]);
const compiler = process.env.CXX || 'c++';
const haveCompiler = process.platform === 'linux' &&
  spawnSync(compiler, ['--version'], { encoding: 'utf8' }).status === 0;
const reasonSkipped = process.platform !== 'linux'
  ? `plugin fixtures are built as ELF shared objects; this is ${process.platform}`
  : `no C++ compiler (${compiler}) to build the fixture plugins`;

function buildPlugin(source, dir, backend, defines = []) {
  const out = path.join(dir, `libstridekit_${backend}.so`);
  const r = spawnSync(compiler, ['-shared', '-fPIC', '-O0', '-I', path.join(root, 'native', 'include'),
    ...defines.map((d) => `-D${d}`), '-o', out, path.join(fixtures, source)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building ${source} failed:\n${r.stderr}`);
  return out;
}

// A strided 1-D convolution the child computes on cpu next to whatever the plugins do, and its
// expected result: x = 1..8, w = [1, 2, 3], stride 2.
const probeConv = { x: [1, 2, 3, 4, 5, 6, 7, 8], w: [1, 2, 3], stride: 2 };
const probeConvExpected = [14, 26, 38];

/**
 * backends() in a child process whose STRIDEKIT_PLUGIN_PATH is `dir`, after which the child runs a
 * convolution on cpu, then tries one on openvino (the slot the broken fixtures occupy) and keeps
 * the error. The child must survive whatever the plugins are, and cpu must compute right.
 */
function backendsWith(dir) {
  const script = `
    const stridekit = require(${JSON.stringify(root)});
    const list = stridekit.backends();
    const c = ${JSON.stringify(probeConv)};
    const y = stridekit.convSync({ data: new Float32Array(c.x), shape: [1, 1, c.x.length] },
      { data: new Float32Array(c.w), shape: [1, 1, c.w.length] }, { stride: c.stride, backend: 'cpu' });
    let openvinoError = null;
    try {
      stridekit.convSync({ data: new Float32Array(c.x), shape: [1, 1, c.x.length] },
        { data: new Float32Array(c.w), shape: [1, 1, c.w.length] }, { stride: c.stride, backend: 'openvino' });
    } catch (error) {
      openvinoError = error.message;
    }
    process.stdout.write(JSON.stringify({ list, cpu: Array.from(y.data), openvinoError }));`;
  const r = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { ...process.env, STRIDEKIT_PLUGIN_PATH: dir, STRIDEKIT_BACKEND: '' },
  });
  if (r.status !== 0 || r.signal !== null) {
    throw new Error(`child failed (status ${r.status}, signal ${r.signal}):\n${r.stderr}`);
  }
  const { list, cpu, openvinoError } = JSON.parse(r.stdout);
  expect(cpu).toEqual(probeConvExpected);
  const byName = Object.fromEntries(list.map((b) => [b.name, b]));
  if (!byName.openvino.available) {
    const available = list.filter((b) => b.available).map((b) => b.name).join(', ');
    expect(openvinoError).toBe(`backend 'openvino' is not available: ${byName.openvino.reason} (requested by options.backend; available: ${available})`);
  }
  return byName;
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every plugin the loader must refuse without dying, as [file name, reason] for openvino. */
function expectRefused(dir, file, reason) {
  const openvino = backendsWith(dir).openvino;
  expect(openvino.available).toBe(false);
  if (reason instanceof RegExp) expect(openvino.reason).toMatch(reason);
  else expect(openvino.reason).toBe(reason);
  fs.rmSync(file, { recursive: true, force: true });
  return openvino.reason;
}

(haveCompiler ? describe : describe.skip)(
  haveCompiler ? 'plugin loader' : `plugin loader: skipped (${reasonSkipped})`, () => {
    let dir;
    beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-plugins-')); });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    test('a plugin whose probe finds no device is unavailable with its own reason', () => {
      const file = buildPlugin('no_device.cc', dir, 'cudnn');
      const cudnn = backendsWith(dir).cudnn;
      expect(cudnn.available).toBe(false);
      expect(cudnn.reason).toBe('no CUDA device (fixture)');
      fs.rmSync(file);
    });

    test('a plugin built for another ABI version is refused, naming the file and both versions', () => {
      const file = buildPlugin('abi_mismatch.cc', dir, 'openvino');
      const openvino = backendsWith(dir).openvino;
      expect(openvino.available).toBe(false);
      expect(openvino.reason).toBe(`ABI mismatch: ${file} has ABI ${hostAbi + 1}, the core has ABI ${hostAbi}`);
      fs.rmSync(file);
    });

    test('a library without the entry symbol is refused', () => {
      const file = buildPlugin('no_entry.cc', dir, 'openvino');
      const openvino = backendsWith(dir).openvino;
      expect(openvino.available).toBe(false);
      expect(openvino.reason).toBe(`${file} does not export stridekit_backend_entry`);
      fs.rmSync(file);
    });

    test('a file that is not a shared library is refused before dlopen, showing how it starts', () => {
      const file = path.join(dir, 'libstridekit_openvino.so');
      fs.writeFileSync(file, 'not an ELF file');
      expectRefused(dir, file,
        `${file} is not a shared library (no ELF header: it starts with 'not an ELF file'): reinstall or rebuild it`);
      fs.writeFileSync(file, Buffer.from([0, 0x13, 0xa7, 0x22, 0, 0, 0, 0]));
      expectRefused(dir, file,
        `${file} is not a shared library (no ELF header: it starts with 0x00 0x13 0xa7 0x22): reinstall or rebuild it`);
      fs.writeFileSync(file, '<!DOCTYPE html><html><body>502 Bad Gateway</body></html>');
      expectRefused(dir, file,
        `${file} is not a shared library (no ELF header: it starts with '<!DOCTYPE html><html><bo...'): reinstall or rebuild it`);
    });

    test('an empty file and a directory named like the plugin are refused', () => {
      const file = path.join(dir, 'libstridekit_openvino.so');
      fs.writeFileSync(file, '');
      expectRefused(dir, file, `${file} is empty (0 bytes): reinstall or rebuild it`);
      fs.mkdirSync(file);
      expectRefused(dir, file, `${file} is a directory, not a shared library: remove or rename it`);
    });

    test('a truncated plugin (a partial download, a copy onto a full disk) is refused, not a SIGBUS', () => {
      const whole = fs.readFileSync(buildPlugin('host_device.cc', dir, 'openvino'));
      const file = path.join(dir, 'libstridekit_openvino.so');
      const reasons = [];
      for (const length of [3, 10, 40, 64, 500, 1000, 4096, Math.floor(whole.length / 2), whole.length - 1]) {
        fs.writeFileSync(file, whole.subarray(0, length));
        reasons.push(expectRefused(dir, file, new RegExp(`^${escape(file)} (is truncated or corrupt \\(${length} bytes, its (ELF header needs 64|program headers need \\d+|section headers need ${whole.length}) bytes\\)|is not a shared library \\(no ELF header: it starts with 0x7f 0x45 0x4c\\)): reinstall or rebuild it$`)));
      }
      // 3 bytes cannot be told from any other file; from 10 bytes on the ELF header says what is missing.
      expect(reasons[0]).toMatch(/no ELF header/);
      expect(reasons[1]).toMatch(/its ELF header needs 64 bytes/);
      expect(reasons.slice(5).every((r) => r.includes(`its section headers need ${whole.length} bytes`))).toBe(true);
    });

    test('a truncated plugin without section headers is measured by its segments', () => {
      // What sstrip-like tools leave: e_shoff, e_shnum and e_shstrndx zeroed; only the program
      // headers say how long the file is.
      const whole = Buffer.from(fs.readFileSync(buildPlugin('host_device.cc', dir, 'openvino')));
      whole.writeBigUInt64LE(0n, 40);
      whole.writeUInt16LE(0, 60);
      whole.writeUInt16LE(0, 62);
      const file = path.join(dir, 'libstridekit_openvino.so');
      fs.writeFileSync(file, whole.subarray(0, 6000));
      expectRefused(dir, file,
        new RegExp(`^${escape(file)} is truncated or corrupt \\(6000 bytes, its program headers need \\d+ bytes\\): reinstall or rebuild it$`));
    });

    test('an ELF file for another class, machine or type is refused with what it is', () => {
      const whole = fs.readFileSync(buildPlugin('host_device.cc', dir, 'openvino'));
      const file = path.join(dir, 'libstridekit_openvino.so');
      const patched = (patch) => { const b = Buffer.from(whole); patch(b); fs.writeFileSync(file, b); };
      patched((b) => { b[4] = 1; });
      expectRefused(dir, file, `${file} is a 32-bit library, but this process is 64-bit: install the plugin built for this platform`);
      patched((b) => { b[5] = 2; });
      expectRefused(dir, file, `${file} is a big-endian library, but this process is little-endian: install the plugin built for this platform`);
      patched((b) => { b.writeUInt16LE(2, 16); });
      expectRefused(dir, file, `${file} is an executable, not a shared library: reinstall or rebuild it`);
      const [other, otherName, hostName] = process.arch === 'arm64' ? [62, 'x86-64', 'AArch64 (arm64)'] : [183, 'AArch64 (arm64)', 'x86-64'];
      patched((b) => { b.writeUInt16LE(other, 18); });
      expectRefused(dir, file, `${file} is built for ${otherName}, but this process runs on ${hostName}: install the plugin built for this platform`);
    });

    test('an entry symbol that is data, not a function, is refused instead of called', () => {
      const file = buildPlugin('data_entry.cc', dir, 'openvino');
      expectRefused(dir, file, `${file} exports stridekit_backend_entry, but it is a data object (STT_OBJECT), not a function: the file is not a stridekit plugin, or is corrupt`);
    });

    describe('a backend table the core cannot call through is refused before its probe', () => {
      const required = 'probe, plan_create, plan_run and plan_destroy are required';
      // sk_backend on a 64-bit build: two uint32s, then the name and nine function pointers; the
      // short_struct fixture's struct_size stops before the five device-buffer entries.
      const fullTable = 8 + 10 * 8;
      const shortTable = fullTable - 5 * 8;
      test.each([
        ['null_probe', (f) => `${f} leaves probe NULL in its backend table (${required}): rebuild the plugin`],
        ['null_plan_create', (f) => `${f} leaves plan_create NULL in its backend table (${required}): rebuild the plugin`],
        ['null_plan_run', (f) => `${f} leaves plan_run NULL in its backend table (${required}): rebuild the plugin`],
        ['null_plan_destroy', (f) => `${f} leaves plan_destroy NULL in its backend table (${required}): rebuild the plugin`],
        ['short_struct', (f) => `${f} has a backend table of ${shortTable} bytes (struct_size), the core needs ${fullTable} for ABI ${hostAbi}: rebuild the plugin`],
        ['null_name', (f) => `${f} has no name in its backend table (name is NULL): rebuild the plugin`],
        ['wrong_name', (f) => `${f} is the 'cudnn' backend, not 'openvino': it is installed under the wrong name`],
        ['null_table', (f) => `${f} refused to load: its entry point returned no backend table`],
      ])('%s', (fault, reason) => {
        const file = buildPlugin('broken_table.cc', dir, 'openvino', [`FAULT=${fault}`, 'BACKEND=openvino']);
        expectRefused(dir, file, reason(file));
      });

      test('a larger struct_size (a plugin from a newer header) is accepted; the core reads what it knows', () => {
        const file = buildPlugin('broken_table.cc', dir, 'openvino', ['FAULT=long_struct', 'BACKEND=openvino']);
        const openvino = backendsWith(dir).openvino;
        expect(openvino).toMatchObject({ available: true, device: 'fixture device (long_struct)' });
        fs.rmSync(file);
      });
    });

    test('a broken plugin beside the core (not on STRIDEKIT_PLUGIN_PATH) is refused too', () => {
      // A copy of the core in a folder of its own, so the package's folders are left alone.
      const core = path.join(dir, 'core');
      fs.mkdirSync(core);
      const { bindingPath } = require(path.join(root, 'dist', 'loader.js'));
      fs.copyFileSync(bindingPath(), path.join(core, 'stridekit.node'));
      const plugin = path.join(core, 'libstridekit_openvino.so');
      fs.writeFileSync(plugin, fs.readFileSync(buildPlugin('host_device.cc', dir, 'cudnn')).subarray(0, 1000));
      fs.rmSync(path.join(dir, 'libstridekit_cudnn.so'));
      const script = `process.stdout.write(JSON.stringify(require(${JSON.stringify(path.join(core, 'stridekit.node'))}).backends(['openvino', 'cpu'])))`;
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, STRIDEKIT_PLUGIN_PATH: '', STRIDEKIT_BACKEND: '' } });
      expect([r.status, r.signal]).toEqual([0, null]);
      const list = Object.fromEntries(JSON.parse(r.stdout).map((b) => [b.name, b]));
      expect(list.openvino.reason).toMatch(new RegExp(`^${escape(plugin)} is truncated or corrupt \\(1000 bytes, its section headers need \\d+ bytes\\): reinstall or rebuild it$`));
      expect(list.cpu.available).toBe(true);
      fs.rmSync(core, { recursive: true, force: true });
    });

    test('cpu stays available whatever the plugins do', () => {
      fs.writeFileSync(path.join(dir, 'libstridekit_cudnn.so'), 'garbage');
      fs.writeFileSync(path.join(dir, 'libstridekit_coreml.so'), '');
      buildPlugin('broken_table.cc', dir, 'openvino', ['FAULT=null_plan_run', 'BACKEND=openvino']);
      const all = backendsWith(dir);
      expect(all.cpu.available).toBe(true);
      expect(all.cudnn.available).toBe(false);
      expect(all.coreml.available).toBe(false);
      expect(all.openvino.available).toBe(false);
    });
  });

// The vendor plugin as `npm run build` makes it, cut short: the case users meet.
const realPlugin = ['build/plugins/out', 'build/Release', `prebuilds/${process.platform}-${process.arch}`]
  .map((d) => path.join(root, d, 'libstridekit_openvino.so')).find((f) => fs.existsSync(f));
const realSkipped = process.platform !== 'linux' ? `the check of ELF files runs on Linux; this is ${process.platform}`
  : 'no built libstridekit_openvino.so in build/plugins/out, build/Release or prebuilds/ (run `npm run build`)';
if (realPlugin === undefined) console.log(`plugin loader: truncated real plugin skipped: ${realSkipped}`);
(realPlugin !== undefined && process.platform === 'linux' ? describe : describe.skip)(
  realPlugin !== undefined ? 'plugin loader, real plugin' : `plugin loader, real plugin: skipped (${realSkipped})`, () => {
    test('a truncated copy of the built OpenVINO plugin is reported, not fatal', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-real-'));
      try {
        const whole = fs.readFileSync(realPlugin);
        const file = path.join(dir, 'libstridekit_openvino.so');
        for (const length of [1000, Math.floor(whole.length / 2), whole.length - 100]) {
          fs.writeFileSync(file, whole.subarray(0, length));
          const openvino = backendsWith(dir).openvino;
          expect(openvino.available).toBe(false);
          expect(openvino.reason).toBe(`${file} is truncated or corrupt (${length} bytes, its section headers need ${whole.length} bytes): reinstall or rebuild it`);
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
