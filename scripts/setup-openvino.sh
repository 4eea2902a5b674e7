#!/usr/bin/env bash
# Sets up the OpenVINO SDK that the openvino plugin builds against, inside this checkout:
#   a Python venv .venv-openvino/ (gitignored by `.venv*/`) with a pinned `openvino` wheel from PyPI,
#   which carries the runtime libraries, the C++ headers and the CMake config.
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
python="${PYTHON:-python3}"
venv_python="$venv/bin/python"

log() { printf '[setup-openvino] %s\n' "$*" >&2; }

installed_version() {
  "$venv_python" -c 'import importlib.metadata as m; print(m.version("openvino"))' 2>/dev/null || true
}

if [[ ! -x "$venv_python" ]]; then
  command -v "$python" >/dev/null || { log "no $python on PATH (set PYTHON=...)"; exit 1; }
  log "creating $venv with $("$python" --version 2>&1)"
  "$python" -m venv "$venv"
fi

current="$(installed_version)"
if [[ "$current" == "$version" ]]; then
  log "openvino $version already installed in $venv"
else
  log "installing openvino==$version into $venv${current:+ (replacing $current)}"
  "$venv_python" -m pip install --quiet --disable-pip-version-check "openvino==$version"
fi

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
