//===- llmc-bench.cpp - Compile-and-run benchmark of an llmc model --------===//
//
//   llmc-bench MODEL_DIR [--llmc PATH] [--out DIR] [--prompt-tokens N,...]
//                        [--gen-tokens N] [--threads N] [--repeat N]
//                        [--seed N] [--skip-compile] [--json FILE]
//   llmc-bench --exe EXE [MODEL_DIR] [...]
//
// Runs `llmc compile MODEL_DIR -o OUT/model` once (wall time and the child's
// peak RSS), or takes an executable already compiled (--exe), reports the
// sizes of the executable and its weight file, then for each prompt length
// runs the executable `--repeat` times on seeded token ids and reads the
// prefill/decode speed and peak RSS lines it prints on stderr, measuring
// the machine's read bandwidth with the same thread count before the first
// run and after each (these machines' bandwidth moves within minutes).
// Prints the median, minimum and maximum of each number, decode as weight
// bytes per second and as a fraction of the read bandwidth (each run
// against the mean of the probes just before and after it), prefill as matmul
// GFLOP/s and as a fraction of the machine's f32 FMA and bf16 dot peaks
// (Ceilings.h, cached per machine), and the exact commands.
// It only measures; nothing here compares a number with a threshold.
//
//===----------------------------------------------------------------------===//

#include "Ceilings.h"
#include "ProfileFile.h"

#include "frontend/Gguf.h"
#include "runtime/abi/Version.h"
#include "llvm/Config/llvm-config.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Threading.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/mman.h>

using namespace llvm;

namespace {

cl::OptionCategory benchCategory("llmc-bench options");

cl::opt<std::string> modelDir(cl::Positional, cl::desc("<model dir or model.gguf>"),
                              cl::cat(benchCategory));
cl::opt<std::string>
    exePath("exe",
            cl::desc("Benchmark this compiled executable (and its .weights) "
                     "instead of compiling MODEL_DIR; without MODEL_DIR the "
                     "prompt's ids are below 256"),
            cl::value_desc("path"), cl::cat(benchCategory));
cl::opt<std::string>
    llmcPath("llmc",
             cl::desc("The llmc driver (default: llmc next to llmc-bench, "
                      "then on PATH)"),
             cl::value_desc("path"), cl::cat(benchCategory));
cl::opt<std::string>
    outDir("out",
           cl::desc("Where the executable and the logs go (default: "
                    "llmc-bench-out)"),
           cl::value_desc("dir"), cl::init("llmc-bench-out"),
           cl::cat(benchCategory));
cl::list<unsigned>
    promptTokens("prompt-tokens",
                 cl::desc("Prompt lengths in tokens, comma separated: one "
                          "row each (default 128)"),
                 cl::CommaSeparated, cl::cat(benchCategory));
cl::opt<unsigned> genTokens("gen-tokens", cl::desc("Tokens to generate"),
                            cl::init(32), cl::cat(benchCategory));
cl::opt<unsigned> repeat("repeat", cl::desc("Runs of the model executable"),
                         cl::init(3), cl::cat(benchCategory));
cl::opt<uint64_t> seed("seed", cl::desc("Seed of the prompt's token ids"),
                       cl::init(1), cl::cat(benchCategory));
cl::opt<bool> skipCompile("skip-compile",
                          cl::desc("Reuse OUT/model from an earlier run"),
                          cl::cat(benchCategory));
cl::opt<bool> remeasurePeaks(
    "remeasure-peaks",
    cl::desc("Measure the compute peaks again even if cached (the cache keeps "
             "the best of all measurements: a busy machine measures low)"),
    cl::cat(benchCategory));
cl::opt<std::string> jsonPath("json",
                              cl::desc("Also write the numbers as JSON"),
                              cl::value_desc("file"), cl::cat(benchCategory));

cl::opt<bool> warmupRuns(
    "warmup",
    cl::desc("Run the executable with --warmup: one forward call before the "
             "timed prefill, as llama-bench warms up (default true; "
             "--warmup=false times the process's first forward call)"),
    cl::init(true), cl::cat(benchCategory));
cl::opt<bool> profileModules(
    "profile",
    cl::desc("Run the executable's first run of each prompt length with "
             "--profile and report, for the prefill and for decode, the "
             "model modules that take the most time: their share, GB/s "
             "against the read bandwidth and GFLOP/s against the compute "
             "peaks"),
    cl::cat(benchCategory));
cl::opt<unsigned> profileTop("profile-top",
                             cl::desc("Modules listed per phase with "
                                      "--profile (default 8)"),
                             cl::init(8), cl::cat(benchCategory));

constexpr const char *toolName = "llmc-bench";

/// One command line, kept as strings so it can be run and printed.
struct Command {
  std::vector<std::string> args;

