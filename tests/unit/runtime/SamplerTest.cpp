//===- SamplerTest.cpp - Tests for next-token selection -------------------===//

#include "runtime/Sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

using namespace llmc;

namespace {

std::vector<float> someLogits() {
  return {0.1f, 2.0f, -1.0f, 3.5f, 3.4f, 0.0f, 1.0f, -3.0f};
}

TEST(SamplerTest, GreedyIsArgmax) {
  std::vector<float> logits = someLogits();
  Sampler sampler(SamplerConfig{});
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(sampler.sample(logits.data(), int64_t(logits.size())), 3);
  EXPECT_EQ(argmax(logits.data(), int64_t(logits.size())), 3);
  float ties[] = {1.0f, 5.0f, 5.0f};
  EXPECT_EQ(argmax(ties, 3), 1);
  // top-k 1 is greedy even with a temperature.
  SamplerConfig c;
  c.temperature = 5.0f;
  c.topK = 1;
  Sampler topOne(c);
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(topOne.sample(logits.data(), int64_t(logits.size())), 3);
}

std::vector<int64_t> draw(const SamplerConfig &c, int count) {
  std::vector<float> logits = someLogits();
  Sampler sampler(c);
  std::vector<int64_t> out;
  for (int i = 0; i < count; ++i)
    out.push_back(sampler.sample(logits.data(), int64_t(logits.size())));
  return out;
}

TEST(SamplerTest, SameSeedSameSequence) {
  SamplerConfig c;
  c.temperature = 1.0f;
  c.seed = 1234;
  EXPECT_EQ(draw(c, 200), draw(c, 200));
  SamplerConfig other = c;
  other.seed = 99;
  EXPECT_NE(draw(c, 200), draw(other, 200));
}

TEST(SamplerTest, TopKRestrictsSupport) {
  SamplerConfig c;
  c.temperature = 10.0f; // nearly uniform before truncation
  c.topK = 3;
  c.seed = 7;
  std::set<int64_t> seen;
  for (int64_t t : draw(c, 2000))
    seen.insert(t);
  EXPECT_EQ(seen, (std::set<int64_t>{1, 3, 4}));
}

TEST(SamplerTest, TopPRestrictsSupport) {
  // Probabilities 0.5, 0.3, 0.15, 0.05: top-p 0.75 keeps the first two.
  std::vector<float> logits = {std::log(0.15f), std::log(0.5f), std::log(0.05f),
                               std::log(0.3f)};
  SamplerConfig c;
  c.temperature = 1.0f;
  c.topP = 0.75f;
  c.seed = 3;
  Sampler sampler(c);
  std::set<int64_t> seen;
  int ones = 0;
  for (int i = 0; i < 4000; ++i) {
    int64_t t = sampler.sample(logits.data(), 4);
    seen.insert(t);
    ones += t == 1;
  }
  EXPECT_EQ(seen, (std::set<int64_t>{1, 3}));
  // Renormalized: P(1) = 0.5 / 0.8.
  EXPECT_NEAR(ones / 4000.0, 0.625, 0.04);
}

TEST(SamplerTest, TemperatureSharpensAndFlattens) {
  std::vector<float> logits = {0.0f, 1.0f};
  auto shareOfOne = [&](float temperature) {
    SamplerConfig c;
    c.temperature = temperature;
    c.seed = 11;
    Sampler sampler(c);
    int ones = 0;
    for (int i = 0; i < 4000; ++i)
      ones += sampler.sample(logits.data(), 2) == 1;
    return ones / 4000.0;
  };
  // softmax([0, 1] / T)[1] = 1 / (1 + exp(-1 / T)).
  EXPECT_NEAR(shareOfOne(1.0f), 1.0 / (1.0 + std::exp(-1.0)), 0.03);
  EXPECT_NEAR(shareOfOne(0.25f), 1.0 / (1.0 + std::exp(-4.0)), 0.03);
  EXPECT_NEAR(shareOfOne(100.0f), 0.5, 0.03);
}

TEST(SamplerTest, UniformIsInUnitInterval) {
  Sampler sampler(SamplerConfig{});
  for (int i = 0; i < 10000; ++i) {
    double u = sampler.nextUniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

TEST(SamplerTest, MinPKeepsTokensNearTheTop) {
  // Probabilities 0.5, 0.3, 0.15, 0.05 (ids 1, 3, 0, 2): min-p 0.25 keeps
  // those at least 0.125 likely, so not id 2.
  std::vector<float> logits = {std::log(0.15f), std::log(0.5f), std::log(0.05f),
                               std::log(0.3f)};
  SamplerConfig c;
  c.temperature = 1.0f;
  c.minP = 0.25f;
  c.seed = 5;
  Sampler sampler(c);
  std::set<int64_t> seen;
  int zeros = 0;
  for (int i = 0; i < 4000; ++i) {
    int64_t t = sampler.sample(logits.data(), 4);
    seen.insert(t);
    zeros += t == 0;
  }
  EXPECT_EQ(seen, (std::set<int64_t>{0, 1, 3}));
  EXPECT_NEAR(zeros / 4000.0, 0.15 / 0.95, 0.03);
  // min-p 0.7 leaves only the top token (0.3 < 0.7 * 0.5).
  c.minP = 0.7f;
  Sampler strict(c);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(strict.sample(logits.data(), 4), 1);
}

TEST(SamplerTest, RepeatPenaltyDividesPositiveAndMultipliesNegative) {
  // Greedy: token 0 wins until penalized (2.0 / 2 = 1.0 < 1.5).
  std::vector<float> logits = {2.0f, 1.5f, -0.5f, 0.2f};
  SamplerConfig c;
  c.repeatPenalty = 2.0f;
  c.repeatLastN = 2;
  Sampler sampler(c);
  EXPECT_EQ(sampler.sample(logits.data(), 4), 0);
  sampler.accept(0);
  EXPECT_EQ(sampler.sample(logits.data(), 4), 1);
  sampler.accept(0); // a repeated token is penalized once: 1.0 stays
  EXPECT_EQ(sampler.sample(logits.data(), 4), 1);
  sampler.accept(1); // both penalized: 1.0 > 0.75
  EXPECT_EQ(sampler.sample(logits.data(), 4), 0);
  sampler.accept(2);
  sampler.accept(3); // the window of 2 no longer holds 0 and 1
  EXPECT_EQ(sampler.sample(logits.data(), 4), 0);
  sampler.accept(0);
  EXPECT_EQ(sampler.sample(logits.data(), 4), 1);

  // A negative logit moves further down: -0.5 * 4 = -2 < -1.
  std::vector<float> negative = {-1.0f, -0.5f};
  c.repeatPenalty = 4.0f;
  Sampler neg(c);
  EXPECT_EQ(neg.sample(negative.data(), 2), 1);
  neg.accept(1);
  EXPECT_EQ(neg.sample(negative.data(), 2), 0);

  // Penalty 1 changes nothing.
  Sampler off{SamplerConfig{}};
  off.accept(0);
  EXPECT_EQ(off.sample(logits.data(), 4), 0);
}

/// The nucleus computed the obvious way: sort everything, take the prefix.
std::set<int64_t> referenceNucleus(const std::vector<float> &logits,
                                   float temperature, float topP) {
  std::vector<int64_t> ids(logits.size());
  for (size_t i = 0; i < ids.size(); ++i)
    ids[i] = int64_t(i);
  std::sort(ids.begin(), ids.end(), [&](int64_t a, int64_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  float maxLogit = logits[ids[0]];
  std::vector<double> w(logits.size());
  double total = 0.0;
  for (size_t i = 0; i < logits.size(); ++i)
    total += w[i] = std::exp(double(logits[i] - maxLogit) / temperature);
  std::set<int64_t> nucleus;
  double cumulative = 0.0;
  for (int64_t id : ids) {
    nucleus.insert(id);
    cumulative += w[id];
    if (cumulative >= topP * total)
      break;
  }
  return nucleus;
}

TEST(SamplerTest, FastTopPMatchesFullSort) {
  // Language-model-like logits: a handful of large ones over a flat floor.
  std::vector<float> logits(5000);
  Sampler noise(SamplerConfig{});
  for (float &l : logits)
    l = float(10.0 * std::pow(noise.nextUniform(), 12.0) - 2.0);
  for (float topP : {0.5f, 0.9f, 0.99f}) {
    std::set<int64_t> expected = referenceNucleus(logits, 0.8f, topP);
    SamplerConfig c;
    c.temperature = 0.8f;
    c.topP = topP;
    c.seed = 17;
    Sampler sampler(c);
    std::set<int64_t> seen;
    for (int i = 0; i < 3000; ++i) {
      int64_t t = sampler.sample(logits.data(), int64_t(logits.size()));
      ASSERT_TRUE(expected.count(t)) << "token " << t << " at top-p " << topP;
      seen.insert(t);
    }
    if (expected.size() <= 20)
      EXPECT_EQ(seen, expected) << "top-p " << topP;
  }
}

TEST(SamplerTest, CombinedFiltersAreDeterministicPerSeed) {
  std::vector<float> logits(1000);
  Sampler noise(SamplerConfig{});
  for (float &l : logits)
    l = float(6.0 * noise.nextUniform());
  auto run = [&](uint64_t seed) {
    SamplerConfig c;
    c.temperature = 0.9f;
    c.topK = 50;
    c.topP = 0.9f;
    c.minP = 0.05f;
    c.repeatPenalty = 1.3f;
    c.seed = seed;
    Sampler sampler(c);
    std::vector<int64_t> out;
    for (int i = 0; i < 100; ++i) {
      out.push_back(sampler.sample(logits.data(), int64_t(logits.size())));
      sampler.accept(out.back());
    }
    return out;
  };
  EXPECT_EQ(run(3), run(3));
  EXPECT_NE(run(3), run(4));
}

TEST(SamplerTest, TopKOneIsGreedyOnLargeVocabularies) {
  std::vector<float> logits(128256);
  Sampler noise(SamplerConfig{});
  for (float &l : logits)
    l = float(noise.nextUniform());
  int64_t best = argmax(logits.data(), int64_t(logits.size()));
  SamplerConfig c;
  c.temperature = 1.5f;
  c.topK = 1;
  c.topP = 0.5f;
  c.seed = 9;
  Sampler sampler(c);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(sampler.sample(logits.data(), int64_t(logits.size())), best);
}

TEST(SamplerTest, NaNLogitsAreNeverChosen) {
  std::vector<float> logits = {NAN, 1.0f, NAN, 0.5f};
  Sampler greedy(SamplerConfig{});
  EXPECT_EQ(greedy.sample(logits.data(), 4), 1);
  SamplerConfig config;
  config.temperature = 1.0f;
  config.topP = 0.9f;
  config.seed = 3;
  Sampler sampler(config);
  for (int i = 0; i < 200; ++i) {
    int64_t t = sampler.sample(logits.data(), 4);
    EXPECT_TRUE(t == 1 || t == 3) << t;
  }
}

TEST(SamplerTest, NoUsableLogitIsReported) {
  std::vector<float> logits = {NAN, -INFINITY, NAN};
  SamplerConfig config;
  EXPECT_EQ(Sampler(config).sample(logits.data(), 3), -1);
  config.temperature = 0.8f;
  EXPECT_EQ(Sampler(config).sample(logits.data(), 3), -1);
  EXPECT_EQ(Sampler(config).sample(logits.data(), 0), -1);
}

TEST(SamplerTest, InfiniteLogitWins) {
  std::vector<float> logits = {1.0f, INFINITY, 3.0f, INFINITY};
  SamplerConfig config;
  config.temperature = 1.0f;
  Sampler sampler(config);
  EXPECT_EQ(sampler.sample(logits.data(), 4), 1);
}

TEST(SamplerTest, ExtremeTemperaturesAreDefined) {
  std::vector<float> logits = someLogits();
  int64_t top = argmax(logits.data(), int64_t(logits.size()));
  for (float temperature : {1e-40f, 1e-45f, 1e-30f, NAN, -1.0f, -0.0f}) {
    SamplerConfig config;
    config.temperature = temperature;
    config.topP = 0.9f;
    config.minP = 0.1f;
    Sampler sampler(config);
    EXPECT_EQ(sampler.sample(logits.data(), int64_t(logits.size())), top)
        << temperature;
  }
  // An infinite temperature makes every candidate equally likely.
  SamplerConfig flat;
  flat.temperature = INFINITY;
  flat.seed = 9;
  Sampler sampler(flat);
  std::set<int64_t> seen;
  for (int i = 0; i < 400; ++i)
    seen.insert(sampler.sample(logits.data(), int64_t(logits.size())));
  EXPECT_EQ(seen.size(), logits.size());
}

TEST(SamplerTest, FiltersNeverLeaveNothing) {
  // Found by fuzz-sampler: a min-p above 1 removed every candidate.
  std::vector<float> logits = someLogits();
  SamplerConfig config;
  config.temperature = 0.8f;
  config.minP = 1.5f;
  Sampler sampler(config);
  EXPECT_EQ(sampler.sample(logits.data(), int64_t(logits.size())),
            argmax(logits.data(), int64_t(logits.size())));
}

TEST(SamplerTest, TotalOverArbitraryFloats) {
  // Every mix of NaN, infinities, denormals and huge values gives a token
  // id in range, or -1 when nothing is usable.
  const float specials[] = {NAN,   INFINITY, -INFINITY, 1e-45f, -1e-45f,
                            3e38f, -3e38f,   0.0f,      -0.0f,  1.0f};
  uint64_t state = 1;
  auto next = [&]() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  for (int trial = 0; trial < 5000; ++trial) {
    int64_t vocab = 1 + int64_t(next() % 40);
    std::vector<float> logits(static_cast<size_t>(vocab));
    for (float &l : logits)
      l = specials[next() % std::size(specials)];
    SamplerConfig config;
    config.temperature = specials[next() % std::size(specials)];
    config.topK = int64_t(next() % 5);
    config.topP = float(next() % 11) / 10.0f;
    config.minP = float(next() % 13) / 10.0f; // up to 1.2: may keep none
    const float penalties[] = {1.0f, 1.5f, 2.0f, -2.0f, 0.0f, NAN, INFINITY};
    config.repeatPenalty = penalties[next() % std::size(penalties)];
    config.seed = trial;
    Sampler sampler(config);
    sampler.accept(int64_t(next() % uint64_t(vocab)));
    int64_t t = sampler.sample(logits.data(), vocab);
    bool usable = std::any_of(logits.begin(), logits.end(), [](float l) {
      return !std::isnan(l) && l != -INFINITY;
    });
    if (usable) {
      ASSERT_GE(t, 0) << "trial " << trial;
      ASSERT_LT(t, vocab) << "trial " << trial;
      EXPECT_FALSE(std::isnan(logits[size_t(t)])) << "trial " << trial;
    } else {
      EXPECT_EQ(t, -1) << "trial " << trial;
    }
  }
}

// The argmax key of runtime/abi/ModelABI.h, as the generated argmax
// kernels compute it: the largest key over the logits that are not NaN.
uint64_t argmaxKey(const std::vector<float> &logits) {
  uint64_t best = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (std::isnan(logits[i]))
      continue;
    float canonical = logits[i] + 0.0f;
    uint32_t bits;
    std::memcpy(&bits, &canonical, sizeof(bits));
    uint32_t order = bits & 0x80000000u ? ~bits : bits | 0x80000000u;
    best = std::max(best, uint64_t(order) << 32 | (0xffffffffu - uint32_t(i)));
  }
  return best;
}

TEST(ArgmaxKey, NamesTheTokenGreedySamplingPicks) {
  const float specials[] = {0.0f,     -0.0f,     1.0f,    -1.0f, 2.5f,
                            -2.5f,    1e-30f,    -1e-30f, 3e38f, -3e38f,
                            INFINITY, -INFINITY, NAN};
  uint64_t state = 7;
  auto next = [&state] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return state >> 33;
  };
  Sampler greedy{SamplerConfig{}};
  EXPECT_TRUE(greedy.isGreedy());
  for (int trial = 0; trial < 5000; ++trial) {
    std::vector<float> logits(1 + next() % 40);
    for (float &l : logits)
      l = specials[next() % std::size(specials)];
    int64_t vocab = int64_t(logits.size());
    EXPECT_EQ(tokenFromArgmaxKey(argmaxKey(logits), vocab),
              greedy.sample(logits.data(), vocab))
        << "trial " << trial;
  }
  // A key past the vocabulary names no token.
  EXPECT_EQ(tokenFromArgmaxKey(argmaxKey({1.0f, 2.0f, 3.0f}), 2), -1);
  EXPECT_EQ(tokenFromArgmaxKey(0, 10), -1);
}

TEST(Sampler, IsGreedyOnlyWhenSampleIsTheArgmax) {
  SamplerConfig config;
  EXPECT_TRUE(Sampler(config).isGreedy());
  config.topK = 1;
  config.temperature = 0.8f;
  EXPECT_TRUE(Sampler(config).isGreedy());
  config.topK = 0;
  EXPECT_FALSE(Sampler(config).isGreedy());
  config.temperature = 0.0f;
  config.repeatPenalty = 1.3f;
  EXPECT_FALSE(Sampler(config).isGreedy());
  config.repeatPenalty = NAN; // no penalty
  EXPECT_TRUE(Sampler(config).isGreedy());
}

} // namespace
