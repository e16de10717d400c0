//===- Main.cpp - main() of every compiled model executable ---------------===//
//
// Linked with the generated model object, which defines llmc_model_info and
// _mlir_ciface_llmc_forward. Errors are one line on stderr and exit code 1.
//
//===----------------------------------------------------------------------===//

#include "runtime/CPUFeatures.h"
#include "runtime/Chat.h"
#include "runtime/Interrupt.h"
#include "runtime/Options.h"
#include "runtime/Profile.h"
#include "runtime/Sampler.h"
#include "runtime/Session.h"
#include "runtime/ThreadPool.h"
#include "runtime/Tokenizer.h"
#include "runtime/WeightFile.h"
#include "runtime/abi/ModelABI.h"
#include "runtime/abi/Version.h"
#include "runtime/cuda/CudaDevice.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace llmc;

namespace {

/// What a stage returns when Ctrl-C stopped it (Session's message too).
const char *const kInterrupted = "interrupted";

int fail(const std::string &message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return 1;
}

/// The default weight file: the executable's own path plus ".weights".
std::string defaultWeightsPath(const char *argv0) {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n > 0) {
    buf[n] = '\0';
    return std::string(buf) + ".weights";
  }
  return std::string(argv0) + ".weights";
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

void report(const char *phase, int64_t tokens, double seconds) {
  std::fprintf(stderr, "%s: %lld tokens in %.3f s (%.2f tok/s)\n", phase,
               static_cast<long long>(tokens), seconds,
               seconds > 0 ? double(tokens) / seconds : 0.0);
}

/// Writes `text` to `path`; returns an error message or "".
std::string writeTextFile(const std::string &path, const std::string &text) {
  FILE *file = std::fopen(path.c_str(), "w");
  if (!file)
    return "cannot write '" + path + "': " + std::strerror(errno);
  bool ok = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  ok = std::fclose(file) == 0 && ok;
  return ok ? std::string()
            : "cannot write '" + path + "': " + std::strerror(errno ? errno : EIO);
}

/// Reads all of `file` into `text`; false on a read error.
bool readAll(FILE *file, std::string &text) {
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), file)) > 0)
    text.append(buf, n);
  return !std::ferror(file);
}

/// This process's peak resident set in KiB: Linux's VmHWM, which starts
/// afresh at exec (getrusage's ru_maxrss keeps the peak of the process that
/// spawned us), else ru_maxrss; -1 when neither is known.
long peakRssKiB() {
  if (FILE *status = std::fopen("/proc/self/status", "r")) {
    char line[256];
    long kib = -1;
    while (std::fgets(line, sizeof(line), status))
      if (std::sscanf(line, "VmHWM: %ld kB", &kib) == 1)
        break;
    std::fclose(status);
    if (kib >= 0)
      return kib;
  }
  struct rusage usage;
  return getrusage(RUSAGE_SELF, &usage) == 0 ? usage.ru_maxrss : -1;
}

void reportPeakRss() {
  long kib = peakRssKiB();
  if (kib >= 0)
    std::fprintf(stderr, "peak RSS: %.1f MiB\n", double(kib) / 1024.0);
}

