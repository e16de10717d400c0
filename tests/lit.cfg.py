# -*- Python -*-
# lit configuration for llmc: FileCheck tests of the llm dialect and passes
# (.mlir) and end-to-end tests (.test) that synthesize a tiny model, compile
# it, run it and compare its logits with the float64 reference.

import importlib.util
import os
import shutil

import lit.formats
from lit.llvm import llvm_config

config.name = "llmc"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.llmc_obj_root, "tests")
# unit/ holds GoogleTest sources run by ctest; Inputs/ holds test data.
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "unit", "lib"]

# FileCheck, not, count (and %python) from LLVM.
llvm_config.use_default_substitutions()

# The project's tools come first on PATH, then LLVM's.
tool_dirs = config.llmc_tool_dirs + [config.llvm_tools_dir]
llvm_config.with_environment("PATH", tool_dirs, append_path=True)

# A tool that is not built yet makes the tests that need it UNSUPPORTED
# (see e.g. e2e/lit.local.cfg) instead of failing everyone's ctest.
search_path = config.environment["PATH"]
for tool in ["llmc", "llm-opt", "llmc-bench", "llmc-reference", "llmc-compare-logits",
             "llmc-test-tokens", "llmc-test-chat-template",
             "llmc-test-interrupt", "llmc-make-gguf"]:
    if shutil.which(tool, path=search_path):
        config.available_features.add(tool)

# Cross and GPU toolchains; tests that need them say REQUIRES: and are
# reported as UNSUPPORTED where these are missing.
# aarch64-cross: llmc can link AArch64 executables (the cross compiler and the
# runtime cross-built by this build, see runtime/CMakeLists.txt) and
# qemu-aarch64 can run them.
aarch64_runtime = os.path.join(config.llmc_obj_root, "lib",
                               "aarch64-linux-gnu", "libllmc_runtime.a")
aarch64_tools = ["aarch64-linux-gnu-gcc", "aarch64-linux-gnu-g++",
                 "qemu-aarch64"]
aarch64_missing = [t for t in aarch64_tools if not shutil.which(t)]
if aarch64_missing:
    lit_config.note("AArch64 tests skipped: " + ", ".join(aarch64_missing) +
                    " not found; install them with apt-get install "
                    "g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user "
                    "(or scripts/install-deps.sh), then re-run cmake")
elif not os.path.exists(aarch64_runtime):
    lit_config.note("AArch64 tests skipped: the AArch64 runtime " +
                    aarch64_runtime + " is not built; re-run cmake (it "
                    "cross-builds the runtime when aarch64-linux-gnu-g++ is "
                    "installed) and build llmc")
else:
    config.available_features.add("aarch64-cross")
# host-cpu-<feature> for the x86 features this machine has (tests that need
# a feature it lacks say UNSUPPORTED: host-cpu-<feature>).
if os.path.exists("/proc/cpuinfo"):
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("flags"):
                for flag in line.split(":", 1)[1].split():
                    config.available_features.add("host-cpu-" + flag)
                break
# chromium: Debian's browser, headless, for the test that renders the
# --report page (scripts/install-deps.sh installs it; optional).
chromium = shutil.which("chromium")
if chromium:
    config.available_features.add("chromium")
    config.substitutions.append(
        ("%chromium", chromium + " --headless --no-sandbox --disable-gpu "
         "--no-first-run"))
else:
    lit_config.note("the browser test of --report is skipped: chromium not "
                    "found; install it with apt-get install chromium (or "
                    "scripts/install-deps.sh)")
if os.path.exists("/usr/local/cuda/bin/ptxas"):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", "/usr/local/cuda/bin/ptxas"))
# fake-cuda: the stand-in libcuda.so.1 (tests/lib/runtime/FakeCuda.cpp) that
# GPU executables load through LD_LIBRARY_PATH=%fakecuda.
fake_cuda_dir = os.path.join(config.llmc_obj_root, "tests", "fakecuda")
if os.path.exists(os.path.join(fake_cuda_dir, "libcuda.so.1")):
    config.available_features.add("fake-cuda")
config.substitutions.append(("%fakecuda", fake_cuda_dir))

# tests/reference cross-checks the reference against a numpy implementation.
if importlib.util.find_spec("numpy"):
    config.available_features.add("numpy")

# The real Llama 3 tokenizer and the transformers.js oracle that tokenizes
# (tokenizer/oracle.test) and renders its chat template, both put in models/
# by scripts/install-deps.sh. %models names that directory.
models_dir = os.path.join(config.llmc_src_root, "models")
config.substitutions.append(("%models", models_dir))
# The build tree (tools/install.test installs it with cmake --install).
config.substitutions.append(("%llmc_build", config.llmc_obj_root))
if os.path.exists(os.path.join(models_dir, "tokenizer", "tokenizer.json")):
    config.available_features.add("llama3-tokenizer")
oracle_package = os.path.join(models_dir, "tokenizer-oracle", "node_modules",
                              "@lenml", "tokenizer-llama3")
if shutil.which("node") and os.path.isdir(oracle_package):
    config.available_features.add("tokenizer-oracle")
else:
    lit_config.note("tokenizer oracle tests skipped: node or " +
                    oracle_package + " is missing (scripts/install-deps.sh "
                    "installs them)")
