//===- ModelCardTest.cpp - YAML model cards -------------------------------===//

#include "TestUtils.h"

#include "frontend/ModelCard.h"

using namespace llmc;
using namespace llmc::test;
using ::testing::HasSubstr;

namespace {

const char *tinyCard = R"(model: tiny
architecture:
  family: llama
  kind: dense
  layers: 2
  hidden: 96
  vocab: 300
  context: 2048
  tied-embeddings: true
  norm: {type: rmsnorm, eps: 1.0e-5}
  attention: {type: gqa, heads: 6, kv-heads: 2, head-dim: 16}
  position: {type: rope-llama3, theta: 500000.0, factor: 32.0, low-freq-factor: 1.0, high-freq-factor: 4.0, original-context: 8192}
  mlp: {type: swiglu, intermediate: 200, activation: silu}
dtype: bf16
tokens: {bos: 1, eos: 2}
)";

std::string edited(llvm::StringRef from, llvm::StringRef to) {
  std::string text = tinyCard;
  size_t pos = text.find(from.str());
  EXPECT_NE(pos, std::string::npos) << from.str();
  return text.replace(pos, from.size(), to.str());
}

std::string cardError(const TempDir &dir, llvm::StringRef contents) {
  std::string error = errorOf(loadModelCard(dir.write("llama.yaml", contents)));
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  return error;
}

std::string examplePath(llvm::StringRef name) {
  return (llvm::Twine(LLMC_EXAMPLES_DIR) + "/" + name).str();
}

TEST(ModelCardTest, ParsesTinyCard) {
  TempDir dir;
  llvm::Expected<ModelSpec> spec = loadModelCard(dir.write("t.yaml", tinyCard));
  ASSERT_TRUE(succeeded(spec));
  EXPECT_EQ(spec->name, "tiny");
  EXPECT_EQ(spec->numLayers, 2);
  EXPECT_EQ(spec->hiddenSize, 96);
  EXPECT_EQ(spec->vocabSize, 300);
  EXPECT_EQ(spec->maxPositions, 2048);
  EXPECT_EQ(spec->numHeads, 6);
  EXPECT_EQ(spec->numKVHeads, 2);
  EXPECT_EQ(spec->headDim, 16);
  EXPECT_EQ(spec->intermediateSize, 200);
  EXPECT_TRUE(spec->tiedEmbeddings);
  EXPECT_TRUE(spec->ropeScaling.enabled);
  EXPECT_EQ(spec->dtype, DType::BF16);
  EXPECT_EQ(spec->bosTokenId, 1);
  EXPECT_EQ(spec->eosTokenId, 2);
}

TEST(ModelCardTest, Llama32Example) {
  llvm::Expected<ModelSpec> spec =
      loadModelCard(examplePath("llama3.2-1b.yaml"));
  ASSERT_TRUE(succeeded(spec));
  EXPECT_EQ(spec->name, "llama3.2-1b");
  EXPECT_EQ(spec->numLayers, 16);
  EXPECT_EQ(spec->hiddenSize, 2048);
  EXPECT_EQ(spec->vocabSize, 128256);
  EXPECT_EQ(spec->maxPositions, 131072);
  EXPECT_EQ(spec->numHeads, 32);
  EXPECT_EQ(spec->numKVHeads, 8);
  EXPECT_EQ(spec->headDim, 64);
  EXPECT_EQ(spec->intermediateSize, 8192);
  EXPECT_DOUBLE_EQ(spec->rmsNormEps, 1e-5);
  EXPECT_DOUBLE_EQ(spec->ropeTheta, 500000.0);
  EXPECT_TRUE(spec->ropeScaling.enabled);
  EXPECT_DOUBLE_EQ(spec->ropeScaling.factor, 32.0);
  EXPECT_DOUBLE_EQ(spec->ropeScaling.lowFreqFactor, 1.0);
  EXPECT_DOUBLE_EQ(spec->ropeScaling.highFreqFactor, 4.0);
  EXPECT_EQ(spec->ropeScaling.originalMaxPositions, 8192);
  EXPECT_TRUE(spec->tiedEmbeddings);
  EXPECT_EQ(spec->dtype, DType::BF16);
  EXPECT_EQ(spec->bosTokenId, 128000);
  EXPECT_EQ(spec->eosTokenId, 128001);
}

TEST(ModelCardTest, TinyExampleMatchesTestSpec) {
  llvm::Expected<ModelSpec> spec = loadModelCard(examplePath("tiny-llama.yaml"));
  ASSERT_TRUE(succeeded(spec));
  ModelSpec expected = tinySpec();
  EXPECT_EQ(spec->name, expected.name);
  EXPECT_EQ(spec->numLayers, expected.numLayers);
  EXPECT_EQ(spec->hiddenSize, expected.hiddenSize);
  EXPECT_EQ(spec->numHeads, expected.numHeads);
  EXPECT_EQ(spec->numKVHeads, expected.numKVHeads);
  EXPECT_EQ(spec->headDim, expected.headDim);
  EXPECT_EQ(spec->intermediateSize, expected.intermediateSize);
  EXPECT_EQ(spec->vocabSize, expected.vocabSize);
  EXPECT_EQ(spec->maxPositions, expected.maxPositions);
}

