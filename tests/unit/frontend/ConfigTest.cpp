//===- ConfigTest.cpp - config.json reader and writer ---------------------===//

#include "TestUtils.h"

#include "frontend/ModelSpec.h"

#include <sys/stat.h>

using namespace llmc;
using namespace llmc::test;
using ::testing::HasSubstr;

namespace {

/// Llama 3.2 1B's config.json as published (trimmed of unused fields).
const char *llama1B = R"({
  "architectures": ["LlamaForCausalLM"],
  "attention_bias": false,
  "bos_token_id": 128000,
  "eos_token_id": [128001, 128008, 128009],
  "head_dim": 64,
  "hidden_act": "silu",
  "hidden_size": 2048,
  "intermediate_size": 8192,
  "max_position_embeddings": 131072,
  "model_type": "llama",
  "num_attention_heads": 32,
  "num_hidden_layers": 16,
  "num_key_value_heads": 8,
  "rms_norm_eps": 1e-05,
  "rope_scaling": {
    "factor": 32.0,
    "high_freq_factor": 4.0,
    "low_freq_factor": 1.0,
    "original_max_position_embeddings": 8192,
    "rope_type": "llama3"
  },
  "rope_theta": 500000.0,
  "tie_word_embeddings": true,
  "torch_dtype": "bfloat16",
  "vocab_size": 128256
})";

/// `llama1B` with `from` replaced by `to`.
std::string edited(llvm::StringRef from, llvm::StringRef to) {
  std::string text = llama1B;
  size_t pos = text.find(from.str());
  EXPECT_NE(pos, std::string::npos) << from.str();
  return text.replace(pos, from.size(), to.str());
}

std::string loadError(const TempDir &dir, llvm::StringRef contents) {
  return errorOf(loadHFConfig(dir.write("config.json", contents)));
}

