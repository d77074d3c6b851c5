#!/usr/bin/env bash
# Fuzzes every tests/fuzz/fuzz_<module>.c target for real: built with clang's libFuzzer under
# ASan+UBSan, each run for SECONDS (default 60) on a copy of its seed corpus, two at a time.
# A crash fails the run and leaves the input in BUILD_DIR/crashes/<module>/: add it to
# tests/fuzz/seeds/<module>/ so the replay test in `make test` keeps it fixed.
# Usage: tests/fuzz/run.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/fuzz}
seconds=${2:-${FUZZ_SECONDS:-60}}
CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DRTM_FUZZ=ON -DRTM_SANITIZE=ON \
  -DRTM_WERROR=OFF >/dev/null
targets=$(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//')
cmake --build "$build" -j"$(nproc)" --target $targets >/dev/null

run_one() { # module
  local m=$1 corpus=$build/corpus/$1 crashes=$build/crashes/$1
  mkdir -p "$corpus" "$crashes"
  cp -n tests/fuzz/seeds/"$m"/* "$corpus"/ 2>/dev/null || true
  if "$build/tests/fuzz_$m" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" >"$build/fuzz_$m.log" 2>&1; then
    echo "fuzz $m: $(grep -o 'stat::number_of_executed_units: [0-9]*' "$build/fuzz_$m.log" |
      grep -o '[0-9]*$') inputs in ${seconds}s, no crash"
  else
    echo "fuzz $m: FAILED; input in $crashes/, log $build/fuzz_$m.log" >&2
    tail -30 "$build/fuzz_$m.log" >&2
    return 1
  fi
}

passed=0 failed=0
pids=()
reap() { if wait "$1"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi; }
for t in $targets; do
  run_one "${t#fuzz_}" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$(nproc)" ]; then
    reap "${pids[0]}"
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do reap "$p"; done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
