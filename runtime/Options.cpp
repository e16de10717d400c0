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
    if (isFlag("--chat")) {
      options.chat = true;
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
        "--tokens",         "--prompt",         "--prompt-file",
        "--system",         "--logits-out",     "-n",
        "--temp",           "--top-p",          "--top-k",
        "--min-p",          "--repeat-penalty", "--repeat-last-n",
        "--seed",           "--threads",        "--ctx",
        "--weights",        "--prefill-chunk"};
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
    } else if (isFlag("--prompt-file")) {
      if (v.empty())
        return "--prompt-file needs a file name";
      options.promptFile = v;
    } else if (isFlag("--system")) {
      options.system = v;
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
    } else if (isFlag("--min-p")) {
      if (!parseFloat(v, options.sampling.minP) ||
          !(options.sampling.minP >= 0.0f && options.sampling.minP <= 1.0f))
        return "--min-p expects a number in [0, 1], got '" + v + "'";
    } else if (isFlag("--repeat-penalty")) {
      if (!parseFloat(v, options.sampling.repeatPenalty) ||
          !(options.sampling.repeatPenalty > 0.0f))
        return "--repeat-penalty expects a number > 0, got '" + v + "'";
    } else if (isFlag("--repeat-last-n")) {
      if (!parseInt(v, options.sampling.repeatLastN) ||
          options.sampling.repeatLastN < 0)
        return "--repeat-last-n expects a non-negative integer, got '" + v +
               "'";
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
  bool hasPromptFile = !options.promptFile.empty();
  if (options.tokenize || options.detokenize) {
    if (options.tokenize && options.detokenize)
      return "give only one of --tokenize and --detokenize";
    if (options.chat || !options.logitsOut.empty() || options.numGenerate >= 0)
      return "--tokenize and --detokenize do not run the model; they do not "
             "take --chat, --logits-out or -n";
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
    if (options.hasTokens || options.hasPrompt || hasPromptFile ||
        !options.logitsOut.empty())
      return "--chat reads the conversation from stdin; it does not take "
             "--tokens, --prompt, --prompt-file or --logits-out";
    return std::string();
  }
  if (!options.system.empty())
    return "--system is for --chat";
  if (int(options.hasTokens) + int(options.hasPrompt) + int(hasPromptFile) > 1)
    return "give only one of --tokens, --prompt and --prompt-file";
  if (options.logitsOut.empty() && options.numGenerate < 0)
    return "nothing to do: give -n N to generate and/or --logits-out FILE, "
           "or --chat";
  return std::string();
}

std::string llmc::helpText(const std::string &program) {
  return "usage: " + program +
         " (--tokens ID,ID,... | --prompt TEXT | --prompt-file FILE) "
         "[options]\n"
         "       " + program + " [options] < FILE\n"
         "       " + program + " --chat [--system TEXT] [options]\n"
         "\n"
         "Runs the language model compiled into this executable.\n"
         "\n"
         "input (one of):\n"
         "  --tokens ID,ID,...  input token ids, comma separated\n"
         "  --prompt TEXT       input text; the BOS token is prepended\n"
         "  --prompt-file FILE  input text read from FILE (BOS prepended)\n"
         "  (none)              input text read from stdin when it is not a\n"
         "                      terminal (BOS prepended)\n"
         "  --chat              interactive conversation: each line of stdin "
         "is a\n"
         "                      user message, rendered with the Llama 3 chat\n"
         "                      template; the reply streams to stdout and ends "
         "at\n"
         "                      <|eot_id|> or <|end_of_text|> (or after -n "
         "tokens).\n"
         "                      The conversation stays in the KV cache, so "
         "each turn\n"
         "                      runs only its own tokens. When the context is "
         "full\n"
         "                      this is said on stderr and the conversation "
         "starts\n"
         "                      over in a fresh context (keeping the system\n"
         "                      message). End of input ends the chat; \"> \" is\n"
         "                      shown on stderr when stdin is a terminal\n"
         "  --system TEXT       the system message of --chat (default: none)\n"
         "Text input needs the tokenizer packed in the weight file.\n"
         "\n"
         "what to do (at least one, except with --chat):\n"
         "  --logits-out FILE   run the input and write float32 logits of "
         "every\n"
         "                      position, row-major [n_tokens, vocab], "
         "little-endian,\n"
         "                      no header\n"
         "  -n N                generate N tokens after the input (with "
         "--chat: at\n"
         "                      most N per reply; default until a stop token "
         "or a\n"
         "                      full context); prints the text as it is made "
         "when a\n"
         "                      tokenizer is available, else the ids (comma\n"
         "                      separated) on stdout\n"
         "\n"
         "sampling (applied in this order):\n"
         "  --repeat-penalty R  divide positive logits (multiply negative ones)"
         " of\n"
         "                      tokens seen in the last --repeat-last-n tokens "
         "of\n"
         "                      the sequence by R (default 1 = off); also "
         "greedy\n"
         "  --repeat-last-n N   the window of --repeat-penalty (default 64)\n"
         "  --temp T            sampling temperature; 0 (default) is greedy\n"
         "  --top-k K           keep only the K most likely tokens (default 0 "
         "= off;\n"
         "                      1 is greedy)\n"
         "  --top-p P           nucleus sampling: keep the most likely tokens "
         "up to\n"
         "                      probability P (default 1 = off)\n"
         "  --min-p P           keep only tokens at least P times as likely as "
         "the\n"
         "                      most likely one (default 0 = off)\n"
         "  --seed S            random seed; the same seed gives the same "
         "text\n"
         "                      (default 0)\n"
         "  --ignore-eos        do not stop at <|end_of_text|> or <|eot_id|>\n"
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