TEST(ConfigTest, ParsesLlama32) {
  TempDir dir;
  llvm::Expected<ModelSpec> spec =
      loadHFConfig(dir.write("config.json", llama1B));
  ASSERT_TRUE(succeeded(spec));
  EXPECT_EQ(spec->vocabSize, 128256);
  EXPECT_EQ(spec->hiddenSize, 2048);
  EXPECT_EQ(spec->intermediateSize, 8192);
  EXPECT_EQ(spec->numLayers, 16);
  EXPECT_EQ(spec->numHeads, 32);
  EXPECT_EQ(spec->numKVHeads, 8);
  EXPECT_EQ(spec->headDim, 64);
  EXPECT_EQ(spec->maxPositions, 131072);
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

TEST(ConfigTest, Defaults) {
  TempDir dir;
  llvm::Expected<ModelSpec> spec = loadHFConfig(dir.write("config.json", R"({
    "architectures": ["LlamaForCausalLM"], "vocab_size": 32000,
    "hidden_size": 4096, "intermediate_size": 11008,
    "num_hidden_layers": 32, "num_attention_heads": 32,
    "max_position_embeddings": 4096, "rms_norm_eps": 1e-6,
    "rope_scaling": null, "eos_token_id": 2})"));
  ASSERT_TRUE(succeeded(spec));
  EXPECT_EQ(spec->numKVHeads, 32);
  EXPECT_EQ(spec->headDim, 128);
  EXPECT_DOUBLE_EQ(spec->ropeTheta, 10000.0);
  EXPECT_FALSE(spec->ropeScaling.enabled);
  EXPECT_FALSE(spec->tiedEmbeddings);
  EXPECT_EQ(spec->bosTokenId, -1);
  EXPECT_EQ(spec->eosTokenId, 2);
}

TEST(ConfigTest, MissingField) {
  TempDir dir;
  std::string error =
      loadError(dir, edited("\"hidden_size\": 2048,", ""));
  EXPECT_THAT(error, HasSubstr("config.json: field 'hidden_size': missing"));
  EXPECT_EQ(error.find('\n'), std::string::npos);
}

TEST(ConfigTest, WrongType) {
  TempDir dir;
  EXPECT_THAT(loadError(dir, edited("2048", "\"2048\"")),
              HasSubstr("config.json: field 'hidden_size': expected a "
                        "positive integer"));
  EXPECT_THAT(loadError(dir, edited("\"num_hidden_layers\": 16",
                                    "\"num_hidden_layers\": 1.5")),
              HasSubstr("field 'num_hidden_layers': expected a positive "
                        "integer"));
  EXPECT_THAT(loadError(dir, edited("\"rms_norm_eps\": 1e-05",
                                    "\"rms_norm_eps\": \"small\"")),
              HasSubstr("field 'rms_norm_eps': expected a number"));
  EXPECT_THAT(loadError(dir, edited("\"tie_word_embeddings\": true",
                                    "\"tie_word_embeddings\": 1")),
              HasSubstr("field 'tie_word_embeddings': expected true or "
                        "false"));
}

TEST(ConfigTest, InconsistentSizes) {
  TempDir dir;
  EXPECT_THAT(loadError(dir, edited("\"num_key_value_heads\": 8",
                                    "\"num_key_value_heads\": 5")),
              HasSubstr("config.json: field 'num_key_value_heads'"));
}

TEST(ConfigTest, UnsupportedArchitecture) {
  TempDir dir;
  std::string error =
      loadError(dir, edited("LlamaForCausalLM", "MistralForCausalLM"));
  EXPECT_THAT(error, HasSubstr("config.json: field 'architectures': "
                               "unsupported architecture "
                               "\"MistralForCausalLM\""));
}

TEST(ConfigTest, UnsupportedActivation) {
  TempDir dir;
  EXPECT_THAT(loadError(dir, edited("\"silu\"", "\"gelu\"")),
              HasSubstr("config.json: field 'hidden_act': unsupported "
                        "activation"));
}

TEST(ConfigTest, UnsupportedRopeScaling) {
  TempDir dir;
  EXPECT_THAT(loadError(dir, edited("\"rope_type\": \"llama3\"",
                                    "\"rope_type\": \"yarn\"")),
              HasSubstr("config.json: field 'rope_scaling.rope_type': "
                        "unsupported rope scaling type 'yarn'"));
  EXPECT_THAT(loadError(dir, edited("\"rope_type\": \"llama3\"",
                                    "\"type\": \"linear\"")),
              HasSubstr("field 'rope_scaling.type': unsupported rope "
                        "scaling type 'linear'"));
  EXPECT_THAT(loadError(dir, edited("\"factor\": 32.0,", "")),
              HasSubstr("field 'rope_scaling.factor': missing"));
}

TEST(ConfigTest, DeepNestingIsAnErrorNotAStackOverflow) {
  TempDir dir;
  std::string deep(1000000, '[');
  EXPECT_THAT(loadError(dir, deep),
              HasSubstr("config.json: malformed JSON: JSON error: nesting too "
                        "deep (more than 512 levels"));
  // Brackets inside strings do not count.
  std::string quoted = "{\"name\": \"" + std::string(2000, '[') + "\"}";
  EXPECT_THAT(loadError(dir, quoted), Not(HasSubstr("nesting")));
}

TEST(ConfigTest, OnlyRegularFilesAreRead) {
  TempDir dir;
  std::string fifo = dir.file("config.json");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THAT(errorOf(loadHFConfig(fifo)),
              HasSubstr("config.json: not a regular file"));
  EXPECT_THAT(errorOf(loadHFConfig("/dev/zero")),
              HasSubstr("/dev/zero: not a regular file"));
}

TEST(ConfigTest, BiasesAreRefused) {
  TempDir dir;
  EXPECT_THAT(loadError(dir, edited("\"attention_bias\": false",
                                    "\"attention_bias\": true")),
              HasSubstr("config.json: field 'attention_bias': biases are not "
                        "supported (expected false)"));
  EXPECT_THAT(loadError(dir, edited("\"attention_bias\": false",
                                    "\"attention_bias\": false, "
                                    "\"mlp_bias\": true")),
              HasSubstr("field 'mlp_bias': biases are not supported"));
  EXPECT_THAT(loadError(dir, edited("\"attention_bias\": false",
                                    "\"attention_bias\": \"no\"")),
              HasSubstr("field 'attention_bias'"));
}

TEST(ConfigTest, SizesAreBoundedBeforeAnyProduct) {
  TempDir dir;
  EXPECT_THAT(loadError(dir, edited("\"vocab_size\": 128256",
                                    "\"vocab_size\": 9223372036854775807")),
              HasSubstr("field 'vocab_size': 9223372036854775807 is larger "
                        "than llmc supports (at most 16777216)"));
  EXPECT_THAT(loadError(dir, edited("\"num_hidden_layers\": 16",
                                    "\"num_hidden_layers\": 100000")),
              HasSubstr("field 'num_hidden_layers': 100000 is larger"));
}

TEST(ConfigTest, MalformedJSON) {
  TempDir dir;
  std::string error = loadError(dir, edited("\"vocab_size\": 128256",
                                            "\"vocab_size\": 128256,,"));
  EXPECT_THAT(error, HasSubstr("config.json: malformed JSON: "));
  EXPECT_EQ(error.find('\n'), std::string::npos);
  EXPECT_THAT(loadError(dir, "[1, 2]"),
              HasSubstr("config.json: expected a JSON object"));
}

TEST(ConfigTest, MissingFile) {
  TempDir dir;
  EXPECT_THAT(errorOf(loadHFConfig(dir.file("absent.json"))),
              HasSubstr("absent.json: cannot read"));
}

TEST(ConfigTest, WriteReadRoundTrip) {
  TempDir dir;
  for (bool scaled : {true, false}) {
    ModelSpec spec = tinySpec();
    spec.ropeScaling.enabled = scaled;
    spec.tiedEmbeddings = !scaled;
    spec.dtype = scaled ? DType::BF16 : DType::F16;
    spec.rmsNormEps = 1e-6;
    std::string path = dir.file("config.json");
    ASSERT_TRUE(succeeded(writeHFConfig(spec, path)));
    llvm::Expected<ModelSpec> back = loadHFConfig(path);
    ASSERT_TRUE(succeeded(back));
    EXPECT_EQ(back->name, spec.name);
    EXPECT_EQ(back->vocabSize, spec.vocabSize);
    EXPECT_EQ(back->hiddenSize, spec.hiddenSize);
    EXPECT_EQ(back->intermediateSize, spec.intermediateSize);
    EXPECT_EQ(back->numLayers, spec.numLayers);
    EXPECT_EQ(back->numHeads, spec.numHeads);
    EXPECT_EQ(back->numKVHeads, spec.numKVHeads);
    EXPECT_EQ(back->headDim, spec.headDim);
    EXPECT_EQ(back->maxPositions, spec.maxPositions);
    EXPECT_EQ(back->rmsNormEps, spec.rmsNormEps);
    EXPECT_EQ(back->ropeTheta, spec.ropeTheta);
    EXPECT_EQ(back->ropeScaling.enabled, spec.ropeScaling.enabled);
    if (scaled) {
      EXPECT_EQ(back->ropeScaling.factor, spec.ropeScaling.factor);
      EXPECT_EQ(back->ropeScaling.lowFreqFactor,
                spec.ropeScaling.lowFreqFactor);
      EXPECT_EQ(back->ropeScaling.highFreqFactor,
                spec.ropeScaling.highFreqFactor);
      EXPECT_EQ(back->ropeScaling.originalMaxPositions,
                spec.ropeScaling.originalMaxPositions);
    }
    EXPECT_EQ(back->tiedEmbeddings, spec.tiedEmbeddings);
    EXPECT_EQ(back->dtype, spec.dtype);
    EXPECT_EQ(back->bosTokenId, spec.bosTokenId);
    EXPECT_EQ(back->eosTokenId, spec.eosTokenId);
  }
}

TEST(DTypeTest, Names) {
  for (auto [text, type] : {std::pair{"f32", DType::F32},
                            {"float32", DType::F32},
                            {"BF16", DType::BF16},
                            {"bfloat16", DType::BF16},
                            {"F16", DType::F16},
                            {"Float16", DType::F16}}) {
    llvm::Expected<DType> parsed = parseDType(text);
    ASSERT_TRUE(succeeded(parsed));
    EXPECT_EQ(*parsed, type) << text;
  }
  EXPECT_THAT(errorOf(parseDType("int8")), HasSubstr("unknown dtype 'int8'"));
  EXPECT_EQ(dtypeName(DType::BF16), "bf16");
  EXPECT_EQ(dtypeBytes(DType::F32), 4u);
  EXPECT_EQ(dtypeBytes(DType::F16), 2u);
}

} // namespace

