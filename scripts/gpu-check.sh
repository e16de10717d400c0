#!/usr/bin/env bash
# The GPU check of the NVPTX target, in two halves:
#
#   scripts/gpu-check.sh prepare [BUNDLE]   here, with llmc built (build/):
#       compiles small models for nvptx64-nvidia-cuda and for this CPU, runs
#       the CPU builds for their logits, compiles the Llama 3.2 1B shape for
#       the GPU, and puts the executables (not the 1B weights) in BUNDLE
#       (default build/gpu-bundle, about 10 MB).
#   scripts/gpu-check.sh run BUNDLE         on an x86-64 Linux machine with an
#       NVIDIA GPU, its driver, Python with PyTorch, numpy and transformers
#       (no LLVM, no network): compares every position's logits of each
#       small model on the GPU with the CPU's (relative L2 per row <= 1e-4,
#       the CPU tolerance), writes the 1B weight file there with the
#       executable's --write-random-weights, measures llmc's decode at batch 1
#       after 8 and after 2048 prompt tokens and its prefill of 512 tokens,
#       the same with PyTorch (transformers' LlamaForCausalLM, random bf16
#       weights, eager and torch.compile), and the device's copy bandwidth,
#       and prints one table. Meant to finish in under 8 minutes.
#
# With the device tool: prepare here, then
#   run(command="scripts/gpu-check.sh run build/gpu-bundle",
#       carry=["build/gpu-bundle"])
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=${1:-}
bundle=${2:-$repo/build/gpu-bundle}

# The small models: name, model card, dtype, prompt length, vocabulary.
small_models=(
  "gqa4-f32 tests/e2e/Inputs/gqa4.yaml f32 33 1000"
  "gqa2-bf16 tests/e2e/Inputs/gqa2-llama3.yaml bf16 40 517"
  "gqa3-tied-bf16 tests/e2e/Inputs/gqa3-tied-llama3.yaml bf16 29 419"
  "mha-tied-f32 tests/e2e/Inputs/mha-tied.yaml f32 20 300"
  "odd-f32 tests/e2e/Inputs/odd-f16.yaml f32 25 333"
)

prepare() {
  local build=${BUILD:-$repo/build}
  local llmc=$build/bin/llmc tokens=$build/tests/reference/llmc-test-tokens
  [[ -x $llmc && -x $tokens ]] ||
    { echo "gpu-check: build llmc first (scripts/test.sh or ninja -C build)" >&2; exit 1; }
  local work
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  rm -rf "$bundle"
  mkdir -p "$bundle/small"
  local seed=1
  for entry in "${small_models[@]}"; do
    read -r name card dtype length vocab <<<"$entry"
    echo "gpu-check: preparing $name"
    "$llmc" synth "$repo/$card" -o "$work/$name" --dtype "$dtype" --seed "$seed" --std 0.1 >/dev/null
    "$tokens" "$length" "$vocab" "$seed" >"$bundle/small/$name.tokens"
    "$llmc" compile "$work/$name" --target nvptx64-nvidia-cuda --max-tokens 16 \
      -o "$bundle/small/$name" --quiet
    "$llmc" compile "$work/$name" --max-tokens 16 -o "$work/$name.cpu" --quiet
    "$work/$name.cpu" --tokens "$(cat "$bundle/small/$name.tokens")" \
      --logits-out "$bundle/small/$name.cpu-logits" -n 8 --ignore-eos --quiet \
      >"$bundle/small/$name.cpu-ids"
    echo "$vocab" >"$bundle/small/$name.vocab"
    seed=$((seed + 1))
  done
  # The 1B shape: the executable only; its weights are written on the GPU
  # machine (2.4 GB cannot be copied there).
  echo "gpu-check: compiling the Llama 3.2 1B shape for the GPU"
  "$llmc" synth "$repo/examples/llama3.2-1b.yaml" -o "$work/1b" --dtype bf16 --seed 1 >/dev/null
  "$llmc" compile "$work/1b" --target nvptx64-nvidia-cuda --max-tokens 512 \
    -o "$work/llama-1b-cuda" --quiet
  cp "$work/llama-1b-cuda" "$bundle/"
  cp "$repo/scripts/gpu-check.sh" "$bundle/"
  du -sh "$bundle"
}

# Per-row relative L2 error of two [positions, vocab] f32 files.
compare_logits() {
  python3 - "$@" <<'EOF'
import sys
import numpy as np
got, want, vocab = sys.argv[1], sys.argv[2], int(sys.argv[3])
a = np.fromfile(got, dtype=np.float32).reshape(-1, vocab)
b = np.fromfile(want, dtype=np.float32).reshape(-1, vocab)
if a.shape != b.shape:
    print(f"shape {a.shape} != {b.shape}"); sys.exit(1)
err = np.linalg.norm(a - b, axis=1) / np.maximum(np.linalg.norm(b, axis=1), 1e-30)
worst = float(err.max())
print(f"{worst:.2e} over {a.shape[0]} rows")
sys.exit(0 if np.isfinite(a).all() and worst <= 1e-4 else 1)
EOF
}

# "decode: 64 tokens in 0.050 s (1280.00 tok/s)" -> 1280.00
rate() { grep -o "^$1: .*(\([0-9.]*\) tok/s)" | grep -o '[0-9.]* tok/s' | cut -d' ' -f1; }