TEST(ModelCardTest, PlainRopeAndMHA) {
  TempDir dir;
  std::string text =
      edited("{type: rope-llama3, theta: 500000.0, factor: 32.0, "
             "low-freq-factor: 1.0, high-freq-factor: 4.0, "
             "original-context: 8192}",
             "{type: rope, theta: 10000}");
  size_t pos = text.find("{type: gqa, heads: 6, kv-heads: 2, head-dim: 16}");
  text.replace(pos, 48, "{type: mha, heads: 6}");
  llvm::Expected<ModelSpec> spec = loadModelCard(dir.write("m.yaml", text));
  ASSERT_TRUE(succeeded(spec));
  EXPECT_FALSE(spec->ropeScaling.enabled);
  EXPECT_DOUBLE_EQ(spec->ropeTheta, 10000.0);
  EXPECT_EQ(spec->numKVHeads, 6);
  EXPECT_EQ(spec->headDim, 16);
}

TEST(ModelCardTest, UnknownKey) {
  TempDir dir;
  EXPECT_THAT(cardError(dir, edited("kv-heads: 2", "kv-heads: 2, window: 4")),
              HasSubstr("llama.yaml: architecture.attention.window: unknown "
                        "key"));
  EXPECT_THAT(cardError(dir, edited("dtype: bf16", "dtype: bf16\nlicense: x")),
              HasSubstr("llama.yaml: license: unknown key"));
  EXPECT_THAT(cardError(dir, edited("{type: rope-llama3, theta: 500000.0, ",
                                    "{type: rope, theta: 500000.0, ")),
              HasSubstr("architecture.position.factor: unknown key"));
}

TEST(ModelCardTest, UnknownType) {
  TempDir dir;
  EXPECT_THAT(cardError(dir, edited("type: gqa", "type: mla")),
              HasSubstr("llama.yaml: architecture.attention.type: "
                        "unsupported value 'mla'"));
  EXPECT_THAT(cardError(dir, edited("kind: dense", "kind: moe")),
              HasSubstr("llama.yaml: architecture.kind: unsupported value"));
  EXPECT_THAT(cardError(dir, edited("activation: silu", "activation: gelu")),
              HasSubstr("architecture.mlp.activation: unsupported value "
                        "'gelu'"));
  EXPECT_THAT(cardError(dir, edited("dtype: bf16", "dtype: int4")),
              HasSubstr("llama.yaml: dtype: unknown dtype 'int4'"));
}

TEST(ModelCardTest, MissingField) {
  TempDir dir;
  EXPECT_THAT(cardError(dir, edited(", kv-heads: 2", "")),
              HasSubstr("llama.yaml: architecture.attention.kv-heads: "
                        "missing required key"));
  EXPECT_THAT(cardError(dir, edited("  layers: 2\n", "")),
              HasSubstr("llama.yaml: architecture.layers: missing"));
  EXPECT_THAT(cardError(dir, edited("model: tiny\n", "")),
              HasSubstr("llama.yaml: model: missing"));
}

TEST(ModelCardTest, WrongType) {
  TempDir dir;
  EXPECT_THAT(cardError(dir, edited("kv-heads: 2", "kv-heads: two")),
              HasSubstr("llama.yaml: architecture.attention.kv-heads: "
                        "expected a positive integer, found 'two'"));
  EXPECT_THAT(cardError(dir, edited("hidden: 96", "hidden: -96")),
              HasSubstr("architecture.hidden: expected a positive integer"));
  EXPECT_THAT(cardError(dir, edited("eps: 1.0e-5", "eps: [1]")),
              HasSubstr("architecture.norm.eps: expected a positive number, "
                        "found 'a list'"));
  EXPECT_THAT(cardError(dir, edited("tied-embeddings: true",
                                    "tied-embeddings: maybe")),
              HasSubstr("architecture.tied-embeddings: expected true or "
                        "false"));
  EXPECT_THAT(cardError(dir, edited("kv-heads: 2", "kv-heads: 4")),
              HasSubstr("architecture.attention.kv-heads: must divide heads"));
  EXPECT_THAT(cardError(dir, "- just\n- a list\n"),
              HasSubstr("llama.yaml: (top level): expected a mapping"));
}

TEST(ModelCardTest, DeepFlowNestingIsAnError) {
  TempDir dir;
  EXPECT_THAT(cardError(dir, "model: " + std::string(100000, '[')),
              HasSubstr("llama.yaml: nesting too deep"));
}

TEST(ModelCardTest, MalformedYAML) {
  TempDir dir;
  std::string error =
      cardError(dir, edited("layers: 2", "layers: [2"));
  EXPECT_THAT(error, HasSubstr("llama.yaml:"));
  EXPECT_THAT(error, HasSubstr("malformed YAML"));
  EXPECT_THAT(errorOf(loadModelCard(dir.file("absent.yaml"))),
              HasSubstr("absent.yaml: cannot read"));
}

} // namespace
