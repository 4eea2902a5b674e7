#!/usr/bin/env bash
# Sets up the CUDA runtime and cuDNN that the cudnn plugin builds against, inside this checkout:
#   a Python venv .venv-cuda/ (gitignored by `.venv*/`) with three pinned wheels from PyPI:
#     nvidia-cuda-runtime   (~2.5 MB) nvidia/cu13/include/cuda_runtime_api.h ..., nvidia/cu13/lib/libcudart.so.13
#     nvidia-cuda-crt       (~170 KB) nvidia/cu13/include/crt/*.h, which cuda_runtime_api.h includes
#     nvidia-cudnn-cu13     (~517 MB download, ~940 MB installed) nvidia/cudnn/include/cudnn*.h,
#                           nvidia/cudnn/lib/libcudnn.so.9 and the sub-libraries it opens from its own dir
# Installed with --no-deps: nvidia-cudnn-cu13 asks for nvidia-cublas, which cuDNN only opens when present
# (for a few engines) and which stridekit's convolutions do not need.
# The GPU driver (libcuda.so.1) never comes from PyPI: without one the plugin builds, loads and reports
# itself unavailable with the reason. native/backends/cudnn/plugin.cmake finds this venv by itself, so
# `npm run build` needs no flags afterwards. Idempotent: nothing is downloaded when the pinned versions
# are already installed.
#
#   scripts/setup-cuda.sh                 set up (or check) the venv, print the site-packages nvidia dir
#   CUDNN_WHEEL_VERSION=9.28.1.4 CUDA_WHEEL_VERSION=13.5.37 PYTHON=python3.11 scripts/setup-cuda.sh
# (CUDA_WHEEL_VERSION pins nvidia-cuda-runtime and nvidia-cuda-crt, which NVIDIA releases together.)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cudnn_version="${CUDNN_WHEEL_VERSION:-9.28.1.4}"
runtime_version="${CUDA_WHEEL_VERSION:-13.5.37}"
venv="$root/.venv-cuda"

log() { printf '[setup-cuda] %s\n' "$*" >&2; }

# nvidia-cudnn-cu13 alone is a ~517 MB download.
source "$root/scripts/pinned-venv.sh"
pinned_venv cuda "$venv" --no-deps -- "nvidia-cuda-runtime==$runtime_version" \
  "nvidia-cuda-crt==$runtime_version" "nvidia-cudnn-cu13==$cudnn_version"

nvidia_dir="$("$venv_python" -c 'import nvidia, os; print(os.path.dirname(nvidia.__path__[0]) + "/nvidia")')"
for file in cu13/include/cuda_runtime_api.h cu13/include/crt/host_defines.h cu13/lib/libcudart.so.13 cudnn/include/cudnn.h cudnn/lib/libcudnn.so.9; do
  [[ -f "$nvidia_dir/$file" ]] || { log "missing $nvidia_dir/$file"; exit 1; }
done
log "CUDA runtime and cuDNN under:"
echo "$nvidia_dir"
