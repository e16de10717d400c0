//===- OptionsTest.cpp - Tests for command line parsing -------------------===//

#include "runtime/Options.h"

#include <gtest/gtest.h>

using namespace llmc;

namespace {

std::string parse(std::vector<const char *> args, Options &options) {
  args.insert(args.begin(), "model");
  return parseOptions(int(args.size()), args.data(), options);
}

TEST(OptionsTest, ParsesFullCommandLine) {
  Options o;
  ASSERT_EQ(parse({"--tokens", "128000,9906, 1917", "-n", "16", "--temp",
                   "0.7", "--top-p=0.9", "--top-k", "40", "--seed", "42",
                   "--threads", "3", "--ctx", "512", "--weights", "w.bin",
                   "--ignore-eos", "--quiet", "--logits-out", "out.f32"},
                  o),
            "");
  EXPECT_TRUE(o.hasTokens);
  EXPECT_EQ(o.tokens, (std::vector<int64_t>{128000, 9906, 1917}));
  EXPECT_EQ(o.numGenerate, 16);
  EXPECT_FLOAT_EQ(o.sampling.temperature, 0.7f);
  EXPECT_FLOAT_EQ(o.sampling.topP, 0.9f);
  EXPECT_EQ(o.sampling.topK, 40);
  EXPECT_EQ(o.sampling.seed, 42u);
  EXPECT_EQ(o.threads, 3);
  EXPECT_EQ(o.contextSize, 512);
  EXPECT_EQ(o.weightsPath, "w.bin");
  EXPECT_TRUE(o.ignoreEos);
  EXPECT_TRUE(o.quiet);
  EXPECT_EQ(o.logitsOut, "out.f32");
}

TEST(OptionsTest, Defaults) {
  Options o;
  ASSERT_EQ(parse({"--prompt", "Hello world", "-n", "4"}, o), "");
  EXPECT_TRUE(o.hasPrompt);
  EXPECT_EQ(o.prompt, "Hello world");
  EXPECT_EQ(o.sampling.temperature, 0.0f);
  EXPECT_EQ(o.sampling.topP, 1.0f);
  EXPECT_EQ(o.sampling.topK, 0);
  EXPECT_EQ(o.threads, 0);
  EXPECT_EQ(o.contextSize, 0);
  EXPECT_TRUE(o.weightsPath.empty());
  EXPECT_TRUE(o.logitsOut.empty());
  EXPECT_FALSE(o.quiet);
}

TEST(OptionsTest, ParsesChatAndSampling) {
  Options o;
  ASSERT_EQ(parse({"--chat", "--system", "Be brief.", "-n", "8", "--min-p",
                   "0.05", "--repeat-penalty", "1.1", "--repeat-last-n=32"},
                  o),
            "");
  EXPECT_TRUE(o.chat);
  EXPECT_EQ(o.system, "Be brief.");
  EXPECT_EQ(o.numGenerate, 8);
  EXPECT_FLOAT_EQ(o.sampling.minP, 0.05f);
  EXPECT_FLOAT_EQ(o.sampling.repeatPenalty, 1.1f);
  EXPECT_EQ(o.sampling.repeatLastN, 32);
  // --chat needs no -n; the defaults of the new sampling options are off.
  ASSERT_EQ(parse({"--chat"}, o), "");
  EXPECT_EQ(o.numGenerate, -1);
  EXPECT_EQ(o.sampling.minP, 0.0f);
  EXPECT_EQ(o.sampling.repeatPenalty, 1.0f);
  EXPECT_EQ(o.sampling.repeatLastN, 64);
  // --prompt (or -f) is the first message of the chat.
  ASSERT_EQ(parse({"--chat", "-p", "Hi"}, o), "");
  EXPECT_TRUE(o.chat);
  EXPECT_EQ(o.prompt, "Hi");
  ASSERT_EQ(parse({"--chat", "-f", "first.txt"}, o), "");
  EXPECT_EQ(o.promptFile, "first.txt");
}

TEST(OptionsTest, PromptFileAndStdinInput) {
  Options o;
  ASSERT_EQ(parse({"--prompt-file", "p.txt", "-n", "4"}, o), "");
  EXPECT_EQ(o.promptFile, "p.txt");
  EXPECT_FALSE(o.hasPrompt);
  // No input at all is left to main(), which reads stdin.
  ASSERT_EQ(parse({"-n", "4"}, o), "");
  EXPECT_FALSE(o.hasTokens || o.hasPrompt);
  EXPECT_TRUE(o.promptFile.empty());
}

TEST(OptionsTest, LlamaCppSpellings) {
  Options o;
  ASSERT_EQ(
      parse({"-p", "hi", "-t", "2", "-c", "64", "-s", "7", "--n-predict", "3"},
            o),
      "");
  EXPECT_EQ(o.prompt, "hi");
  EXPECT_EQ(o.threads, 2);
  EXPECT_EQ(o.contextSize, 64);
  EXPECT_EQ(o.sampling.seed, 7u);
  EXPECT_EQ(o.numGenerate, 3);
  Options q;
  ASSERT_EQ(parse({"-f", "p.txt", "--ctx-size", "32", "-n", "2"}, q), "");
  EXPECT_EQ(q.promptFile, "p.txt");
  EXPECT_EQ(q.contextSize, 32);
  // A prefix of a spelling list is not a spelling.
  Options r;
  EXPECT_NE(parse({"--tokens", "1", "-n", "1", "--ctx-siz", "3"}, r), "");
}

TEST(OptionsTest, SuggestsTheNearestSpelling) {
  Options o;
  EXPECT_EQ(parse({"--tokens", "1", "-n", "1", "--thread", "2"}, o),
            "unknown option '--thread'; did you mean '--threads'? (see "
            "--help)");
  EXPECT_EQ(parse({"--tokens", "1", "-n", "1", "--top_k", "2"}, o),
            "unknown option '--top_k'; did you mean '--top-k'? (see --help)");
  // Nothing near: no guess.
  EXPECT_EQ(parse({"--tokens", "1", "-n", "1", "--n-gpu-layers", "9"}, o),
            "unknown option '--n-gpu-layers' (see --help)");
}

TEST(OptionsTest, WarnsAboutSamplingOptionsWhenGreedy) {
  Options o;
  ASSERT_EQ(
      parse({"--tokens", "1", "-n", "1", "--top-k", "5", "--seed", "3"}, o),
      "");
  ASSERT_EQ(o.warnings.size(), 2u);
  EXPECT_EQ(o.warnings[0], "--top-k has no effect at temperature 0 (greedy "
                           "decoding); give --temp T > 0 to sample");
  EXPECT_EQ(o.warnings[1].substr(0, 7), "--seed ");
  Options p;
  ASSERT_EQ(
      parse({"--tokens", "1", "-n", "1", "--top-k", "5", "--temp", "0.7"}, p),
      "");
  EXPECT_TRUE(p.warnings.empty());
  Options q;
  ASSERT_EQ(parse({"--write-random-weights", "w", "--seed", "3"}, q), "");
  EXPECT_TRUE(q.warnings.empty());
}

TEST(OptionsTest, GenerateUntilTheEnd) {
  Options o;
  ASSERT_EQ(parse({"--tokens", "1", "-n", "-1"}, o), "");
  EXPECT_TRUE(o.untilEnd);
  Options big;
  ASSERT_EQ(parse({"--tokens", "1", "-n", "9223372036854775807"}, big), "");
  EXPECT_FALSE(big.untilEnd);
  EXPECT_EQ(parse({"--tokens", "1", "-n", "-2"}, o),
            "-n expects a non-negative integer, or -1 (until a stop token or "
            "a full context), got '-2'");
}

TEST(OptionsTest, LogitsOutIsAFile) {
  Options o;
  EXPECT_EQ(parse({"--tokens", "1", "--logits-out", "-"}, o),
            "--logits-out writes binary float32 rows to a file; '-' "
            "(standard output) is not supported: standard output carries "
            "the generated text");
}

TEST(OptionsTest, Profile) {
  Options o;
  ASSERT_EQ(parse({"--tokens", "1", "--profile"}, o), "");
  EXPECT_TRUE(o.profile);
  EXPECT_TRUE(o.profileOut.empty());
  // --profile-out implies --profile.
  Options p;
  ASSERT_EQ(parse({"--tokens", "1", "--profile-out", "k.json"}, p), "");
  EXPECT_TRUE(p.profile);
  EXPECT_EQ(p.profileOut, "k.json");
  Options q;
  EXPECT_EQ(parse({"--tokens", "1", "--profile-out", ""}, q),
            "--profile-out needs a file name");
  // Nothing runs the model: nothing to time.
  EXPECT_EQ(parse({"--prompt", "hi", "--tokenize", "--profile"}, q),
            "--tokenize and --detokenize do not run the model; there is "
            "nothing for --profile to time");
  EXPECT_NE(parse({"--write-random-weights", "w", "--profile"}, q), "");
}

TEST(OptionsTest, HelpNeedsNothingElse) {
  Options o;
  EXPECT_EQ(parse({"--help"}, o), "");
  EXPECT_TRUE(o.help);
  std::string help = helpText("model");
  for (const char *flag :
       {"--tokens", "--prompt", "--prompt-file", "--chat", "--system",
        "--logits-out", "-n N", "--temp", "--top-p", "--top-k", "--min-p",
        "--repeat-penalty", "--repeat-last-n", "--seed", "--ignore-eos",
        "--threads", "--ctx", "--prefill-chunk", "--weights", "--profile",
        "--profile-out", "--quiet", "--help"})
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
}

TEST(OptionsTest, HelpListsOnlyRealOptions) {
  // Every option line of --help ("  -q, --quiet", "  --ctx N") names
  // spellings that the parser knows, and every option has its line.
  std::string help = helpText("model");
  size_t listed = 0;
  for (size_t begin = 0, end; begin < help.size(); begin = end + 1) {
    end = help.find('\n', begin);
    std::string line = help.substr(begin, end - begin);
    if (line.compare(0, 3, "  -") != 0)
      continue;
    std::string left = line.substr(2, line.find("  ", 2) - 2);
    for (size_t from = 0; from != std::string::npos;) {
      size_t comma = left.find(", ", from);
      std::string spelling = left.substr(from, comma - from);
      std::string name = spelling.substr(0, spelling.find(' '));
      Options o;
      EXPECT_EQ(parse({name.c_str()}, o).find("unknown option"),
                std::string::npos)
          << name;
      ++listed;
      from = comma == std::string::npos ? comma : comma + 2;
    }
  }
  // 30 options, two with a short spelling, six with llama.cpp's (-p, -f,
  // -s, -t, -c and --ctx-size, --n-predict).
  EXPECT_EQ(listed, 41u);
}

TEST(OptionsTest, RejectsBadInput) {
  struct Case {
    std::vector<const char *> args;
    const char *expected;
  } cases[] = {
      {{}, "nothing to do"},
      {{"--tokens", "1,2"}, "nothing to do"},
      {{"--tokens", "1,2", "--prompt", "x", "-n", "1"}, "only one of"},
      {{"--prompt", "x", "--prompt-file", "f", "-n", "1"}, "only one of"},
      {{"--chat", "--tokens", "1"}, "--chat reads the conversation"},
      {{"--chat", "--prompt", "x", "-f", "f"}, "only one of"},
      {{"--chat", "--logits-out", "f"}, "--chat reads the conversation"},
      {{"--prompt", "x", "-n", "1", "--system", "s"}, "--system is for"},
      {{"--chat", "--min-p", "1.5"}, "--min-p expects"},
      {{"--chat", "--repeat-penalty", "0"}, "--repeat-penalty expects"},
      {{"--chat", "--repeat-last-n", "-1"}, "--repeat-last-n expects"},
      {{"--tokens", "1,,2", "-n", "1"}, "invalid token id ''"},
      {{"--tokens", "1,-2", "-n", "1"}, "invalid token id '-2'"},
      {{"--tokens", "abc", "-n", "1"}, "invalid token id 'abc'"},
      {{"--tokens", "1", "-n"}, "needs a value"},
      {{"--tokens", "1", "-n", "x"}, "-n expects"},
      {{"--tokens", "1", "-n", "-2"}, "-n expects"},
      {{"--tokens", "1", "-n", "1", "--temp", "-1"}, "--temp expects"},
      {{"--tokens", "1", "-n", "1", "--top-p", "0"}, "--top-p expects"},
      {{"--tokens", "1", "-n", "1", "--top-p", "1.5"}, "--top-p expects"},
      {{"--tokens", "1", "-n", "1", "--top-k", "-3"}, "--top-k expects"},
      {{"--tokens", "1", "-n", "1", "--seed", "-3"}, "--seed expects"},
      {{"--tokens", "1", "-n", "1", "--threads", "0"}, "--threads expects"},
      {{"--tokens", "1", "-n", "1", "--ctx", "0"}, "--ctx expects"},
      {{"--tokens", "1", "-n", "1", "--ctx", "12abc"}, "--ctx expects"},
      {{"--tokens", "1", "-n", "1", "--bogus"}, "unknown option '--bogus'"},
      {{"--tokens", "1", "-n", "1", "extra"}, "unknown option 'extra'"},
  };
  for (const Case &c : cases) {
    Options o;
    std::string error = parse(c.args, o);
    EXPECT_NE(error.find(c.expected), std::string::npos)
        << "expected '" << c.expected << "', got '" << error << "'";
  }
}

} // namespace
