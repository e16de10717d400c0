//===- Options.cpp - Command line of a compiled model executable ----------===//

#include "runtime/Options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

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
      return "invalid token id '" + item + "' in --tokens (expected "
             "non-negative integers separated by commas)";
    tokens.push_back(id);
    if (comma == std::string::npos)
      return std::string();
    start = comma + 1;
  }
}

std::string llmc::parseOptions(int argc, const char *const *argv,
                               Options &options) {
  options = Options();
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool hasInlineValue = false;
    if (arg.size() > 2 && arg[0] == '-' && arg[1] == '-') {
      size_t eq = arg.find('=');
      if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        hasInlineValue = true;
      }
    }
    auto isFlag = [&](const char *name) { return arg == name; };
    // Fetches the option's value from "--opt=value" or the next argument.
    auto takeValue = [&](std::string &out) -> bool {
      if (hasInlineValue) {
        out = value;
        return true;
      }
      if (i + 1 >= argc)
        return false;
      out = argv[++i];
      return true;
    };
    if (isFlag("-h") || isFlag("--help")) {
      options.help = true;
      continue;
    }
    if (isFlag("--quiet") || isFlag("-q")) {
      options.quiet = true;
      continue;
    }
    if (isFlag("--ignore-eos")) {
      options.ignoreEos = true;
      continue;
    }
    if (isFlag("--tokenize")) {
      options.tokenize = true;
      continue;
    }
    if (isFlag("--detokenize")) {
      options.detokenize = true;
      continue;
    }
    if (isFlag("--lines")) {
      options.lines = true;
      continue;
    }
    static const char *const valueOptions[] = {
        "--tokens", "--prompt", "--logits-out", "-n",       "--temp",
        "--top-p",  "--top-k",  "--seed",       "--threads", "--ctx",
        "--weights", "--prefill-chunk"};
    bool known = false;
    for (const char *name : valueOptions)
      known |= isFlag(name);
    if (!known)
      return "unknown option '" + arg + "' (see --help)";
    std::string v;
    if (!takeValue(v))
      return "option '" + arg + "' needs a value";

    if (isFlag("--tokens")) {
      std::string err = parseTokenList(v, options.tokens);
      if (!err.empty())
        return err;
      options.hasTokens = true;
    } else if (isFlag("--prompt")) {
      options.prompt = v;
      options.hasPrompt = true;
    } else if (isFlag("--logits-out")) {
      if (v.empty())
        return "--logits-out needs a file name";
      options.logitsOut = v;
    } else if (isFlag("-n")) {
      if (!parseInt(v, options.numGenerate) || options.numGenerate < 0)
        return "-n expects a non-negative integer, got '" + v + "'";
    } else if (isFlag("--temp")) {
      if (!parseFloat(v, options.sampling.temperature) ||
          options.sampling.temperature < 0.0f)
        return "--temp expects a number >= 0, got '" + v + "'";
    } else if (isFlag("--top-p")) {
      if (!parseFloat(v, options.sampling.topP) ||
          !(options.sampling.topP > 0.0f && options.sampling.topP <= 1.0f))
        return "--top-p expects a number in (0, 1], got '" + v + "'";
    } else if (isFlag("--top-k")) {
      if (!parseInt(v, options.sampling.topK) || options.sampling.topK < 0)
        return "--top-k expects a non-negative integer, got '" + v + "'";
    } else if (isFlag("--seed")) {
      if (!parseUnsigned(v, options.sampling.seed))
        return "--seed expects a non-negative integer, got '" + v + "'";
    } else if (isFlag("--threads")) {
      int64_t n;
      if (!parseInt(v, n) || n < 1 || n > 4096)
        return "--threads expects an integer in [1, 4096], got '" + v + "'";
      options.threads = int(n);
    } else if (isFlag("--ctx")) {
      if (!parseInt(v, options.contextSize) || options.contextSize < 1)
        return "--ctx expects a positive integer, got '" + v + "'";
    } else if (isFlag("--prefill-chunk")) {
      if (!parseInt(v, options.prefillChunk) || options.prefillChunk < 1)
        return "--prefill-chunk expects a positive integer, got '" + v + "'";
    } else if (isFlag("--weights")) {
      if (v.empty())
        return "--weights needs a file name";
      options.weightsPath = v;
    }
  }
  if (options.help)
    return std::string();
  if (options.tokenize || options.detokenize) {
    if (options.tokenize && options.detokenize)
      return "give only one of --tokenize and --detokenize";
    if (!options.logitsOut.empty() || options.numGenerate >= 0)
      return "--tokenize and --detokenize do not run the model; they do not "
             "take --logits-out or -n";
    if (options.tokenize && options.hasTokens)
      return "--tokenize reads text (--prompt or stdin), not --tokens";
    if (options.detokenize && options.hasPrompt)
      return "--detokenize reads ids (--tokens or stdin), not text";
    return std::string();
  }
  if (options.lines)
    return "--lines is for --tokenize and --detokenize";
  if (options.hasTokens && options.hasPrompt)
    return "give either --tokens or --prompt, not both";
  if (!options.hasTokens && !options.hasPrompt)
    return "no input: give --tokens ID,ID,... or --prompt TEXT (see --help)";
  if (options.logitsOut.empty() && options.numGenerate < 0)
    return "nothing to do: give -n N to generate and/or --logits-out FILE";
  return std::string();
}

std::string llmc::helpText(const std::string &program) {
  return "usage: " + program +
         " (--tokens ID,ID,... | --prompt TEXT) [options]\n"
         "\n"
         "Runs the language model compiled into this executable.\n"
         "\n"
         "input (exactly one):\n"
         "  --tokens ID,ID,...  input token ids, comma separated\n"
         "  --prompt TEXT       input text; needs the tokenizer packed in the\n"
         "                      weight file; the BOS token is prepended\n"
         "\n"
         "what to do (at least one):\n"
         "  --logits-out FILE   run the input and write float32 logits of "
         "every\n"
         "                      position, row-major [n_tokens, vocab], "
         "little-endian,\n"
         "                      no header\n"
         "  -n N                generate N tokens after the input; prints the "
         "text\n"
         "                      when a tokenizer is available, else the ids "
         "(comma\n"
         "                      separated) on stdout\n"
         "\n"
         "generation:\n"
         "  --temp T            sampling temperature; 0 (default) is greedy\n"
         "  --top-p P           nucleus sampling: keep the most likely tokens "
         "up to\n"
         "                      probability P (default 1 = off)\n"
         "  --top-k K           keep only the K most likely tokens (default 0 "
         "= off)\n"
         "  --seed S            random seed for sampling (default 0)\n"
         "  --ignore-eos        do not stop at the end-of-sequence token\n"
         "\n"
         "tokenizer only (the model does not run):\n"
         "  --tokenize          print the ids of the input text, comma "
         "separated,\n"
         "                      without BOS\n"
         "  --detokenize        print the text of the input ids (--tokens or "
         "stdin)\n"
         "                      byte for byte, without a newline\n"
         "  --lines             with either: one output line per input line\n"
         "\n"
         "runtime:\n"
         "  --threads N         worker threads (default: all available CPUs)\n"
         "  --ctx N             KV cache capacity in positions\n"
         "                      (default: min(4096, the model's maximum))\n"
         "  --prefill-chunk N   at most N tokens per forward call (1 = feed\n"
         "                      the prompt one token at a time)\n"
         "  --weights FILE      weight file (default: this executable's path "
         "+ .weights)\n"
         "  -q, --quiet         no timing or memory report on stderr\n"
         "  -h, --help          show this help\n";
}
