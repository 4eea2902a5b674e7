'use strict';
// The CPU backend's inner kernels on their own (test/native/kernel_check.cc): every kernel this
// processor runs, built for the host, and the arm64 NEON kernels built for arm64 and run under
// qemu-aarch64, since no arm64 machine is at hand. The conformance suite only reaches the kernel
// select_microkernel() picks here; this reaches the portable one and NEON's too. Each part is
// skipped with its reason printed when its compiler (or qemu) is missing, never passed.

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { ROOT } = require('./helpers/target');

const OUT = path.join(ROOT, 'build', 'kernel-check');
const SOURCES = [
  'test/native/kernel_check.cc',
  'native/backends/cpu/microkernel_generic.cc',
  'native/backends/cpu/microkernel_avx2.cc',
  'native/backends/cpu/microkernel_neon.cc',
  'native/backends/cpu/cpu_features.cc',
].map((file) => path.join(ROOT, file));
const FLAGS = ['-O2', '-std=c++17', `-I${path.join(ROOT, 'native')}`, `-I${path.join(ROOT, 'native', 'include')}`];

function found(command) {
  return spawnSync(command, ['--version'], { encoding: 'utf8' }).status === 0;
}

const HOST_CXX = process.env.CXX || 'c++';
const ARM64_CXX = 'aarch64-linux-gnu-g++';
const QEMU = 'qemu-aarch64';
const TOOLS_HINT = 'apt-get install g++-aarch64-linux-gnu qemu-user';

// Each target: how to build and run it, or why it cannot be here.
const TARGETS = [
  { name: `host (${process.arch})`, cxx: HOST_CXX, flags: [], run: (exe) => [exe, []],
    missing: found(HOST_CXX) ? null : `no C++ compiler (${HOST_CXX}; set CXX)` },
  { name: 'arm64 NEON under qemu', cxx: ARM64_CXX, flags: ['-static'], run: (exe) => [QEMU, [exe]],
    missing: process.arch === 'arm64' ? 'this is an arm64 machine: the host build runs the NEON kernels'
      : !found(ARM64_CXX) ? `no ${ARM64_CXX} (${TOOLS_HINT})`
        : !found(QEMU) ? `no ${QEMU} (${TOOLS_HINT})` : null },
];

for (const target of TARGETS) {
  if (target.missing) {
    console.log(`stridekit tests skipped: cpu kernels on ${target.name}: ${target.missing}`);
    describe.skip(`cpu kernels on ${target.name} — skipped: ${target.missing}`, () => {
      test('every kernel against a float64 reference', () => {});
    });
    continue;
  }
  describe(`cpu kernels on ${target.name}`, () => {
    test('every kernel against a float64 reference', () => {
      fs.mkdirSync(OUT, { recursive: true });
      const exe = path.join(OUT, target.cxx === HOST_CXX ? 'kernel_check' : 'kernel_check_arm64');
      const built = spawnSync(target.cxx, [...FLAGS, ...target.flags, ...SOURCES, '-o', exe], { encoding: 'utf8' });
      if (built.status !== 0) throw new Error(`${target.cxx} failed:\n${built.stdout}${built.stderr}`);
      const [command, args] = target.run(exe);
      const ran = spawnSync(command, args, { encoding: 'utf8', timeout: 120000 });
      const output = `${ran.stdout || ''}${ran.stderr || ''}`;
      if (ran.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${ran.error ? ran.error.message : `exit ${ran.status}`}):\n${output}`);
      // The lines name each kernel checked; the picked kernel is the architecture's own.
      expect(output).toMatch(/^ok microkernel_generic: \d+ tiles$/m);
      expect(output).toMatch(/^ok select_microkernel picks the \w+ kernel$/m);
      if (target.cxx === ARM64_CXX) expect(output).toMatch(/^ok microkernel_neon: \d+ tiles$/m);
      expect(output).not.toMatch(/FAIL/);
    });
  });
}