  /// The command as a POSIX shell would take it back.
  std::string str() const {
    std::string text;
    for (const std::string &arg : args) {
      if (!text.empty())
        text += ' ';
      bool plain = !arg.empty() && all_of(arg, [](char c) {
        return isAlnum(c) || StringRef("_./,=:+-@%").contains(c);
      });
      if (plain) {
        text += arg;
        continue;
      }
      text += '\'';
      for (char c : arg)
        text += c == '\'' ? std::string("'\\''") : std::string(1, c);
      text += '\'';
    }
    return text;
  }
};

/// What one finished child left behind.
struct ChildResult {
  double wallSeconds = 0;
  /// From wait4's rusage, in KiB.
  uint64_t peakRssKiB = 0;
  std::string stderrText;
};

/// Runs `command` with stdout and stderr sent to files named `logStem`.out
/// and .err, measuring wall time and peak RSS. A non-zero exit status is an
/// error that quotes the end of the child's stderr.
Expected<ChildResult> runChild(const Command &command, StringRef logStem) {
  std::string outLog = (logStem + ".out").str();
  std::string errLog = (logStem + ".err").str();
  std::optional<StringRef> redirects[] = {StringRef(""), StringRef(outLog),
                                          StringRef(errLog)};
  SmallVector<StringRef> args(command.args.begin(), command.args.end());
  std::optional<sys::ProcessStatistics> stats;
  std::string errMsg;
  bool execFailed = false;
  auto start = std::chrono::steady_clock::now();
  int rc = sys::ExecuteAndWait(args.front(), args, std::nullopt, redirects,
                               /*SecondsToWait=*/0, /*MemoryLimit=*/0, &errMsg,
                               &execFailed, &stats);
  ChildResult result;
  result.wallSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (stats)
    result.peakRssKiB = stats->PeakMemory;
  if (auto buffer = MemoryBuffer::getFile(errLog))
    result.stderrText = (*buffer)->getBuffer().str();
  if (execFailed)
    return createStringError("cannot run '" + command.args.front() +
                             "': " + errMsg);
  if (rc != 0) {
    StringRef tail = StringRef(result.stderrText).take_back(2000).rtrim();
    return createStringError(
        "this command failed (" +
        (errMsg.empty() ? "exit status " + Twine(rc).str() : errMsg) +
        "):\n  " + command.str() + "\nits stderr (" + errLog +
        ") ends with:\n" + tail);
  }
  return result;
}

/// What llmc-bench needs from MODEL_DIR/config.json (or a GGUF file).
struct ModelShape {
  uint64_t vocab = 0;
  /// Multiply-adds per token in the projections and the lm_head
  /// (attention's own products not counted); 0 when a size is missing.
  double matmulParams = 0;
};

/// The same from a GGUF file's llama.* keys.
Expected<ModelShape> readGgufShape(StringRef path) {
  Expected<std::unique_ptr<llmc::GgufFile>> file = llmc::GgufFile::open(path);
  if (!file)
    return file.takeError();
  auto get = [&](StringRef key, double otherwise = 0) {
    Expected<std::optional<int64_t>> value =
        (*file)->getInteger(("llama." + key).str());
    if (!value) {
      consumeError(value.takeError());
      return otherwise;
    }
    return value->has_value() ? double(**value) : otherwise;
  };
  double hidden = get("embedding_length"), inter = get("feed_forward_length"),
         layers = get("block_count"), heads = get("attention.head_count");
  double kvHeads = get("attention.head_count_kv", heads);
  double headDim =
      get("attention.key_length", heads > 0 ? hidden / heads : 0);
  double vocab = get("vocab_size");
  if (vocab <= 0)
    if (Expected<const llmc::GgufValue *> tokens = (*file)->getArray(
            "tokenizer.ggml.tokens", llmc::GgufValue::Kind::String);
        tokens && *tokens)
      vocab = double((*tokens)->strings.size());
    else if (!tokens)
      consumeError(tokens.takeError());
  if (vocab <= 0)
    return createStringError("'" + path +
                             "' gives no vocabulary size (llama.vocab_size "
                             "or tokenizer.ggml.tokens)");
  ModelShape shape;
  shape.vocab = uint64_t(vocab);
  double perLayer = hidden * (heads + 2 * kvHeads) * headDim +
                    heads * headDim * hidden + 3 * hidden * inter;
  shape.matmulParams = layers * perLayer + vocab * hidden;
  return shape;
}

Expected<ModelShape> readModelShape(StringRef dir) {
  if (sys::fs::is_regular_file(dir))
    return readGgufShape(dir);
  SmallString<256> path(dir);
  sys::path::append(path, "config.json");
  auto buffer = MemoryBuffer::getFile(path);
  if (!buffer)
    return createStringError("cannot read '" + path +
                             "': " + buffer.getError().message());
  Expected<json::Value> config = json::parse((*buffer)->getBuffer());
  if (!config)
    return createStringError(
        "'" + path + "' is not valid JSON: " + toString(config.takeError()));
  const json::Object *o = config->getAsObject();
  std::optional<int64_t> vocab =
      o ? o->getInteger("vocab_size") : std::nullopt;
  if (!vocab || *vocab <= 0)
    return createStringError("'" + path +
                             "' has no positive integer 'vocab_size'");
  auto get = [&](StringRef name, double otherwise = 0) {
    std::optional<int64_t> value = o->getInteger(name);
    return value ? double(*value) : otherwise;
  };
  double hidden = get("hidden_size"), inter = get("intermediate_size"),
         layers = get("num_hidden_layers"), heads = get("num_attention_heads");
  double kvHeads = get("num_key_value_heads", heads);
  double headDim = get("head_dim", heads > 0 ? hidden / heads : 0);
  ModelShape shape;
  shape.vocab = uint64_t(*vocab);
  double perLayer = hidden * (heads + 2 * kvHeads) * headDim +
                    heads * headDim * hidden + 3 * hidden * inter;
  shape.matmulParams = layers * perLayer + double(*vocab) * hidden;
  return shape;
}

/// Token ids in [0, vocab) from a splitmix64 stream, as llmc-test-tokens
/// writes them.
std::string seededTokens(unsigned count, uint64_t vocab, uint64_t state) {
  std::string text;
  for (unsigned i = 0; i < count; ++i) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    if (i)
      text += ',';
    text += utostr(z % vocab);
  }
  return text;
}