run() {
  cd "$bundle"
  local status=0 rows=()
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  for entry in "${small_models[@]}"; do
    read -r name _ _ _ _ <<<"$entry"
    local vocab ids
    vocab=$(cat "small/$name.vocab")
    if ! ids=$("./small/$name" --tokens "$(cat "small/$name.tokens")" \
          --logits-out "small/$name.gpu-logits" -n 8 --ignore-eos --quiet 2>"small/$name.err"); then
      rows+=("$name: FAILED: $(head -c 300 "small/$name.err")"); status=1; continue
    fi
    local verdict
    if verdict=$(compare_logits "small/$name.gpu-logits" "small/$name.cpu-logits" "$vocab"); then
      verdict="logits ok ($verdict)"
    else
      verdict="LOGITS DIFFER ($verdict)"; status=1
    fi
    if [[ "$ids" == "$(cat "small/$name.cpu-ids")" ]]; then
      verdict+=", greedy tokens equal"
    else
      verdict+=", GREEDY TOKENS DIFFER"; status=1
    fi
    rows+=("$name: $verdict")
  done

  echo "gpu-check: writing the 1B weight file"
  ./llama-1b-cuda --write-random-weights llama-1b.weights --seed 1
  local p8 p512 p2048
  p8=$(seq -s, 1000 1007); p512=$(seq -s, 1000 1511); p2048=$(seq -s, 1000 3047)
  local out d8 d2048 pf512
  out=$(./llama-1b-cuda --weights llama-1b.weights --tokens "$p8" -n 128 --ignore-eos 2>&1 >/dev/null) || { echo "$out"; status=1; }
  d8=$(rate decode <<<"$out")
  out=$(./llama-1b-cuda --weights llama-1b.weights --tokens "$p2048" -n 64 --ignore-eos --ctx 4096 2>&1 >/dev/null) || { echo "$out"; status=1; }
  d2048=$(rate decode <<<"$out")
  out=$(./llama-1b-cuda --weights llama-1b.weights --tokens "$p512" -n 1 --ignore-eos 2>&1 >/dev/null) || { echo "$out"; status=1; }
  pf512=$(rate prefill <<<"$out")

  echo "gpu-check: PyTorch peer (eager and torch.compile) and copy bandwidth"
  local peer
  peer=$(python3 - <<'EOF'
import time, torch
from transformers import LlamaConfig, LlamaForCausalLM
torch.manual_seed(0)
dev = "cuda"
x = torch.empty(1 << 30, dtype=torch.uint8, device=dev)
y = torch.empty_like(x)
for _ in range(3): y.copy_(x)
torch.cuda.synchronize(); t = time.perf_counter()
for _ in range(20): y.copy_(x)
torch.cuda.synchronize()
bw = 20 * 2 * x.numel() / (time.perf_counter() - t) / 1e9
del x, y
cfg = LlamaConfig(vocab_size=128256, hidden_size=2048, intermediate_size=8192,
    num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8,
    head_dim=64, max_position_embeddings=131072, rms_norm_eps=1e-5,
    rope_theta=500000.0, tie_word_embeddings=True,
    rope_scaling={"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                  "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})
with torch.device(dev):
    model = LlamaForCausalLM(cfg).to(torch.bfloat16).eval()
def decode_rate(fwd, prompt, steps):
    ids = torch.arange(1000, 1000 + prompt, device=dev).unsqueeze(0)
    with torch.no_grad():
        out = fwd(input_ids=ids, use_cache=True)
        past, tok = out.past_key_values, out.logits[:, -1:].argmax(-1)
        for i in range(steps + 3):
            if i == 3:
                torch.cuda.synchronize(); t = time.perf_counter()
            out = fwd(input_ids=tok, past_key_values=past, use_cache=True)
            past, tok = out.past_key_values, out.logits[:, -1:].argmax(-1)
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - t)
def prefill_rate(fwd, n):
    ids = torch.arange(1000, 1000 + n, device=dev).unsqueeze(0)
    with torch.no_grad():
        for _ in range(2): fwd(input_ids=ids)
        torch.cuda.synchronize(); t = time.perf_counter()
        for _ in range(5): fwd(input_ids=ids)
        torch.cuda.synchronize()
    return 5 * n / (time.perf_counter() - t)
rows = []
for name, fwd in [("eager", model), ("compile", torch.compile(model))]:
    rows.append((name, decode_rate(fwd, 8, 64), decode_rate(fwd, 2048, 32),
                 prefill_rate(fwd, 512)))
print(f"bandwidth {bw:.0f}")
for name, d8, d2048, p in rows:
    print(f"{name} {d8:.1f} {d2048:.1f} {p:.0f}")
EOF
) || { echo "gpu-check: the PyTorch peer failed" >&2; status=1; }

  echo
  echo "== llmc gpu-check =="
  for row in "${rows[@]}"; do echo "  $row"; done
  local bw weights_gb=2.47
  bw=$(awk '/^bandwidth/ {print $2}' <<<"$peer")
  printf '%-22s %14s %16s %16s\n' "" "decode@8 tok/s" "decode@2048 tok/s" "prefill512 tok/s"
  printf '%-22s %14s %16s %16s\n' "llmc (nvptx)" "${d8:-?}" "${d2048:-?}" "${pf512:-?}"
  while read -r name a b c; do
    [[ $name == eager || $name == compile ]] || continue
    printf '%-22s %14s %16s %16s\n' "PyTorch $name" "$a" "$b" "$c"
  done <<<"$peer"
  if [[ -n ${bw:-} ]]; then
    echo "device copy bandwidth: $bw GB/s; 1B bf16 roofline: $(awk -v b="$bw" -v w="$weights_gb" 'BEGIN {printf "%.0f", b / w}') tok/s"
  fi
  return "$status"
}

case $mode in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: scripts/gpu-check.sh prepare [BUNDLE] | run BUNDLE" >&2; exit 2 ;;
esac
