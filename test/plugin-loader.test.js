// The plugin loader, seen from outside: real shared libraries built from test/fixtures/plugins
// with the system C++ compiler, placed where STRIDEKIT_PLUGIN_PATH points, and the reasons each
// one produces in backends(). Each case runs in a child process because the registry is loaded once
// per process.
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

function buildPlugin(source, dir, backend) {
  const out = path.join(dir, `libstridekit_${backend}.so`);
  const r = spawnSync(compiler, ['-shared', '-fPIC', '-O0', '-I', path.join(root, 'native', 'include'),
    '-o', out, path.join(fixtures, source)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building ${source} failed:\n${r.stderr}`);
  return out;
}

function backendsWith(dir) {
  const script = `process.stdout.write(JSON.stringify(require(${JSON.stringify(root)}).backends()))`;
  const r = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { ...process.env, STRIDEKIT_PLUGIN_PATH: dir, STRIDEKIT_BACKEND: '' },
  });
  if (r.status !== 0) throw new Error(`child failed:\n${r.stderr}`);
  return Object.fromEntries(JSON.parse(r.stdout).map((b) => [b.name, b]));
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

    test('a file that is not a shared library gives the dynamic loader\'s own message', () => {
      const file = path.join(dir, 'libstridekit_openvino.so');
      fs.writeFileSync(file, 'not an ELF file');
      const openvino = backendsWith(dir).openvino;
      expect(openvino.available).toBe(false);
      expect(openvino.reason).toMatch(new RegExp(`^cannot load ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*(invalid ELF header|file too short)`));
      fs.rmSync(file);
    });

    test('cpu stays available whatever the plugins do', () => {
      fs.writeFileSync(path.join(dir, 'libstridekit_cudnn.so'), 'garbage');
      const all = backendsWith(dir);
      expect(all.cpu.available).toBe(true);
      expect(all.cudnn.available).toBe(false);
    });
  });