/// The numbers one run of the model executable prints on stderr.
struct RunNumbers {
  double prefillTokPerSec = 0;
  double decodeTokPerSec = 0;
  double peakRssMiB = 0;
  int64_t decodeTokens = 0;
  /// "kv cache: N bytes per position" (0 from executables without it).
  int64_t kvBytesPerPosition = 0;
  /// The read bandwidth around the run: the mean of the probes just
  /// before and after it, bytes per second.
  double bandwidthAround = 0;
};

/// Reads the value of "<phase>: N tokens in X s (Y tok/s)".
bool parseSpeed(StringRef line, StringRef phase, int64_t &tokens,
                double &tokPerSec) {
  if (!line.consume_front(phase) || !line.consume_front(": "))
    return false;
  StringRef count = line.take_until([](char c) { return c == ' '; });
  StringRef rate = line.rsplit('(').second.split(' ').first;
  return !count.getAsInteger(10, tokens) && !rate.getAsDouble(tokPerSec);
}

Expected<RunNumbers> parseRunOutput(StringRef text) {
  RunNumbers numbers;
  bool havePrefill = false, haveDecode = false, haveRss = false;
  SmallVector<StringRef> lines;
  text.split(lines, '\n');
  for (StringRef line : lines) {
    line = line.trim();
    int64_t tokens;
    if (parseSpeed(line, "prefill", tokens, numbers.prefillTokPerSec))
      havePrefill = true;
    else if (parseSpeed(line, "decode", numbers.decodeTokens,
                        numbers.decodeTokPerSec))
      haveDecode = true;
    else if (line.consume_front("peak RSS: ") &&
             !line.split(' ').first.getAsDouble(numbers.peakRssMiB))
      haveRss = true;
    else if (line.consume_front("kv cache: "))
      (void)line.split(' ').first.getAsInteger(10,
                                               numbers.kvBytesPerPosition);
  }
  if (!havePrefill || !haveDecode || !haveRss)
    return createStringError("the model's stderr lacks the "
                             "prefill/decode/peak RSS lines");
  return numbers;
}

/// Median, minimum and maximum of a non-empty sample.
struct Summary {
  double median, min, max;
};

Summary summarize(std::vector<double> values) {
  llvm::sort(values);
  size_t n = values.size();
  double median =
      n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  return {median, values.front(), values.back()};
}

