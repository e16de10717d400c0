//===- Options.cpp - Command line of a compiled model executable ----------===//

#include "runtime/Options.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>

using namespace llmc;

static bool parseInt(const std::string &text, int64_t &value) {
  if (text.empty())
    return false;
  errno = 0;
  char *end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || end == text.c_str())
    return false;
  value = v;
  return true;
}

static bool parseUnsigned(const std::string &text, uint64_t &value) {
  if (text.empty() || text[0] == '-')
    return false;
  errno = 0;
  char *end = nullptr;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || end == text.c_str())
    return false;
  value = v;
  return true;
}

static bool parseFloat(const std::string &text, float &value) {
  if (text.empty())
    return false;
  char *end = nullptr;
  float v = std::strtof(text.c_str(), &end);
  if (*end != '\0' || end == text.c_str() || !std::isfinite(v))
    return false;
  value = v;
  return true;
}

std::string llmc::parseTokenList(const std::string &text,
                                 std::vector<int64_t> &tokens) {
  tokens.clear();
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(
        start, comma == std::string::npos ? std::string::npos : comma - start);
    while (!item.empty() && item.front() == ' ')
      item.erase(item.begin());
    while (!item.empty() && item.back() == ' ')
      item.pop_back();
    int64_t id;
    if (!parseInt(item, id) || id < 0)
      return "invalid token id '" + item +
             "' in --tokens (expected "
             "non-negative integers separated by commas)";
    tokens.push_back(id);
    if (comma == std::string::npos)
      return std::string();
    start = comma + 1;
  }
}

//===----------------------------------------------------------------------===//
// The option table
//===----------------------------------------------------------------------===//

