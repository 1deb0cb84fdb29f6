#!/usr/bin/env bash
# The benchmark, in one command: builds the release `evmatch` and
# `evmatch-bench`, then runs `evmatch-bench COMMAND [OPTIONS]`.
#
#   scripts/bench.sh                    # CL2 sets, 20,000 events (counts not checked)
#   scripts/bench.sh run --full         # all 213,068 events, every count checked
#   scripts/bench.sh run --sets EXACT,COMBO --evmatch-args "-j 1"
#   scripts/bench.sh scale              # 1 to 100,000 mixed rules, 10,000 wildcards
#   scripts/bench.sh gen --events 1000  # the data itself, on stdout
#   scripts/bench.sh run --help
#
# Exit status: 0 fine, 1 a count differed from the expected one, 2 error.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p evmatch-cli -p evmatch-bench
cmd=run
if [ $# -gt 0 ]; then
  cmd=$1
  shift
fi
exec "${CARGO_TARGET_DIR:-target}/release/evmatch-bench" "$cmd" "$@"
