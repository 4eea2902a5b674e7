#!/usr/bin/env bash
# Sets up Zig, the cross C/C++ toolchain that `npm run prebuild:all` (scripts/prebuild-all.js) uses
# to build the core for every platform from this machine: a Python venv .venv-zig/ (gitignored by
# `.venv*`) with a pinned `ziglang` wheel from PyPI, which carries the compiler, clang's libc++ and
# the glibc / macOS / MinGW headers and stubs for each target. Idempotent: nothing is downloaded when
# the pinned version is already installed.
#
#   scripts/setup-zig.sh                 set up (or check) the venv; the last line of stdout is the
#                                        command that runs zig (python -m ziglang)
#   ZIG_VERSION=0.17.1 PYTHON=python3.11 scripts/setup-zig.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="${ZIG_VERSION:-0.17.1}"
venv="$root/.venv-zig"

log() { printf '[setup-zig] %s\n' "$*" >&2; }

source "$root/scripts/pinned-venv.sh"
pinned_venv zig "$venv" -- "ziglang==$version"
log "zig $("$venv_python" -m ziglang version)"
echo "$venv_python -m ziglang"