/// --tokenize and --detokenize: the tokenizer alone. The input is
/// options.tokens, else options.prompt (the text, or for --detokenize the
/// ids as text), with --lines one input per line ('\n' ends a line and is
/// not part of it). Prints comma separated ids and a newline per input, or
/// the bytes of the text (a newline after each with --lines). Returns an
/// error message, or "" on success.
std::string runTokenizer(const Options &options, const Tokenizer &tokenizer) {
  std::vector<std::string> inputs;
  if (!options.lines) {
    inputs.push_back(options.prompt);
  } else {
    const std::string &text = options.prompt;
    for (size_t begin = 0; begin < text.size();) {
      size_t end = text.find('\n', begin);
      if (end == std::string::npos)
        end = text.size();
      inputs.push_back(text.substr(begin, end - begin));
      begin = end + 1;
    }
  }
  if (options.tokenize) {
    for (const std::string &input : inputs) {
      std::vector<int64_t> ids =
          tokenizer.encode({{input, !options.plainText}});
      for (size_t i = 0; i < ids.size(); ++i)
        std::printf(i ? ",%lld" : "%lld", static_cast<long long>(ids[i]));
      std::fputc('\n', stdout);
    }
    return std::string();
  }
  if (options.hasTokens)
    inputs.assign(1, std::string());
  for (size_t line = 0; line < inputs.size(); ++line) {
    std::vector<int64_t> ids = options.tokens;
    std::string idText = inputs[line];
    while (!idText.empty() &&
           std::isspace(static_cast<unsigned char>(idText.back())))
      idText.pop_back();
    if (!options.hasTokens && !idText.empty()) {
      std::string error = parseTokenList(idText, ids);
      if (!error.empty())
        return options.lines ? "line " + std::to_string(line + 1) + ": " + error
                             : error;
    }
    for (int64_t id : ids)
      if (id >= tokenizer.vocabSize())
        return "token id " + std::to_string(id) +
               " is not in the tokenizer's vocabulary of " +
               std::to_string(tokenizer.vocabSize());
    std::string text = tokenizer.decode(ids);
    std::fwrite(text.data(), 1, text.size(), stdout);
    if (options.lines)
      std::fputc('\n', stdout);
  }
  return std::string();
}

/// Writes float32 values little-endian.
bool writeFloatsLE(FILE *file, const float *values, size_t count) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  for (size_t i = 0; i < count; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &values[i], 4);
    bits = __builtin_bswap32(bits);
    if (std::fwrite(&bits, 4, 1, file) != 1)
      return false;
  }
  return true;
#else
  return std::fwrite(values, sizeof(float), count, file) == count;
#endif
}

/// Reads the input text from --prompt-file, else from stdin unless it is a
/// terminal, when no other input was given.
std::string readTextInput(Options &options) {
  if (options.hasTokens || options.hasPrompt ||
      (options.chat && options.promptFile.empty()))
    return std::string();
  if (!options.promptFile.empty()) {
    FILE *file = std::fopen(options.promptFile.c_str(), "rb");
    if (!file)
      return "cannot read --prompt-file '" + options.promptFile +
             "': " + std::strerror(errno);
    bool read = readAll(file, options.prompt);
    std::fclose(file);
    if (!read)
      return "cannot read --prompt-file '" + options.promptFile + "'";
  } else if (isatty(STDIN_FILENO)) {
    return "no input: give --tokens ID,ID,..., --prompt TEXT, --prompt-file "
           "FILE or text on stdin, or --chat (see --help)";
  } else if (!readAll(stdin, options.prompt)) {
    return "cannot read the prompt from stdin";
  }
  options.hasPrompt = true;
  return std::string();
}

/// One run of the compiled model, stage by stage. Each stage returns an
/// error message, or "" to go on.
class Run {
public:
  Run(const Options &options, const LlmcModelInfo &info)
      : options(options), info(info), sampler(options.sampling) {}

  std::string openWeights(const std::string &program);
  std::string loadTokenizer();
  std::string tokenizeOnly();
  std::string prepareInput();
  std::string startSession();
  std::string chat();
  std::string prefill();
  std::string generate();
  int threads() const { return session.threads(); }

private:
  /// "the weight file 'PATH' has no tokenizer, so WHAT is unavailable".
  std::string noTokenizer(const std::string &what) const {
    return "the weight file '" + weightsPath + "' has no tokenizer, so " +
           what + " is unavailable";
  }

  const Options &options;
  const LlmcModelInfo &info;
  std::string weightsPath;
  WeightFile weightFile;
  Tokenizer tokenizer;
  bool haveTokenizer = false;
  std::vector<int64_t> input;
  /// Where a GPU model runs; declared before the session that uses it.
  std::unique_ptr<ForwardDevice> device;
  Session session;
  Sampler sampler;
  std::vector<int64_t> stopTokens;
};

