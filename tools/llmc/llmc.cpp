//===- llmc.cpp - The llmc compiler driver ---------------------------------===//
//
//   llmc compile MODEL [--weights DIR] -o EXE [--target T] [--mcpu C]
//                      [--mattr F]
//                      [--emit=exe|obj|asm|llvm|ptx|linalg|llm|import]
//                      [--dump-stages DIR] [--mlir-* (MLIR's own flags)]
//                      [--matmul-precision=auto|f32|bf16|int8|int16]
//   llmc synth MODEL -o DIR [--dtype f32|bf16|f16] [--seed N] [--std S]
//
//===----------------------------------------------------------------------===//

#include "Report.h"
#include "codegen/EmitObject.h"
#include "codegen/LLMToLinalg.h"
#include "codegen/Passes.h"
#include "codegen/Pipelines.h"
#include "codegen/Target.h"
#include "codegen/packer/WeightPacker.h"
#include "frontend/ImportLlama.h"
#include "frontend/ModelCard.h"
#include "frontend/ModelLoader.h"
#include "frontend/TokenizerJson.h"
#include "runtime/abi/Version.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/Timer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/Transforms/Utils/Cloning.h"

#include <chrono>
#include <map>
#include <set>

using namespace llvm;
using namespace mlir::llm;

static cl::SubCommand compileCmd("compile",
                                 "Compile a model into a native executable");
static cl::SubCommand synthCmd(
    "synth", "Write a Hugging Face model directory with seeded random weights");

static cl::OptionCategory category("llmc options");
static cl::OptionCategory mlirCategory(
    "MLIR options (MLIR's own flags, as mlir-opt has them)");

// compile
static cl::opt<std::string> compileInput(cl::Positional, cl::Required,
                                         cl::desc("<model dir, model.gguf, card.yaml or stage.mlir>"),
                                         cl::sub(compileCmd));
static cl::opt<std::string>
    weightsDir("weights",
               cl::desc("Directory with the safetensors (for a YAML card); for "
                        "a .mlir input, the model (directory or GGUF file) "
                        "its parameters come from"),
               cl::value_desc("path"), cl::sub(compileCmd), cl::cat(category));
static cl::opt<std::string>
    output("o", cl::desc("Output file (the executable; its weights go to "
                         "<output>.weights). '-' for stdout with --emit of "
                         "IR or assembly"),
           cl::value_desc("file"), cl::sub(compileCmd), cl::cat(category));
static cl::opt<std::string>
    targetTriple("target",
                 cl::desc("Target triple, e.g. x86_64-linux-gnu, "
                          "aarch64-linux-gnu, nvptx64-nvidia-cuda (default: "
                          "the host)"),
                 cl::sub(compileCmd), cl::cat(category));
static cl::opt<std::string>
    targetCPU("mcpu",
              cl::desc("Target CPU, an LLVM CPU name (default: the host's), "
                       "or the GPU architecture for nvptx64 (default: "
                       "sm_90a)"),
              cl::sub(compileCmd), cl::cat(category));
static cl::opt<std::string>
    targetAttrs("mattr", cl::desc("Target features, e.g. +avx512f,-avx512bf16"),
                cl::sub(compileCmd), cl::cat(category));

enum class Emit { Exe, Obj, Asm, LLVM, PTX, Linalg, LLM, Import };
static cl::opt<Emit> emit(
    "emit", cl::desc("What to produce"), cl::init(Emit::Exe),
    cl::values(clEnumValN(Emit::Exe, "exe", "a native executable (default)"),
               clEnumValN(Emit::Obj, "obj", "the model's object file"),
               clEnumValN(Emit::Asm, "asm", "the model's assembly"),
               clEnumValN(Emit::LLVM, "llvm",
                          "optimized LLVM IR (of the host code, for a GPU)"),
               clEnumValN(Emit::PTX, "ptx",
                          "the GPU kernels' PTX (--target nvptx64-nvidia-cuda)"),
               clEnumValN(Emit::Linalg, "linalg",
                          "IR after lowering to linalg on planned buffers"),
               clEnumValN(Emit::LLM, "llm",
                          "llm IR after fusion, strategy and weight planning"),
               clEnumValN(Emit::Import, "import",
                          "llm IR as imported, before any pass")),
    cl::sub(compileCmd), cl::cat(category));
static cl::opt<bool> emulateGPU(
    "emulate-gpu",
    cl::desc("For a CPU target: lower as for a GPU and run the kernels as "
             "loops on the CPU, for tests of the GPU lowering (run the "
             "executable with --threads 1)"),
    cl::Hidden, cl::sub(compileCmd), cl::cat(category));
static cl::opt<bool> printAfterAll(
    "print-ir-after-all",
    cl::desc("Print the IR after every pass that changed it (to stderr; "
             "--mlir-print-ir-after-all prints it after every pass)"),
    cl::sub(compileCmd), cl::cat(category));
static cl::opt<std::string> dumpStages(
    "dump-stages",
    cl::desc("Write each stage's output to DIR (0-import.mlir, 1-llm.mlir, "
             "2-linalg.mlir, 3-llvm.mlir, 4-host.ll, 5-model.s; "
             "5-kernels.ptx for a GPU) and replay.sh, the llm-opt pipelines "
             "that replay each MLIR stage from the one before"),
    cl::value_desc("dir"), cl::sub(compileCmd), cl::cat(category));
/// The command line, as the report shows it.
static std::string commandLine;

static cl::opt<std::string> reportPath(
    "report",
    cl::desc("Write one self-contained HTML page of the kernels: each "
             "module's llm ops (fusions applied), tiles and packed layouts, "
             "loop nests, assembly, and FLOPs and bytes per call"),
    cl::value_desc("file.html"), cl::sub(compileCmd), cl::cat(category));
static cl::opt<std::string> reportProfile(
    "profile",
    cl::desc("With --report: an executable's --profile-out file, whose "
             "measured times and rates go beside the costs"),
    cl::value_desc("file.json"), cl::sub(compileCmd), cl::cat(category));
static cl::opt<int64_t> maxTokens(
    "max-tokens",
    cl::desc("Most tokens one forward call processes (prefill chunk size)"),
    cl::init(256), cl::sub(compileCmd), cl::cat(category));
static cl::opt<std::string> weightType(
    "weight-type",
    cl::desc("Element type of packed matrices: f32, bf16, f16 (default: as "
             "stored in the checkpoint), or int8: every matrix quantized per "
             "group (--group-size; the default for a quantized GGUF), or "
             "int4: the projections in 4 bits, the embedding in 8"),
    cl::sub(compileCmd), cl::cat(category));
static cl::opt<bool> quantizeEmbedding(
    "quantize-embedding",
    cl::desc("With --weight-type int8 or int4: quantize the embedding table "
             "(and a tied lm_head) to int8 too (default true; =false keeps it "
             "as stored)"),
    cl::init(true), cl::sub(compileCmd), cl::cat(category));
