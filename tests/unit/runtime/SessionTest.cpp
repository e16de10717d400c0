//===- SessionTest.cpp - End-to-end Session tests with a fake model -------===//

#include "runtime/Session.h"

#include "FakeModel.h"

#include <gtest/gtest.h>

using namespace llmc;

namespace {

class SessionTest : public ::testing::TestWithParam<int> {
protected:
  void SetUp() override {
    weights = fake::weights();
    fake::clearCalls();
    errorsBefore = fake::errors();
  }
  void TearDown() override { EXPECT_EQ(fake::errors(), errorsBefore); }

  bool init(Session &session, int64_t ctx = 0) {
    SessionConfig config;
    config.threads = GetParam();
    config.contextSize = ctx;
    std::string error;
    bool ok = session.init(llmc_model_info, _mlir_ciface_llmc_forward,
                           weights.data(), config, error);
    EXPECT_TRUE(ok) << error;
    return ok;
  }

  /// The fake model's logits row for a position holding `token` whose cache
  /// prefix sums to `sum`.
  static std::vector<float> expectedRow(int64_t token, int64_t sum) {
    std::vector<float> row(fake::kVocab, 0.0f);
    row[(token + 1) % fake::kVocab] += 1.0f;
    row[sum % fake::kVocab] += 0.5f;
    return row;
  }

  std::vector<uint8_t> weights;
  int64_t errorsBefore = 0;
};

TEST_P(SessionTest, PrefillRunsInChunksWithAllLogits) {
  Session session;
  ASSERT_TRUE(init(session));
  EXPECT_EQ(session.capacity(), fake::kMaxPositions);
  EXPECT_EQ(session.threads(), GetParam());
  std::vector<int64_t> tokens = {5, 9, 2, 7, 30, 1, 4, 8, 3, 11};
  std::vector<float> all;
  std::vector<int64_t> firstRows;
  std::string error;
  ASSERT_TRUE(session.prefill(
      tokens,
      [&](const float *rows, int64_t firstRow, int64_t count) {
        firstRows.push_back(firstRow);
        all.insert(all.end(), rows, rows + count * fake::kVocab);
        return true;
      },
      error))
      << error;
  EXPECT_EQ(session.position(), 10);
  EXPECT_EQ(firstRows, (std::vector<int64_t>{0, 4, 8}));
  const auto &calls = fake::calls();
  ASSERT_EQ(calls.size(), 3u);
  int64_t expectedN[] = {4, 4, 2}, expectedPos[] = {0, 4, 8};
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].pos, expectedPos[i]);
    EXPECT_EQ(calls[i].n, expectedN[i]);
    EXPECT_EQ(calls[i].nOut, expectedN[i]);
    EXPECT_EQ(calls[i].nthreads, GetParam());
  }
  ASSERT_EQ(all.size(), tokens.size() * fake::kVocab);
  int64_t sum = 0;
  for (size_t p = 0; p < tokens.size(); ++p) {
    sum += tokens[p];
    std::vector<float> row(all.begin() + p * fake::kVocab,
                           all.begin() + (p + 1) * fake::kVocab);
    EXPECT_EQ(row, expectedRow(tokens[p], sum)) << "position " << p;
  }
}

TEST_P(SessionTest, PrefillWithoutSinkAsksForOneRow) {
  Session session;
  ASSERT_TRUE(init(session));
  std::vector<int64_t> tokens = {1, 2, 3, 4, 5, 6};
  std::string error;
  ASSERT_TRUE(session.prefill(tokens, nullptr, error)) << error;
  for (const fake::Call &c : fake::calls())
    EXPECT_EQ(c.nOut, 1);
  std::vector<float> last(session.lastLogits(),
                          session.lastLogits() + fake::kVocab);
  EXPECT_EQ(last, expectedRow(6, 21));
}