std::string Run::openWeights(const std::string &program) {
  weightsPath = options.weightsPath.empty()
                    ? defaultWeightsPath(program.c_str())
                    : options.weightsPath;
  std::string error;
  if (weightFile.open(weightsPath, info, error))
    return std::string();
  // The default path: say where it comes from and how to name another.
  if (options.weightsPath.empty() && access(weightsPath.c_str(), F_OK) != 0)
    error += " (llmc compile writes EXE.weights beside the executable EXE; "
             "give another path with --weights FILE)";
  return error;
}

/// The tokenizer is needed to read --prompt, to print text and to know
/// <|eot_id|>; --logits-out with --tokens alone does not load it.
std::string Run::loadTokenizer() {
  if (!options.hasPrompt && options.numGenerate < 0 && !options.chat &&
      !options.tokenize && !options.detokenize)
    return std::string();
  std::string section = weightFile.tokenizerSection();
  if (section.empty())
    return std::string();
  std::string error;
  if (!tokenizer.loadImage(section, error))
    return "weight file '" + weightsPath + "': " + error;
  haveTokenizer = true;
  return std::string();
}

/// --tokenize and --detokenize: the tokenizer alone, the model does not run.
std::string Run::tokenizeOnly() {
  std::string mode = options.tokenize ? "--tokenize" : "--detokenize";
  if (!haveTokenizer)
    return noTokenizer(mode) + "; the model takes only --tokens ID,ID,...";
  std::string error = runTokenizer(options, tokenizer);
  if (!error.empty())
    return mode + ": " + error;
  return std::fflush(stdout) == 0 ? std::string() : "cannot write the output";
}

/// The input ids: --tokens, or BOS and the encoded text.
std::string Run::prepareInput() {
  if (options.chat)
    return haveTokenizer ? std::string() : noTokenizer("--chat");
  input = options.tokens;
  if (options.hasPrompt) {
    if (!haveTokenizer)
      return noTokenizer("--prompt") + "; only --tokens ID,ID,... is";
    input.clear();
    if (info.bos_token_id >= 0)
      input.push_back(info.bos_token_id);
    std::vector<int64_t> encoded =
        tokenizer.encode({{options.prompt, !options.plainText}});
    input.insert(input.end(), encoded.begin(), encoded.end());
  }
  if (input.empty())
    return "the input is empty";
  if (options.verbosePrompt) {
    std::fprintf(stderr, "prompt: %zu tokens\n", input.size());
    if (haveTokenizer) {
      std::fputs(tokenizer.describeTokens(input).c_str(), stderr);
    } else {
      for (int64_t id : input)
        std::fprintf(stderr, "  %lld\n", static_cast<long long>(id));
    }
  }
  return std::string();
}