double mib(uint64_t bytes) { return double(bytes) / (1024.0 * 1024.0); }

void printRow(raw_ostream &os, StringRef name, Summary s, StringRef unit,
              bool spread) {
  os << "  " << left_justify(name, 24) << format("%12.2f", s.median);
  if (spread)
    os << format("%12.2f%12.2f", s.min, s.max);
  else
    os.indent(24);
  os << "  " << unit << "\n";
}

json::Object summaryJson(Summary s) {
  return json::Object{{"median", s.median}, {"min", s.min}, {"max", s.max}};
}

/// The sum of `count` words: an integer reduction, which the compiler
/// vectorizes with several vector accumulators, so that loads, not
/// additions, limit. Compiled for the widest vectors the CPU has (a
/// baseline x86-64 build reads 16 bytes per load, which two threads of a
/// Zen 5 do not turn into its full bandwidth: decode then appeared to read
/// the weights faster than the "bandwidth").
#if defined(__x86_64__) && defined(__linux__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static uint64_t sumWords(const uint64_t *words, size_t count) {
  // A 4 KiB page at a time, its lines prefetched as the model's decode
  // loops do, 2 KiB ahead into the L1 and 8 KiB ahead into the L2: the L2
  // streamer stops at every 4 KiB boundary (even in huge pages), and
  // without software prefetches a Xeon's two threads read 17 GB/s here
  // while decode streamed the weights at 23.
  constexpr size_t kPage = 4096 / sizeof(uint64_t);
  constexpr size_t kAhead = 2048 / sizeof(uint64_t);
  constexpr size_t kFar = 8192 / sizeof(uint64_t);
  constexpr size_t kLine = 64 / sizeof(uint64_t);
  uint64_t total = 0;
  size_t i = 0;
  for (; i + kPage <= count; i += kPage) {
    for (size_t line = 0; line < kPage; line += kLine) {
      __builtin_prefetch(words + i + kAhead + line, 0, 3);
      __builtin_prefetch(words + i + kFar + line, 0, 2);
    }
    for (size_t j = 0; j < kPage; ++j)
      total += words[i + j];
  }
  for (; i < count; ++i)
    total += words[i];
  return total;
}

/// The best of three passes in which `threads` threads each sum their
/// share of a 1 GiB buffer (written first, so every page is mapped), in
/// bytes per second.
double measureReadBandwidth(unsigned threads) {
  constexpr size_t kBytes = size_t(1) << 30;
  size_t words = kBytes / sizeof(uint64_t);
  // In 2 MiB pages where the kernel has them for the asking: the hardware
  // prefetchers stop at page boundaries, and with 4 KiB pages two threads
  // read ~40 GB/s on a Zen 5 that streams the (page-cache) weights at 60.
  void *memory = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED)
    return 0;
  madvise(memory, kBytes, MADV_HUGEPAGE);
  auto unmap = llvm::make_scope_exit([&] { munmap(memory, kBytes); });
  auto *buffer = static_cast<uint64_t *>(memory);
  for (size_t i = 0; i < words; ++i)
    buffer[i] = i;
  double best = 0;
  std::vector<uint64_t> sums(threads * 8);
  for (int pass = 0; pass < 3; ++pass) {
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t)
      workers.emplace_back([&, t] {
        size_t begin = words * t / threads, end = words * (t + 1) / threads;
        sums[t * 8] = sumWords(buffer + begin, end - begin);
      });
    for (std::thread &worker : workers)
      worker.join();
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    best = std::max(best, double(kBytes) / seconds);
  }
  // A volatile store keeps the reads from being optimized away.
  static volatile uint64_t sink;
  for (uint64_t sum : sums)
    sink = sink + sum;
  return best;
}

/// One prompt length's runs.
struct SweepRow {
  unsigned promptTokens;
  std::vector<RunNumbers> runs;
  Command command;
  /// With --profile: the first run's --profile-out file.
  std::string profilePath;
};

