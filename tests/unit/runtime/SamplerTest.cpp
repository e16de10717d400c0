//===- SamplerTest.cpp - Tests for next-token selection -------------------===//

#include "runtime/Sampler.h"

#include <gtest/gtest.h>

#include <cmath>
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
  std::vector<float> logits = {std::log(0.15f), std::log(0.5f),
                               std::log(0.05f), std::log(0.3f)};
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

} // namespace