/// Starts the threads and the KV cache, and chooses the stop tokens.
std::string Run::startSession() {
  SessionConfig config;
  config.threads = options.threads;
  config.contextSize = options.contextSize;
  config.prefillChunk = options.prefillChunk;
  std::string error;
  if (llmc_gpu_ptx) {
    // A GPU model: its forward() launches kernels on the device.
    if (!openCudaDevice)
      return "this executable has GPU kernels but was linked without "
             "llmc's CUDA layer (libllmc_runtime_cuda.a)";
    device = openCudaDevice(info, weightFile.weights(), error);
    if (!device || !session.init(info, *device, config, error))
      return error;
  } else {
    // Mapped now, not page by page inside the first prefill.
    weightFile.prefault();
    if (!session.init(info, _mlir_ciface_llmc_forward, weightFile.weights(),
                      config, error))
      return error;
    // The emulation of a GPU model on the CPU runs its argmax kernels too.
    if (_mlir_ciface_llmc_argmax)
      session.setArgmax(_mlir_ciface_llmc_argmax);
  }
  if ((info.flags & LLMC_MODEL_ONE_WORKER) && options.threads > 1 &&
      !options.quiet)
    std::fprintf(stderr,
                 "note: this executable runs a GPU model's kernels on the CPU "
                 "(llmc compile --emulate-gpu) on one thread; --threads %d is "
                 "not used\n",
                 options.threads);
  profileSetThreads(session.threads());
  if (options.warmup && !session.warmUp(error))
    return error;
  installInterruptHandler();
  session.setStopFlag(&interruptFlag());
  if (options.ignoreEos)
    return std::string();
  if (info.eos_token_id >= 0)
    stopTokens.push_back(info.eos_token_id);
  // generation_config.json's eos_token_id list (Llama 3.2 Instruct: also
  // <|eom_id|>).
  if (const LlmcGenerationDefaults *model = &llmc_generation_defaults)
    for (int64_t i = 0;
         i < std::min<int64_t>(model->stop_count,
                               LLMC_GENERATION_DEFAULTS_MAX_STOPS);
         ++i)
      if (std::find(stopTokens.begin(), stopTokens.end(), model->stop_ids[i]) ==
          stopTokens.end())
        stopTokens.push_back(model->stop_ids[i]);
  if (haveTokenizer) {
    int64_t eot = tokenizer.tokenId("<|eot_id|>");
    if (eot >= 0 && std::find(stopTokens.begin(), stopTokens.end(), eot) ==
                        stopTokens.end())
      stopTokens.push_back(eot);
  }
  return std::string();
}

/// --chat: the conversation on stdin.
std::string Run::chat() {
  ChatConfig config;
  config.system = options.system;
  config.maxReplyTokens = options.untilEnd ? -1 : options.numGenerate;
  config.stopTokens = stopTokens;
  config.bosToken = info.bos_token_id;
  config.showPrompt = isatty(STDIN_FILENO);
  config.lineEditing = config.showPrompt && isatty(STDERR_FILENO);
  config.firstMessage = options.prompt;
  // A --prompt-file's last line break ends the file, not the message.
  while (!config.firstMessage.empty() && (config.firstMessage.back() == '\n' ||
                                          config.firstMessage.back() == '\r'))
    config.firstMessage.pop_back();
  if (config.showPrompt && !options.quiet)
    config.banner =
        "Chat with the model (" + std::to_string(session.capacity()) +
        " positions of context). Enter sends a message" +
        (config.lineEditing ? "; arrows edit and recall earlier messages"
                            : "") +
        ". Ctrl-C stops a reply; Ctrl-D" +
        (config.lineEditing ? " or Ctrl-C on an empty line" : " or Ctrl-C") +
        " ends the chat.\n";
  config.quiet = options.quiet;
  config.verbosePrompt = options.verbosePrompt;
  config.interrupt = &interruptFlag();
  std::string error;
  return runChat(session, tokenizer, sampler, config, stdin, stdout, stderr,
                 error)
             ? std::string()
             : error;
}

