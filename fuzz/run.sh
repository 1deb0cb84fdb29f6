#!/usr/bin/env bash
# Runs fuzz targets for a bounded time each, one after another, on stable
# Rust (no sanitizer). Fails on the first crash, leak of time (-timeout)
# or memory (-rss_limit_mb); the crashing input is left in
# fuzz/artifacts/TARGET/.
#
#   fuzz/run.sh SECONDS [TARGET...]     (default: every target)
#
# New inputs go to fuzz/corpus/TARGET (not committed); the committed seeds
# are read from fuzz/seeds/TARGET.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:?usage: fuzz/run.sh SECONDS [TARGET...]}"
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(pattern flatten differential transform)
fi
cargo fuzz build --sanitizer none
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  log="$(mktemp)"
  echo "== fuzz $t (${secs}s)"
  if ! cargo fuzz run --sanitizer none "$t" "corpus/$t" "seeds/$t" -- \
      -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -max_len=65536 \
      -artifact_prefix="artifacts/$t/" -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz target $t failed; input in fuzz/artifacts/$t/" >&2
    rm -f "$log"
    exit 1
  fi
  grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb)" "$log" || tail -n 3 "$log"
  rm -f "$log"
done
