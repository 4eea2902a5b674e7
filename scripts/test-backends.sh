#!/usr/bin/env bash
# `npm run test:backends`: the whole jest suite on cpu, then on every plugin that loads the files that run
# against the backend under test, the conformance file at precision bf16 on each of those that honours
# it, and one summary line over all runs: N passed, N failed, N skipped.
# For each backend that is not available here (cudnn without a GPU, coreml off macOS) the conformance
# file still runs with it forced: every case is listed as skipped with the backend's reason, so a
# missing backend shows in the counts instead of passing silently.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The checkout's own runtimes (.venv-openvino/, .venv-cuda/), as jest.config.js points the suite at them.
mapfile -t available < <(node -r ./scripts/checkout-runtimes.js -e '
  for (const b of require(".").backends()) if (b.available) console.log(b.name);')
mapfile -t unavailable < <(node -r ./scripts/checkout-runtimes.js -e '
  for (const b of require(".").backends()) {
    if (!b.available) { console.log(b.name); console.error(`backend ${b.name} unavailable: ${b.reason}`); }
  }')
# Files whose header says `@backend-independent` check something no backend choice changes (a cross
# build, a mock, the package layout, a backend named explicitly): they run in the cpu pass only. A file
# without the mark runs in every pass, so a new test is run on every backend unless it says otherwise.
mapfile -t independent < <(grep -l '^// @backend-independent' test/*.test.js)
ignore=()
for file in "${independent[@]}"; do ignore+=(--testPathIgnorePatterns "/${file//./[.]}\$"); done
logs=$(mktemp -d)
status=0
for backend in cpu "${available[@]}"; do
  [[ "$backend" == cpu && -f "$logs/cpu.log" ]] && continue
  if [[ "$backend" == cpu ]]; then
    echo "==> npm test with STRIDEKIT_BACKEND=$backend"
    STRIDEKIT_BACKEND="$backend" npm test 2>&1 | tee "$logs/$backend.log" || status=1
  else
    echo "==> npm test with STRIDEKIT_BACKEND=$backend, less the ${#independent[@]} backend-independent files the cpu pass ran"
    STRIDEKIT_BACKEND="$backend" npm test -- "${ignore[@]}" 2>&1 | tee "$logs/$backend.log" || status=1
  fi
done
# precision: 'bf16' is a permission each backend honours or not (backends()[].precisions): the conformance
# file runs once more at bf16, with its bound, on every available backend that honours it here.
while IFS=$'\t' read -r backend honours why; do
  if [[ "$honours" == yes ]]; then
    echo "==> npm test -- test/conformance.test.js with STRIDEKIT_BACKEND=$backend STRIDEKIT_TEST_PRECISION=bf16"
    STRIDEKIT_BACKEND="$backend" STRIDEKIT_TEST_PRECISION=bf16 npm test -- --testPathPattern=test/conformance.test.js </dev/null 2>&1 |
      tee "$logs/$backend-bf16.log" || status=1
  else
    echo "==> skipped: test/conformance.test.js at precision bf16 on $backend: $why"
  fi
done < <(node -r ./scripts/checkout-runtimes.js -e '
  for (const b of require(".").backends()) {
    if (!b.available) continue;
    const honours = b.precisions.includes("bf16");
    console.log([b.name, honours ? "yes" : "no",
      honours ? "" : `it does not honour bf16 here (it computes in ${b.precisions.join(", ")}), so bf16 runs as fp32`].join("\t"));
  }')
for backend in "${unavailable[@]}"; do
  echo "==> npm test -- test/conformance.test.js with STRIDEKIT_BACKEND=$backend (unavailable: skipped with its reason)"
  STRIDEKIT_BACKEND="$backend" npm test -- --testPathPattern=test/conformance.test.js 2>&1 | tee "$logs/$backend.log" || status=1
done
# Each run ends with its own "N passed, N failed, N skipped" line; add them up.
total=$(for log in "$logs"/*.log; do grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1; done |
  awk -F'[ ,]+' '{ p += $1; f += $3; s += $5 } END { printf "%d passed, %d failed, %d skipped", p, f, s }')
rm -rf "$logs"
echo
echo "$total"
exit "$status"