namespace {

/// The part of --help an option is listed in.
enum class Section { Input, Action, Sampling, TokenizerOnly, Runtime };

/// Stores the value of the option named `name`; returns "" or an error.
using Setter = std::string (*)(const char *name, const std::string &value,
                               Options &options);

/// One command line option: a flag (no value) sets `flag`; an option with a
/// value (named `metavar` in --help) passes it to `set`.
struct OptionSpec {
  const char *name;
  /// Other spellings, separated by ", " ("-q" for "--quiet"; "-c,
  /// --ctx-size" for "--ctx"), or null.
  const char *alias;
  const char *metavar;
  bool Options::*flag;
  Setter set;
  Section section;
  const char *help;
};

/// The error of a value outside an option's domain.
std::string expects(const char *name, const char *domain,
                    const std::string &value) {
  return std::string(name) + " expects " + domain + ", got '" + value + "'";
}

template <typename Int>
std::string setInt(const char *name, const std::string &value, int64_t min,
                   int64_t max, const char *domain, Int &out) {
  int64_t v;
  if (!parseInt(value, v) || v < min || v > max)
    return expects(name, domain, value);
  out = Int(v);
  return std::string();
}

std::string setFloat(const char *name, const std::string &value,
                     bool (*inDomain)(float), const char *domain, float &out) {
  float v;
  if (!parseFloat(value, v) || !inDomain(v))
    return expects(name, domain, value);
  out = v;
  return std::string();
}

std::string setFileName(const char *name, const std::string &value,
                        std::string &out) {
  if (value.empty())
    return std::string(name) + " needs a file name";
  out = value;
  return std::string();
}

constexpr int64_t kNoMax = INT64_MAX;
using Value = const std::string &;

/// Every option, in --help order.
const OptionSpec kOptions[] = {
    {"--tokens", nullptr, "ID,ID,...", nullptr,
     [](const char *, Value v, Options &o) {
       std::string error = parseTokenList(v, o.tokens);
       o.hasTokens = error.empty();
       return error;
     },
     Section::Input, "input token ids, comma separated"},
    {"--prompt", "-p", "TEXT", nullptr,
     [](const char *, Value v, Options &o) {
       o.prompt = v;
       o.hasPrompt = true;
       return std::string();
     },
     Section::Input,
     "input text; the BOS token is prepended (with --chat: the first "
     "message)"},
    {"--prompt-file", "-f", "FILE", nullptr,
     [](const char *name, Value v, Options &o) {
       return setFileName(name, v, o.promptFile);
     },
     Section::Input,
     "input text read from FILE (BOS prepended; with --chat: the first "
     "message)"},
    {"--no-special", nullptr, nullptr, &Options::plainText, nullptr,
     Section::Input,
     "read special-token spellings such as <|eot_id|> in the input text as "
     "plain text (--chat always does for typed messages)"},
    {"--verbose-prompt", nullptr, nullptr, &Options::verbosePrompt, nullptr,
     Section::Input,
     "print the input's tokens on stderr before running it, one \"ID -> "
     "'TEXT'\" line each (with --chat: each turn's)"},
    {"--chat", nullptr, nullptr, &Options::chat, nullptr, Section::Input,
     "interactive conversation: each line of stdin is a user message, "
     "rendered with the Llama 3 chat template; the reply streams to stdout "
     "and ends at <|eot_id|> or <|end_of_text|> (or after -n tokens). The "
     "conversation stays in the KV cache, so each turn runs only its own "
     "tokens. When the context is full this is said on stderr and the "
     "conversation starts over in a fresh context (keeping the system "
     "message). End of input ends the chat. In a terminal a banner and "
     "\"> \" are shown on stderr, the line can be edited (arrows, Home, End, "
     "Ctrl-A/E/K/U/W) and up/down recall earlier messages; Ctrl-C stops a "
     "reply, Ctrl-D or Ctrl-C on an empty line ends the chat"},
    {"--system", nullptr, "TEXT", nullptr,
     [](const char *, Value v, Options &o) {
       o.system = v;
       return std::string();
     },
     Section::Input, "the system message of --chat (default: none)"},

    {"--logits-out", nullptr, "FILE", nullptr,
     [](const char *name, Value v, Options &o) {
       if (v == "-")
         return std::string(
             "--logits-out writes binary float32 rows to a file; '-' "
             "(standard output) is not supported: standard output carries "
             "the generated text");
       return setFileName(name, v, o.logitsOut);
     },
     Section::Action,
     "run the input and write float32 logits of every position, row-major "
     "[n_tokens, vocab], little-endian, no header"},
    {"-n", "--n-predict", "N", nullptr,
     [](const char *name, Value v, Options &o) {
       std::string error =
           setInt(name, v, -1, kNoMax,
                  "a non-negative integer, or -1 (until a stop token or a "
                  "full context)",
                  o.numGenerate);
       o.untilEnd = error.empty() && o.numGenerate == -1;
       if (o.untilEnd)
         o.numGenerate = INT64_MAX;
       return error;
     },
     Section::Action,
     "generate N tokens after the input, -1: until a stop token or a full "
     "context (with --chat: at most N per reply; "
     "default until a stop token or a full context); prints the text as it "
     "is made when a tokenizer is available, else the ids (comma separated) "
     "on stdout"},

    {"--repeat-penalty", nullptr, "R", nullptr,
     [](const char *name, Value v, Options &o) {
       return setFloat(
           name, v, [](float r) { return r > 0.0f; }, "a number > 0",
           o.sampling.repeatPenalty);
     },
     Section::Sampling,
     "divide positive logits (multiply negative ones) of tokens seen in the "
     "last --repeat-last-n tokens of the sequence by R (default 1 = off); "
     "also greedy"},
    {"--repeat-last-n", nullptr, "N", nullptr,
     [](const char *name, Value v, Options &o) {
       return setInt(name, v, 0, kNoMax, "a non-negative integer",
                     o.sampling.repeatLastN);
     },
     Section::Sampling, "the window of --repeat-penalty (default 64)"},
    {"--temp", nullptr, "T", nullptr,
     [](const char *name, Value v, Options &o) {
       return setFloat(
           name, v, [](float t) { return t >= 0.0f; }, "a number >= 0",
           o.sampling.temperature);
     },
     Section::Sampling,
     "sampling temperature; 0 is greedy (default: 0, or what the model's "
     "generation_config.json said at compile time, as a line on stderr "
     "shows; --info lists it)"},
    {"--top-k", nullptr, "K", nullptr,
     [](const char *name, Value v, Options &o) {
       return setInt(name, v, 0, kNoMax, "a non-negative integer",
                     o.sampling.topK);
     },
     Section::Sampling,
     "keep only the K most likely tokens (default 0 = off; 1 is greedy)"},
    {"--top-p", nullptr, "P", nullptr,
     [](const char *name, Value v, Options &o) {
       return setFloat(
           name, v, [](float p) { return p > 0.0f && p <= 1.0f; },
           "a number in (0, 1]", o.sampling.topP);
     },
     Section::Sampling,
     "nucleus sampling: keep the most likely tokens up to probability P "
     "(default 1 = off)"},
    {"--min-p", nullptr, "P", nullptr,
     [](const char *name, Value v, Options &o) {
       return setFloat(
           name, v, [](float p) { return p >= 0.0f && p <= 1.0f; },
           "a number in [0, 1]", o.sampling.minP);
     },
     Section::Sampling,
     "keep only tokens at least P times as likely as the most likely one "
     "(default 0 = off)"},
    {"--seed", "-s", "S", nullptr,
     [](const char *name, Value v, Options &o) {
       return parseUnsigned(v, o.sampling.seed)
                  ? std::string()
                  : expects(name, "a non-negative integer", v);
     },
     Section::Sampling,
     "random seed; the same seed gives the same text (default 0)"},
    {"--ignore-eos", nullptr, nullptr, &Options::ignoreEos, nullptr,
     Section::Sampling, "do not stop at <|end_of_text|> or <|eot_id|>"},

    {"--tokenize", nullptr, nullptr, &Options::tokenize, nullptr,
     Section::TokenizerOnly,
     "print the ids of the input text, comma separated, without BOS"},
    {"--detokenize", nullptr, nullptr, &Options::detokenize, nullptr,
     Section::TokenizerOnly,
     "print the text of the input ids (--tokens or stdin) byte for byte, "
     "without a newline"},
    {"--lines", nullptr, nullptr, &Options::lines, nullptr,
     Section::TokenizerOnly, "with either: one output line per input line"},

    {"--threads", "-t", "N", nullptr,
     [](const char *name, Value v, Options &o) {
       return setInt(name, v, 1, 4096, "an integer in [1, 4096]", o.threads);
     },
     Section::Runtime, "worker threads (default: all available CPUs)"},
    {"--ctx", "-c, --ctx-size", "N", nullptr,
     [](const char *name, Value v, Options &o) {
       return setInt(name, v, 1, kNoMax, "a positive integer", o.contextSize);
     },
     Section::Runtime,
     "KV cache capacity in positions (default: min(4096, the model's "
     "maximum))"},
    {"--prefill-chunk", nullptr, "N", nullptr,
     [](const char *name, Value v, Options &o) {
       return setInt(name, v, 1, kNoMax, "a positive integer", o.prefillChunk);
     },
     Section::Runtime,
     "at most N tokens per forward call (1 = feed the prompt one token at a "
     "time)"},
    {"--weights", nullptr, "FILE", nullptr,
     [](const char *name, Value v, Options &o) {
       return setFileName(name, v, o.weightsPath);
     },
     Section::Runtime,
     "weight file (default: this executable's path + .weights)"},
    {"--write-random-weights", nullptr, "FILE", nullptr,
     [](const char *name, Value v, Options &o) {
       return setFileName(name, v, o.randomWeightsOut);
     },
     Section::Runtime,
     "write a weight file of --seed random values (every 16 bits a bf16 "
     "below 1/16) in this model's layout to FILE and exit: for speed "
     "measurements where the real weights cannot be copied"},
    {"--warmup", nullptr, nullptr, &Options::warmup, nullptr, Section::Runtime,
     "run one token through the model and forget it before the input, so "
     "that the reported prefill speed is not the first touch of the "
     "weights and buffers (llama.cpp warms up the same way)"},
    {"--profile", nullptr, nullptr, &Options::profile, nullptr,
     Section::Runtime,
     "time every compiled kernel (GPU models: with device events after each "
     "launch, and decode steps launched directly instead of replayed as a "
     "graph) and print, per phase, each "
     "kernel's calls, time and share of the forward time on stderr at exit"},
    {"--profile-out", nullptr, "FILE", nullptr,
     [](const char *name, Value v, Options &o) {
       o.profile = true;
       return setFileName(name, v, o.profileOut);
     },
     Section::Runtime, "--profile, and write the kernel times as JSON to FILE"},
    {"--quiet", "-q", nullptr, &Options::quiet, nullptr, Section::Runtime,
     "no timing or memory report on stderr"},
    {"--version", "--info", nullptr, &Options::version, nullptr,
     Section::Runtime,
     "print llmc's and LLVM's versions and what this executable was "
     "compiled for (the model's shape, the target CPU and its features, the "
     "weight types, the llmc command, the sampling defaults of the model's "
     "generation_config.json) and exit"},
    {"--help", "-h", nullptr, &Options::help, nullptr, Section::Runtime,
     "show this help"},
};

/// The option spelled `name`, or null.
const OptionSpec *findOption(const std::string &name) {
  for (const OptionSpec &spec : kOptions) {
    if (name == spec.name)
      return &spec;
    // Other spellings, separated by ", " ("-c, --ctx-size").
    for (const char *alias = spec.alias; alias && *alias;) {
      const char *end = std::strstr(alias, ", ");
      size_t length = end ? size_t(end - alias) : std::strlen(alias);
      if (name.size() == length && name.compare(0, length, alias, length) == 0)
        return &spec;
      alias = end ? end + 2 : nullptr;
    }
  }
  return nullptr;
}

/// Splits "--name=value" into `arg` = "--name" and `value`; returns whether
/// there was such a value.
bool splitInlineValue(std::string &arg, std::string &value) {
  if (arg.size() <= 2 || arg[0] != '-' || arg[1] != '-')
    return false;
  size_t eq = arg.find('=');
  if (eq == std::string::npos)
    return false;
  value = arg.substr(eq + 1);
  arg.resize(eq);
  return true;
}

/// Checks that the options given make one thing to do.
std::string checkMode(const Options &options) {
  bool hasPromptFile = !options.promptFile.empty();
  if (!options.randomWeightsOut.empty()) {
    if (options.chat || options.tokenize || options.detokenize ||
        options.hasTokens || options.hasPrompt || hasPromptFile ||
        !options.logitsOut.empty() || options.numGenerate >= 0 ||
        options.profile)
      return "--write-random-weights writes a weight file and exits; it "
             "does not run the model";
    return std::string();
  }
  if (options.tokenize || options.detokenize) {
    if (options.tokenize && options.detokenize)
      return "give only one of --tokenize and --detokenize";
    if (options.chat || !options.logitsOut.empty() || options.numGenerate >= 0)
      return "--tokenize and --detokenize do not run the model; they do not "
             "take --chat, --logits-out or -n";
    if (options.profile)
      return "--tokenize and --detokenize do not run the model; there is "
             "nothing for --profile to time";
    if (options.tokenize && options.hasTokens)
      return "--tokenize reads text (--prompt, --prompt-file or stdin), not "
             "--tokens";
    if (options.detokenize && (options.hasPrompt || hasPromptFile))
      return "--detokenize reads ids (--tokens or stdin), not text";
    return std::string();
  }
  if (options.lines)
    return "--lines is for --tokenize and --detokenize";
  if (options.chat) {
    if (options.hasTokens || !options.logitsOut.empty())
      return "--chat reads the conversation from stdin (--prompt or "
             "--prompt-file give the first message); it does not take "
             "--tokens or --logits-out";
    if (options.hasPrompt && hasPromptFile)
      return "give only one of --prompt and --prompt-file";
    return std::string();
  }
  if (!options.system.empty())
    return "--system is for --chat";
  if (int(options.hasTokens) + int(options.hasPrompt) + int(hasPromptFile) > 1)
    return "give only one of --tokens, --prompt and --prompt-file";
  // --profile alone times the prefill of the input.
  if (options.logitsOut.empty() && options.numGenerate < 0 && !options.profile)
    return "nothing to do: give -n N to generate and/or --logits-out FILE, "
           "or --chat";
  return std::string();
}

//===----------------------------------------------------------------------===//
// --help
//===----------------------------------------------------------------------===//

/// A row of --help that is not an option.
struct HelpRow {
  const char *left;
  const char *text;
};

/// The title of each Section, and what it says besides its options.
struct SectionHelp {
  const char *title;
  HelpRow extraRow;
  const char *footer;
} const kSections[] = {
    {"input (one of):",
     {"(none)", "input text read from stdin when it is not a terminal (BOS "
                "prepended)"},
     "Text input needs the tokenizer packed in the weight file."},
    {"what to do (at least one, except with --chat):", {}, nullptr},
    {"sampling (applied in this order):", {}, nullptr},
    {"tokenizer only (the model does not run):", {}, nullptr},
    {"runtime:", {}, nullptr},
};
static_assert(std::size(kSections) == size_t(Section::Runtime) + 1,
              "one SectionHelp per Section, in order");

/// Help text starts in this column and wraps before kHelpWidth.
constexpr size_t kHelpColumn = 22;
constexpr size_t kHelpWidth = 80;

/// Appends `left` indented by two, then `text` from kHelpColumn on, word
/// wrapped.
void appendHelpRow(std::string &out, const std::string &left,
                   const char *text) {
  std::string line = "  " + left;
  line.resize(std::max(line.size() + 1, kHelpColumn), ' ');
  size_t lineWords = 0;
  for (const char *word = text; *word;) {
    size_t length = std::strcspn(word, " ");
    if (lineWords && line.size() + 1 + length >= kHelpWidth) {
      out += line + "\n";
      line.assign(kHelpColumn, ' ');
      lineWords = 0;
    }
    if (lineWords)
      line += ' ';
    line.append(word, length);
    ++lineWords;
    word += length;
    word += std::strspn(word, " ");
  }
  out += line + "\n";
}

/// The left column of an option: its spellings and value.
std::string helpLeft(const OptionSpec &spec) {
  std::string left = spec.alias ? std::string(spec.alias) + ", " : "";
  left += spec.name;
  if (spec.metavar)
    left += std::string(" ") + spec.metavar;
  return left;
}

} // namespace

