'use strict';
// The prebuilt vendor plugins of `npm run prebuild:all` (scripts/prebuild-all.js builds them with Zig from
// CMakeLists.txt), in prebuilds/linux-x64/ and prebuilds/linux-arm64/ next to the prebuilt core:
//  - each file, the loader stub libstridekit_<name>.so and its libstridekit_<name>_impl.so, is for its
//    target's processor, asks for nothing newer than GLIBC_2.28, carries no RUNPATH or RPATH and is
//    stripped; the stub needs the C runtime alone and the implementation its vendor's sonames besides
//    (no libstdc++, libc++ or libgcc_s: Zig links libc++ into each file);
//  - the plugins prebuild:all reported built are all there, and no other plugin file is (`npm run
//    build` copies its own, built with this machine's g++, into prebuilds/linux-x64/ first);
//  - linux-x64: a package laid out as installed, with only prebuilds/linux-x64/, loads each plugin in a
//    child node: with the pinned NVIDIA wheels in the active virtual environment, cudnn's reason is the
//    machine (no driver here), which means the implementation loaded with every symbol bound (the stub
//    opens it RTLD_NOW), and a backend that is available (openvino with its wheel) runs a convolution;
//    with nothing found, the reason gives the pip command;
//  - linux-arm64: the same package under qemu-user with the official Node.js for arm64: each stub loads
//    and, with no runtime found, gives its not-found reason.
// A check whose files or tools are missing is skipped with its reason.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { readElf, glibcAbove, EM_X86_64, EM_AARCH64 } = require('./helpers/elf');
const { arm64Node } = require('./helpers/qemu-arm64');
const { sitePackagesDir } = require('../scripts/checkout-runtimes');

const root = path.join(__dirname, '..');
const pkg = require(path.join(root, 'package.json'));
const MAX_GLIBC = [2, 28];
const LINUX = { 'linux-x64': EM_X86_64, 'linux-arm64': EM_AARCH64 };
// The C runtime's own libraries, which a file may need besides its vendor's.
const C_RUNTIME = /^(libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|ld-linux-x86-64\.so\.2|ld-linux-aarch64\.so\.1)$/;

// The pins a user is told to install: those of the project's own setup scripts.
function pin(script, variable) {
  const text = fs.readFileSync(path.join(root, 'scripts', script), 'utf8');
  return new RegExp(`^${variable}="\\$\\{[A-Z_]+:-([0-9.]+)\\}"`, 'm').exec(text)[1];
}
const openvinoVersion = pin('setup-openvino.sh', 'version');
const [ovYear, ovMinor, ovPatch] = openvinoVersion.split('.').map(Number);
const CUDA_WHEELS = `nvidia-cuda-runtime==${pin('setup-cuda.sh', 'runtime_version')} nvidia-cudnn-cu13==${pin('setup-cuda.sh', 'cudnn_version')}`;

// Per plugin: the vendor sonames its implementation needs, the environment with its runtime here, and
// the command its not-found reason gives.
const PLUGINS = {
  cudnn: {
    needed: ['libcudart.so.13', 'libcudnn.so.9'],
    venv: ['.venv-cuda', 'nvidia/cudnn/lib'],
    install: `pip install ${CUDA_WHEELS}`,
  },
  openvino: {
    // OpenVINO's C API; the soname carries the release: libopenvino_c.so.2530 for 2025.3.0.
    needed: [`libopenvino_c.so.${ovYear % 100}${ovMinor}${ovPatch}`],
    venv: ['.venv-openvino', 'openvino/libs'],
    install: `pip install openvino==${openvinoVersion}`,
  },
};
// With the libraries found, what is left is the machine: a GPU machine has the backend available.
const CUDNN_MACHINE = /^(no CUDA driver \(libcuda\.so\.1 not found\)|no CUDA device|driver too old|CUDA runtime cannot list devices)/;

function skipWith(title, reason) {
  console.log(`stridekit tests skipped: ${title}: ${reason}`); // eslint-disable-line no-console
  test.skip(`${title} — skipped: ${reason}`, () => {});
}

const prebuildDir = (tuple) => path.join(root, 'prebuilds', tuple);
/** The plugins in a prebuilds folder: the names of its libstridekit_<name>.so files. */
function pluginsIn(tuple) {
  const dir = prebuildDir(tuple);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).map((f) => /^libstridekit_(\w+)\.so$/.exec(f)).filter((m) => m && !m[1].endsWith('_impl'))
    .map((m) => m[1]).sort();
}
/** What prebuild:all last reported for a target (build/prebuild/<tuple>/plugins.json), or null. */
function reported(tuple) {
  const file = path.join(root, 'build', 'prebuild', tuple, 'plugins.json');
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : null;
}
// `npm run build` after prebuild:all puts its own plugins back into this platform's folder.
function sourceBuildCopy(tuple, file) {
  const local = path.join(root, 'build', 'Release', file);
  const shipped = path.join(prebuildDir(tuple), file);
  return fs.existsSync(local) && fs.readFileSync(local).equals(fs.readFileSync(shipped));
}
const SOURCE_COPY = 'is `npm run build`\'s own (g++) copy: run `npm run prebuild:all` after `npm run build`';