/// Prints the `profileTop` modules of each phase of the executable's
/// --profile-out file `path` with their rates against the machine's
/// ceilings; adds the same to `out`.
Error reportProfile(raw_ostream &os, StringRef path, double bandwidth,
                    const llmc::bench::Ceilings &ceilings, json::Array &out) {
  Expected<llmc::bench::ProfileFile> file = llmc::bench::readProfileFile(path);
  if (!file)
    return file.takeError();
  for (const llmc::bench::PhaseTimes &phase : file->phases) {
    os << "  profile, " << phase.name << " (modules by time; GB/s against "
       << formatv("{0:F1}", bandwidth / 1e9) << " GB/s, GFLOP/s against the "
       << "f32 FMA / bf16 dot peaks, or the int8 dot peak over its passes):\n";
    json::Array listed;
    for (size_t i = 0; i < phase.modules.size() && i < profileTop; ++i) {
      const llmc::bench::ModuleTime &module = phase.modules[i];
      double gbs =
          module.bytes && module.ns > 0 ? *module.bytes / module.ns : 0;
      double gflops =
          module.flops && module.ns > 0 ? *module.flops / module.ns : 0;
      bool costs = module.bytes && module.flops;
      std::string rates = "    (no costs)";
      if (costs) {
        rates = formatv("{0,8:F1} GB/s {1,4:P0} {2,8:F1} GFLOP/s", gbs,
                        gbs * 1e9 / bandwidth, gflops);
        // 8-bit dot products: against the int8 peak over the passes each
        // product takes (16-bit inputs: two).
        double int8Peak = module.int8Passes && ceilings.int8Dot > 0
                              ? ceilings.int8Dot / double(module.int8Passes)
                              : 0;
        if (int8Peak > 0)
          rates +=
              formatv("{0,5:P0} i8/{1}", gflops / int8Peak, module.int8Passes)
                  .str();
        else
          for (double peak : {ceilings.f32Fma, ceilings.bf16Dot})
            rates += peak > 0 ? formatv(" {0,4:P0}", gflops / peak).str()
                              : std::string("    -");
      }
      os << formatv("    {0,6:P1} {1}  {2}\n", module.share, rates,
                    module.name);
      json::Object entry{{"name", module.name}, {"share", module.share}};
      if (costs) {
        entry["gb_per_s"] = gbs;
        entry["fraction_of_read_bandwidth"] = gbs * 1e9 / bandwidth;
        entry["gflop_per_s"] = gflops;
        if (module.int8Passes && ceilings.int8Dot > 0)
          entry["fraction_of_int8_dot_peak"] =
              gflops * double(module.int8Passes) / ceilings.int8Dot;
      }
      listed.push_back(std::move(entry));
    }
    out.push_back(
        json::Object{{"phase", phase.name}, {"modules", std::move(listed)}});
  }
  return Error::success();
}