static cl::opt<int64_t> groupSize(
    "group-size",
    cl::desc("Columns of a row sharing one scale with --weight-type int8 or "
             "int4, or in a quantized GGUF file's groups: 32, 64 or 128 "
             "(default 32; a GGUF's Q6_K matrices take 16 unless it is "
             "given)"),
    cl::init(32), cl::sub(compileCmd), cl::cat(category));
enum class Precision { Auto, F32, BF16, Int8, Int16 };
static cl::opt<Precision> matmulPrecision(
    "matmul-precision",
    cl::desc("What the projections round their inputs to (default: auto)"),
    cl::init(Precision::Auto),
    cl::values(
        clEnumValN(Precision::Auto, "auto",
                   "int16 for int8 and int4 weights where the CPU has an "
                   "8-bit dot product; bf16 where its bf16 dot product is "
                   "faster than its f32 FMA (AMD Zen 4 and 5); f32 "
                   "elsewhere"),
        clEnumValN(Precision::F32, "f32", "exact: inputs stay f32"),
        clEnumValN(Precision::BF16, "bf16",
                   "bf16 weights multiply inputs rounded to bf16 on the "
                   "CPU's dot product (x86 AVX512-BF16 vdpbf16ps)"),
        clEnumValN(Precision::Int8, "int8",
                   "int8 and int4 weights multiply inputs quantized to 8 "
                   "bits per row and group on the CPU's 8-bit dot product "
                   "(x86 VNNI vpdpbusd, AVX2 vpmaddubsw; AArch64 sdot): "
                   "the fastest prefill, llama.cpp's precision"),
        clEnumValN(Precision::Int16, "int16",
                   "as int8, the inputs quantized to 16 bits and multiplied "
                   "as two 8-bit halves: about f32's precision")),
    cl::sub(compileCmd), cl::cat(category));
enum class KVElement { F32, BF16 };
static cl::opt<KVElement> kvCacheType(
    "kv-cache-type",
    cl::desc("Element type of the KV cache (default: f32)"),
    cl::init(KVElement::F32),
    cl::values(clEnumValN(KVElement::F32, "f32", "exact"),
               clEnumValN(KVElement::BF16, "bf16",
                          "keys and values rounded to bf16 when stored: half "
                          "the memory and half the bytes attention reads "
                          "at long contexts")),
    cl::sub(compileCmd), cl::cat(category));
static cl::opt<bool> quiet("quiet",
                           cl::desc("No progress output (progress is only "
                                    "shown when stderr is a terminal)"),
                           cl::sub(compileCmd), cl::sub(synthCmd),
                           cl::cat(category));

// synth
static cl::opt<std::string> synthInput(cl::Positional, cl::Required,
                                       cl::desc("<card.yaml or HF dir>"),
                                       cl::sub(synthCmd));
static cl::opt<std::string> synthOutput("o",
                                        cl::desc("Output model directory"),
                                        cl::value_desc("dir"),
                                        cl::sub(synthCmd), cl::cat(category));
static cl::opt<std::string>
    synthDType("dtype", cl::desc("Stored type: f32, bf16, f16 (default: the "
                                 "model's)"),
               cl::sub(synthCmd), cl::cat(category));
static cl::opt<uint64_t> seed("seed", cl::desc("Random seed"), cl::init(0),
                              cl::sub(synthCmd), cl::cat(category));
static cl::opt<double> stddev("std",
                              cl::desc("Standard deviation of the matrices"),
                              cl::init(0.02), cl::sub(synthCmd),
                              cl::cat(category));

namespace {

/// Prints "llmc: phase... 1.2 s" lines, and a bar for long phases, when
/// stderr is a terminal; nothing otherwise (pipes, CI).
class Progress {
public:
  explicit Progress(bool enabled) : enabled(enabled) {}
  void phase(StringRef name) {
    finish();
    if (!enabled)
      return;
    current = name.str();
    errs() << "llmc: " << current << "...";
    start = std::chrono::steady_clock::now();
    open = true;
    lastPercent = -1;
  }
  /// Redraws the current phase as a bar of `done` out of `total` bytes.
  void bar(int64_t done, int64_t total) {
    if (!open || total <= 0)
      return;
    int percent = static_cast<int>(100 * done / total);
    if (percent == lastPercent)
      return;
    lastPercent = percent;
    constexpr int width = 30;
    int filled = percent * width / 100;
    errs() << "\rllmc: " << current << " [" << std::string(filled, '#')
           << std::string(width - filled, ' ') << "] "
           << format("%3d%% (%.2f / %.2f GB)", percent, done / 1e9,
                     total / 1e9);
  }
  /// Prints `line` (a warning or note) on a line of its own; an open phase
  /// goes on below it.
  void print(const Twine &line) {
    if (open)
      errs() << "\n";
    errs() << line << "\n";
    if (open)
      errs() << "llmc: " << current << "...";
  }
  void finish() {
    if (!open)
      return;
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                             start)
                   .count();
    errs() << format(" %.1f s\n", s);
    open = false;
  }
  bool enabled;

private:
  bool open = false;
  int lastPercent = -1;
  std::string current;
  std::chrono::steady_clock::time_point start;
};

int fail(const Twine &message) {
  errs() << "llmc: error: " << message << "\n";
  return 1;
}

int fail(Error err) { return fail(toString(std::move(err))); }

/// Writes text produced by `print` to `output` (stdout when empty or "-").
int writeOutput(function_ref<void(raw_ostream &)> print) {
  std::string path = output.empty() ? "-" : output.getValue();
  std::error_code ec;
  ToolOutputFile out(path, ec, sys::fs::OF_Text);
  if (ec)
    return fail(path + ": " + ec.message());
  print(out.os());
  out.keep();
  return 0;
}

/// --emit of an MLIR stage: as llm-opt prints it (MLIR's printing flags
/// apply), with its final newline.
int printModule(mlir::ModuleOp module) {
  return writeOutput([&](raw_ostream &os) {
    module.print(os);
    os << "\n";
  });
}

/// Where the runtime libraries are: $LLMC_RUNTIME_DIR, else ../lib/llmc
/// next to the running llmc (cmake --install's layout), else ../lib (the
/// build tree's).
std::string runtimeDir(const char *argv0) {
  if (std::optional<std::string> dir = sys::Process::GetEnv("LLMC_RUNTIME_DIR"))
    return *dir;
  std::string exe =
      sys::fs::getMainExecutable(argv0, reinterpret_cast<void *>(&runtimeDir));
  SmallString<256> dir(sys::path::parent_path(sys::path::parent_path(exe)));
  sys::path::append(dir, "lib");
  SmallString<256> installed(dir);
  sys::path::append(installed, "llmc", "libllmc_runtime.a");
  if (sys::fs::exists(installed))
    sys::path::append(dir, "llmc");
  return std::string(dir);
}