describe.each(Object.keys(LINUX))('%s prebuilt plugins: files', (tuple) => {
  const plugins = pluginsIn(tuple);
  const report = reported(tuple);
  if (!plugins.length && !report) {
    skipWith(`${tuple} plugins`, `none in prebuilds/${tuple}/ (run \`npm run setup:zig && npm run prebuild:all -- ${tuple}\`)`);
    return;
  }
  const copied = plugins.find((name) => sourceBuildCopy(tuple, `libstridekit_${name}.so`));
  if (copied) {
    skipWith(`${tuple} plugins`, `prebuilds/${tuple}/libstridekit_${copied}.so ${SOURCE_COPY}`);
    return;
  }

  if (!report) {
    skipWith(`${tuple}: the plugins prebuild:all reported built are there`, `no build/prebuild/${tuple}/plugins.json (\`npm run build\` deletes build/)`);
  } else {
    test(`${tuple}: the plugins prebuild:all reported built are there, and no other (${Object.keys(report.built).join(', ') || 'none'})`, () => {
      expect(plugins).toEqual(Object.keys(report.built).sort());
      for (const [name, { files }] of Object.entries(report.built)) {
        for (const file of files) expect(fs.existsSync(path.join(prebuildDir(tuple), file))).toBe(true);
        // CMakeLists.txt took the sonames from the libraries found; this file says what they must be.
        if (PLUGINS[name]) expect([...report.built[name].needed].sort()).toEqual(PLUGINS[name].needed);
      }
      for (const [name, reason] of Object.entries(report.skipped)) {
        console.log(`stridekit: ${tuple}: the ${name} plugin is not prebuilt: ${reason}`); // eslint-disable-line no-console
      }
    });
    // A plugin whose SDK the configure found must have built and passed the symbol check: one left out
    // for a compiler error would otherwise ship silently missing from the package.
    test(`${tuple}: no plugin whose SDK is here failed to build`, () => {
      expect(report.failed || {}).toEqual({});
    });
  }

  for (const name of plugins) {
    test(`${tuple}: ${name}: the stub and its implementation: machine, GLIBC_2.28 at most, DT_NEEDED, no RUNPATH, stripped`, () => {
      expect(Object.keys(PLUGINS)).toContain(name); // a new plugin says here what it needs
      for (const [file, vendor] of [[`libstridekit_${name}.so`, []], [`libstridekit_${name}_impl.so`, PLUGINS[name].needed]]) {
        const elf = readElf(path.join(prebuildDir(tuple), file));
        const got = { file, machine: elf.machine, runpath: elf.runpath, stripped: elf.stripped };
        expect(got).toEqual({ file, machine: LINUX[tuple], runpath: [], stripped: true });
        expect(elf.versions.some((v) => v.name.startsWith('GLIBC_'))).toBe(true);
        expect({ file, tooNew: glibcAbove(elf, MAX_GLIBC) }).toEqual({ file, tooNew: [] });
        expect({ file, needed: elf.needed.filter((lib) => !C_RUNTIME.test(lib)).sort() }).toEqual({ file, needed: vendor });
      }
    });
  }
});

/** A folder laid out as an installed package whose only native files are prebuilds/<tuple>/. */
function packageWith(tuple) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `stridekit-plugins-${tuple}-`));
  fs.copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
  fs.cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true });
  fs.cpSync(prebuildDir(tuple), path.join(dir, 'prebuilds', tuple), { recursive: true });
  fs.mkdirSync(path.join(dir, 'node_modules'));
  for (const dependency of Object.keys(pkg.dependencies)) {
    const from = path.dirname(require.resolve(`${dependency}/package.json`, { paths: [root] }));
    fs.symlinkSync(from, path.join(dir, 'node_modules', dependency), 'dir');
  }
  fs.mkdirSync(path.join(dir, 'home'));
  fs.mkdirSync(path.join(dir, 'empty-venv'));
  // A PATH with node alone on it: no python3 whose prefix the stubs would search.
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.symlinkSync(process.execPath, path.join(dir, 'bin', 'node'));
  return dir;
}

/**
 * backends() and the core's path, from `command` (a node) loading the package, in an environment of `env`
 * alone; each available backend also runs a stride-2 convolution of [1..5] with [1, 1] (`y`: [3, 7]).
 */