/// Whether `a` and `b` name the same existing file.
bool sameFile(const std::string &a, const std::string &b) {
  struct stat sa, sb;
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 &&
         sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/// --logits-out, written under a temporary name in the same directory and
/// renamed when complete, so a partial file never looks finished. An input
/// of this run is never the output.
class LogitsFile {
public:
  std::string open(const std::string &path,
                   const std::vector<std::string> &inputs) {
    for (const std::string &input : inputs)
      if (!input.empty() && sameFile(path, input))
        return "--logits-out '" + path + "' is an input of this run ('" +
               input + "'); choose another file";
    this->path = path;
    temp = path + ".tmp." + std::to_string(getpid());
    file = std::fopen(temp.c_str(), "wb");
    if (!file)
      return "cannot write '" + temp + "': " + std::strerror(errno);
    return std::string();
  }
  FILE *get() const { return file; }
  /// Closes the file and gives it its name; "" or the error.
  std::string commit() {
    bool ok = !std::ferror(file);
    ok = std::fclose(file) == 0 && ok;
    file = nullptr;
    if (ok && std::rename(temp.c_str(), path.c_str()) == 0)
      return std::string();
    std::string error = "cannot write '" + path +
                        "': " + (errno ? std::strerror(errno) : "write error");
    std::remove(temp.c_str());
    return error;
  }
  ~LogitsFile() {
    if (file) {
      std::fclose(file);
      std::remove(temp.c_str());
    }
  }

private:
  std::string path, temp;
  FILE *file = nullptr;
};

/// Runs the input, streaming every position's logits to --logits-out.
std::string Run::prefill() {
  std::string error = session.checkTokenIds(input);
  // The last generated token is never fed back; a huge -n saturates.
  int64_t more = int64_t(input.size());
  // -n -1 generates into whatever room the input leaves.
  int64_t generated =
      options.untilEnd ? 0 : std::max<int64_t>(options.numGenerate - 1, 0);
  if (error.empty())
    error = session.checkRoom(generated > INT64_MAX - more ? INT64_MAX
                                                           : more + generated);
  if (!error.empty())
    return error;
  LogitsFile logitsFile;
  LogitsSink sink;
  if (!options.logitsOut.empty()) {
    error =
        logitsFile.open(options.logitsOut, {weightsPath, options.promptFile});
    if (!error.empty())
      return error;
    sink = [&](const float *rows, int64_t, int64_t count) {
      return writeFloatsLE(logitsFile.get(), rows,
                           size_t(count) * size_t(info.vocab_size));
    };
  }
  auto start = std::chrono::steady_clock::now();
  bool ok = session.prefill(input, sink, error);
  double seconds = secondsSince(start);
  if (!ok)
    return error == "writing logits failed"
               ? "cannot write '" + options.logitsOut + "': " + error
               : error;
  if (sink && !(error = logitsFile.commit()).empty())
    return error;
  if (!options.quiet)
    report("prefill", int64_t(input.size()), seconds);
  return std::string();
}

/// -n N: samples up to N tokens after the input and prints them, as text
/// when there is a tokenizer.
std::string Run::generate() {
  if (options.numGenerate < 0)
    return std::string();
  for (int64_t token : input)
    sampler.accept(token);
  bool first = true;
  Utf8Stream stream;
  TokenSink printToken = [&](int64_t token) {
    if (haveTokenizer) {
      std::string text = stream.push(tokenizer.decodeToken(token));
      std::fwrite(text.data(), 1, text.size(), stdout);
    } else {
      std::printf(first ? "%lld" : ",%lld", static_cast<long long>(token));
    }
    first = false;
    std::fflush(stdout);
    return true;
  };
  int64_t generated = 0, callsBefore = session.decodeForwardCalls();
  std::string error;
  auto start = std::chrono::steady_clock::now();
  // -n -1: until a stop token or a full context (the last token is not fed
  // back, so one more than the room left).
  bool untilEnd = options.untilEnd;
  int64_t count = untilEnd ? session.capacity() - session.position() + 1
                           : options.numGenerate;
  bool ok = session.generate(count, sampler, stopTokens, printToken, generated,
                             error);
  double seconds = secondsSince(start);
  std::string rest = stream.flush();
  std::fwrite(rest.data(), 1, rest.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  if (!ok)
    return error;
  int64_t calls = session.decodeForwardCalls() - callsBefore;
  if (untilEnd && generated == count && !options.quiet)
    std::fprintf(stderr, "stopped: the context is full (%lld positions%s)\n",
                 static_cast<long long>(session.capacity()),
                 session.capacity() < info.max_positions
                     ? ("; --ctx N makes it larger, up to the model's " +
                        std::to_string(info.max_positions))
                           .c_str()
                     : ", the model's maximum");
  if (!options.quiet && calls > 0) {
    // The rate counts forward calls, as llama.cpp's does: the first token
    // came from the prefill's logits.
    std::fprintf(stderr,
                 "decode: %lld tokens, %lld forward calls in %.3f s (%.2f "
                 "tok/s)\n",
                 static_cast<long long>(generated),
                 static_cast<long long>(calls), seconds,
                 seconds > 0 ? double(calls) / seconds : 0.0);
    // What each decoded token reads besides the weights: this many bytes
    // per position in the context (llmc-bench counts it).
    std::fprintf(stderr, "kv cache: %lld bytes per position\n",
                 static_cast<long long>(info.kv_bytes_per_position));
  }
  return interruptFlag().load() ? kInterrupted : std::string();
}

/// Runs the stages of `run` for `options`; returns an error message or "".
std::string runModel(Options &options, Run &run, const std::string &program) {
  if (options.profile) {
    if (!profileAvailable())
      return "--profile: this executable has no kernel timers (llmc "
             "compiles them into CPU and GPU models; a GPU model emulated on "
             "the CPU has none)";
    profileEnable();
  }
  std::string error = readTextInput(options);
  if (error.empty())
    error = run.openWeights(program);
  if (error.empty())
    error = run.loadTokenizer();
  if (!error.empty())
    return error;
  if (options.tokenize || options.detokenize)
    return run.tokenizeOnly();
  error = run.prepareInput();
  if (error.empty())
    error = run.startSession();
  if (options.chat) {
    if (error.empty())
      error = run.chat();
  } else {
    if (error.empty())
      error = run.prefill();
    if (error.empty())
      error = run.generate();
  }
  if (error.empty() && !options.quiet)
    reportPeakRss();
  if (options.profile && (error.empty() || error == kInterrupted)) {
    // Against llmc-bench's ceilings for this machine, when it measured
    // them with as many threads (CPU models).
    ProfileCeilings ceilings;
    if (!llmc_gpu_ptx &&
        !readCachedCeilings(llmc_target_cpu, run.threads(), ceilings)) {
      std::string n = std::to_string(run.threads());
      ceilings = ProfileCeilings();
      ceilings.source = "llmc-bench has not measured this machine (" +
                        std::string(llmc_target_cpu) + ") with " + n +
                        " threads (llmc-bench --threads " + n + " does)";
    }
    profileSetCeilings(ceilings);
    std::fputs(profileTable().c_str(), stderr);
    if (!options.profileOut.empty()) {
      std::string written = writeTextFile(options.profileOut, profileJson());
      if (!written.empty())
        return written;
    }
  }
  return error;
}

} // namespace

/// The model's generation_config.json as sampling defaults, when llmc
/// compiled them in.
std::optional<SamplerConfig> modelSamplingDefaults() {
  const LlmcGenerationDefaults *model = &llmc_generation_defaults;
  if (!model)
    return std::nullopt;
  SamplerConfig config;
  config.temperature = float(model->temperature);
  config.topP = float(model->top_p);
  config.minP = float(model->min_p);
  config.topK = model->top_k;
  config.repeatPenalty = float(model->repetition_penalty);
  return config;
}

/// Which sampling the run uses when the model chose it.
std::string describeModelSampling(const SamplerConfig &sampling) {
  std::string text = "greedy";
  char part[64];
  auto add = [&](const char *format, double value) {
    std::snprintf(part, sizeof(part), format, value);
    text += part;
  };
  if (sampling.temperature != 0.0f) {
    text.clear();
    add("temperature %g", double(sampling.temperature));
    add(", top-k %.0f", double(sampling.topK));
    add(", top-p %g", double(sampling.topP));
    if (sampling.minP > 0.0f)
      add(", min-p %g", double(sampling.minP));
  }
  if (sampling.repeatPenalty != 1.0f)
    add(", repeat penalty %g", double(sampling.repeatPenalty));
  return text + " (defaults from the model's generation_config.json; --temp, "
                "--top-k, --top-p, ... override them)";
}

static int runModel(int argc, char **argv) {
  std::string program = argc > 0 ? argv[0] : "model";
  Options options;
  std::optional<SamplerConfig> samplingDefaults = modelSamplingDefaults();
  std::string error = parseOptions(
      argc, argv, options, samplingDefaults ? &*samplingDefaults : nullptr);
  if (!error.empty())
    return fail(error);
  if (options.help) {
    std::fputs(helpText(program).c_str(), stdout);
    return 0;
  }
  if (options.version) {
    const LlmcModelInfo &m = llmc_model_info;
    // The features the code may use (the "+" ones of the list).
    std::string features;
    for (const char *f = llmc_target_features; *f;) {
      const char *end = std::strchr(f, ',');
      std::string feature(f, end ? size_t(end - f) : std::strlen(f));
      if (!feature.empty() && feature[0] == '+')
        features += (features.empty() ? "" : " ") + feature.substr(1);
      f = end ? end + 1 : f + feature.size();
    }
    std::printf(
        "%s: a model executable compiled by llmc %s\n"
        "model: %lld layers, hidden %lld, %lld query and %lld KV "
        "heads of %lld, vocabulary %lld, %lld positions\n"
        "weights: %.1f MiB packed, expected in %s\n"
        "target: %s%s%s\n"
        "%s",
        program.c_str(), LLMC_VERSION, static_cast<long long>(m.num_layers),
        static_cast<long long>(m.hidden_size),
        static_cast<long long>(m.num_heads),
        static_cast<long long>(m.num_kv_heads),
        static_cast<long long>(m.head_dim),
        static_cast<long long>(m.vocab_size),
        static_cast<long long>(m.max_positions),
        double(m.weights_bytes) / (1024.0 * 1024.0),
        defaultWeightsPath(program.c_str()).c_str(),
        llmc_gpu_ptx ? "NVIDIA GPU (PTX inside), host " : "", llmc_target_cpu,
        features.empty() ? "" : (" (" + features + ")").c_str(),
        &llmc_build_info ? llmc_build_info : "");
    if (samplingDefaults)
      std::printf("sampling: %s\n",
                  describeModelSampling(*samplingDefaults).c_str());
    return 0;
  }
  for (const std::string &warning : options.warnings)
    std::fprintf(stderr, "warning: %s\n", warning.c_str());
  if (samplingDefaults && !options.temperatureGiven && !options.quiet &&
      !options.tokenize && !options.detokenize &&
      options.randomWeightsOut.empty() &&
      (options.chat || options.numGenerate >= 0))
    std::fprintf(stderr, "sampling: %s\n",
                 describeModelSampling(options.sampling).c_str());
  // Before any generated code runs: an older CPU would die on SIGILL.
  error = checkCompiledCPU(llmc_target_cpu, llmc_target_features);
  if (!error.empty())
    return fail(error);
  if (!options.randomWeightsOut.empty()) {
    error = writeRandomWeights(options.randomWeightsOut, llmc_model_info,
                               options.sampling.seed);
    return error.empty() ? 0 : fail(error);
  }
  Run run(options, llmc_model_info);
  error = runModel(options, run, program);
  // Output that did not arrive (a full disk, a closed pipe) is an error.
  if (error.empty() && (std::fflush(stdout) != 0 || std::ferror(stdout)))
    error = std::string("writing to standard output failed: ") +
            std::strerror(errno ? errno : EIO);
  if (error == kInterrupted) {
    std::fputs("interrupted\n", stderr);
    return 130; // 128 + SIGINT, as a shell reports it.
  }
  return error.empty() ? 0 : fail(error);
}

int main(int argc, char **argv) {
  // The generated kernels keep up to a few MiB of stack on every thread.
  return runWithModelStack(runModel, argc, argv);
}
