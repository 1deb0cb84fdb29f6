#!/usr/bin/env bash
# Long fuzz runs, one target after another (fuzz/run.sh SECONDS TARGET),
# logging to fuzz/long-runs.log (not committed). Used for fuzz/RUNS.md.
cd "$(dirname "$0")"
secs="${1:-1800}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(differential flatten pattern transform)
for t in "${targets[@]}"; do
  start=$(date -u +%FT%TZ)
  commit=$(git rev-parse --short HEAD)
  echo "== $t start=$start commit=$commit secs=$secs" >>long-runs.log
  ./run.sh "$secs" "$t" >>long-runs.log 2>&1
  echo "== $t exit=$? end=$(date -u +%FT%TZ)" >>long-runs.log
done
