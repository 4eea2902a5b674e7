#!/usr/bin/env bash
# `npm run test:backends`: the whole jest suite once per backend this machine has (cpu always, then
# every plugin that loads), and one summary line over all runs: N passed, N failed, N skipped.
# The backends that are not available are listed with their reason and skipped.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mapfile -t available < <(node -e '
  for (const b of require(".").backends()) {
    if (b.available) console.log(b.name); else console.error(`backend ${b.name} skipped: ${b.reason}`);
  }')
logs=$(mktemp -d)
status=0
for backend in cpu "${available[@]}"; do
  [[ "$backend" == cpu && -f "$logs/cpu.log" ]] && continue
  echo "==> npm test with STRIDEKIT_BACKEND=$backend"
  STRIDEKIT_BACKEND="$backend" npm test 2>&1 | tee "$logs/$backend.log" || status=1
done
# Each run ends with its own "N passed, N failed, N skipped" line; add them up.
total=$(for log in "$logs"/*.log; do grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1; done |
  awk -F'[ ,]+' '{ p += $1; f += $3; s += $5 } END { printf "%d passed, %d failed, %d skipped", p, f, s }')
rm -rf "$logs"
echo
echo "$total"
exit "$status"