/// The compiled image of the model's tokenizer.json ("" without one),
/// parsed here so that a bad file is a compile-time error and the executable
/// loads a ready-made image.
Expected<std::string> compileTokenizer(const llmc::LoadedModel &model) {
  if (model.tokenizerImage)
    return *model.tokenizerImage;
  if (model.tokenizerJsonPath.empty())
    return std::string();
  return llmc::compileTokenizerJsonFile(model.tokenizerJsonPath);
}

/// The model facts the executable's runtime reads from `llmc_model_info`.
LlmcModelInfo describeModel(const llmc::ModelSpec &spec) {
  LlmcModelInfo info = {};
  info.magic = LLMC_MODEL_INFO_MAGIC;
  info.vocab_size = spec.vocabSize;
  info.hidden_size = spec.hiddenSize;
  info.num_layers = spec.numLayers;
  info.num_heads = spec.numHeads;
  info.num_kv_heads = spec.numKVHeads;
  info.head_dim = spec.headDim;
  info.max_positions = spec.maxPositions;
  info.bos_token_id = spec.bosTokenId;
  info.eos_token_id = spec.eosTokenId;
  info.max_tokens_per_call = maxTokens;
  return info;
}

/// The element types of the packed weights, largest share first:
/// "bf16 (99.9%), f32 (0.1%)" or "i4 in groups of 32 (72.0%), ...".
std::string describeWeights(mlir::ModuleOp module) {
  llvm::MapVector<std::string, double, std::map<std::string, unsigned>> bytes;
  double total = 0;
  for (ParamOp param : module.getOps<ParamOp>()) {
    mlir::RankedTensorType type = param.getTensorType();
    double size = double(type.getNumElements()) *
                  double(type.getElementTypeBitWidth()) / 8.0 *
                  double(std::max<int64_t>(param.getLayers(), 1));
    std::string name;
    raw_string_ostream os(name);
    type.getElementType().print(os);
    if (std::optional<uint64_t> group = param.getGroup())
      os << " in groups of " << *group;
    bytes[name] += size;
    total += size;
  }
  SmallVector<std::pair<std::string, double>> sorted(bytes.begin(),
                                                     bytes.end());
  llvm::sort(sorted, [](const auto &a, const auto &b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::string text;
  for (const auto &[name, size] : sorted)
    text +=
        (text.empty() ? "" : ", ") + name +
        (sorted.size() > 1
             ? formatv(" ({0:F1}%)", 100.0 * size / std::max(total, 1.0)).str()
             : std::string());
  return text;
}

/// One `llmc compile`: the stages below run in order, each on the module
/// the previous one left, and any of them may be the last (--emit).
class Compilation {
public:
  Compilation(mlir::MLIRContext &context, const char *argv0)
      : context(context), argv0(argv0),
        progress(!quiet && sys::Process::StandardErrIsDisplayed()) {}

  int run() {
    mlir::applyDefaultTimingManagerCLOptions(timing);
    rootTiming = timing.getRootScope();
    if (Error err = checkOptions())
      return fail(std::move(err));
    bool fromIR = StringRef(compileInput).ends_with(".mlir");
    if (Error err = fromIR ? readIR() : importModel())
      return fail(std::move(err));
    if (inputStage == Emit::Import) {
      if (Error err = dumpModule("0-import.mlir"))
        return fail(std::move(err));
      if (emit == Emit::Import)
        return finishWith(printModule(module()));
      phase("optimizing the llm IR");
      if (failed(runPipeline("1-llm.mlir", [&](mlir::OpPassManager &pm) {
            buildLLMOptimizationPipeline(pm);
            buildStrategyPipeline(pm, pipelineOptions());
          })))
        return fail("llm-level passes failed");
    }
    if (inputStage != Emit::Linalg)
      if (Error err = dumpModule("1-llm.mlir"))
        return fail(std::move(err));
    if (report)
      report->recordLLM(module());
    if (emit == Emit::LLM)
      return finishWith(printModule(module()));
    info.weights_bytes = abiAttr<LLMDialect::WeightsBytesAttrHelper>();
    weightTypes = describeWeights(module());
    if (wantsFile())
      if (Error err = packWeightFile())
        return fail(std::move(err));
    auto cleanup = make_scope_exit([&] { sys::fs::remove(weightsTemp()); });
    if (inputStage != Emit::Linalg) {
      if (Error err = lowerToLinalg())
        return fail(std::move(err));
    }
    info.scratch_bytes = abiAttr<LLMDialect::ScratchBytesAttrHelper>();
    info.kv_bytes_per_position =
        abiAttr<LLMDialect::KvBytesPerPositionAttrHelper>();
    if (Error err = dumpModule("2-linalg.mlir"))
      return fail(std::move(err));
    if (report) {
      if (inputStage == Emit::Linalg)
        report->recordLLM(module());
      report->recordLinalg(module());
    }
    if (emit == Emit::Linalg)
      return finishWith(printModule(module()));
    if (Error err = lowerToLLVM())
      return fail(std::move(err));
    if (emit == Emit::PTX)
      return finishWith(writePTX());
    if (emit == Emit::LLVM)
      return finishWith(writeOutput(
          [&](raw_ostream &os) { llvmModule->print(os, nullptr); }));
    if (Error err = generateCode())
      return fail(std::move(err));
    if (emit == Emit::Asm)
      return finishWith(0);
    if (std::error_code ec = sys::fs::rename(weightsTemp(), weightsPath()))
      return fail(weightsPath() + ": " + ec.message());
    return finishWith(0);
  }

private:
  mlir::ModuleOp module() { return imported.get(); }
  bool wantsFile() const { return emit == Emit::Exe || emit == Emit::Obj; }
  std::string weightsPath() const { return output + ".weights"; }
  std::string weightsTemp() const { return weightsPath() + ".tmp"; }

  /// The kernels' PTX, which the GPU lowering left in `llmc_gpu_ptx`.
  int writePTX() {
    if (!ptxText())
      return fail("the GPU lowering left no PTX");
    return writeOutput([&](raw_ostream &os) { printPTX(os); });
  }

  mlir::StringAttr ptxText() {
    auto ptx = module().lookupSymbol<mlir::LLVM::GlobalOp>("llmc_gpu_ptx");
    return ptx ? dyn_cast_or_null<mlir::StringAttr>(ptx.getValueOrNull())
               : mlir::StringAttr();
  }

  void printPTX(raw_ostream &os) {
    if (mlir::StringAttr text = ptxText())
      os << text.getValue().rtrim(StringRef("\0", 1));
  }

  PipelineOptions pipelineOptions() const {
    PipelineOptions options;
    options.maxTokens = maxTokens;
    options.gpu = emulateGPU || llvm::Triple(target.getTriple()).isNVPTX();
    if (matmulPrecision == Precision::BF16)
      options.matmulPrecision = "bf16";
    else if (matmulPrecision == Precision::Int8)
      options.matmulPrecision = "int8";
    else if (matmulPrecision == Precision::Int16)
      options.matmulPrecision = "int16";
    else if (matmulPrecision == Precision::F32 || emulateGPU)
      // An emulated GPU keeps the GPU's f32 projections unless asked.
      options.matmulPrecision = "f32";
    return options;
  }

  int finishWith(int rc) {
    progress.finish();
    if (rc == 0 && wantsFile() && !quiet)
      printSummary();
    if (rc == 0)
      if (Error err = writeReplayScript())
        return fail(std::move(err));
    if (rc == 0 && report) {
      llmc::Report::Header header;
      header.input = compileInput;
      header.target =
          target.getTriple().str() + " (" + target.getCpu().str() + ")";
      header.command = commandLine;
      header.forThisMachine =
          hostTarget == target &&
          llvm::Triple(target.getTriple()).getArch() ==
              llvm::Triple(sys::getProcessTriple()).getArch() &&
          target.getCpu() == sys::getHostCPUName();
      if (Error err = report->write(reportPath, header, reportProfile))
        return fail(std::move(err));
    }
    return rc;
  }

  /// What a finished compile wrote, on one line.
  void printSummary() {
    auto mib = [](StringRef path) {
      uint64_t size = 0;
      sys::fs::file_size(path, size);
      return formatv("{0:F1} MiB", double(size) / (1024.0 * 1024.0)).str();
    };
    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - startTime)
                         .count();
    errs() << "llmc: wrote " << output << " (" << mib(output) << ") and "
           << weightsPath() << " (" << mib(weightsPath()) << ": " << weightTypes
           << (packedTokenizer ? "; the tokenizer" : "; no tokenizer")
           << ") for " << target.getTriple() << " (" << target.getCpu()
           << ") in " << format("%.1f s", seconds) << "\n";
  }

  /// Starts a phase of the compilation: a progress line and a timer
  /// (--mlir-timing reports the phases with their passes nested).
  void phase(StringRef name) {
    progress.phase(name);
    phaseTiming = rootTiming.nest(name);
  }

  /// Runs the passes `build` adds (MLIR's --mlir-* pass-manager flags
  /// applied); with --dump-stages, the pipeline is kept for replay.sh as
  /// the one that makes `stage`.
  LogicalResult runPipeline(StringRef stage,
                            function_ref<void(mlir::OpPassManager &)> build) {
    mlir::PassManager pm(&context);
    if (failed(mlir::applyPassManagerCLOptions(pm)))
      return mlir::failure();
    if (printAfterAll) {
      context.disableMultithreading();
      pm.enableIRPrinting(
          [](mlir::Pass *, mlir::Operation *) { return false; },
          [](mlir::Pass *, mlir::Operation *) { return true; },
          /*printModuleScope=*/true, /*printAfterOnlyOnChange=*/true);
    }
    if (phaseTiming)
      pm.enableTiming(phaseTiming);
    build(pm);
    if (!dumpStages.empty()) {
      std::string text;
      raw_string_ostream os(text);
      pm.printAsTextualPipeline(os);
      stagePipelines.push_back({stage.str(), text});
    }
    return pm.run(module());
  }

  /// With --dump-stages, writes `name` in that directory with `print`.
  Error dumpStage(StringRef name, function_ref<Error(StringRef)> print) {
    if (dumpStages.empty())
      return Error::success();
    if (std::error_code ec = sys::fs::create_directories(dumpStages))
      return createStringError(dumpStages + ": " + ec.message());
    SmallString<256> path(dumpStages.getValue());
    sys::path::append(path, name);
    dumpedStages.push_back(name.str());
    return print(path);
  }

  Error dumpText(StringRef name, function_ref<void(raw_ostream &)> print) {
    return dumpStage(name, [&](StringRef path) -> Error {
      std::error_code ec;
      ToolOutputFile out(path, ec, sys::fs::OF_Text);
      if (ec)
        return createStringError(path + ": " + ec.message());
      print(out.os());
      out.keep();
      return Error::success();
    });
  }

  /// A stage's IR with its locations (the kernels' names come from them),
  /// as `llm-opt --mlir-print-debuginfo` prints it.
  Error dumpModule(StringRef name) {
    return dumpText(name, [&](raw_ostream &os) {
      module().print(os, mlir::OpPrintingFlags().enableDebugInfo());
      os << "\n";
    });
  }

  /// replay.sh: llm-opt runs each pipeline llmc ran on the stage before it
  /// and writes replayed-<stage> beside it.
  Error writeReplayScript() {
    if (dumpStages.empty())
      return Error::success();
    return dumpText("replay.sh", [&](raw_ostream &os) {
      os << "#!/bin/sh\n"
            "# The MLIR stages llmc wrote here and the pipelines that made "
            "them: run\n"
            "# this script in this directory (llm-opt on PATH) to replay each "
            "stage\n"
            "# from the one before it into replayed-<stage>, the same IR.\n"
            "set -e\n";
      StringRef previous = "0-import.mlir";
      for (const auto &[stage, pipeline] : stagePipelines) {
        if (!is_contained(dumpedStages, stage))
          break;
        std::string quoted;
        for (char c : pipeline)
          quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
        os << "llm-opt " << previous
           << " --mlir-print-debuginfo --pass-pipeline='" << quoted
           << "' -o replayed-" << stage << "\n";
        previous = stage;
      }
    });
  }

  /// A module attribute the lowering set, read through its helper.
  template <typename Helper> int64_t abiAttr() {
    return Helper(&context).getAttr(module()).getInt();
  }

  Error checkOptions() {
    if (wantsFile() && (output.empty() || output == "-"))
      return createStringError("-o <file> is required");
    if (!output.empty() && output != "-") {
      // Before any work: where -o points must be a directory that exists.
      StringRef dir = sys::path::parent_path(output);
      if (!dir.empty() && !sys::fs::is_directory(dir))
        return createStringError("-o " + output + ": " + dir +
                                 (sys::fs::exists(dir)
                                      ? " is not a directory"
                                      : ": no such directory"));
    }
    if (!reportProfile.empty() && reportPath.empty())
      return createStringError("--profile FILE.json goes on the page of "
                               "--report FILE.html; give --report too");
    if (!reportProfile.empty() && !sys::fs::exists(reportProfile))
      return createStringError(reportProfile + ": no such file");
    if (maxTokens <= 0 || maxTokens > kMaxTokensLimit)
      return createStringError("--max-tokens must be in [1, " +
                               Twine(kMaxTokensLimit) + "]");
    if (groupSize != 32 && groupSize != 64 && groupSize != 128)
      return createStringError("--group-size must be 32, 64 or 128");
    bool integer = weightType == "int8" || weightType == "int4";
    // A quantized GGUF file's groups take it without --weight-type (checked
    // once the file is read).
    bool gguf = sys::path::extension(compileInput).equals_insensitive(".gguf");
    if (groupSize.getNumOccurrences() && !integer &&
        !(gguf && weightType.empty()))
      return createStringError("--group-size applies to --weight-type int8 "
                               "or int4, or to a quantized GGUF file");
    if (integer) {
      importOptions.quantizationGroup = groupSize;
      importOptions.quantizationBits = weightType == "int4" ? 4 : 8;
      importOptions.quantizeEmbedding = quantizeEmbedding;
    } else if (!weightType.empty()) {
      Expected<llmc::DType> parsed = llmc::parseDType(weightType);
      if (!parsed)
        return createStringError("--weight-type: " +
                                 toString(parsed.takeError()));
      importOptions.weightType = *parsed;
    }
    return Error::success();
  }

  /// Whether the target multiplies quantized weights on its 8-bit dot
  /// product interleaved by 4, where 6-bit weights (i6) have kernels: a
  /// CPU with the instruction, inputs quantized (not --matmul-precision
  /// f32 or bf16), no 2 x 8 matrix product (AArch64 +i8mm), no GPU.
  bool sixBitKernels() const {
    if (emulateGPU || matmulPrecision == Precision::F32 ||
        matmulPrecision == Precision::BF16)
      return false;
    const TargetBackend *backend =
        lookupTargetBackend(llvm::Triple(target.getTriple()));
    return backend && !backend->getHostTriple() &&
           backend->getInt8Dot(target) != Int8DotKind::None &&
           !backend->hasInt8Matmul(target);
  }

  /// "int4/32+offsets": the bits, the group and whether it has offsets.
  std::string
  describeQuantization(const llmc::ImportOptions::ParamQuantization &q) const {
    return ("int" + Twine(q.bits) + "/" +
            Twine(q.group ? q.group : int64_t(groupSize)) +
            (q.asymmetric ? "+offsets" : ""))
        .str();
  }

  /// How the embedding table of a 4-bit model is kept.
  std::string embeddingNote() const {
    auto it = importOptions.paramQuantization.find("embed");
    unsigned bits = it != importOptions.paramQuantization.end() &&
                            it->second.bits == 6
                        ? 6
                        : 8;
    return " (the embedding table int" + std::to_string(bits) + ")";
  }

  /// A quantized GGUF: its matrices become int8 (int4 for Q4_0) groups
  /// unless --weight-type says otherwise; says what happens to its blocks.
  void noteQuantizedInput() {
    // 4 bits where the projections are all Q4_0 (kept exactly; the
    // embedding table stays 8-bit), else 8.
    if (weightType.empty()) {
      bool projectionsAreQ4_0 =
          llvm::all_of(model->paramTypes, [](const auto &family) {
            return family.first == "embed" ||
                   family.second == std::set<std::string>{"Q4_0"};
          });
      importOptions.quantizationGroup = groupSize;
      importOptions.quantizeEmbedding = quantizeEmbedding;
      importOptions.quantizationBits = projectionsAreQ4_0 ? 4 : 8;
    }
    unsigned bits = importOptions.quantizationBits;
    // Per matrix family, so that the blocks stay as they are where a group
    // can hold them: Q4_K's groups have offsets (asymmetric groups; 4 bits
    // by default when every layer of the family is 4-bit, Q4_K or Q4_0),
    // Q6_K's scales are per 16 (8-bit groups of 16 unless --group-size says
    // otherwise; 6-bit where the target has kernels for them). So a Q4_K_M
    // file's Q4_K matrices stay 4-bit, those that mix in Q6_K 6-bit (or
    // 8-bit), all with their own integers.
    bool sixBits = sixBitKernels();
    std::set<std::string> regroupedTypes;
    // How a family of parameter `param` whose tensors have `types` is
    // quantized; notes the types whose blocks are re-quantized.
    auto quantization = [&](StringRef param,
                            const std::set<std::string> &types) {
      bool embedding = param == "embed";
      bool fourBit = llvm::all_of(types, [](const std::string &type) {
        return type == "Q4_K" || type == "Q4_0";
      });
      llmc::ImportOptions::ParamQuantization q;
      q.asymmetric = types.count("Q4_K");
      q.bits = embedding                                       ? 8
               : q.asymmetric && weightType.empty() && fourBit ? 4
                                                               : bits;
      if (types.count("Q6_K") && q.bits == 8 && !groupSize.getNumOccurrences())
        q.group = 16;
      // Q6_K's integers, and Q4_0's and Q4_K's beside them, fit 6 bits
      // (an embedding table only when it is also the lm_head: i6 is packed
      // for the projections' kernels).
      if (sixBits && q.group == 16 && weightType.empty() &&
          !(embedding && model->paramTypes.count("lm_head")) &&
          llvm::all_of(types, [](const std::string &type) {
            return type == "Q6_K" || type == "Q4_0" || type == "Q4_K";
          }))
        q.bits = 6;
      int64_t group = q.group ? q.group : groupSize;
      for (const std::string &type : types)
        if (!(type == "Q4_0" && group <= 32) &&
            !(type == "Q8_0" && q.bits == 8 && group <= 32) &&
            !(type == "Q4_K" && q.asymmetric && group <= 32) &&
            !(type == "Q6_K" && (q.bits == 8 || q.bits == 6) &&
              group == 16) &&
            llvm::is_contained(model->quantizedTypes, type))
          regroupedTypes.insert(type);
      return q;
    };
    // A family whose layers hold different types (a Q4_K_M file's attn_v
    // and ffn_down: Q6_K in some layers, Q4_K in the others) becomes a
    // parameter per type unless the types are forced to one: each keeps
    // its blocks in the fewest bits (Q4_K's 4 with offsets, Q6_K's 6 or 8),
    // where one quantization for all would need the widest of each.
    auto perLayer = [&](StringRef param, const std::set<std::string> &types)
        -> std::optional<std::vector<llmc::ImportOptions::ParamQuantization>> {
      auto layerTypes = model->paramLayerTypes.find(param.str());
      if (!weightType.empty() || groupSize.getNumOccurrences() ||
          layerTypes == model->paramLayerTypes.end() || types.size() < 2)
        return std::nullopt;
      std::vector<llmc::ImportOptions::ParamQuantization> layers;
      for (const std::string &type : layerTypes->second)
        layers.push_back(quantization(param, {type}));
      return layers;
    };
    std::map<std::string, std::string> splitNotes;
    for (const auto &[param, types] : model->paramTypes) {
      if (!importOptions.quantizationGroup ||
          (param == "embed" && !importOptions.quantizeEmbedding))
        continue;
      if (auto layers = perLayer(param, types)) {
        // By quantization, in the order of their first layers.
        SmallVector<std::pair<llmc::ImportOptions::ParamQuantization, int>>
            kinds;
        for (const auto &q : *layers) {
          auto *kind = llvm::find_if(
              kinds, [&](const auto &entry) { return entry.first == q; });
          if (kind == kinds.end())
            kinds.push_back({q, 1});
          else
            ++kind->second;
        }
        if (kinds.size() > 1) {
          SmallVector<std::string> parts;
          for (const auto &[q, count] : kinds)
            parts.push_back(describeQuantization(q) + " (" +
                            std::to_string(count) +
                            (count == 1 ? " layer)" : " layers)"));
          splitNotes[param] = join(parts, " + ");
          importOptions.layerQuantization[param] = std::move(*layers);
          continue;
        }
      }
      llmc::ImportOptions::ParamQuantization q = quantization(param, types);
      if (q.asymmetric || q.group || q.bits != bits)
        importOptions.paramQuantization[param] = q;
    }
    SmallVector<StringRef> regrouped(regroupedTypes.begin(),
                                     regroupedTypes.end());
    progress.finish();
    if (!importOptions.quantizationGroup) {
      errs() << "llmc: note: " << compileInput << ": "
             << join(model->quantizedTypes, ", ") << " tensors are expanded to "
             << llmc::dtypeName(importOptions.weightType.value_or(
                    llmc::DType::F32))
             << "\n";
      return;
    }
    errs() << "llmc: note: " << compileInput << ": "
           << join(model->quantizedTypes, ", ")
           << " tensors become int" << bits << " groups of " << groupSize
           << (bits == 4 ? embeddingNote() : "");
    if (!importOptions.paramQuantization.empty() || !splitNotes.empty()) {
      SmallVector<std::string> families;
      for (const auto &[param, q] : importOptions.paramQuantization)
        families.push_back((param + ":" + describeQuantization(q)).str());
      for (const auto &[param, note] : splitNotes)
        families.push_back(param + ":" + note);
      llvm::sort(families);
      errs() << "; by family (bits/group, +offsets for Q4_K's): "
             << join(families, ", ");
    }
    if (!regrouped.empty())
      errs() << " (" << join(regrouped, ", ")
             << " re-quantized; --weight-type bf16 expands them instead)";
    errs() << "\n";
  }

  /// What the executable carries besides its code: the model's facts, how
  /// it was compiled (--version/--info) and generation_config.json's
  /// sampling defaults.
  ExecutableMetadata metadata() const {
    ExecutableMetadata result;
    result.info = info;
    std::string text;
    raw_string_ostream os(text);
    os << "compiled by: llmc " << LLMC_VERSION
       << " (LLVM/MLIR " LLVM_VERSION_STRING ")\n"
       << "command: " << commandLine << "\n";
    if (!weightTypes.empty())
      os << "weights: " << weightTypes << "\n";
    if (model && model->generation) {
      const llmc::GenerationConfig &config = *model->generation;
      LlmcGenerationDefaults defaults = {};
      defaults.temperature = config.doSample ? config.temperature : 0.0;
      defaults.top_p = config.topP;
      defaults.min_p = config.minP;
      defaults.top_k = config.topK;
      defaults.repetition_penalty = config.repetitionPenalty;
      for (int64_t id : config.eosTokenIds)
        if (defaults.stop_count < LLMC_GENERATION_DEFAULTS_MAX_STOPS)
          defaults.stop_ids[defaults.stop_count++] = id;
      result.generation = defaults;
      os << "generation_config.json: " << join(config.given, ", ") << "\n";
    }
    result.buildInfo = std::move(text);
    return result;
  }

  /// The target of the host code: `target` itself, or a GPU's host.
  Error describeHost() {
    hostTarget = target;
    const TargetBackend *backend =
        lookupTargetBackend(llvm::Triple(target.getTriple()));
    std::optional<StringRef> hostTriple =
        backend ? backend->getHostTriple() : std::nullopt;
    if (emit == Emit::PTX && !hostTriple)
      return createStringError("--emit=ptx needs a GPU target (--target "
                               "nvptx64-nvidia-cuda)");
    if (hostTriple) {
      Expected<TargetAttr> host =
          describeTarget(&context, *hostTriple, "x86-64", "");
      if (!host)
        return host.takeError();
      hostTarget = *host;
    }
    return Error::success();
  }

  /// A .mlir input: llm IR as imported, planned llm IR or linalg IR (the
  /// stages --emit and --dump-stages write, edited or not), compiled for its
  /// own llm.target with the weights of the model --weights names.
  Error readIR() {
    phase("reading " + compileInput);
    if (weightsDir.empty())
      return createStringError(
          "a .mlir input needs --weights MODEL: the Hugging Face directory "
          "or GGUF file whose tensors its llm.param ops name");
    cl::Option *const typeOptions[] = {&targetTriple, &targetCPU,
                                       &targetAttrs,  &weightType,
                                       &groupSize,    &kvCacheType,
                                       &emulateGPU};
    for (cl::Option *option : typeOptions)
      if (option->getNumOccurrences())
        return createStringError(
            "--" + option->ArgStr +
            " does not apply to a .mlir input: the IR carries its target "
            "(llm.target) and its types");
    Expected<llmc::LoadedModel> loaded = llmc::loadModel(weightsDir, "");
    if (!loaded)
      return loaded.takeError();
    model = std::move(*loaded);

    if (!sys::fs::exists(compileInput))
      return createStringError(compileInput + ": no such file");
    SourceMgr sources;
    mlir::SourceMgrDiagnosticHandler diagnostics(sources, &context);
    imported = mlir::parseSourceFile<mlir::ModuleOp>(
        compileInput.getValue(), sources, mlir::ParserConfig(&context));
    if (!imported)
      return createStringError(compileInput + ": cannot be read as MLIR");
    auto *ctx = &context;
    TargetAttr described = LLMDialect::TargetAttrHelper(ctx).getAttr(module());
    if (!described)
      return createStringError(compileInput +
                               ": the module has no llm.target attribute");
    target = described;
    if (Error err = describeHost())
      return err;
    if (mlir::IntegerAttr layers =
            LLMDialect::NumLayersAttrHelper(ctx).getAttr(module());
        layers && layers.getInt() != model->spec.numLayers)
      return createStringError(compileInput + ": " + Twine(layers.getInt()) +
                               " layers, but " + weightsDir + " has " +
                               Twine(model->spec.numLayers));
    if (LLMDialect::ScratchBytesAttrHelper(ctx).getAttr(module()))
      inputStage = Emit::Linalg;
    else if (LLMDialect::WeightsBytesAttrHelper(ctx).getAttr(module()))
      inputStage = Emit::LLM;
    if (emit == Emit::Import ||
        (emit == Emit::LLM && inputStage == Emit::Linalg))
      return createStringError(compileInput +
                               " is past the stage --emit asks for");
    if (wantsFile() && inputStage != Emit::Import &&
        module().getOps<ParamOp>().empty())
      return createStringError(compileInput +
                               ": no llm.param ops to pack the weights from");
    info = describeModel(model->spec);
    // Linalg IR has its scratch arena planned for its own chunk size.
    if (mlir::IntegerAttr rows =
            LLMDialect::MaxTokensAttrHelper(ctx).getAttr(module())) {
      if (maxTokens.getNumOccurrences() && maxTokens != rows.getInt())
        return createStringError(compileInput + ": planned for --max-tokens " +
                                 Twine(rows.getInt()));
      info.max_tokens_per_call = rows.getInt();
    }
    return Error::success();
  }

  /// Reads the model and its target and builds the llm module.
  Error importModel() {
    phase("reading " + compileInput);
    Expected<llmc::LoadedModel> loaded =
        llmc::loadModel(compileInput, weightsDir);
    if (!loaded)
      return loaded.takeError();
    model = std::move(*loaded);
    if (groupSize.getNumOccurrences() && !importOptions.quantizationGroup &&
        model->quantizedTypes.empty())
      return createStringError(
          "--group-size applies to --weight-type int8 or int4, or to a "
          "quantized GGUF file; " +
          compileInput + " holds no quantized tensors");
    Expected<TargetAttr> described =
        describeTarget(&context, targetTriple, targetCPU, targetAttrs);
    if (!described)
      return described.takeError();
    target = *described;
    // Emulating a GPU: the GPU's choices (attention split over positions,
    // split-K sizes) with a CPU's code.
    if (emulateGPU && target.getSmCount() == 0)
      target = TargetAttr::get(
          &context, target.getTriple(), target.getCpu(), target.getFeatures(),
          target.getVectorBits(), target.getVectorRegisters(),
          target.getL1Bytes(), target.getL2Bytes(), target.getScalable(),
          /*smCount=*/132, target.getSharedMemoryBytes());
    if (Error err = describeHost())
      return err;
    if (!model->quantizedTypes.empty())
      noteQuantizedInput();
    info = describeModel(model->spec);
    auto built =
        llmc::importLlama(context, model->spec, *model->weights, importOptions);
    if (!built)
      return built.takeError();
    imported = std::move(*built);
    LLMDialect::TargetAttrHelper(&context).setAttr(module(), target);
    if (kvCacheType == KVElement::BF16)
      LLMDialect::KvCacheTypeAttrHelper(&context).setAttr(
          module(), mlir::TypeAttr::get(mlir::BFloat16Type::get(&context)));
    return Error::success();
  }

  /// Writes the packed weights (and the tokenizer image) to a temporary
  /// name; it is renamed once the executable exists.
  Error packWeightFile() {
    Expected<std::string> tokenizer = compileTokenizer(*model);
    if (!tokenizer)
      return tokenizer.takeError();
    packedTokenizer = !tokenizer->empty();
    if (!packedTokenizer && !quiet)
      progress.print(
          "llmc: warning: " + (weightsDir.empty() ? compileInput : weightsDir) +
          " has no tokenizer.json: the executable will take token "
          "ids only (--tokens); --prompt, --chat and text output "
          "need one");
    phase("packing weights");
    auto showBar = [&](int64_t done, int64_t total) {
      progress.bar(done, total);
    };
    Expected<uint64_t> fingerprint =
        packWeights(module(), *model->weights, *tokenizer, weightsTemp(),
                    progress.enabled ? PackProgress(showBar) : PackProgress());
    if (!fingerprint) {
      sys::fs::remove(weightsTemp());
      return fingerprint.takeError();
    }
    info.fingerprint = *fingerprint;
    return Error::success();
  }

  Error lowerToLinalg() {
    phase("lowering to linalg");
    if (failed(runPipeline("2-linalg.mlir", [&](mlir::OpPassManager &pm) {
          buildLinalgPipeline(pm, pipelineOptions());
        })))
      return createStringError("lowering to linalg failed");
    return Error::success();
  }

  /// The target's lowering pipeline, then translation and LLVM's O3.
  Error lowerToLLVM() {
    phase("tiling, vectorizing, lowering to LLVM");
    const TargetBackend *backend = lookupTargetBackend(target, module());
    if (!backend || failed(runPipeline("3-llvm.mlir", [&](mlir::OpPassManager &pm) {
          if (emulateGPU && !backend->getHostTriple())
            buildGPUEmulationPipeline(pm);
          else
            backend->buildLoweringPipeline(pm);
        })))
      return createStringError("lowering to LLVM failed");
    if (LLMDialect::ZeroScratchAttrHelper(&context).isAttrPresent(module()))
      info.flags |= LLMC_MODEL_ZERO_SCRATCH;
    // The emulation's kernels are not distributed (docs/codegen-notes.md).
    if (emulateGPU && !backend->getHostTriple())
      info.flags |= LLMC_MODEL_ONE_WORKER;
    if (Error err = dumpModule("3-llvm.mlir"))
      return err;
    if (hostTarget != target)
      if (Error err = dumpText("5-kernels.ptx",
                               [&](raw_ostream &os) { printPTX(os); }))
        return err;
    if (report && hostTarget != target)
      recordPTX();
    if (emit == Emit::PTX)
      return Error::success();
    phase("LLVM optimization");
    auto translated =
        translateAndOptimize(module(), hostTarget, metadata(), llvmContext);
    if (!translated)
      return translated.takeError();
    llvmModule = std::move(*translated);
    if (Error err = dumpText("4-host.ll", [&](raw_ostream &os) {
          llvmModule->print(os, nullptr);
        }))
      return err;
    // Code generation may change the module it runs on: the dump is a copy's.
    if (Error err = dumpStage("5-model.s", [&](StringRef path) {
          std::unique_ptr<llvm::Module> copy = CloneModule(*llvmModule);
          return emitCode(*copy, hostTarget, OutputKind::Assembly, path);
        }))
      return err;
    return hostTarget == target ? recordAssembly() : Error::success();
  }

  /// --report of a GPU target: the PTX of each kernel, under the module the
  /// profile tables (llm-lower-gpu-launches) name for it.
  void recordPTX() {
    auto global = [&](StringRef name) {
      auto op = module().lookupSymbol<mlir::LLVM::GlobalOp>(name);
      return op ? op.getValueOrNull() : mlir::Attribute();
    };
    auto names = [&](StringRef symbol) {
      SmallVector<StringRef> split;
      if (auto text = dyn_cast_or_null<mlir::StringAttr>(global(symbol)))
        text.getValue().split(split, StringRef("\0", 1), -1, false);
      return split;
    };
    SmallVector<StringRef> kernels = names("llmc_kernel_names"),
                           groups = names("llmc_group_names");
    std::map<std::string, std::string> kernelModules;
    if (auto groupOf = dyn_cast_or_null<mlir::DenseIntElementsAttr>(
            global("llmc_kernel_group"))) {
      size_t i = 0;
      for (const APInt &group : groupOf.getValues<APInt>()) {
        uint64_t g = group.getZExtValue();
        if (i < kernels.size() && g < groups.size())
          kernelModules[kernels[i].str()] = groups[g].str();
        ++i;
      }
    }
    if (mlir::StringAttr text = ptxText())
      report->recordPTX(text.getValue(), kernelModules);
  }

  /// --report: the host assembly's kernels, from a copy of the module.
  Error recordAssembly() {
    if (!report)
      return Error::success();
    SmallString<256> path;
    if (std::error_code ec =
            sys::fs::createTemporaryFile("llmc-report", "s", path))
      return createStringError("cannot create a temporary file: " +
                               ec.message());
    auto remove = make_scope_exit([&] { sys::fs::remove(path); });
    std::unique_ptr<llvm::Module> copy = CloneModule(*llvmModule);
    if (Error err = emitCode(*copy, hostTarget, OutputKind::Assembly, path))
      return err;
    ErrorOr<std::unique_ptr<MemoryBuffer>> text = MemoryBuffer::getFile(path);
    if (!text)
      return createStringError(path + ": " + text.getError().message());
    report->recordAssembly((*text)->getBuffer());
    return Error::success();
  }

  /// Assembly, an object file, or an object linked into the executable.
  Error generateCode() {
    phase("code generation");
    if (emit == Emit::Asm)
      return emitCode(*llvmModule, hostTarget, OutputKind::Assembly,
                      output.empty() ? "-" : output.getValue());
    std::string object = emit == Emit::Obj ? output.getValue() : output + ".o";
    if (Error err =
            emitCode(*llvmModule, hostTarget, OutputKind::Object, object))
      return err;
    if (emit != Emit::Exe)
      return Error::success();
    phase("linking");
    // A GPU model's host program links the runtime's CUDA layer.
    SmallVector<StringRef> extra;
    if (hostTarget != target)
      extra.push_back("libllmc_runtime_cuda.a");
    Error err =
        linkExecutable(hostTarget, object, output, runtimeDir(argv0), extra);
    sys::fs::remove(object);
    return err;
  }

  mlir::MLIRContext &context;
  const char *argv0;
  Progress progress;
  /// --mlir-timing: one report for the whole compilation, by phase.
  mlir::DefaultTimingManager timing;
  mlir::TimingScope rootTiming, phaseTiming;
  /// --dump-stages: the stage files written, and each MLIR stage with the
  /// pipeline that made it.
  SmallVector<std::string> dumpedStages;
  SmallVector<std::pair<std::string, std::string>> stagePipelines;
  llmc::ImportOptions importOptions;
  std::optional<llmc::LoadedModel> model;
  /// --report: what the page shows, gathered stage by stage.
  std::optional<llmc::Report> report =
      reportPath.empty() ? std::nullopt
                         : std::optional<llmc::Report>(std::in_place);
  TargetAttr target;
  /// The target of the host code: `target` itself, or a GPU's host.
  TargetAttr hostTarget;
  mlir::OwningOpRef<mlir::ModuleOp> imported;
  /// The stage the input is at: Import for a model, or that of a .mlir
  /// input (Import, LLM or Linalg).
  Emit inputStage = Emit::Import;
  LlmcModelInfo info = {};
  /// For the summary: describeWeights() of the packed module, and whether
  /// the weight file carries the tokenizer.
  std::string weightTypes;
  bool packedTokenizer = false;
  std::chrono::steady_clock::time_point startTime =
      std::chrono::steady_clock::now();
  LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule;
};

int compile(const char *argv0) {
  mlir::DialectRegistry registry;
  registerLLMCDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  return Compilation(context, argv0).run();
}

int synth() {
  if (synthOutput.empty())
    return fail("-o <dir> is required");
  Expected<llmc::ModelSpec> spec = [&]() -> Expected<llmc::ModelSpec> {
    StringRef ext = sys::path::extension(synthInput);
    if (ext == ".yaml" || ext == ".yml")
      return llmc::loadModelCard(synthInput);
    SmallString<256> config(synthInput);
    if (sys::fs::is_directory(synthInput))
      sys::path::append(config, "config.json");
    return llmc::loadHFConfig(config);
  }();
  if (!spec)
    return fail(spec.takeError());
  llmc::DType dtype = spec->dtype;
  if (!synthDType.empty()) {
    Expected<llmc::DType> parsed = llmc::parseDType(synthDType);
    if (!parsed)
      return fail("--dtype: " + toString(parsed.takeError()));
    dtype = *parsed;
  }
  if (!(stddev > 0))
    return fail("--std must be positive");
  bool progress = !quiet && sys::Process::StandardErrIsDisplayed();
  if (Error err = llmc::writeSyntheticModel(*spec, synthOutput, dtype, seed,
                                            stddev, progress))
    return fail(std::move(err));
  return 0;
}

/// MLIR's own flags (--mlir-print-ir-after=PASS, --mlir-timing,
/// --mlir-print-debuginfo, ...) for `llmc compile`: registered on the top
/// level, moved to the subcommand.
void registerMLIROptions() {
  // --mlir-print-ir-after=PASS names passes: all of those llmc runs,
  // registered before the options that list them.
  registerLLMCPasses();
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  SmallVector<cl::Option *> options;
  for (auto &entry : cl::getRegisteredOptions(cl::SubCommand::getTopLevel()))
    if (entry.getKey().starts_with("mlir-") &&
        !is_contained(options, entry.getValue()))
      options.push_back(entry.getValue());
  for (cl::Option *option : options) {
    option->removeArgument();
    option->Subs.clear();
    option->addSubCommand(compileCmd);
    option->addCategory(mlirCategory);
    option->addArgument();
  }
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  for (int i = 0; i < argc; ++i)
    commandLine += (i ? " " : "") + std::string(argv[i]);
  registerMLIROptions();
  cl::HideUnrelatedOptions({&category, &mlirCategory});
  cl::SetVersionPrinter([](raw_ostream &os) {
    os << "llmc " << LLMC_VERSION << " (LLVM/MLIR " LLVM_VERSION_STRING
       << ")\ntargets: " << listTargetBackends() << "\n"
       << "host: " << sys::getDefaultTargetTriple() << ", "
       << sys::getHostCPUName() << "\n";
  });
  cl::ParseCommandLineOptions(
      argc, argv,
      "llmc: ahead-of-time compiler for Llama-family language models\n\n"
      "  llmc compile MODEL -o EXE     MODEL: a Hugging Face directory, a llama\n"
      "                                GGUF file, or a YAML model card with\n"
      "                                --weights DIR\n"
      "  llmc compile IR.mlir --weights MODEL -o EXE\n"
      "                                IR from --emit or --dump-stages\n"
      "  llmc synth MODEL -o DIR       random weights of MODEL's shape\n");
  if (compileCmd)
    return compile(argv[0]);
  if (synthCmd)
    return synth();
  errs() << "llmc: error: expected a command: compile or synth (see --help)\n";
  return 1;
}
