#!/usr/bin/env bash
# The one command for a lent NVIDIA GPU machine (no Node.js, no network; PyTorch with CUDA 13 and cuDNN 9
# in its python3's packages): everything the cudnn backend needs checked there, in at most about 8 minutes,
# every result written under $OUT.
#
# Here, first (the bundle goes under build/, which git ignores; 44 MiB):
#   npm run build                           # the cudnn plugin included (npm run setup:cuda first)
#   bash scripts/gpu-check.sh --pack        # build/device-bundle/: node.xz, tree.tar.xz, gpu-check.sh
#   GPU_CHECK_DRY_RUN=1 OUT=/tmp/gpu-check bash build/device-bundle/gpu-check.sh
#                                           # the rehearsal: unpacked as on the GPU machine, every step,
#                                           # the GPU ones shortened and on cpu
# On the lent machine (carry build/device-bundle):
#   bash build/device-bundle/gpu-check.sh
# Run from the bundle, the script unpacks node and the tree into $GPU_CHECK_ROOT (default /tmp/sk) and
# runs the unpacked copy of itself there. It sets no LD_LIBRARY_PATH: the plugin finds python3's CUDA and
# cuDNN wheels by its own search, and where that fails the run says so and names their folders.
#
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Run from a bundle: unpack, then run the tree's own copy of this script.
if [[ -f "$here/node.xz" && -f "$here/tree.tar.xz" ]]; then
  root=${GPU_CHECK_ROOT:-/tmp/sk}
  rm -rf "$root" && mkdir -p "$root/bin" "$root/tree"
  xz -dc "$here/node.xz" > "$root/bin/node" && chmod +x "$root/bin/node"
  tar -xJf "$here/tree.tar.xz" -C "$root/tree" || exit 1
  PATH="$root/bin:$PATH" exec bash "$root/tree/scripts/gpu-check.sh" "$@"
fi
cd "$here/.."

