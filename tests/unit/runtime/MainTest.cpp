//===- MainTest.cpp - Command line tests of an executable with FakeModel --===//
//
// FakeModelExe is Main.cpp linked with the test-only fake model, built the way
// `llmc compile` links a real model. These tests run it as a user would.
//
//===----------------------------------------------------------------------===//

#include "FakeModel.h"
#include "TestUtil.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <unistd.h>

#include <sys/wait.h>

using namespace llmc;

namespace {

struct Result {
  int exitCode;
  std::string out, err;
};

class MainTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir = test::makeTempDir();
    ASSERT_FALSE(dir.empty());
    weightsPath = dir + "/model.weights";
    ASSERT_TRUE(test::writeFile(
        weightsPath, test::makeWeightFile(fake::kFingerprint, fake::weights())));
  }

  /// Runs `exe args` with stdout and stderr captured.
  Result run(const std::string &args,
             const std::string &exe = LLMC_FAKE_MODEL_EXE) {
    std::string errPath = dir + "/stderr.txt";
    std::string command = "'" + exe + "' " + args + " 2>'" + errPath + "'";
    Result r;
    FILE *p = popen(command.c_str(), "r");
    EXPECT_NE(p, nullptr);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
      r.out.append(buf, n);
    int status = pclose(p);
    r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.err = test::readFile(errPath);
    return r;
  }

  std::string withWeights(const std::string &args) {
    return "--weights '" + weightsPath + "' " + args;
  }

  std::string outPath() const { return dir + "/stdout.txt"; }
  std::string errPath() const { return dir + "/stderr.txt"; }

  /// Starts a slow model (50 ms per forward call) generating 60 tokens on
  /// two threads, stdout and stderr to outPath() and errPath(), and returns
  /// once the first tokens are out (its signal handlers are installed then).
  pid_t startSlowGeneration() {
    pid_t pid = fork();
    if (pid == 0) {
      setenv("LLMC_FAKE_DELAY_MS", "50", 1);
      if (!freopen(outPath().c_str(), "w", stdout) ||
          !freopen(errPath().c_str(), "w", stderr))
        _exit(126);
      execl(LLMC_FAKE_MODEL_EXE, LLMC_FAKE_MODEL_EXE, "--weights",
            weightsPath.c_str(), "--tokens", "1,2", "-n", "60", "--ignore-eos",
            "--threads", "2", static_cast<char *>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 1000 && test::readFile(outPath()).empty(); ++i)
      usleep(10 * 1000);
    usleep(100 * 1000);
    return pid;
  }

  std::string dir, weightsPath;
};

TEST_F(MainTest, GeneratesIdsGreedily) {
  Result r = run(withWeights("--tokens 20,21 -n 4 --threads 2"));
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out, "22,23,24,25\n");
  EXPECT_NE(r.err.find("prefill: 2 tokens in"), std::string::npos) << r.err;
  // Four tokens, three fed back: the rate counts forward calls.
  EXPECT_NE(r.err.find("decode: 4 tokens, 3 forward calls in"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("peak RSS:"), std::string::npos) << r.err;
}

TEST_F(MainTest, NoDecodeLineWithoutAForwardCall) {
  // -n 1 samples from the prefill's logits; -n 0 samples nothing: neither
  // decodes, so neither reports a decode rate.
  for (const char *n : {"-n 1", "-n 0"}) {
    Result r = run(withWeights(std::string("--tokens 20,21 ") + n));
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.err.find("prefill: 2 tokens in"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("decode:"), std::string::npos) << n << ": " << r.err;
  }
}

TEST_F(MainTest, StopsAtEosUnlessIgnored) {
  Result r = run(withWeights("--tokens 28 -n 10 --quiet"));
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out, "29,30\n");
  EXPECT_EQ(r.err, "");
  r = run(withWeights("--tokens 28 -n 5 --quiet --ignore-eos"));
  EXPECT_EQ(r.out, "29,30,31,0,1\n");
}

TEST_F(MainTest, WritesLogitsOfEveryPosition) {
  std::string logitsPath = dir + "/logits.f32";
  Result r = run(withWeights("--tokens 5,9,2,7,30,1 --quiet --logits-out '" +
                             logitsPath + "'"));
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out, "");
  std::string bytes = test::readFile(logitsPath);
  ASSERT_EQ(bytes.size(), 6 * fake::kVocab * sizeof(float));
  std::vector<float> logits(6 * fake::kVocab);
  std::memcpy(logits.data(), bytes.data(), bytes.size());
  int64_t tokens[] = {5, 9, 2, 7, 30, 1}, sum = 0;
  for (int p = 0; p < 6; ++p) {
    sum += tokens[p];
    std::vector<float> row(&logits[p * fake::kVocab],
                           &logits[(p + 1) * fake::kVocab]);
    std::vector<float> expected(fake::kVocab, 0.0f);
    expected[(tokens[p] + 1) % fake::kVocab] += 1.0f;
    expected[sum % fake::kVocab] += 0.5f;
    EXPECT_EQ(row, expected)
        << "position " << p;
  }
}

