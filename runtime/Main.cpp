//===- Main.cpp - main() of every compiled model executable ---------------===//
//
// Linked with the generated model object, which defines llmc_model_info and
// _mlir_ciface_llmc_forward. Errors are one line on stderr and exit code 1.
//
//===----------------------------------------------------------------------===//

#include "runtime/Chat.h"
#include "runtime/Options.h"
#include "runtime/Sampler.h"
#include "runtime/Session.h"
#include "runtime/Tokenizer.h"
#include "runtime/WeightFile.h"
#include "runtime/abi/ModelABI.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

using namespace llmc;

namespace {

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
  return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                       start)
      .count();
}

void report(const char *phase, int64_t tokens, double seconds) {
  std::fprintf(stderr, "%s: %lld tokens in %.3f s (%.2f tok/s)\n", phase,
               static_cast<long long>(tokens), seconds,
               seconds > 0 ? double(tokens) / seconds : 0.0);
}

/// Reads all of `file` into `text`; false on a read error.
bool readAll(FILE *file, std::string &text) {
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), file)) > 0)
    text.append(buf, n);
  return !std::ferror(file);
}

void reportPeakRss() {
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) == 0)
    std::fprintf(stderr, "peak RSS: %.1f MiB\n",
                 double(usage.ru_maxrss) / 1024.0);
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
      std::vector<int64_t> ids = tokenizer.encode(input);
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
        return options.lines
                   ? "line " + std::to_string(line + 1) + ": " + error
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

} // namespace

