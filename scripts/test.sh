#!/usr/bin/env bash
# Installs the dependencies, builds llmc into build/ (Ninja, Release, clang-19)
# and runs every test once: the GoogleTest unit tests through ctest and the
# lit suite (FileCheck and end-to-end tests). Exits non-zero on any failure.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

scripts/install-deps.sh

# install-deps.sh put the real Llama 3 tokenizer there; the tokenizer tests
# that compare with it are skipped without this.
export LLMC_TOKENIZER_JSON=${LLMC_TOKENIZER_JSON:-$repo/models/tokenizer/tokenizer.json}

build="$repo/build"
jobs=${JOBS:-$(nproc)}
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 >/dev/null
ninja -C "$build" -j "$jobs"

# tests/CMakeLists.txt registers the lit suite with ctest as one test named
# `lit`; it is excluded from ctest here and run through `ninja check-llmc`
# instead, so that each test runs once and lit's own summary is shown.
status=0
ctest --test-dir "$build" --output-on-failure -j "$jobs" -E '^lit$' || status=1
ninja -C "$build" check-llmc || status=1
# Every libFuzzer harness for a few seconds on its seed corpus (built when
# the compiler has libFuzzer; scripts/fuzz.sh SECONDS runs them longer).
if [[ -d "$build/bin/fuzz" ]]; then
  scripts/fuzz.sh 5 || status=1
fi
if ((status)); then
  echo "test.sh: FAILED (see above)" >&2
else
  echo "test.sh: all tests passed"
fi
exit "$status"
