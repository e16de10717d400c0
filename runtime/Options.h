//===- Options.h - Command line of a compiled model executable ------------===//
//
// One table in Options.cpp lists every option (spellings, value, what it
// sets, help text): parseOptions() and the --help text both come from it.
// Parsing returns an error string instead of exiting so that it can be unit
// tested; main() prints the string and exits.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_OPTIONS_H
#define LLMC_RUNTIME_OPTIONS_H

#include "runtime/Sampler.h"

#include <cstdint>
#include <string>
#include <vector>

namespace llmc {

/// Everything the command line can set.
struct Options {
  bool help = false;
  /// --version: llmc's version and what the executable was compiled for.
  bool version = false;
  /// Input ids from --tokens.
  std::vector<int64_t> tokens;
  bool hasTokens = false;
  /// Input text from --prompt (or, in main(), read from --prompt-file or
  /// stdin).
  std::string prompt;
  bool hasPrompt = false;
  /// --prompt-file FILE: input text read from FILE.
  std::string promptFile;
  /// --no-special: special-token spellings in the input text are text.
  bool plainText = false;
  /// --verbose-prompt: print the input's tokens on stderr.
  bool verbosePrompt = false;
  /// --chat: an interactive conversation on stdin.
  bool chat = false;
  /// --system TEXT: the system message of the chat.
  std::string system;
  /// --tokenize: print the ids of the input text instead of running the
  /// model. --detokenize: print the text of the input ids.
  bool tokenize = false;
  bool detokenize = false;
  /// --lines: with --tokenize or --detokenize, each input line separately.
  bool lines = false;
  /// --logits-out FILE: write the logits of every input position.
  std::string logitsOut;
  /// -n N: tokens to generate (per reply with --chat); -1 when not given;
  /// INT64_MAX with `untilEnd` for -n -1.
  int64_t numGenerate = -1;
  /// -n -1: until a stop token or a full context.
  bool untilEnd = false;
  /// What main() prints as "warning: ..." lines: options given that have
  /// no effect (sampling options at temperature 0).
  std::vector<std::string> warnings;
  SamplerConfig sampling;
  /// --temp was given (else the temperature is the model's default).
  bool temperatureGiven = false;
  bool ignoreEos = false;
  /// --threads N; 0 means all available CPUs.
  int threads = 0;
  /// --ctx N; 0 means min(4096, max_positions).
  int64_t contextSize = 0;
  /// --prefill-chunk N; 0 means the compiled maximum.
  int64_t prefillChunk = 0;
  /// --weights FILE; empty means the executable's path plus ".weights".
  std::string weightsPath;
  /// --write-random-weights FILE: write seeded random weights in this
  /// model's layout to FILE instead of running the model.
  std::string randomWeightsOut;
  bool quiet = false;
  /// --warmup: one forward call before the input's (see Session::warmUp).
  bool warmup = false;
  /// --profile: time every kernel and print a table at exit.
  bool profile = false;
  /// --profile-out FILE: also write the kernel times as JSON to FILE.
  std::string profileOut;
};

/// Parses argv[1..argc). Returns an empty string on success, else a one-line
/// error message. Giving no input is not an error here: main() then reads the
/// prompt from stdin, or says that there is no input when stdin is a
/// terminal. `samplingDefaults` (the model's generation_config.json) are the
/// sampling values that options do not set; null keeps the built-in ones.
std::string parseOptions(int argc, const char *const *argv, Options &options,
                         const SamplerConfig *samplingDefaults = nullptr);

/// Parses a comma separated list of token ids ("128000,9906,1917").
/// Returns an empty string on success, else an error message.
std::string parseTokenList(const std::string &text,
                           std::vector<int64_t> &tokens);

/// The --help text, generated from the option table; `program` is argv[0].
std::string helpText(const std::string &program);

} // namespace llmc

#endif // LLMC_RUNTIME_OPTIONS_H
