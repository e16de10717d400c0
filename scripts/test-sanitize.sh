#!/usr/bin/env bash
# Builds llmc, the runtime and the tests with AddressSanitizer and
# UndefinedBehaviorSanitizer into build-sanitize/ (executables that llmc
# compiles are linked with them too) and runs the whole test suite there.
# Takes longer than scripts/test.sh, so CI runs that one.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Also installs libclang-rt-19-dev, the sanitizers' runtime libraries.
"$repo/scripts/install-deps.sh"
build="$repo/build-sanitize"
jobs=${JOBS:-$(nproc)}
export LLMC_TOKENIZER_JSON=${LLMC_TOKENIZER_JSON:-$repo/models/tokenizer/tokenizer.json}
# LLVM's and MLIR's own libraries (Debian's) are not instrumented: LLVM's
# allocator headers, compiled into our instrumented code, poison memory that
# the uninstrumented library code then hands out without unpoisoning it, so
# manual poisoning is ignored (allow_user_poisoning=0); leaks LLVM keeps in
# globals on purpose are not ours to report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allow_user_poisoning=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
  -DLLMC_SANITIZE=address,undefined >/dev/null
ninja -C "$build" -j "$jobs"

status=0
ctest --test-dir "$build" --output-on-failure -j "$jobs" -E '^lit$' || status=1
ninja -C "$build" check-llmc || status=1
if ((status)); then
  echo "test-sanitize.sh: FAILED (see above)" >&2
else
  echo "test-sanitize.sh: all tests passed under address,undefined"
fi
exit "$status"