namespace {

GenerationConfig parseGeneration(const char *text) {
  llvm::Expected<GenerationConfig> config =
      parseGenerationConfigText(text, "generation_config.json");
  EXPECT_TRUE(bool(config)) << llvm::toString(config.takeError());
  return config ? *config : GenerationConfig();
}

std::string generationError(const char *text) {
  llvm::Expected<GenerationConfig> config =
      parseGenerationConfigText(text, "generation_config.json");
  return config ? std::string() : llvm::toString(config.takeError());
}

} // namespace

TEST(GenerationConfigTest, ReadsLlama32Instruct) {
  // Llama 3.2 1B Instruct's file as published.
  GenerationConfig config = parseGeneration(R"({
    "bos_token_id": 128000, "do_sample": true,
    "eos_token_id": [128001, 128008, 128009],
    "temperature": 0.6, "top_p": 0.9, "transformers_version": "4.45.0.dev0"})");
  EXPECT_TRUE(config.doSample);
  EXPECT_DOUBLE_EQ(config.temperature, 0.6);
  EXPECT_DOUBLE_EQ(config.topP, 0.9);
  // transformers' defaults for what the file leaves out.
  EXPECT_EQ(config.topK, 50);
  EXPECT_DOUBLE_EQ(config.minP, 0.0);
  EXPECT_DOUBLE_EQ(config.repetitionPenalty, 1.0);
  EXPECT_EQ(config.eosTokenIds, (std::vector<int64_t>{128001, 128008, 128009}));
  EXPECT_EQ(config.given, (std::vector<std::string>{"do_sample", "temperature",
                                                    "top_p", "eos_token_id"}));
}