TEST_P(SessionTest, GenerationIsDeterministicAndStopsAtEos) {
  auto run = [&](std::vector<int64_t> stop, int64_t count) {
    Session session;
    EXPECT_TRUE(init(session));
    std::string error;
    // Positions hold 20, 21: greedy continues 22, 23, ... (the 0.5 peak at
    // the running sum never wins over the 1.0 peak).
    EXPECT_TRUE(session.prefill({20, 21}, nullptr, error)) << error;
    Sampler sampler(SamplerConfig{});
    std::vector<int64_t> out;
    int64_t generated = 0;
    EXPECT_TRUE(session.generate(
        count, sampler, stop,
        [&](int64_t t) {
          out.push_back(t);
          return true;
        },
        generated, error))
        << error;
    // Every emitted token but a last one at `count` was fed back.
    int64_t fed = int64_t(out.size()) - (int64_t(out.size()) == count);
    EXPECT_EQ(session.position(), 2 + fed);
    return out;
  };
  std::vector<int64_t> a = run({}, 5);
  EXPECT_EQ(a, (std::vector<int64_t>{22, 23, 24, 25, 26}));
  EXPECT_EQ(run({}, 5), a);
  // 22 .. 30, then the EOS (31) ends generation and is not passed on.
  std::vector<int64_t> stopped = run({fake::kEos}, 20);
  EXPECT_EQ(stopped, (std::vector<int64_t>{22, 23, 24, 25, 26, 27, 28, 29, 30}));
}

TEST_P(SessionTest, SampledGenerationRepeatsWithSeed) {
  auto run = [&](uint64_t seed) {
    Session session;
    EXPECT_TRUE(init(session));
    std::string error;
    EXPECT_TRUE(session.prefill({3}, nullptr, error)) << error;
    SamplerConfig config;
    config.temperature = 2.0f;
    config.seed = seed;
    Sampler sampler(config);
    std::vector<int64_t> out;
    int64_t generated;
    EXPECT_TRUE(session.generate(
        12, sampler, {},
        [&](int64_t t) {
          out.push_back(t);
          return true;
        },
        generated, error));
    return out;
  };
  EXPECT_EQ(run(17), run(17));
}

TEST_P(SessionTest, ContextFullIsAnError) {
  Session session;
  ASSERT_TRUE(init(session, 8));
  EXPECT_EQ(session.capacity(), 8);
  std::string error;
  EXPECT_FALSE(session.prefill(std::vector<int64_t>(9, 1), nullptr, error));
  EXPECT_EQ(error,
            "context full: 9 positions requested, cache holds 8 (use --ctx 9)");
  EXPECT_TRUE(fake::calls().empty());
  ASSERT_TRUE(session.prefill(std::vector<int64_t>(6, 1), nullptr, error));
  EXPECT_FALSE(session.prefill(std::vector<int64_t>(3, 1), nullptr, error));
  EXPECT_EQ(error,
            "context full: 9 positions requested, cache holds 8 (use --ctx 9)");
  Sampler sampler(SamplerConfig{});
  int64_t generated;
  // 6 cached + 3 fed back (the 4th generated token is not) = 9 > 8.
  EXPECT_FALSE(session.generate(4, sampler, {}, nullptr, generated, error));
  EXPECT_NE(error.find("context full: 9 positions"), std::string::npos);
  EXPECT_TRUE(session.generate(3, sampler, {}, nullptr, generated, error))
      << error;
  EXPECT_EQ(session.position(), 8);
  session.reset();
  EXPECT_EQ(session.position(), 0);
  EXPECT_TRUE(session.prefill(std::vector<int64_t>(8, 2), nullptr, error));
}

TEST_P(SessionTest, ContextFullAtTheModelsMaximum) {
  Session session;
  ASSERT_TRUE(init(session, fake::kMaxPositions));
  EXPECT_EQ(session.checkRoom(fake::kMaxPositions + 1),
            "context full: " + std::to_string(fake::kMaxPositions + 1) +
                " positions requested, cache holds " +
                std::to_string(fake::kMaxPositions) + ", the model's maximum");
}

