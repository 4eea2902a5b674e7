// How the vendor plugins find their runtimes on a user's machine (native/plugin_stub/runtime_search.h,
// README "Backends", CONTRIBUTING.md "Vendor plugins"): through the active Python environment or a STRIDEKIT_*_DIR variable, with no
// LD_LIBRARY_PATH and no path into this checkout in the plugin files, and, when nothing is there, a reason
// that says where they looked and the one command that installs the runtime. Each case runs backends() in
// a child process with an environment built from nothing, since the registry loads once per process.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const release = path.join(root, 'build', 'Release');

const { sitePackagesDir } = require('../scripts/checkout-runtimes');

// The pins a user is told to install: those of the project's own setup scripts.
function pin(script, variable) {
  const text = fs.readFileSync(path.join(root, 'scripts', script), 'utf8');
  return new RegExp(`^${variable}="\\$\\{[A-Z_]+:-([0-9.]+)\\}"`, 'm').exec(text)[1];
}

let tmp;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-runtime-search-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// A folder with node alone in it: a PATH without python3.
function pathWithoutPython() {
  const bin = path.join(tmp, 'bin');
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  }
  return bin;
}

/** backends() of a child whose whole environment is `env` (PATH and HOME default to a bare system's). */
function backendsWith(env) {
  const script = `const sk = require(${JSON.stringify(root)});
    console.log(JSON.stringify(sk.backends()));`;
  const full = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: path.join(tmp, 'home'), ...env };
  for (const key of Object.keys(full)) if (full[key] === undefined) delete full[key];
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: full });
  if (r.status !== 0) throw new Error(`child failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return Object.fromEntries(JSON.parse(r.stdout.trim().split('\n').pop()).map((b) => [b.name, b]));
}

function skipReasonFor(plugin, venv, sub, setup) {
  if (process.platform !== 'linux') return `the loader stub is Linux's; this is ${process.platform}`;
  if (!fs.existsSync(path.join(release, `libstridekit_${plugin}.so`))) return `libstridekit_${plugin}.so was not built (npm run ${setup} && npm run build)`;
  if (!sitePackagesDir(venv, sub)) return `no ${venv}/ (npm run ${setup})`;
  return null;
}

const openvinoSkip = skipReasonFor('openvino', '.venv-openvino', 'openvino/libs', 'setup:openvino');
const cudnnSkip = skipReasonFor('cudnn', '.venv-cuda', 'nvidia/cudnn/lib', 'setup:cuda');
for (const [what, reason] of [['openvino', openvinoSkip], ['cudnn', cudnnSkip]]) {
  if (reason) console.log(`stridekit tests skipped: ${what} runtime search: ${reason}`); // eslint-disable-line no-console
}

