#!/usr/bin/env bash
# Test-only: the arm64 cross compiler and qemu's user-mode emulator, with which
# test/cpu-native.test.js builds the CPU backend for arm64, NEON kernels included, and runs it on an
# x86-64 machine. Debian / Ubuntu packages g++-aarch64-linux-gnu and qemu-user, installed with
# apt-get when this runs as root (as in CI); otherwise it says what to install and leaves the test
# to skip with that reason. Idempotent: nothing is installed when both tools are already there.
#
#   scripts/setup-arm64-check.sh
set -euo pipefail

log() { printf '[setup-arm64-check] %s\n' "$*" >&2; }

if command -v aarch64-linux-gnu-g++ >/dev/null && command -v qemu-aarch64 >/dev/null; then
  log "aarch64-linux-gnu-g++ and qemu-aarch64 are installed"
  exit 0
fi
if [[ "$(uname -m)" == aarch64 || "$(uname -m)" == arm64 ]]; then
  log "this is an arm64 machine: the tests run the NEON kernels natively"
  exit 0
fi
packages=(g++-aarch64-linux-gnu qemu-user)
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
  log "not root or no apt-get: install ${packages[*]} yourself to check the NEON kernels;"
  log "until then test/cpu-native.test.js skips them with that reason"
  exit 0
fi
log "installing ${packages[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
log "installed: $(aarch64-linux-gnu-g++ --version | head -n 1); $(qemu-aarch64 --version | head -n 1)"