TEST_P(SessionTest, HugeRequestsDoNotOverflow) {
  Session session;
  ASSERT_TRUE(init(session, 8));
  std::string error;
  ASSERT_TRUE(session.prefill({1, 2, 3}, nullptr, error));
  EXPECT_EQ(session.checkRoom(INT64_MAX),
            "context full: 3 + 9223372036854775807 positions requested, "
            "cache holds 8; the model's maximum is " +
                std::to_string(fake::kMaxPositions) + " positions (--ctx " +
                std::to_string(fake::kMaxPositions) + ")");
  // Beyond the model's maximum a larger --ctx does not help.
  EXPECT_EQ(session.checkRoom(fake::kMaxPositions),
            "context full: " + std::to_string(fake::kMaxPositions + 3) +
                " positions requested, cache holds 8; the model's maximum "
                "is " +
                std::to_string(fake::kMaxPositions) + " positions (--ctx " +
                std::to_string(fake::kMaxPositions) + ")");
  EXPECT_NE(session.checkRoom(-1), "");
  Sampler sampler(SamplerConfig{});
  int64_t generated;
  EXPECT_FALSE(
      session.generate(INT64_MAX, sampler, {}, nullptr, generated, error));
  EXPECT_EQ(generated, 0);
  EXPECT_EQ(session.position(), 3);
}

TEST_P(SessionTest, StopFlagEndsWorkBetweenForwardCalls) {
  Session session;
  ASSERT_TRUE(init(session, 32));
  std::atomic<bool> stop{false};
  session.setStopFlag(&stop);
  std::string error;
  ASSERT_TRUE(session.prefill({1, 2, 3}, nullptr, error));
  // Generation stops after the token during which the flag was raised.
  Sampler sampler(SamplerConfig{});
  int64_t generated = 0, seen = 0;
  TokenSink raiseAtSecond = [&](int64_t) {
    if (++seen == 2)
      stop.store(true);
    return true;
  };
  EXPECT_TRUE(
      session.generate(10, sampler, {}, raiseAtSecond, generated, error));
  EXPECT_EQ(generated, 2);
  EXPECT_EQ(session.position(), 5);
  // A raised flag stops prefill before any forward call.
  fake::clearCalls();
  EXPECT_FALSE(session.prefill({4, 5}, nullptr, error));
  EXPECT_EQ(error, "interrupted");
  EXPECT_TRUE(fake::calls().empty());
  EXPECT_EQ(session.position(), 5);
  // A cancelled turn is forgotten.
  session.rewind(3);
  EXPECT_EQ(session.position(), 3);
  session.rewind(7);
  EXPECT_EQ(session.position(), 3);
  stop.store(false);
  EXPECT_TRUE(session.prefill({4, 5}, nullptr, error)) << error;
}

TEST_P(SessionTest, RejectsOutOfRangeTokens) {
  Session session;
  ASSERT_TRUE(init(session));
  std::string error;
  EXPECT_FALSE(session.prefill({1, fake::kVocab}, nullptr, error));
  EXPECT_EQ(error, "token id 32 (input position 1) is outside the vocabulary "
                   "[0, 32)");
  EXPECT_FALSE(session.prefill({-1}, nullptr, error));
  EXPECT_TRUE(fake::calls().empty());
}

TEST_P(SessionTest, RejectsContextBeyondModel) {
  Session session;
  SessionConfig config;
  config.threads = GetParam();
  config.contextSize = fake::kMaxPositions + 1;
  std::string error;
  EXPECT_FALSE(session.init(llmc_model_info, _mlir_ciface_llmc_forward,
                            weights.data(), config, error));
  EXPECT_EQ(error, "--ctx 65 exceeds the model's maximum of 64 positions");
}

INSTANTIATE_TEST_SUITE_P(Threads, SessionTest, ::testing::Values(1, 2, 3));

} // namespace
