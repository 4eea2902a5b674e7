'use strict';
// The CPU backend checked natively, without Node.js: its inner kernels alone against a float64
// reference (test/fixtures/cpu/kernel_check.cc: every kernel this processor runs, the portable ones
// included, which the conformance suite never reaches here), and the whole backend through its C ABI
// table against the direct convolution of test/fixtures/conv_reference.h
// (test/fixtures/cpu/backend_check.cc). Both are built by CMake (test/fixtures/cpu/CMakeLists.txt,
// from the backend's own source list) for the host; for arm64, whose build runs under qemu-aarch64
// (the NEON kernels and every arm64 code path, on a machine with no arm64 Node.js); and, on an
// x86-64 host, with the AVX-512 kernels compiled against SIMDe's portable intrinsics
// (test/fixtures/cpu/avx512_emulated.h), which checks their logic, not their speed. A target whose
// compiler, qemu, headers or cmake are missing is skipped with the reason printed, never passed;
// `npm run setup:cpu-checks` installs them.
// @backend-independent: what this file checks does not change with STRIDEKIT_BACKEND, so
// `npm run test:backends` runs it in the cpu pass only.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { ROOT } = require('./helpers/target');

const OUT = path.join(ROOT, 'build', 'cpu-native-checks');
// The CMake project that builds both programs from the backend's own source list.
const PROJECT = path.join(ROOT, 'test', 'fixtures', 'cpu');
const CHECKS = [
  { name: 'kernel_check', args: [],
    expect: [/^ok microkernel_generic: \d+ tiles$/m, /^ok depthwise_rows_generic: \d+ planes$/m, /^ok depthwise_pixel_generic: \d+ pixels$/m, /^ok deinterleave_generic: \d+ rows$/m, /^ok select_microkernel picks the \w+ kernel$/m,
      /^ok microkernel_pair_generic: \d+ tiles$/m, /^ok select_pair_kernel picks .+$/m, /^ok select_indirect_kernel picks .+$/m,
      /^ok select_listed_kernel picks .+$/m, /^ok select_pad_rows_kernel picks .+$/m,
      /^ok transpose_generic: \d+ tiles$/m, /^ok select_transpose_kernel picks the \w+ one$/m] },
  { name: 'backend_check', args: ['400', '2026'],
    expect: [/^ok 400 cases \(forward \d+, transposed \d+; channels_last \d+; wide \d+\)$/m] },
];

function found(command) {
  return spawnSync(command, ['--version'], { encoding: 'utf8' }).status === 0;
}

function header_found(cxx, header) {
  const preprocessed = spawnSync(cxx, ['-E', '-x', 'c++', '-o', os.devNull, '-'], { input: `#include <${header}>\n` });
  return preprocessed.status === 0;
}

const CMAKE = 'cmake';
const HOST_CXX = process.env.CXX || 'c++';
const ARM64_CXX = 'aarch64-linux-gnu-g++';
const QEMU = 'qemu-aarch64';
const TOOLS = 'npm run setup:cpu-checks, or apt-get install g++-aarch64-linux-gnu qemu-user';
const SIMDE = 'npm run setup:cpu-checks, or apt-get install libsimde-dev';
const NO_CMAKE = `no ${CMAKE} (install CMake 3.18 or later)`;

