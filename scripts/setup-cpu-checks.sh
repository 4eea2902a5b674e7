#!/usr/bin/env bash
# Test-only: what test/cpu-native.test.js needs to run the CPU backend's kernels for processors this
# machine is not: the arm64 cross compiler and qemu's user-mode emulator (the NEON kernels, and the
# whole backend built for arm64), and SIMDe's portable AVX-512 intrinsics (the AVX-512 kernels, lane
# by lane). Debian / Ubuntu packages g++-aarch64-linux-gnu, qemu-user and libsimde-dev, installed
# with apt-get when this runs as root (as in CI); otherwise it says what to install and leaves the
# test to skip those checks with that reason. Idempotent: nothing is installed when all are there.
#
#   scripts/setup-cpu-checks.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=apt-packages.sh
source "$root/scripts/apt-packages.sh"

log() { printf '[setup-cpu-checks] %s\n' "$*" >&2; }

packages=()
arch=$(uname -m)
if [[ "$arch" != aarch64 && "$arch" != arm64 ]]; then
  command -v aarch64-linux-gnu-g++ >/dev/null || packages+=(g++-aarch64-linux-gnu)
  command -v qemu-aarch64 >/dev/null || packages+=(qemu-user)
fi
if [[ "$arch" == x86_64 ]] && ! echo '#include <simde/x86/avx512.h>' | "${CXX:-c++}" -E -x c++ - >/dev/null 2>&1; then
  packages+=(libsimde-dev)
fi
if [[ ${#packages[@]} -eq 0 ]]; then
  log "nothing to install: the arm64 tools and SIMDe are there, or this processor runs those kernels itself"
  exit 0
fi
apt_packages cpu-checks "test/cpu-native.test.js skips those kernels with that reason" "${packages[@]}"
