//===- CPUFeaturesTest.cpp - The start-up check of compiled CPU features --===//

#include "runtime/CPUFeatures.h"

#include <gtest/gtest.h>

using namespace llmc;

namespace {

std::optional<bool> fakeCPU(const std::string &name) {
  if (name == "avx2" || name == "fma")
    return true;
  if (name == "avx512f" || name == "avx512bf16")
    return false;
  return std::nullopt;
}

TEST(CPUFeaturesTest, ListsOnlyEnabledFeaturesTheCPULacks) {
  EXPECT_EQ(missingFeatures("+avx2,+fma,-avx512f", fakeCPU),
            std::vector<std::string>{});
  EXPECT_EQ(missingFeatures("+avx2,+avx512f,+madeup,-fma,+avx512bf16", fakeCPU),
            (std::vector<std::string>{"avx512f", "avx512bf16"}));
  EXPECT_EQ(missingFeatures("", fakeCPU), std::vector<std::string>{});
  EXPECT_EQ(missingFeatures(",+,avx512f,+avx512f,", fakeCPU),
            std::vector<std::string>{"avx512f"});
}

TEST(CPUFeaturesTest, CodeForThisMachineRuns) {
  // Nothing this CPU reports as present is missing, and unknown names are
  // not checked.
  EXPECT_EQ(checkCompiledCPU("generic", ""), "");
  EXPECT_EQ(checkCompiledCPU("generic", "+no-such-feature,-avx2"), "");
#if defined(__x86_64__)
  ASSERT_TRUE(hostHasFeature("sse4.2").has_value());
  if (*hostHasFeature("avx2"))
    EXPECT_EQ(checkCompiledCPU("x86-64-v3", "+avx2,+fma"), "");
#endif
}

TEST(CPUFeaturesTest, NamesTheMissingFeatureAndTheFix) {
#if defined(__x86_64__)
  for (const char *feature : {"avx512fp16", "avx512bf16", "avx512f"}) {
    std::optional<bool> present = hostHasFeature(feature);
    ASSERT_TRUE(present.has_value()) << feature;
    if (*present)
      continue;
    std::string message =
        checkCompiledCPU("sapphirerapids", std::string("+avx2,+") + feature);
    EXPECT_NE(message.find("compiled for CPU 'sapphirerapids'"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find(std::string("uses ") + feature), std::string::npos)
        << message;
    EXPECT_NE(message.find("--mcpu"), std::string::npos) << message;
    return;
  }
  GTEST_SKIP() << "this CPU has every AVX-512 feature tried";
#else
  GTEST_SKIP() << "x86-64 only";
#endif
}

} // namespace