int main(int argc, char **argv) {
  std::string program = argc > 0 ? argv[0] : "model";
  Options options;
  std::string error = parseOptions(argc, argv, options);
  if (!error.empty())
    return fail(error);
  if (options.help) {
    std::fputs(helpText(program).c_str(), stdout);
    return 0;
  }

  // Text input: --prompt-file, else stdin unless it is a terminal.
  if (!options.chat && !options.hasTokens && !options.hasPrompt) {
    if (!options.promptFile.empty()) {
      FILE *file = std::fopen(options.promptFile.c_str(), "rb");
      if (!file)
        return fail("cannot read --prompt-file '" + options.promptFile +
                    "': " + std::strerror(errno));
      bool read = readAll(file, options.prompt);
      std::fclose(file);
      if (!read)
        return fail("cannot read --prompt-file '" + options.promptFile + "'");
    } else if (isatty(STDIN_FILENO)) {
      return fail("no input: give --tokens ID,ID,..., --prompt TEXT, "
                  "--prompt-file FILE or text on stdin, or --chat (see "
                  "--help)");
    } else if (!readAll(stdin, options.prompt)) {
      return fail("cannot read the prompt from stdin");
    }
    options.hasPrompt = true;
  }

  const LlmcModelInfo &info = llmc_model_info;
  std::string weightsPath = options.weightsPath.empty()
                                ? defaultWeightsPath(program.c_str())
                                : options.weightsPath;
  WeightFile weightFile;
  if (!weightFile.open(weightsPath, info, error))
    return fail(error);

  // The tokenizer is needed to read --prompt, to print text and to know
  // <|eot_id|>; --logits-out with --tokens alone does not load it.
  Tokenizer tokenizer;
  bool haveTokenizer = false;
  if (options.hasPrompt || options.numGenerate >= 0 || options.chat ||
      options.tokenize || options.detokenize) {
    std::string section = weightFile.tokenizerSection();
    if (!section.empty()) {
      if (!tokenizer.loadImage(section, error))
        return fail("weight file '" + weightsPath + "': " + error);
      haveTokenizer = true;
    }
  }

  if (options.tokenize || options.detokenize) {
    const char *mode = options.tokenize ? "--tokenize" : "--detokenize";
    if (!haveTokenizer)
      return fail("the weight file '" + weightsPath +
                  "' has no tokenizer, so " + mode +
                  " is unavailable; the model takes only --tokens ID,ID,...");
    error = runTokenizer(options, tokenizer);
    if (!error.empty())
      return fail(std::string(mode) + ": " + error);
    return std::fflush(stdout) == 0 ? 0 : fail("cannot write the output");
  }

  if (options.chat && !haveTokenizer)
    return fail("the weight file '" + weightsPath +
                "' has no tokenizer, so --chat is unavailable");

  std::vector<int64_t> input = options.tokens;
  if (options.hasPrompt) {
    if (!haveTokenizer)
      return fail("the weight file '" + weightsPath +
                  "' has no tokenizer, so --prompt is unavailable; only "
                  "--tokens ID,ID,... is");
    input.clear();
    if (info.bos_token_id >= 0)
      input.push_back(info.bos_token_id);
    std::vector<int64_t> encoded = tokenizer.encode(options.prompt);
    input.insert(input.end(), encoded.begin(), encoded.end());
  }
  if (input.empty() && !options.chat)
    return fail("the input is empty");

  Session session;
  SessionConfig config;
  config.threads = options.threads;
  config.contextSize = options.contextSize;
  config.prefillChunk = options.prefillChunk;
  if (!session.init(info, _mlir_ciface_llmc_forward, weightFile.weights(),
                    config, error))
    return fail(error);
  std::vector<int64_t> stopTokens;
  if (!options.ignoreEos) {
    if (info.eos_token_id >= 0)
      stopTokens.push_back(info.eos_token_id);
    if (haveTokenizer) {
      int64_t eot = tokenizer.tokenId("<|eot_id|>");
      if (eot >= 0 && eot != info.eos_token_id)
        stopTokens.push_back(eot);
    }
  }
  Sampler sampler(options.sampling);

  if (options.chat) {
    ChatConfig chat;
    chat.system = options.system;
    chat.maxReplyTokens = options.numGenerate;
    chat.stopTokens = stopTokens;
    chat.bosToken = info.bos_token_id;
    chat.showPrompt = isatty(STDIN_FILENO);
    chat.quiet = options.quiet;
    if (!runChat(session, tokenizer, sampler, chat, stdin, stdout, stderr,
                 error))
      return fail(error);
    if (!options.quiet)
      reportPeakRss();
    return 0;
  }

  error = session.checkTokenIds(input);
  if (error.empty())
    error = session.checkRoom(int64_t(input.size()) +
                              std::max<int64_t>(options.numGenerate - 1, 0));
  if (!error.empty())
    return fail(error);

  // Prefill, streaming every position's logits to the file if asked.
  FILE *logitsFile = nullptr;
  if (!options.logitsOut.empty()) {
    logitsFile = std::fopen(options.logitsOut.c_str(), "wb");
    if (!logitsFile)
      return fail("cannot write '" + options.logitsOut +
                  "': " + std::strerror(errno));
  }
  LogitsSink sink;
  if (logitsFile)
    sink = [&](const float *rows, int64_t, int64_t count) {
      return writeFloatsLE(logitsFile, rows,
                           size_t(count) * size_t(info.vocab_size));
    };
  auto start = std::chrono::steady_clock::now();
  bool ok = session.prefill(input, sink, error);
  double prefillSeconds = secondsSince(start);
  if (logitsFile && std::fclose(logitsFile) != 0 && ok) {
    ok = false;
    error = "writing logits failed";
  }
  if (!ok) {
    if (error == "writing logits failed")
      error = "cannot write '" + options.logitsOut + "': " + error;
    return fail(error);
  }
  if (!options.quiet)
    report("prefill", int64_t(input.size()), prefillSeconds);

  if (options.numGenerate >= 0) {
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
    int64_t generated = 0;
    start = std::chrono::steady_clock::now();
    ok = session.generate(options.numGenerate, sampler, stopTokens, printToken,
                          generated, error);
    double decodeSeconds = secondsSince(start);
    std::string rest = stream.flush();
    std::fwrite(rest.data(), 1, rest.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    if (!ok)
      return fail(error);
    if (!options.quiet)
      report("decode", generated, decodeSeconds);
  }

  if (!options.quiet)
    reportPeakRss();
  return 0;
}
