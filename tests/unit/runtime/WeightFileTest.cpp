//===- WeightFileTest.cpp - Tests for weight file validation --------------===//

#include "runtime/WeightFile.h"

#include "TestUtil.h"

#include <gtest/gtest.h>

using namespace llmc;

namespace {

LlmcModelInfo modelInfo(uint64_t fingerprint, int64_t weightsBytes) {
  LlmcModelInfo info{};
  info.magic = LLMC_MODEL_INFO_MAGIC;
  info.fingerprint = fingerprint;
  info.weights_bytes = weightsBytes;
  return info;
}

std::vector<uint8_t> pattern(size_t n) {
  std::vector<uint8_t> w(n);
  for (size_t i = 0; i < n; ++i)
    w[i] = uint8_t(i * 7);
  return w;
}

class WeightFileTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir = test::makeTempDir();
    ASSERT_FALSE(dir.empty());
  }
  std::string write(const std::string &name, const std::string &bytes) {
    std::string path = dir + "/" + name;
    EXPECT_TRUE(test::writeFile(path, bytes));
    return path;
  }
  std::string dir;
};

TEST_F(WeightFileTest, MapsValidFile) {
  std::string path =
      write("ok.weights", test::makeWeightFile(42, pattern(1000), "{\"x\":1}"));
  WeightFile file;
  std::string error;
  ASSERT_TRUE(file.open(path, modelInfo(42, 1000), error)) << error;
  const uint8_t *w = static_cast<const uint8_t *>(file.weights());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(w) % 4096, 0u);
  std::vector<uint8_t> expected = pattern(1000);
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), w));
  EXPECT_EQ(file.tokenizerSection(), "{\"x\":1}");
}

TEST_F(WeightFileTest, NoTokenizer) {
  std::string path = write("plain.weights", test::makeWeightFile(1, pattern(8)));
  WeightFile file;
  std::string error;
  ASSERT_TRUE(file.open(path, modelInfo(1, 8), error)) << error;
  EXPECT_TRUE(file.tokenizerSection().empty());
}

TEST_F(WeightFileTest, RejectsBadMagic) {
  std::string bytes = test::makeWeightFile(42, pattern(16));
  bytes[0] = 'X';
  WeightFile file;
  std::string error;
  EXPECT_FALSE(file.open(write("magic.weights", bytes), modelInfo(42, 16),
                         error));
  EXPECT_NE(error.find("bad magic"), std::string::npos) << error;
  EXPECT_NE(error.find("magic.weights"), std::string::npos) << error;
}

TEST_F(WeightFileTest, RejectsFingerprintMismatch) {
  WeightFile file;
  std::string error;
  EXPECT_FALSE(file.open(write("fp.weights", test::makeWeightFile(7, pattern(16))),
                         modelInfo(8, 16), error));
  EXPECT_NE(error.find("fingerprint"), std::string::npos) << error;
}

TEST_F(WeightFileTest, RejectsSizeMismatch) {
  WeightFile file;
  std::string error;
  EXPECT_FALSE(file.open(write("size.weights", test::makeWeightFile(7, pattern(16))),
                         modelInfo(7, 32), error));
  EXPECT_NE(error.find("expects 32"), std::string::npos) << error;
}

TEST_F(WeightFileTest, RejectsTruncatedFile) {
  std::string bytes = test::makeWeightFile(5, pattern(5000));
  bytes.resize(bytes.size() - 1);
  WeightFile file;
  std::string error;
  EXPECT_FALSE(file.open(write("trunc.weights", bytes), modelInfo(5, 5000),
                         error));
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;

  error.clear();
  EXPECT_FALSE(file.open(write("tiny.weights", "LLMCWTS1"), modelInfo(5, 5000),
                         error));
  EXPECT_NE(error.find("too small"), std::string::npos) << error;

  std::string withTokenizer = test::makeWeightFile(5, pattern(10), "{}");
  withTokenizer.pop_back();
  error.clear();
  EXPECT_FALSE(file.open(write("tok.weights", withTokenizer), modelInfo(5, 10),
                         error));
  EXPECT_NE(error.find("tokenizer"), std::string::npos) << error;
}

TEST_F(WeightFileTest, RejectsMissingFile) {
  WeightFile file;
  std::string error;
  EXPECT_FALSE(file.open(dir + "/absent.weights", modelInfo(1, 1), error));
  EXPECT_NE(error.find("cannot open weight file"), std::string::npos) << error;
}

} // namespace
