#!/usr/bin/env bash
# Builds llmc, writes a Llama 3.2 1B shaped model with seeded random bf16
# weights and the real Llama 3 tokenizer, compiles it and generates 32 tokens
# from a prompt, printing the prefill and decode speed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

scripts/install-deps.sh

build="$repo/build"
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 >/dev/null
ninja -C "$build" -j "${JOBS:-$(nproc)}" llmc
llmc="$build/bin/llmc"

model=models/llama3.2-1b-random
if [[ -f "$model/config.json" ]]; then
  echo "demo: reusing $model"
else
  echo "demo: writing $model (random bf16 weights, seed 1)"
  # Into a scratch directory first, so an interrupted run is not reused.
  rm -rf "$model" "$model.partial"
  "$llmc" synth examples/llama3.2-1b.yaml -o "$model.partial" --dtype bf16 \
    --seed 1
  mv "$model.partial" "$model"
fi
cp models/tokenizer/tokenizer.json models/tokenizer/tokenizer_config.json \
  "$model/"

echo "demo: compiling $model -> models/llama3.2-1b"
time "$llmc" compile "$model" -o models/llama3.2-1b

echo
echo "demo: the weights are random, so the text below is gibberish; that is"
echo "demo: expected. The point is the prefill/decode speed lines after it."
echo
models/llama3.2-1b --prompt "The capital of France is" -n 32 --ignore-eos