function backendsOf(command, dir, env, timeout) {
  const script = `const sk = require(${JSON.stringify(dir)});
    const { bindingPath } = require(${JSON.stringify(path.join(dir, 'dist', 'loader.js'))});
    const backends = sk.backends();
    for (const b of backends.filter((b) => b.available)) {
      const y = sk.convSync({ data: new Float32Array([1, 2, 3, 4, 5]), shape: [1, 1, 5] },
        { data: new Float32Array([1, 1]), shape: [1, 1, 2] }, { stride: 2, backend: b.name });
      b.y = Array.from(y.data);
    }
    console.log(JSON.stringify({ core: bindingPath(), backends }));`;
  const full = { PATH: path.join(dir, 'bin'), HOME: path.join(dir, 'home'), ...env };
  const r = spawnSync(command[0], [...command.slice(1), '-e', script], { encoding: 'utf8', env: full, timeout });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${command.join(' ')} exited with ${r.status}${r.signal ? ` (${r.signal})` : ''}:\n${r.stdout}\n${r.stderr}`);
  const { core, backends } = JSON.parse(r.stdout.trim().split('\n').pop());
  return { core, backends: Object.fromEntries(backends.map((b) => [b.name, b])) };
}

describe('prebuilt plugins load from an installed package', () => {
  const distReady = fs.existsSync(path.join(root, 'dist', 'index.js'));
  const coreOf = (tuple) => path.join(prebuildDir(tuple), `${pkg.name}.node`);

  const x64 = pluginsIn('linux-x64');
  const x64Title = `linux-x64, in a child node: found through VIRTUAL_ENV, the implementation loads (and convolves where available); not found, the pip command (${x64.join(', ') || 'no plugin'})`;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    skipWith(x64Title, `this machine is ${process.platform}-${process.arch}`);
  } else if (!x64.length || !fs.existsSync(coreOf('linux-x64'))) {
    skipWith(x64Title, 'no core and plugins in prebuilds/linux-x64/ (run `npm run build && npm run prebuild:all -- linux-x64`)');
  } else if (x64.some((name) => sourceBuildCopy('linux-x64', `libstridekit_${name}.so`))) {
    skipWith(x64Title, `prebuilds/linux-x64/: the plugins ${SOURCE_COPY}`);
  } else if (!distReady) {
    skipWith(x64Title, 'no dist/ (run `npm run build`)');
  } else {
    test(x64Title, () => {
      const dir = packageWith('linux-x64');
      try {
        const missing = backendsOf([process.execPath], dir, { VIRTUAL_ENV: path.join(dir, 'empty-venv') }, 60000);
        expect(missing.core).toBe(path.join(dir, 'prebuilds', 'linux-x64', `${pkg.name}.node`));
        for (const name of x64) {
          const b = missing.backends[name];
          expect(b.available).toBe(false);
          expect(b.reason).toContain(`run \`${PLUGINS[name].install}\` in the active Python environment`);
          expect(b.reason).toContain(`$VIRTUAL_ENV=${path.join(dir, 'empty-venv')}`);
        }
        for (const name of x64) {
          const venv = sitePackagesDir(...PLUGINS[name].venv) && path.join(root, PLUGINS[name].venv[0]);
          if (!venv) {
            console.log(`stridekit: no ${PLUGINS[name].venv[0]}/ here: the ${name} implementation is not loaded`); // eslint-disable-line no-console
            continue;
          }
          // LD_BIND_NOW as well, though the stub opens the implementation RTLD_NOW: any symbol its vendor
          // libraries lack would make it fail to load, with the name in the reason.
          const b = backendsOf([process.execPath], dir, { VIRTUAL_ENV: fs.realpathSync(venv), LD_BIND_NOW: '1' }, 60000).backends[name];
          if (name === 'cudnn') {
            if (b.available) expect(b.y).toEqual([3, 7]);
            else expect(b.reason).toMatch(CUDNN_MACHINE);
          } else {
            expect({ name, reason: b.reason || '', available: b.available, y: b.y }).toEqual({ name, reason: '', available: true, y: [3, 7] });
          }
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  const arm = pluginsIn('linux-arm64');
  const armTitle = `linux-arm64 under qemu-user with Node.js for arm64: each stub loads and gives its not-found reason (${arm.join(', ') || 'no plugin'})`;
  const qemu = arm64Node(root);
  if (!arm.length || !fs.existsSync(coreOf('linux-arm64'))) {
    skipWith(armTitle, 'no core and plugins in prebuilds/linux-arm64/ (run `npm run prebuild:all -- linux-arm64`)');
  } else if (!distReady) {
    skipWith(armTitle, 'no dist/ (run `npm run build`)');
  } else if (process.arch === 'arm64') {
    skipWith(armTitle, 'this machine is arm64: the linux-x64 case above is the one that applies');
  } else if (qemu.reason) {
    skipWith(armTitle, qemu.reason);
  } else {
    test(armTitle, () => {
      const dir = packageWith('linux-arm64');
      try {
        const run = backendsOf(qemu.command, dir, { VIRTUAL_ENV: path.join(dir, 'empty-venv') }, 180000);
        expect(run.core).toBe(path.join(dir, 'prebuilds', 'linux-arm64', `${pkg.name}.node`));
        for (const name of arm) {
          const b = run.backends[name];
          expect(b.available).toBe(false);
          expect(b.reason).toMatch(/ not found \(lib[\w.]+\.so\.\d+\): run `/);
          expect(b.reason).toContain(`run \`${PLUGINS[name].install}\` in the active Python environment`);
        }
        expect(run.backends.cpu.available).toBe(true);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }, 180000);
  }
});