/// Edits (insert, delete, replace a character) from `a` to `b`.
size_t editDistance(const std::string &a, const std::string &b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

/// The error of an unknown option, with the nearest spelling when one is
/// close ("--thread" -> "--threads").
std::string unknownOption(const std::string &arg) {
  std::string best;
  size_t bestDistance = SIZE_MAX;
  auto consider = [&](const std::string &spelling) {
    size_t d = editDistance(arg, spelling);
    if (d < bestDistance) {
      bestDistance = d;
      best = spelling;
    }
  };
  for (const OptionSpec &spec : kOptions) {
    consider(spec.name);
    for (const char *alias = spec.alias; alias && *alias;) {
      const char *end = std::strstr(alias, ", ");
      consider(end ? std::string(alias, end) : std::string(alias));
      alias = end ? end + 2 : nullptr;
    }
  }
  std::string error = "unknown option '" + arg + "'";
  if (arg.size() > 2 && bestDistance <= std::max<size_t>(2, arg.size() / 4))
    error += "; did you mean '" + best + "'?";
  return error + " (see --help)";
}

std::string llmc::parseOptions(int argc, const char *const *argv,
                               Options &options,
                               const SamplerConfig *samplingDefaults) {
  options = Options();
  if (samplingDefaults)
    options.sampling = *samplingDefaults;
  // Sampling options given, which do nothing at temperature 0.
  std::vector<std::string> samplingGiven;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool hasInlineValue = splitInlineValue(arg, value);
    const OptionSpec *spec = findOption(arg);
    if (!spec)
      return unknownOption(arg);
    std::string given = spec->name;
    options.temperatureGiven |= given == "--temp";
    if (given == "--top-k" || given == "--top-p" || given == "--min-p" ||
        given == "--seed")
      samplingGiven.push_back(given);
    if (spec->flag) {
      options.*spec->flag = true;
      continue;
    }
    if (!hasInlineValue) {
      if (i + 1 >= argc)
        return "option '" + arg + "' needs a value";
      value = argv[++i];
    }
    std::string error = spec->set(spec->name, value, options);
    if (!error.empty())
      return error;
  }
  // (--write-random-weights takes --seed for the weights.)
  if (options.sampling.temperature == 0.0f && options.randomWeightsOut.empty())
    for (const std::string &name : samplingGiven)
      options.warnings.push_back(
          name + " has no effect at temperature 0 (greedy decoding); give "
                 "--temp T > 0 to sample");
  return options.help || options.version ? std::string() : checkMode(options);
}

std::string llmc::helpText(const std::string &program) {
  std::string out =
      "usage: " + program +
      " (--tokens ID,ID,... | --prompt TEXT | --prompt-file FILE) "
      "[options]\n"
      "       " +
      program +
      " [options] < FILE\n"
      "       " +
      program +
      " --chat [--system TEXT] [--prompt FIRST] [options]\n"
      "\n"
      "Runs the language model compiled into this executable.\n";
  for (size_t section = 0; section < std::size(kSections); ++section) {
    const SectionHelp &help = kSections[section];
    out += "\n" + std::string(help.title) + "\n";
    for (const OptionSpec &spec : kOptions)
      if (size_t(spec.section) == section)
        appendHelpRow(out, helpLeft(spec), spec.help);
    if (help.extraRow.left)
      appendHelpRow(out, help.extraRow.left, help.extraRow.text);
    if (help.footer)
      out += std::string(help.footer) + "\n";
  }
  return out;
}
