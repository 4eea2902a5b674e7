#!/usr/bin/env bash
# Sets up the OpenVINO SDK that the openvino plugin builds against, inside this checkout:
#   a Python venv .venv-openvino/ (gitignored by `.venv*/`) with a pinned `openvino` wheel from PyPI,
#   which carries the runtime libraries, the C and C++ headers and the CMake config (the plugin uses the
#   C API; the benchmark's OpenVINO-direct peer the C++ one).
# native/backends/openvino/plugin.cmake finds that venv by itself, so `npm run build` needs no flags
# afterwards. Idempotent: nothing is downloaded when the pinned version is already installed.
#
#   scripts/setup-openvino.sh            set up (or check) the venv, print OpenVINO's CMake dir
#   OPENVINO_VERSION=2025.3.0 PYTHON=python3.11 scripts/setup-openvino.sh
#
# The last line of stdout is the CMake dir, usable as OpenVINO_DIR:
#   cmake -DOpenVINO_DIR="$(scripts/setup-openvino.sh | tail -n 1)" ...
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="${OPENVINO_VERSION:-2025.3.0}"
venv="$root/.venv-openvino"

log() { printf '[setup-openvino] %s\n' "$*" >&2; }

source "$root/scripts/pinned-venv.sh"
pinned_venv openvino "$venv" -- "openvino==$version"

# openvino.get_cmake_path() in recent releases; openvino.utils.get_cmake_path() in 2025.x.
cmake_dir="$("$venv_python" -c '
try:
    from openvino import get_cmake_path
except ImportError:
    from openvino.utils import get_cmake_path
print(get_cmake_path())')"
[[ -f "$cmake_dir/OpenVINOConfig.cmake" ]] || { log "no OpenVINOConfig.cmake in $cmake_dir"; exit 1; }
log "OpenVINO CMake dir (OpenVINO_DIR):"
echo "$cmake_dir"
