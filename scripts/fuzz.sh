#!/usr/bin/env bash
# Runs every libFuzzer harness (tests/fuzz, built into build/bin/fuzz by
# scripts/test.sh or `ninja -C build`) for SECONDS each (default 60), starting
# from the seed corpus in tests/fuzz/corpus/NAME and growing a working corpus
# in build/fuzz-corpus/NAME. Prints the executions of each harness; exits
# non-zero when one finds a crash, a sanitizer error or a failed check (the
# input that did is left in build/fuzz-crashes/).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-60}
build=${BUILD:-$repo/build}
bin="$build/bin/fuzz"
[[ -d "$bin" ]] || { echo "fuzz.sh: no harnesses in $bin (build with clang-19)" >&2; exit 1; }
# A 16 MB quarantine still catches a use after a recent free; ASan's default
# 256 MB one made fuzz-model-files grow to 1 GB RSS in 90 s (and run at half
# the speed) without leaking: with no quarantine it stays at 110 MB, and
# -detect_leaks=1 finds nothing.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allow_user_poisoning=0:quarantine_size_mb=16}

status=0
mkdir -p "$build/fuzz-crashes"
for harness in "$bin"/fuzz-*; do
  name=$(basename "$harness")
  work="$build/fuzz-corpus/$name"
  mkdir -p "$work"
  log="$build/fuzz-corpus/$name.log"
  if "$harness" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
       -rss_limit_mb=4096 -artifact_prefix="$build/fuzz-crashes/$name-" \
       "$work" "$repo/tests/fuzz/corpus/$name" >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" |
           grep -o '[0-9]*$' || echo "?")
    printf 'fuzz.sh: %-22s %12s executions in %s s, nothing found\n' \
      "$name" "$runs" "$seconds"
  else
    echo "fuzz.sh: $name FAILED (see $log):" >&2
    grep -E 'ERROR|SUMMARY|runtime error|deadly signal' "$log" | head -5 >&2
    status=1
  fi
done
exit "$status"