TEST_F(MainTest, LogitsOutNeverReplacesAnInput) {
  std::string before = test::readFile(weightsPath);
  Result r = run(
      withWeights("--tokens 5,9 --quiet --logits-out '" + weightsPath + "'"));
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("is an input of this run"), std::string::npos) << r.err;
  EXPECT_EQ(test::readFile(weightsPath), before);

  std::string promptPath = dir + "/prompt.txt";
  ASSERT_TRUE(test::writeFile(promptPath, "hello"));
  r = run(withWeights("--prompt-file '" + promptPath +
                      "' --quiet --logits-out '" + promptPath + "'"));
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(test::readFile(promptPath), "hello");
}

TEST_F(MainTest, FailedLogitsOutLeavesNoFile) {
  // A context too small fails before any logits exist: nothing named
  // logits.f32 (or its temporary) is left behind.
  std::string logitsPath = dir + "/logits.f32";
  Result r = run(withWeights("--ctx 2 --tokens 5,9,2 --quiet --logits-out '" +
                             logitsPath + "'"));
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(test::readFile(logitsPath), "");
  r = run(withWeights("--tokens 5,9,2 --quiet --logits-out '" + dir +
                      "/missing/logits.f32'"));
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("cannot write"), std::string::npos) << r.err;
}

TEST_F(MainTest, HugeGenerationCountsAreRefused) {
  // The positions a run needs are computed without overflow.
  Result r = run(withWeights(
      "--ctx 8 --tokens 1,2,3 -n 9223372036854775807 --ignore-eos"));
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("context full"), std::string::npos) << r.err;
  r = run(withWeights("--tokens 1,2,3 -n 9223372036854775807 --ignore-eos"));
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("context full"), std::string::npos) << r.err;
}

TEST_F(MainTest, TinyTemperaturesSampleTheTop) {
  Result greedy = run(withWeights("--tokens 1,2,3 -n 8 --quiet"));
  ASSERT_EQ(greedy.exitCode, 0) << greedy.err;
  for (const char *temp : {"1e-40", "1e-45", "1e-30"}) {
    Result r = run(withWeights(std::string("--tokens 1,2,3 -n 8 --quiet "
                                           "--top-p 0.9 --min-p 0.1 --temp ") +
                               temp));
    EXPECT_EQ(r.exitCode, 0) << temp << ": " << r.err;
    EXPECT_EQ(r.out, greedy.out) << temp;
  }
}

TEST_F(MainTest, ReportsFailedWritesToStdout) {
  Result r = run(withWeights("--tokens 1,2,3 -n 4 --quiet >/dev/full"));
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("writing to standard output failed"), std::string::npos)
      << r.err;
}

TEST_F(MainTest, CtrlCEndsGenerationWithItsTiming) {
  // SIGINT soon after the first tokens appear.
  pid_t pid = startSlowGeneration();
  ASSERT_GT(pid, 0);
  kill(pid, SIGINT);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 130);
  std::string err = test::readFile(errPath());
  EXPECT_NE(err.find("decode: "), std::string::npos) << err;
  EXPECT_NE(err.find("interrupted"), std::string::npos) << err;
  // Fewer than 60 tokens came out, on one line.
  std::string out = test::readFile(outPath());
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
  EXPECT_LT(std::count(out.begin(), out.end(), ','), 59) << out;
}

TEST_F(MainTest, TruncatedWeightFileIsAClearError) {
  // The weight file is cut while the model runs: a one-line error, not a
  // bare SIGBUS.
  pid_t pid = startSlowGeneration();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(truncate(weightsPath.c_str(), 0), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 1);
  std::string err = test::readFile(errPath());
  EXPECT_NE(err.find("error: the weight file '" + weightsPath +
                     "' was truncated or changed while the model was running"),
            std::string::npos)
      << err;
}

TEST_F(MainTest, FindsWeightsBesideExecutable) {
  std::string exe = dir + "/copied-model";
  ASSERT_TRUE(test::writeFile(exe, test::readFile(LLMC_FAKE_MODEL_EXE)));
  ASSERT_EQ(chmod(exe.c_str(), 0755), 0);
  Result r = run("--tokens 3 -n 1 --quiet", exe);
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("cannot open weight file '" + exe + ".weights'"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("give another path with --weights FILE"),
            std::string::npos)
      << r.err;
  // A path given with --weights is not explained again.
  r = run("--tokens 3 -n 1 --quiet --weights " + dir + "/none", exe);
  EXPECT_EQ(r.err.find("--weights FILE"), std::string::npos) << r.err;
  ASSERT_TRUE(test::writeFile(exe + ".weights", test::readFile(weightsPath)));
  r = run("--tokens 3 -n 1 --quiet", exe);
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out, "4\n");
}