(openvinoSkip ? describe.skip : describe)(openvinoSkip ? `openvino runtime search — skipped: ${openvinoSkip}` : 'openvino runtime search', () => {
  test('found through VIRTUAL_ENV alone: an active virtual environment with the openvino wheel', () => {
    const b = backendsWith({ VIRTUAL_ENV: path.join(root, '.venv-openvino') });
    expect(b.openvino.reason || '').toBe('');
    expect(b.openvino.available).toBe(true);
  });

  const systemPython = fs.existsSync('/usr/bin/python3');
  (systemPython ? test : test.skip)(`with the system python3 (/usr/bin) on PATH, /usr/local's packages are searched too (Debian's pip target)${systemPython ? '' : ' — skipped: no /usr/bin/python3'}`, () => {
    const empty = fs.mkdtempSync(path.join(tmp, 'venv-'));
    const b = backendsWith({ VIRTUAL_ENV: empty, PATH: '/usr/bin:/bin' });
    if (b.openvino.available) return; // this machine has openvino there: found, which is the point
    expect(b.openvino.reason).toContain('/usr (python3 on PATH)');
    expect(b.openvino.reason).toContain('/usr/local (where pip installs for the system python3 on Debian and Ubuntu)');
  });

  test('found through the python3 on PATH: a virtual environment whose bin/ is on PATH', () => {
    const b = backendsWith({ PATH: `${path.join(root, '.venv-openvino', 'bin')}:/usr/bin:/bin` });
    expect(b.openvino.available).toBe(true);
  });

  test('found through STRIDEKIT_OPENVINO_DIR, its folder or the wheel\'s package folder above it', () => {
    const libs = sitePackagesDir('.venv-openvino', 'openvino/libs');
    expect(backendsWith({ STRIDEKIT_OPENVINO_DIR: libs }).openvino.available).toBe(true);
    expect(backendsWith({ STRIDEKIT_OPENVINO_DIR: path.dirname(libs) }).openvino.available).toBe(true);
  });

  test('not found: the reason gives the pip command first, then every place searched', () => {
    const empty = fs.mkdtempSync(path.join(tmp, 'venv-'));
    const b = backendsWith({ VIRTUAL_ENV: empty, PATH: pathWithoutPython() });
    expect(b.openvino.available).toBe(false);
    const version = pin('setup-openvino.sh', 'version');
    expect(b.openvino.reason).toContain(`not found (libopenvino_c.so.`);
    expect(b.openvino.reason).toContain(`run \`pip install openvino==${version}\` in the active Python environment, or set STRIDEKIT_OPENVINO_DIR`);
    expect(b.openvino.reason).toContain(`$VIRTUAL_ENV=${empty}`);
    expect(b.openvino.reason).toContain('no python3 on PATH');
    expect(b.openvino.reason).toContain('lib/python3*/site-packages/openvino/libs');
    expect(b.openvino.reason).toContain('/opt/intel/openvino');
    expect(b.openvino.reason).toContain("the loader's path (LD_LIBRARY_PATH, ld.so.cache)");
    expect(b.cpu.available).toBe(true);
  });

  test('a STRIDEKIT_OPENVINO_DIR that is set is that folder or nothing, whatever the environment has', () => {
    const empty = fs.mkdtempSync(path.join(tmp, 'openvino-'));
    const b = backendsWith({ STRIDEKIT_OPENVINO_DIR: empty, VIRTUAL_ENV: path.join(root, '.venv-openvino') });
    expect(b.openvino.available).toBe(false);
    expect(b.openvino.reason).toMatch(new RegExp(`searched: STRIDEKIT_OPENVINO_DIR=${empty.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  });

  test('a stub whose implementation is missing is an unavailable backend with the reason', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'plugins-'));
    fs.copyFileSync(path.join(release, 'libstridekit_openvino.so'), path.join(dir, 'libstridekit_openvino.so'));
    const b = backendsWith({ VIRTUAL_ENV: path.join(root, '.venv-openvino'), STRIDEKIT_PLUGIN_PATH: dir });
    expect(b.openvino.available).toBe(false);
    expect(b.openvino.reason).toContain(`cannot load ${dir}/libstridekit_openvino_impl.so: `);
    expect(b.cpu.available).toBe(true);
  });
});

(cudnnSkip ? describe.skip : describe)(cudnnSkip ? `cudnn runtime search — skipped: ${cudnnSkip}` : 'cudnn runtime search', () => {
  // With the libraries found, what is left is the machine: a GPU machine has the backend available.
  const MACHINE = /^(no CUDA driver \(libcuda\.so\.1 not found\)|no CUDA device|driver too old|CUDA runtime cannot list devices)/;

  test('found through VIRTUAL_ENV alone (the NVIDIA wheels): the reason is the driver, not a library', () => {
    const b = backendsWith({ VIRTUAL_ENV: path.join(root, '.venv-cuda') });
    if (!b.cudnn.available) expect(b.cudnn.reason).toMatch(MACHINE);
  });

  test('found through CONDA_PREFIX, and through STRIDEKIT_CUDA_DIR and STRIDEKIT_CUDNN_DIR', () => {
    const conda = backendsWith({ CONDA_PREFIX: path.join(root, '.venv-cuda') });
    if (!conda.cudnn.available) expect(conda.cudnn.reason).toMatch(MACHINE);
    const named = backendsWith({
      STRIDEKIT_CUDA_DIR: sitePackagesDir('.venv-cuda', 'nvidia/cu13/lib'),
      STRIDEKIT_CUDNN_DIR: sitePackagesDir('.venv-cuda', 'nvidia/cudnn'), // its lib/ is a usual subfolder
    });
    if (!named.cudnn.available) expect(named.cudnn.reason).toMatch(MACHINE);
  });

  test('not found: the reason gives the pip command for the pinned wheels and the places searched', () => {
    const empty = fs.mkdtempSync(path.join(tmp, 'venv-'));
    const b = backendsWith({ VIRTUAL_ENV: empty, PATH: pathWithoutPython() });
    expect(b.cudnn.available).toBe(false);
    const wheels = `nvidia-cuda-runtime==${pin('setup-cuda.sh', 'runtime_version')} nvidia-cudnn-cu13==${pin('setup-cuda.sh', 'cudnn_version')}`;
    expect(b.cudnn.reason).toContain(`not found (libcudart.so.`);
    expect(b.cudnn.reason).toContain(`run \`pip install ${wheels}\` in the active Python environment, or set STRIDEKIT_CUDA_DIR`);
    expect(b.cudnn.reason).toContain(`$VIRTUAL_ENV=${empty}`);
    expect(b.cudnn.reason).toContain('nvidia/cu13/lib');
    expect(b.cudnn.reason).toContain('/usr/local/cuda/lib64');
  });

  test('the CUDA runtime found, cuDNN not: the reason names cuDNN and its variable', () => {
    const empty = fs.mkdtempSync(path.join(tmp, 'cudnn-'));
    const b = backendsWith({ VIRTUAL_ENV: path.join(root, '.venv-cuda'), STRIDEKIT_CUDNN_DIR: empty });
    expect(b.cudnn.available).toBe(false);
    expect(b.cudnn.reason).toMatch(/^cuDNN 9 not found \(libcudnn\.so\.9\): run `pip install .*nvidia-cudnn-cu13==/);
    expect(b.cudnn.reason).toContain(`searched: STRIDEKIT_CUDNN_DIR=${empty}`);
  });
});

const built = process.platform === 'linux' && fs.existsSync(release)
  ? fs.readdirSync(release).filter((name) => /^libstridekit_.*\.so$/.test(name)) : [];
const readelf = spawnSync('readelf', ['--version']).status === 0;
const elfSkip = !built.length ? 'no plugin built here' : !readelf ? 'no readelf (binutils)' : null;
if (elfSkip) console.log(`stridekit tests skipped: plugin RUNPATHs: ${elfSkip}`); // eslint-disable-line no-console

(elfSkip ? test.skip : test)(`the built plugins carry no RUNPATH into the checkout, and the stubs no vendor library${elfSkip ? ` — skipped: ${elfSkip}` : ''}`, () => {
  for (const name of built) {
    const dynamic = spawnSync('readelf', ['-d', path.join(release, name)], { encoding: 'utf8' }).stdout;
    const paths = [...dynamic.matchAll(/\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[(.*)\]/g)].map((m) => m[1]);
    for (const entry of paths.join(':').split(':').filter(Boolean)) {
      // A RUNPATH entry not relative to $ORIGIN is a folder of the build machine.
      expect({ [name]: entry }).not.toEqual({ [name]: expect.stringMatching(/\.venv-|^[^$]/) });
    }
    if (/_impl\.so$/.test(name) || !fs.existsSync(path.join(release, name.replace(/\.so$/, '_impl.so')))) continue;
    const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[(.*)\]/g)].map((m) => m[1]);
    expect({ [name]: needed.filter((lib) => /openvino|cudnn|cudart|tbb/.test(lib)) }).toEqual({ [name]: [] });
  }
});