# What the run needs from this tree (node_modules: jest and what the suite loads, typescript included for
# test/exports.test.js, without @tensorflow (the benchmark's peer) and onnxruntime-node's other platforms).
if [[ "${1:-}" == "--paths" ]]; then
  # Every tracked top-level entry (tests read README.md, .github/, native/ ...; 4 MiB), then the build.
  git ls-files | cut -d/ -f1 | sort -u | tr '\n' ' '
  echo dist prebuilds build/Release/*.node build/Release/*.so
  for m in node_modules/* node_modules/.bin; do
    case "$m" in
      node_modules/@tensorflow|node_modules/onnxruntime-node) ;;
      *) echo "$m" ;;
    esac
  done
  echo node_modules/onnxruntime-node/package.json node_modules/onnxruntime-node/dist node_modules/onnxruntime-node/lib
  echo node_modules/onnxruntime-node/bin/napi-v6/linux/x64
  exit 0
fi

# Here: pack node (xz) and the paths above into build/device-bundle (or the folder given).
if [[ "${1:-}" == "--pack" ]]; then
  bundle=${2:-build/device-bundle}
  mkdir -p "$bundle"
  xz -T0 -6 -c "$(command -v node)" > "$bundle/node.xz"
  # shellcheck disable=SC2046
  XZ_OPT='-T0 -6' tar -cJf "$bundle/tree.tar.xz" --exclude='*.whl' $(bash "$0" --paths) || exit 1
  cp "$0" "$bundle/gpu-check.sh"
  du -sh "$bundle"/*
  du -sh "$bundle"
  exit 0
fi

OUT=${OUT:-$PWD/gpu-check-out}
mkdir -p "$OUT"
budget=${GPU_CHECK_BUDGET_S:-460}
started=$SECONDS
dry=${GPU_CHECK_DRY_RUN:-}
if [[ -z "$dry" ]] && ! command -v nvidia-smi >/dev/null; then dry=1; fi
node=$(command -v node || true)
jest=(node node_modules/jest/bin/jest.js --ci)  # the files after: jest's array options would swallow them
: > "$OUT/summary.txt"
last_status=0

left() { echo $(( budget - (SECONDS - started) )); }
# step NAME LIMIT_S COMMAND...: runs it with a time limit (capped by what is left), output to NAME.txt.
step() {
  local name=$1 limit=$2
  shift 2
  local remaining
  remaining=$(left)
  (( limit > remaining )) && limit=$remaining
  if (( limit < 5 )); then
    echo "$name: skipped, the time budget is spent" | tee -a "$OUT/summary.txt"
    last_status=125
    return
  fi
  local t0=$SECONDS
  echo "==> $name (limit ${limit}s): $*"
  timeout --kill-after=5 "$limit" "$@" > "$OUT/$name.txt" 2>&1
  local status=$?
  last_status=$status
  local line="$name: exit $status, $(( SECONDS - t0 )) s"
  (( status == 124 || status == 137 )) && line+=" (timed out)"
  echo "$line" | tee -a "$OUT/summary.txt"
  tail -n 4 "$OUT/$name.txt"
}

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "dry run: ${dry:-no}"
  uname -a
  echo "node: ${node:-none} $(node --version 2>/dev/null)"
  nvidia-smi 2>&1 || echo "nvidia-smi: not here"
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1 || true
  python3 - <<'PY' 2>&1
import importlib.metadata as md, sys
print('python3:', sys.executable, sys.version.split()[0])
for d in sorted(md.distributions(), key=lambda d: d.metadata['Name'].lower()):
    name = d.metadata['Name']
    if name.lower().startswith(('nvidia', 'torch')):
        print(f'  {name}=={d.version}')
try:
    import torch
    print('torch', torch.__version__, 'CUDA', torch.version.cuda, 'cuDNN', torch.backends.cudnn.version(),
          'device', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none')
except Exception as e:
    print('torch: not importable:', e)
PY
  echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
} > "$OUT/versions.txt" 2>&1
cat "$OUT/versions.txt"

# The folders of python3's CUDA runtime and cuDNN wheels (as PyTorch installs them), for the steps after
# the own-search check, should that check find nothing.
read -r cuda_dir cudnn_dir < <(python3 - <<'PY' 2>/dev/null
import glob, os, site
def find(name):
    for sp in site.getsitepackages() + [site.getusersitepackages()]:
        for d in glob.glob(os.path.join(sp, 'nvidia', '*', 'lib')):
            if os.path.exists(os.path.join(d, name)):
                return d
    return '-'
print(find('libcudart.so.13'), find('libcudnn.so.9'))
PY
) || true
echo "python3's libcudart.so.13: ${cuda_dir:--}, libcudnn.so.9: ${cudnn_dir:--}" | tee -a "$OUT/versions.txt"

# Every undefined CUDA runtime / cuDNN symbol of the plugin, looked up in those libraries.
symbols() {
  local impl=build/Release/libstridekit_cudnn_impl.so
  [[ -f $impl ]] || { echo "no $impl"; return 1; }
  command -v nm >/dev/null || { echo "no nm here: the symbol check is left to the plugin's load"; return 0; }
  nm -D --undefined-only "$impl" | awk '{print $2}' | grep -E '^(cuda|cudnn)' | sed 's/@.*//' | sort -u > "$OUT/imports.txt"
  echo "$(wc -l < "$OUT/imports.txt") CUDA/cuDNN symbols imported"
  python3 - "$OUT/imports.txt" "${cuda_dir:--}/libcudart.so.13" "${cudnn_dir:--}/libcudnn.so.9" <<'PY'
import ctypes, sys
names = open(sys.argv[1]).read().split()
libs = []
for path in sys.argv[2:]:
    try:
        libs.append((path, ctypes.CDLL(path)))
    except OSError as e:
        print('cannot open', path, e)
if not libs:
    sys.exit(0)
missing = [n for n in names if not any(hasattr(lib, n) for _, lib in libs)]
print('missing:', ' '.join(missing) if missing else 'none')
sys.exit(1 if missing else 0)
PY
}
export -f symbols
export OUT cuda_dir cudnn_dir
step symbols 30 bash -c symbols

# The plugin's own search first (what a user gets), then with the wheel folders named if it failed.
# (`info --backend cudnn` exits 1 when cudnn is unavailable.)
step info-own-search 30 env -u LD_LIBRARY_PATH -u STRIDEKIT_CUDA_DIR -u STRIDEKIT_CUDNN_DIR node dist/cli.js info --backend cudnn
if (( last_status != 0 )); then
  if [[ "${cuda_dir:--}" != - && "${cudnn_dir:--}" != - ]]; then
    export STRIDEKIT_CUDA_DIR=$cuda_dir STRIDEKIT_CUDNN_DIR=$cudnn_dir
    echo "the plugin's own search did not make cudnn available; the rest of the run names the folders" | tee -a "$OUT/summary.txt"
  fi