TEST(GenerationConfigTest, GreedyWithoutDoSample) {
  GenerationConfig config =
      parseGeneration(R"({"temperature": 0.7, "eos_token_id": 2, "top_k": 0,
                          "repetition_penalty": 1.1, "min_p": null})");
  EXPECT_FALSE(config.doSample);
  EXPECT_EQ(config.topK, 0);
  EXPECT_DOUBLE_EQ(config.repetitionPenalty, 1.1);
  EXPECT_EQ(config.eosTokenIds, (std::vector<int64_t>{2}));
}

TEST(GenerationConfigTest, BadFieldsNameTheFileAndField) {
  EXPECT_THAT(generationError(R"({"temperature": -1})"),
              HasSubstr("generation_config.json: field 'temperature': "
                        "expected a number >= 0, got -1"));
  EXPECT_THAT(generationError(R"({"top_p": 0})"),
              HasSubstr("field 'top_p': expected a number in (0, 1]"));
  EXPECT_THAT(generationError(R"({"top_k": 1.5})"),
              HasSubstr("field 'top_k': expected a non-negative integer"));
  EXPECT_THAT(generationError(R"({"do_sample": "yes"})"),
              HasSubstr("field 'do_sample': expected true or false"));
  EXPECT_THAT(generationError(R"({"eos_token_id": [1, -2]})"),
              HasSubstr("field 'eos_token_id': expected a non-negative"));
  EXPECT_THAT(generationError(R"({"repetition_penalty": "x"})"),
              HasSubstr("field 'repetition_penalty': expected a number"));
  EXPECT_THAT(generationError("[1]"), HasSubstr("expected a JSON object"));
  EXPECT_THAT(generationError("{"), HasSubstr("malformed JSON"));
}