TEST_F(MainTest, ReportsErrorsOnOneLine) {
  struct Case {
    std::string args;
    std::string message;
  } cases[] = {
      {"--tokens 1,32 -n 1", "error: token id 32 (input position 1) is "
                             "outside the vocabulary [0, 32)\n"},
      {"--tokens 1,2,3 -n 1 --ctx 2",
       "error: context full: 3 positions requested, cache holds 2 (use "
       "--ctx 3)\n"},
      {"--tokens 1 -n 5 --ctx 4",
       "error: context full: 5 positions requested, cache holds 4 (use "
       "--ctx 5)\n"},
      {"--tokens 1 -n 70 --ctx 4",
       "error: context full: 70 positions requested, cache holds 4; the "
       "model's maximum is 64 positions (--ctx 64)\n"},
      {"--tokens 1 -n 70 --ctx 64",
       "error: context full: 70 positions requested, cache holds 64, the "
       "model's maximum\n"},
      {"--tokens 1 -n 1 --ctx 100",
       "error: --ctx 100 exceeds the model's maximum of 64 positions\n"},
      {"--prompt hi -n 1",
       "error: the weight file '" + weightsPath +
           "' has no tokenizer, so --prompt is unavailable; only --tokens "
           "ID,ID,... is\n"},
      {"--tokens 1 --bogus", "error: unknown option '--bogus' (see --help)\n"},
  };
  for (const Case &c : cases) {
    Result r = run(withWeights(c.args));
    EXPECT_EQ(r.exitCode, 1) << c.args;
    EXPECT_EQ(r.err, c.message) << c.args;
  }
}

TEST_F(MainTest, RejectsWeightsOfAnotherModel) {
  ASSERT_TRUE(test::writeFile(
      weightsPath, test::makeWeightFile(fake::kFingerprint + 1, fake::weights())));
  Result r = run(withWeights("--tokens 1 -n 1"));
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("fingerprint"), std::string::npos) << r.err;
}

TEST_F(MainTest, PromptUsesPackedTokenizer) {
  ASSERT_TRUE(test::writeFile(
      weightsPath,
      test::makeWeightFile(
          fake::kFingerprint, fake::weights(),
          test::tokenizerImage(LLMC_RUNTIME_TEST_INPUTS "/tokenizer.json"))));
  // BOS (1) is prepended; "h" is byte token 104, >= the fake vocab of 32.
  Result r = run(withWeights("--prompt h -n 1 --quiet"));
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(r.err, "error: token id 104 (input position 1) is outside the "
                   "vocabulary [0, 32)\n");
  // With a tokenizer, generated tokens print as text: ids 22 and 23 are the
  // byte-level tokens for bytes 22 and 23.
  r = run(withWeights("--tokens 21 -n 2 --quiet"));
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out, "\x16\x17\n");
}

TEST_F(MainTest, RejectsTokenizerJsonInTheWeightFile) {
  // The runtime loads only compiled images; llmc parses tokenizer.json.
  ASSERT_TRUE(test::writeFile(
      weightsPath, test::makeWeightFile(fake::kFingerprint, fake::weights(),
                                        test::readFile(LLMC_RUNTIME_TEST_INPUTS
                                                       "/tokenizer.json"))));
  Result r = run(withWeights("--tokenize --prompt hello"));
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(r.err, "error: weight file '" + weightsPath +
                       "': the packed tokenizer image is truncated or "
                       "corrupt\n");
}

TEST_F(MainTest, TokenizesWithoutRunningTheModel) {
  // Without a tokenizer only --tokens works.
  Result r = run(withWeights("--tokenize --prompt hello"));
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("has no tokenizer, so --tokenize is unavailable; the "
                       "model takes only --tokens"),
            std::string::npos)
      << r.err;
  // The fixture's ids (up to 301) exceed the fake model's vocabulary of 32,
  // which does not matter: the model does not run.
  ASSERT_TRUE(test::writeFile(
      weightsPath,
      test::makeWeightFile(
          fake::kFingerprint, fake::weights(),
          test::tokenizerImage(LLMC_RUNTIME_TEST_INPUTS "/tokenizer.json"))));
  r = run(withWeights("--tokenize --prompt 'hello world<|eot_id|>'"));
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out, "260,264,301\n");
  std::string textPath = dir + "/text.txt";
  ASSERT_TRUE(test::writeFile(textPath, "hello\n\nhello world\n"));
  r = run(withWeights("--tokenize --lines < '" + textPath + "'"));
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out, "260\n\n260,264\n");
  r = run(withWeights("--tokenize < '" + textPath + "'"));
  EXPECT_EQ(r.out, "260,267,260,264,10\n");

  // Text comes out byte for byte, without a newline.
  r = run(withWeights("--detokenize --tokens 300,260,264,301"));
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out, "<|begin_of_text|>hello world<|eot_id|>");
  std::string idsPath = dir + "/ids.txt";
  ASSERT_TRUE(test::writeFile(idsPath, "260\n\n260, 264\n"));
  r = run(withWeights("--detokenize --lines < '" + idsPath + "'"));
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out, "hello\n\nhello world\n");
  r = run(withWeights("--detokenize --tokens 302"));
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(r.err, "error: --detokenize: token id 302 is not in the "
                   "tokenizer's vocabulary of 302\n");
}

TEST_F(MainTest, HelpIsPrinted) {
  Result r = run("--help");
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_NE(r.out.find("usage:"), std::string::npos);
  EXPECT_NE(r.out.find("--logits-out FILE"), std::string::npos);
}

} // namespace