fi
step info 30 node dist/cli.js info

# GPU_CHECK_MOCK_LIBS=DIR (a rehearsal here): DIR holds the mock libcudart.so.13, libcudnn.so.9 and
# libcuda.so.1 of test/fixtures/cudnn/mock/, and the GPU steps run on them, as they will on the GPU.
if [[ -n "${GPU_CHECK_MOCK_LIBS:-}" ]]; then
  export STRIDEKIT_CUDA_DIR=$GPU_CHECK_MOCK_LIBS STRIDEKIT_CUDNN_DIR=$GPU_CHECK_MOCK_LIBS
  export LD_LIBRARY_PATH=$GPU_CHECK_MOCK_LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  dry=
  echo "rehearsal on the mock CUDA and cuDNN libraries in $GPU_CHECK_MOCK_LIBS" | tee -a "$OUT/summary.txt"
fi
bench_layer=()
[[ -n "${GPU_CHECK_BENCH_LAYER:-}" ]] && bench_layer=(--layer "$GPU_CHECK_BENCH_LAYER")

if [[ -n "$dry" ]]; then
  # Rehearsal: the same commands where they can run without a GPU.
  step selftest 60 node dist/cli.js selftest --backend cpu
  step conformance-fp32 120 env STRIDEKIT_BACKEND=cpu "${jest[@]}" test/conformance.test.js -t 'conv1d valid'
  step conformance-tf32 60 env STRIDEKIT_BACKEND=cpu STRIDEKIT_TEST_PRECISION=tf32 "${jest[@]}" test/conformance.test.js -t 'conv1d valid'
  step device-tensor 60 env STRIDEKIT_BACKEND=cpu "${jest[@]}" test/device-tensor.test.js
  step bench-stridekit 60 node scripts/gpu-bench.js run --backend cpu --layer tiny --min-ms 20 --out "$OUT/bench-stridekit.json"
  python3 -c "import ast, sys; ast.parse(open(sys.argv[1]).read())" scripts/gpu-bench-torch.py && echo "gpu-bench-torch.py: parses" | tee -a "$OUT/summary.txt"
  python3 -c 'import torch' 2>/dev/null || echo "bench-torch: no torch here (dry run)" | tee -a "$OUT/summary.txt"
  step cudnn-unavailable 30 node dist/cli.js info --backend cudnn
else
  # In the order of what the issue needs most, should the budget run out: the suite's core file at fp32,
  # the benchmark beside PyTorch, then device tensors and the other precisions.
  step selftest 60 node dist/cli.js selftest --backend cudnn
  step conformance-fp32 120 env STRIDEKIT_BACKEND=cudnn "${jest[@]}" test/conformance.test.js
  step bench-stridekit 75 node scripts/gpu-bench.js run --backend cudnn "${bench_layer[@]}" --min-ms 150 --out "$OUT/bench-stridekit.json"
  step bench-torch 90 python3 scripts/gpu-bench-torch.py "${bench_layer[@]}" --min-ms 150 --out "$OUT/bench-torch.json"
  [[ -s "$OUT/bench-stridekit.json" && -s "$OUT/bench-torch.json" ]] &&
    step bench-compare 15 node scripts/gpu-bench.js compare "$OUT/bench-stridekit.json" "$OUT/bench-torch.json" --out "$OUT/bench.md"
  step device-tensor 45 env STRIDEKIT_BACKEND=cudnn "${jest[@]}" test/device-tensor.test.js
  step conformance-tf32 60 env STRIDEKIT_BACKEND=cudnn STRIDEKIT_TEST_PRECISION=tf32 "${jest[@]}" test/conformance.test.js
  step conformance-fp16 60 env STRIDEKIT_BACKEND=cudnn STRIDEKIT_TEST_PRECISION=fp16 "${jest[@]}" test/conformance.test.js
  # Whatever time is left: the whole suite on cudnn (each file that cannot run here skips with its reason).
  [[ -z "${GPU_CHECK_SKIP_SUITE:-}" ]] && step jest-cudnn 600 env STRIDEKIT_BACKEND=cudnn "${jest[@]}"
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv >> "$OUT/summary.txt" 2>&1 || true
echo "total: $(( SECONDS - started )) s" | tee -a "$OUT/summary.txt"