/** Whether the kernel lists this processor's AVX512-BF16 (Linux), when the host check must run the bf16 kernels. */
function hostHasAvx512Bf16() {
  if (process.arch !== 'x64' || process.env.STRIDEKIT_CPU_KERNELS) return false;
  try {
    return /^flags\s*:.*\bavx512_bf16\b/m.test(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

const TARGETS = [
  { name: `host (${process.arch})`, id: 'host', configure: [`-DCMAKE_CXX_COMPILER=${HOST_CXX}`], run: (exe, args) => [exe, args],
    missing: !found(HOST_CXX) ? `no C++ compiler (${HOST_CXX}; set CXX)` : !found(CMAKE) ? NO_CMAKE : null,
    expect: hostHasAvx512Bf16()
      ? [/^ok bf16 convert \+ tile \(avx512_bf16\): \d+ tiles$/m, /^ok bf16 indirect tile \(avx512_bf16\): \d+ tiles$/m,
        /^ok bf16 listed tile \(avx512_bf16\): \d+ tiles$/m,
        /^ok bf16 interleave \(avx512_bf16\): \d+ rows$/m, /^ok bf16 gather \(avx512_bf16\): \d+ runs$/m]
      : [/^ok select_bf16_kernels picks none: .+$/m] },
  { name: 'arm64 under qemu', id: 'arm64', configure: [`-DCMAKE_TOOLCHAIN_FILE=${path.join(PROJECT, 'aarch64-linux-gnu.cmake')}`],
    run: (exe, args) => [QEMU, [exe, ...args]],
    missing: process.arch === 'arm64' ? 'this is an arm64 machine: the host target runs the NEON code'
      : !found(ARM64_CXX) ? `no ${ARM64_CXX} (${TOOLS})`
        : !found(QEMU) ? `no ${QEMU} (${TOOLS})`
          : !found(CMAKE) ? NO_CMAKE : null,
    expect: [/^ok select_bf16_kernels picks none: .+$/m, /^ok microkernel_neon: \d+ tiles$/m, /^ok depthwise_rows_neon: \d+ planes$/m, /^ok depthwise_pixel_neon: \d+ pixels$/m, /^ok deinterleave_neon: \d+ rows$/m, /^ok select_microkernel picks the neon kernel$/m] },
  { name: 'x86-64 with its AVX-512 kernels on SIMDe', id: 'avx512_simde',
    configure: [`-DCMAKE_CXX_COMPILER=${HOST_CXX}`, '-DSTRIDEKIT_AVX512_ON_SIMDE=ON'], run: (exe, args) => [exe, args],
    missing: process.arch !== 'x64' ? 'not an x86-64 machine'
      : !found(HOST_CXX) ? `no C++ compiler (${HOST_CXX}; set CXX)`
        : !header_found(HOST_CXX, 'simde/x86/avx512.h') ? `no SIMDe headers (${SIMDE})`
          : !found(CMAKE) ? NO_CMAKE : null,
    expect: [/^ok microkernel_avx512: \d+ tiles$/m, /^ok depthwise_rows_avx512: \d+ planes$/m, /^ok depthwise_pixel_avx512: \d+ pixels$/m, /^ok deinterleave_avx512: \d+ rows$/m, /^ok select_microkernel picks the avx512 kernel$/m,
      /^ok microkernel_avx512_pair: \d+ tiles$/m, /^ok select_pair_kernel picks the avx512 pair kernel$/m,
      /^ok microkernel_avx512_indirect: \d+ tiles$/m, /^ok select_indirect_kernel picks the avx512 indirect kernel$/m,
      /^ok microkernel_avx512_listed: \d+ tiles$/m, /^ok select_listed_kernel picks the avx512 listed kernel$/m,
      /^ok pad_rows_avx512: \d+ planes$/m, /^ok select_pad_rows_kernel picks the avx512 one$/m,
      /^ok select_bf16_kernels picks none: a build without them$/m] },
];

/** Runs a build step; throws with its output when it fails. */
function step(command, args) {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.error ? r.error.message : `exit ${r.status}`}):\n${r.stdout}${r.stderr}`);
}

/** Configures the target's build folder from scratch, once per run: a folder left by another compiler is never reused. */
const configured = new Set();
function configure(target) {
  const dir = path.join(OUT, target.id);
  if (configured.has(target.id)) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  step(CMAKE, ['-S', PROJECT, '-B', dir, ...target.configure]);
  configured.add(target.id);
  return dir;
}

for (const target of TARGETS) {
  if (target.missing) {
    console.log(`stridekit tests skipped: cpu backend natively on ${target.name}: ${target.missing}`);
    describe.skip(`cpu backend natively on ${target.name} — skipped: ${target.missing}`, () => {
      for (const check of CHECKS) test(check.name, () => {});
    });
    continue;
  }
  describe(`cpu backend natively on ${target.name}`, () => {
    for (const check of CHECKS) {
      test(check.name, () => {
        const dir = configure(target);
        step(CMAKE, ['--build', dir, '--target', check.name, '--parallel', String(os.cpus().length || 1)]);
        const exe = path.join(dir, check.name);
        const [command, args] = target.run(exe, check.args);
        const ran = spawnSync(command, args, { encoding: 'utf8', timeout: 300000 });
        const output = `${ran.stdout || ''}${ran.stderr || ''}`;
        if (ran.status !== 0) {
          throw new Error(`${command} ${args.join(' ')} failed (${ran.error ? ran.error.message : `exit ${ran.status}`}):\n${output}`);
        }
        expect(output).not.toMatch(/FAIL/);
        for (const line of check.expect) expect(output).toMatch(line);
        if (check.name === 'kernel_check') for (const line of target.expect) expect(output).toMatch(line);
      }, 300000);
    }
  });
}