Error run(unsigned threads) {
  if (repeat == 0)
    return createStringError("--repeat must be at least 1");
  if (genTokens < 2)
    return createStringError("--gen-tokens must be at least 2: the first "
                             "token comes from the prefill's logits, the "
                             "others each from a forward call");
  std::vector<unsigned> prompts(promptTokens.begin(), promptTokens.end());
  if (prompts.empty())
    prompts.push_back(128);
  for (unsigned n : prompts)
    if (n == 0)
      return createStringError("--prompt-tokens must be at least 1");
  if (modelDir.empty() && exePath.empty())
    return createStringError("give a model directory to compile, or --exe "
                             "EXE to benchmark a compiled executable");
  if (!exePath.empty() && skipCompile)
    return createStringError("--skip-compile and --exe both say what to run; "
                             "give one");

  // Token ids below the vocabulary; any executable takes ids below 256.
  uint64_t vocab = 256;
  // Two operations (a multiply and an add) per parameter and token; 0
  // without the model's config.
  double flopsPerToken = 0;
  if (!modelDir.empty()) {
    Expected<ModelShape> read = readModelShape(modelDir);
    if (!read)
      return read.takeError();
    vocab = read->vocab;
    flopsPerToken = 2 * read->matmulParams;
  }

  std::string llmc = llmcPath;
  if (llmc.empty() && exePath.empty()) {
    std::string self = sys::fs::getMainExecutable(
        toolName, reinterpret_cast<void *>(&readModelShape));
    SmallString<256> sibling(sys::path::parent_path(self));
    sys::path::append(sibling, "llmc");
    if (sys::fs::can_execute(sibling)) {
      llmc = std::string(sibling);
    } else if (auto found = sys::findProgramByName("llmc")) {
      llmc = *found;
    } else if (!skipCompile) {
      return createStringError(
          "cannot find llmc next to llmc-bench or on PATH; "
          "pass --llmc PATH");
    }
  }

  if (std::error_code ec = sys::fs::create_directories(outDir))
    return createStringError("cannot create '" + outDir + "': " + ec.message());
  SmallString<256> exe(exePath.empty() ? StringRef(outDir)
                                       : StringRef(exePath));
  if (exePath.empty())
    sys::path::append(exe, "model");
  sys::fs::make_absolute(exe);
  std::string weights = (exe + ".weights").str();
  auto logStem = [&](StringRef name) {
    SmallString<256> path(outDir);
    sys::path::append(path, name);
    return std::string(path);
  };

  // (a) Compile.
  Command compile{{llmc, "compile", modelDir, "-o", std::string(exe)}};
  std::optional<ChildResult> compiled;
  if (exePath.empty() && !skipCompile) {
    outs() << "compiling: " << compile.str() << "\n";
    outs().flush();
    Expected<ChildResult> result = runChild(compile, logStem("compile"));
    if (!result)
      return result.takeError();
    compiled = *result;
  } else if (!sys::fs::can_execute(exe)) {
    return createStringError(
        "'" + exe + "' is not an executable" +
        (exePath.empty() ? "; run once without --skip-compile" : ""));
  }

  // (b) Sizes.
  uint64_t exeBytes = 0, weightBytes = 0;
  if (std::error_code ec = sys::fs::file_size(exe, exeBytes))
    return createStringError("cannot stat '" + exe + "': " + ec.message());
  if (std::error_code ec = sys::fs::file_size(weights, weightBytes))
    return createStringError("cannot stat '" + weights + "': " + ec.message() +
                             " (an executable's weights are EXE.weights)");

  unsigned numThreads =
      threads ? unsigned(threads)
              : llvm::hardware_concurrency().compute_thread_count();

  // (c) Run each prompt length, the read bandwidth measured before the
  // first run and after each (the probe's buffer is unmapped before the
  // next child starts, so it is not in the child's peak RSS).
  std::vector<SweepRow> rows;
  std::vector<double> probes;
  outs() << "measuring the read bandwidth (" << numThreads
         << " threads) before and after each run\n";
  outs().flush();
  probes.push_back(measureReadBandwidth(numThreads));
  for (unsigned prompt : prompts) {
    SweepRow row{prompt, {}, {}};
    row.command = Command{
        {std::string(exe), "--tokens", seededTokens(prompt, vocab, seed), "-n",
         utostr(genTokens), "--ignore-eos", "--threads", utostr(numThreads)}};
    if (warmupRuns)
      row.command.args.push_back("--warmup");
    outs() << "running " << exe << " " << repeat << " times, " << prompt
           << " prompt tokens\n";
    outs().flush();
    for (unsigned i = 0; i < repeat; ++i) {
      std::string stem = "run-p" + utostr(prompt) + "-" + utostr(i + 1);
      Command command = row.command;
      if (profileModules && i == 0) {
        row.profilePath = logStem(stem) + ".profile.json";
        command.args.push_back("--profile-out");
        command.args.push_back(row.profilePath);
      }
      Expected<ChildResult> result = runChild(command, logStem(stem));
      if (!result)
        return result.takeError();
      Expected<RunNumbers> numbers = parseRunOutput(result->stderrText);
      if (!numbers)
        return createStringError(stem + ": " + toString(numbers.takeError()));
      probes.push_back(measureReadBandwidth(numThreads));
      numbers->bandwidthAround = (probes.end()[-2] + probes.back()) / 2;
      row.runs.push_back(*numbers);
    }
    rows.push_back(std::move(row));
  }

  // (d) The machine's read bandwidth with the model's thread count: the
  // median probe (the rows' fractions pair each run with its own).
  Summary bandwidths = summarize(probes);
  double bandwidth = bandwidths.median;
  outs() << "compute ceilings (" << numThreads << " threads)\n";
  outs().flush();
  llmc::bench::Ceilings ceilings =
      llmc::bench::getCeilings(numThreads, remeasurePeaks);
  // The best bandwidth seen here is the roofline llmc --report draws.
  llmc::bench::recordBandwidth(numThreads, bandwidths.max / 1e9);

  auto collect = [](const SweepRow &row, double RunNumbers::*field) {
    std::vector<double> values;
    for (const RunNumbers &r : row.runs)
      values.push_back(r.*field);
    return summarize(values);
  };
  // Each generated token reads every weight once (the weight file's bytes)
  // and the KV cache of every position before it: on average, for a prompt
  // of P and n generated, P + (n + 1) / 2 positions.
  auto weightRate = [&](double tokPerSec) {
    return tokPerSec * double(weightBytes) / 1e9;
  };
  auto kvBytesPerToken = [&](const SweepRow &row) {
    const RunNumbers &run = row.runs.front();
    return double(run.kvBytesPerPosition) *
           (double(row.promptTokens) + double(run.decodeTokens + 1) / 2);
  };
  auto readRate = [&](const SweepRow &row, double tokPerSec) {
    return tokPerSec * (double(weightBytes) + kvBytesPerToken(row)) / 1e9;
  };
  // The median over the runs of each one's read rate over the bandwidth
  // measured around it.
  auto pairedFraction = [&](const SweepRow &row) {
    std::vector<double> fractions;
    for (const RunNumbers &r : row.runs)
      if (r.bandwidthAround > 0)
        fractions.push_back(readRate(row, r.decodeTokPerSec) * 1e9 /
                            r.bandwidthAround);
    return fractions.empty() ? 0.0 : summarize(fractions).median;
  };

  // (e) Report.
  raw_ostream &os = outs();
  os << "\nllmc-bench: " << (exePath.empty() ? modelDir.getValue() : exePath)
     << " (" << genTokens << " generated, " << numThreads << " threads, "
     << repeat << " runs each)\n";
  os.indent(26) << right_justify("median", 12) << right_justify("min", 12)
                << right_justify("max", 12) << "\n";
  if (compiled) {
    printRow(os, "compile time", {compiled->wallSeconds, 0, 0}, "s", false);
    printRow(os, "compile peak RSS",
             {double(compiled->peakRssKiB) / 1024.0, 0, 0}, "MiB", false);
  }
  printRow(os, "executable size", {mib(exeBytes), 0, 0}, "MiB", false);
  printRow(os, "weights size", {mib(weightBytes), 0, 0}, "MiB", false);
  printRow(os, "read bandwidth",
           {bandwidths.median / 1e9, bandwidths.min / 1e9,
            bandwidths.max / 1e9},
           "GB/s (" + utostr(probes.size()) + " probes around the runs)",
           true);
  auto printCeiling = [&](StringRef name, double value, StringRef unit) {
    if (value > 0)
      printRow(os, name, {value, 0, 0}, unit, false);
    else
      os << "  " << left_justify(name, 24) << right_justify("-", 12) << "\n";
  };
  printCeiling("f32 FMA peak", ceilings.f32Fma, "GFLOP/s");
  printCeiling("bf16 dot peak", ceilings.bf16Dot, "GFLOP/s");
  printCeiling("int8 dot peak", ceilings.int8Dot, "GOP/s");
  os << "  (peaks: " << ceilings.source << ")\n";
  // "= 48% of the f32 FMA peak, 26% of the bf16 dot peak".
  auto fractions = [&](double gflops) {
    std::string text;
    for (auto [name, peak] : {std::pair<StringRef, double>{"f32 FMA",
                                                           ceilings.f32Fma},
                              {"bf16 dot", ceilings.bf16Dot}})
      if (peak > 0)
        text += (text.empty() ? " = " : ", ") +
                formatv("{0:P0} of the {1} peak", gflops / peak, name).str();
    return text;
  };
  std::map<unsigned, json::Array> profiles;
  for (const SweepRow &row : rows) {
    std::string p = utostr(row.promptTokens);
    Summary decode = collect(row, &RunNumbers::decodeTokPerSec);
    Summary prefill = collect(row, &RunNumbers::prefillTokPerSec);
    printRow(os, "prefill " + p, prefill, "tok/s", true);
    if (flopsPerToken > 0)
      printRow(os, "  matmul rate",
               {prefill.median * flopsPerToken / 1e9,
                prefill.min * flopsPerToken / 1e9,
                prefill.max * flopsPerToken / 1e9},
               "GFLOP/s" + fractions(prefill.median * flopsPerToken / 1e9),
               true);
    printRow(os, "decode after " + p, decode, "tok/s", true);
    printRow(os, "  weights+KV read",
             {readRate(row, decode.median), readRate(row, decode.min),
              readRate(row, decode.max)},
             formatv("GB/s = {0:P0} of the read bandwidth around each run "
                     "(median; KV {1:P0})",
                     pairedFraction(row),
                     kvBytesPerToken(row) /
                         (double(weightBytes) + kvBytesPerToken(row)))
                 .str(),
             true);
    printRow(os, "peak RSS " + p, collect(row, &RunNumbers::peakRssMiB), "MiB",
             true);
    if (!row.profilePath.empty())
      if (Error err = reportProfile(os, row.profilePath, bandwidth, ceilings,
                                    profiles[row.promptTokens]))
        return err;
  }
  os << "commands:\n";
  if (compiled)
    os << "  " << compile.str() << "\n";
  for (const SweepRow &row : rows)
    os << "  " << row.command.str() << "\n";
  os << "logs (stdout, stderr): " << outDir
     << "/{compile,run-pN-1,...}.{out,err}\n";

  if (!jsonPath.empty()) {
    json::Array sweep;
    for (const SweepRow &row : rows) {
      json::Array runArray;
      for (const RunNumbers &r : row.runs)
        runArray.push_back(
            json::Object{{"prefill_tok_per_s", r.prefillTokPerSec},
                         {"decode_tok_per_s", r.decodeTokPerSec},
                         {"decode_tokens", r.decodeTokens},
                         {"read_bandwidth_gb_per_s", r.bandwidthAround / 1e9},
                         {"peak_rss_mib", r.peakRssMiB}});
      Summary decode = collect(row, &RunNumbers::decodeTokPerSec);
      sweep.push_back(json::Object{
          {"prompt_tokens", row.promptTokens},
          {"prefill_matmul_gflop_per_s",
           collect(row, &RunNumbers::prefillTokPerSec).median *
               flopsPerToken / 1e9},
          {"prefill_tok_per_s",
           summaryJson(collect(row, &RunNumbers::prefillTokPerSec))},
          {"decode_tok_per_s", summaryJson(decode)},
          {"decode_weight_gb_per_s", weightRate(decode.median)},
          {"decode_kv_bytes_per_token", kvBytesPerToken(row)},
          {"decode_read_gb_per_s", readRate(row, decode.median)},
          {"decode_fraction_of_read_bandwidth", pairedFraction(row)},
          {"run_peak_rss_mib",
           summaryJson(collect(row, &RunNumbers::peakRssMiB))},
          {"runs", std::move(runArray)},
          {"run_command", row.command.args},
      });
      if (!row.profilePath.empty())
        (*sweep.back().getAsObject())["profile"] =
            std::move(profiles[row.promptTokens]);
    }
    json::Object root{
        {"model_dir", modelDir.getValue()},
        {"executable", std::string(exe)},
        {"vocab_size", int64_t(vocab)},
        {"gen_tokens", genTokens.getValue()},
        {"threads", numThreads},
        {"repeat", repeat.getValue()},
        {"executable_bytes", int64_t(exeBytes)},
        {"weights_bytes", int64_t(weightBytes)},
        {"read_bandwidth_gb_per_s", bandwidth / 1e9},
        {"read_bandwidth_probes_gb_per_s",
         json::Array(llvm::map_range(probes,
                                     [](double b) { return b / 1e9; }))},
        {"f32_fma_peak_gflop_per_s", ceilings.f32Fma},
        {"bf16_dot_peak_gflop_per_s", ceilings.bf16Dot},
        {"int8_dot_peak_gop_per_s", ceilings.int8Dot},
        {"matmul_flops_per_token", flopsPerToken},
        {"sweep", std::move(sweep)},
    };
    if (compiled) {
      root["compile_seconds"] = compiled->wallSeconds;
      root["compile_peak_rss_mib"] = double(compiled->peakRssKiB) / 1024.0;
      root["compile_command"] = compile.args;
    }
    std::error_code ec;
    raw_fd_ostream file(jsonPath, ec, sys::fs::OF_Text);
    if (ec)
      return createStringError("cannot write '" + jsonPath +
                               "': " + ec.message());
    file << formatv("{0:2}", json::Value(std::move(root))) << "\n";
  }
  return Error::success();
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  // libLLVM already registers an unrelated "threads" option, so a global
  // cl::opt of that name would abort at start-up; --threads here means the
  // model executable's threads, so take the name over before declaring it.
  if (cl::Option *other = cl::getRegisteredOptions().lookup("threads"))
    other->removeArgument();
  static cl::opt<unsigned> threads(
      "threads",
      cl::desc("Threads of the model executable (default: all CPUs)"),
      cl::init(0), cl::cat(benchCategory));
  cl::HideUnrelatedOptions(benchCategory);
  cl::SetVersionPrinter([](raw_ostream &os) {
    os << "llmc-bench (llmc " << LLMC_VERSION << ", LLVM "
       << LLVM_VERSION_STRING << ")\n";
  });
  cl::ParseCommandLineOptions(
      argc, argv,
      "llmc-bench: compile a model with llmc and measure its executable\n");
  if (Error err = run(threads)) {
    WithColor::error(errs(), toolName) << toString(std::move(err)) << "\n";
    return 1;
  }
  return 0;
}
