//===- WeightsTest.cpp - safetensors reader and synthetic weights ---------===//

#include "TestUtils.h"

#include "frontend/ModelCard.h"
#include "frontend/ModelLoader.h"
#include "frontend/Weights.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>
#include <limits>

using namespace llmc;
using namespace llmc::test;
using ::testing::HasSubstr;

namespace {

struct RawTensor {
  std::string name;
  std::vector<int64_t> shape;
};

/// The Llama tensor set of `spec`, written out independently of Weights.cpp.
std::vector<RawTensor> llamaTensors(const ModelSpec &spec) {
  int64_t h = spec.hiddenSize, i = spec.intermediateSize;
  int64_t q = spec.numHeads * spec.headDim, kv = spec.numKVHeads * spec.headDim;
  std::vector<RawTensor> result{{"model.embed_tokens.weight", {spec.vocabSize, h}},
                                {"model.norm.weight", {h}}};
  for (int64_t l = 0; l < spec.numLayers; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    result.push_back({p + "input_layernorm.weight", {h}});
    result.push_back({p + "post_attention_layernorm.weight", {h}});
    result.push_back({p + "self_attn.q_proj.weight", {q, h}});
    result.push_back({p + "self_attn.k_proj.weight", {kv, h}});
    result.push_back({p + "self_attn.v_proj.weight", {kv, h}});
    result.push_back({p + "self_attn.o_proj.weight", {h, q}});
    result.push_back({p + "mlp.gate_proj.weight", {i, h}});
    result.push_back({p + "mlp.up_proj.weight", {i, h}});
    result.push_back({p + "mlp.down_proj.weight", {h, i}});
  }
  if (!spec.tiedEmbeddings)
    result.push_back({"lm_head.weight", {spec.vocabSize, h}});
  return result;
}

/// A safetensors file from a header text and a data section.
std::string safetensors(llvm::StringRef header, llvm::StringRef data,
                        int64_t declaredHeaderSize = -1) {
  char size[8];
  llvm::support::endian::write64le(
      size, declaredHeaderSize < 0 ? header.size() : declaredHeaderSize);
  return std::string(size, 8) + header.str() + data.str();
}

/// An F32 safetensors file holding `tensors` (values 0, 1, 2, ... per tensor).
std::string safetensors(const std::vector<RawTensor> &tensors) {
  std::string header = "{\"__metadata__\": {\"format\": \"pt\"}";
  std::string data;
  for (const RawTensor &tensor : tensors) {
    int64_t count = 1;
    for (int64_t d : tensor.shape)
      count *= d;
    header += ", \"" + tensor.name + "\": {\"dtype\": \"F32\", \"shape\": [" +
              llvm::join(llvm::map_range(tensor.shape,
                                         [](int64_t d) {
                                           return std::to_string(d);
                                         }),
                         ", ") +
              "], \"data_offsets\": [" + std::to_string(data.size()) + ", " +
              std::to_string(data.size() + 4 * count) + "]}";
    for (int64_t e = 0; e < count; ++e) {
      char bytes[4];
      float value = static_cast<float>(e);
      std::memcpy(bytes, &value, 4);
      data.append(bytes, 4);
    }
  }
  return safetensors(header + "}", data);
}

std::string openError(const TempDir &dir) {
  std::string error = errorOf(WeightStore::open(dir.str()));
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  return error;
}

std::string readFile(const std::string &path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  EXPECT_TRUE(bool(buffer)) << path;
  return buffer ? (*buffer)->getBuffer().str() : "";
}

//===----------------------------------------------------------------------===//
// Element conversion
//===----------------------------------------------------------------------===//

TEST(ConversionTest, BF16) {
  EXPECT_EQ(bf16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(bf16ToFloat(0xc000), -2.0f);
  EXPECT_EQ(bf16ToFloat(0x7f80), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(bf16ToFloat(0x7fc0)));
  EXPECT_EQ(floatToBF16(1.0f), 0x3f80);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1.0).
  EXPECT_EQ(floatToBF16(1.0f + 0x1p-8f), 0x3f80);
  // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6: rounds up.
  EXPECT_EQ(floatToBF16(1.0f + 3 * 0x1p-8f), 0x3f82);
  EXPECT_EQ(floatToBF16(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81);
  EXPECT_EQ(floatToBF16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_TRUE(std::isnan(bf16ToFloat(
      floatToBF16(std::numeric_limits<float>::quiet_NaN()))));
  // The largest float rounds to infinity, not to a NaN.
  EXPECT_EQ(floatToBF16(std::numeric_limits<float>::max()), 0x7f80);
  EXPECT_EQ(floatToBF16(-0.0f), 0x8000);
}

TEST(ConversionTest, F16) {
  EXPECT_EQ(f16ToFloat(0x3c00), 1.0f);
  EXPECT_EQ(f16ToFloat(0xc000), -2.0f);
  EXPECT_EQ(f16ToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(f16ToFloat(0x0400), 0x1p-14f);    // smallest normal
  EXPECT_EQ(f16ToFloat(0x0001), 0x1p-24f);    // smallest subnormal
  EXPECT_EQ(f16ToFloat(0x03ff), 1023 * 0x1p-24f); // largest subnormal
  EXPECT_EQ(f16ToFloat(0x8001), -0x1p-24f);
  EXPECT_EQ(f16ToFloat(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(f16ToFloat(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(f16ToFloat(0x7e00)));
  EXPECT_TRUE(std::isnan(f16ToFloat(0x7c01)));
  EXPECT_TRUE(std::signbit(f16ToFloat(0x8000)));

  EXPECT_EQ(floatToF16(1.0f), 0x3c00);
  EXPECT_EQ(floatToF16(65504.0f), 0x7bff);
  EXPECT_EQ(floatToF16(65519.0f), 0x7bff);
  EXPECT_EQ(floatToF16(65520.0f), 0x7c00);
  EXPECT_EQ(floatToF16(1e10f), 0x7c00);
  EXPECT_EQ(floatToF16(-1e10f), 0xfc00);
  EXPECT_EQ(floatToF16(0x1p-24f), 0x0001);
  EXPECT_EQ(floatToF16(0x1p-25f), 0x0000);          // tie to even: 0
  EXPECT_EQ(floatToF16(0x1p-25f * 1.5f), 0x0001);   // above the tie
  EXPECT_EQ(floatToF16(3 * 0x1p-25f), 0x0002);      // tie 1.5 -> 2
  EXPECT_EQ(floatToF16(1023 * 0x1p-24f), 0x03ff);
  EXPECT_EQ(floatToF16(0x1p-14f), 0x0400);
  EXPECT_EQ(floatToF16(1.0f + 0x1p-11f), 0x3c00);   // tie to even
  EXPECT_EQ(floatToF16(1.0f + 3 * 0x1p-11f), 0x3c02);
  EXPECT_EQ(floatToF16(-0.0f), 0x8000);
  EXPECT_EQ(floatToF16(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_TRUE(std::isnan(
      f16ToFloat(floatToF16(std::numeric_limits<float>::quiet_NaN()))));
  // Every finite half survives a round trip through float.
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    if ((bits & 0x7c00) == 0x7c00)
      continue;
    EXPECT_EQ(floatToF16(f16ToFloat(bits)), bits) << bits;
  }
}

//===----------------------------------------------------------------------===//
// Synthetic models
//===----------------------------------------------------------------------===//

class SyntheticRoundTrip : public ::testing::TestWithParam<DType> {};

TEST_P(SyntheticRoundTrip, WritesAValidModel) {
  TempDir dir;
  ModelSpec spec = tinySpec();
  spec.tiedEmbeddings = false;
  ASSERT_TRUE(succeeded(
      writeSyntheticModel(spec, dir.str(), GetParam(), 7, 0.02, false)));

  llvm::Expected<ModelSpec> config = loadHFConfig(dir.file("config.json"));
  ASSERT_TRUE(succeeded(config));
  EXPECT_EQ(config->hiddenSize, spec.hiddenSize);
  EXPECT_FALSE(config->tiedEmbeddings);

  std::string bytes = readFile(dir.file("model.safetensors"));
  uint64_t headerSize = llvm::support::endian::read64le(bytes.data());
  EXPECT_EQ(headerSize % 8, 0u);

  llvm::Expected<std::unique_ptr<WeightStore>> store =
      WeightStore::open(dir.str());
  ASSERT_TRUE(succeeded(store));
  ASSERT_TRUE(succeeded((*store)->validate(spec)));
  EXPECT_EQ((*store)->tensors().size(), llamaTensors(spec).size());

  const TensorView *embed = (*store)->find("model.embed_tokens.weight");
  ASSERT_NE(embed, nullptr);
  EXPECT_EQ(embed->dtype, GetParam());
  EXPECT_EQ(embed->numElements(), 300 * 96);
  double sum = 0, sumSquares = 0;
  for (int64_t e = 0; e < embed->numElements(); ++e) {
    sum += embed->at(e);
    sumSquares += embed->at(e) * embed->at(e);
  }
  double mean = sum / embed->numElements();
  double stddev = std::sqrt(sumSquares / embed->numElements() - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.001);
  EXPECT_NEAR(stddev, 0.02, 0.001);

  const TensorView *norm = (*store)->find("model.layers.1.input_layernorm.weight");
  ASSERT_NE(norm, nullptr);
  for (int64_t e = 0; e < norm->numElements(); ++e)
    EXPECT_NEAR(norm->at(e), 1.0, 0.05);
  ASSERT_NE((*store)->find("lm_head.weight"), nullptr);
  EXPECT_EQ((*store)->find("no.such.tensor"), nullptr);
}

INSTANTIATE_TEST_SUITE_P(AllDTypes, SyntheticRoundTrip,
                         ::testing::Values(DType::F32, DType::BF16, DType::F16),
                         [](const auto &info) {
                           return dtypeName(info.param).str();
                         });

TEST(SyntheticTest, NarrowTypesRoundTheF32Values) {
  TempDir f32, bf16, f16;
  ModelSpec spec = tinySpec();
  ASSERT_TRUE(succeeded(writeSyntheticModel(spec, f32.str(), DType::F32, 3, 0.5, false)));
  ASSERT_TRUE(succeeded(writeSyntheticModel(spec, bf16.str(), DType::BF16, 3, 0.5, false)));
  ASSERT_TRUE(succeeded(writeSyntheticModel(spec, f16.str(), DType::F16, 3, 0.5, false)));
  auto a = WeightStore::open(f32.str()), b = WeightStore::open(bf16.str()),
       c = WeightStore::open(f16.str());
  ASSERT_TRUE(succeeded(a) && succeeded(b) && succeeded(c));
  for (const TensorView &view : (*a)->tensors()) {
    const TensorView *narrowB = (*b)->find(view.name);
    const TensorView *narrowC = (*c)->find(view.name);
    ASSERT_TRUE(narrowB && narrowC);
    for (int64_t e = 0; e < view.numElements(); e += 7) {
      EXPECT_EQ(narrowB->at(e), bf16ToFloat(floatToBF16(view.at(e))));
      EXPECT_EQ(narrowC->at(e), f16ToFloat(floatToF16(view.at(e))));
    }
  }
}

TEST(SyntheticTest, Deterministic) {
  TempDir a, b, c;
  ModelSpec spec = tinySpec();
  ASSERT_TRUE(succeeded(writeSyntheticModel(spec, a.str(), DType::BF16, 42, 0.02, false)));
  ASSERT_TRUE(succeeded(writeSyntheticModel(spec, b.str(), DType::BF16, 42, 0.02, false)));
  ASSERT_TRUE(succeeded(writeSyntheticModel(spec, c.str(), DType::BF16, 43, 0.02, false)));
  std::string first = readFile(a.file("model.safetensors"));
  std::string second = readFile(b.file("model.safetensors"));
  std::string third = readFile(c.file("model.safetensors"));
  EXPECT_EQ(first.size(), third.size());
  EXPECT_TRUE(first == second);
  EXPECT_FALSE(first == third);
  EXPECT_EQ(readFile(a.file("config.json")), readFile(b.file("config.json")));
}

/// Pins the generator: a change here changes every synthetic model.
TEST(SyntheticTest, StableValues) {
  TempDir dir;
  ASSERT_TRUE(succeeded(
      writeSyntheticModel(tinySpec(), dir.str(), DType::F32, 1, 1.0, false)));
  auto store = WeightStore::open(dir.str());
  ASSERT_TRUE(succeeded(store));
  const TensorView *embed = (*store)->find("model.embed_tokens.weight");
  ASSERT_NE(embed, nullptr);
  std::string values;
  for (int e = 0; e < 4; ++e) {
    uint32_t bits;
    float value = embed->at(e);
    std::memcpy(&bits, &value, sizeof(bits));
    values += llvm::utohexstr(bits) + " ";
  }
  EXPECT_EQ(values, "3FAF6FAC 3FB512C9 BDFF7137 3F170C5E ");
}

//===----------------------------------------------------------------------===//
// Malformed files
//===----------------------------------------------------------------------===//

TEST(SafetensorsTest, NoWeights) {
  TempDir dir;
  EXPECT_THAT(openError(dir),
              HasSubstr("no model.safetensors or model.safetensors.index.json"));
}

TEST(SafetensorsTest, Truncated) {
  TempDir dir;
  dir.write("model.safetensors", "abcd");
  EXPECT_THAT(openError(dir), HasSubstr("model.safetensors: truncated file: 4 "
                                        "bytes"));
}

TEST(SafetensorsTest, HeaderBeyondFile) {
  TempDir dir;
  dir.write("model.safetensors", safetensors("{}", "", 1000));
  EXPECT_THAT(openError(dir),
              HasSubstr("model.safetensors: truncated file: header length "
                        "1000 goes beyond the end of the file"));
}

TEST(SafetensorsTest, HeaderNotJSON) {
  TempDir dir;
  dir.write("model.safetensors", safetensors("{\"a\": ", ""));
  EXPECT_THAT(openError(dir),
              HasSubstr("model.safetensors: header is not valid JSON"));
}

TEST(SafetensorsTest, DeeplyNestedHeader) {
  TempDir dir;
  dir.write("model.safetensors", safetensors(std::string(100000, '['), ""));
  EXPECT_THAT(openError(dir), HasSubstr("nesting too deep"));
  TempDir sharded;
  sharded.write("model.safetensors.index.json", std::string(100000, '{'));
  EXPECT_THAT(openError(sharded), HasSubstr("index.json: malformed JSON: JSON "
                                            "error: nesting too deep"));
}

TEST(SafetensorsTest, UnknownDType) {
  TempDir dir;
  dir.write("model.safetensors",
            safetensors(R"({"w": {"dtype": "I64", "shape": [2], )"
                        R"("data_offsets": [0, 16]}})",
                        std::string(16, '\0')));
  EXPECT_THAT(openError(dir), HasSubstr("model.safetensors: tensor 'w': "
                                        "unknown dtype 'I64'"));
}

TEST(SafetensorsTest, ShapeDisagreesWithOffsets) {
  TempDir dir;
  dir.write("model.safetensors",
            safetensors(R"({"w": {"dtype": "BF16", "shape": [2, 3], )"
                        R"("data_offsets": [0, 8]}})",
                        std::string(16, '\0')));
  EXPECT_THAT(openError(dir),
              HasSubstr("model.safetensors: tensor 'w': shape [2, 3] of BF16 "
                        "needs 12 bytes but data_offsets [0, 8] hold 8"));
}

TEST(SafetensorsTest, OffsetsOutOfRange) {
  TempDir dir;
  dir.write("model.safetensors",
            safetensors(R"({"w": {"dtype": "F32", "shape": [4], )"
                        R"("data_offsets": [8, 24]}})",
                        std::string(16, '\0')));
  EXPECT_THAT(openError(dir),
              HasSubstr("model.safetensors: tensor 'w': data_offsets [8, 24] "
                        "out of range of the data section (16 bytes)"));
  dir.write("model.safetensors",
            safetensors(R"({"w": {"dtype": "F32", "shape": [0], )"
                        R"("data_offsets": [8, 4]}})",
                        std::string(16, '\0')));
  EXPECT_THAT(openError(dir), HasSubstr("tensor 'w': data_offsets must be"));
}

TEST(SafetensorsTest, OverlappingTensors) {
  TempDir dir;
  dir.write("model.safetensors",
            safetensors(R"({"a": {"dtype": "F32", "shape": [2], )"
                        R"("data_offsets": [0, 8]}, )"
                        R"("b": {"dtype": "F32", "shape": [2], )"
                        R"("data_offsets": [4, 12]}})",
                        std::string(16, '\0')));
  EXPECT_THAT(openError(dir),
              HasSubstr("model.safetensors: tensor 'b' [4, 12] overlaps "
                        "tensor 'a' [0, 8]"));
}

TEST(SafetensorsTest, ReadsValuesInPlace) {
  TempDir dir;
  std::string data(12, '\0');
  float f = 1.5f;
  std::memcpy(&data[0], &f, 4);
  llvm::support::endian::write16le(&data[4], floatToBF16(-2.0f));
  llvm::support::endian::write16le(&data[6], floatToF16(0.25f));
  dir.write("model.safetensors",
            safetensors(R"({"__metadata__": {"format": "pt"}, )"
                        R"("f": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, )"
                        R"("b": {"dtype": "BF16", "shape": [1], "data_offsets": [4, 6]}, )"
                        R"("h": {"dtype": "F16", "shape": [1, 1], "data_offsets": [6, 8]}, )"
                        R"("e": {"dtype": "F32", "shape": [0], "data_offsets": [8, 8]}})",
                        data));
  auto store = WeightStore::open(dir.str());
  ASSERT_TRUE(succeeded(store));
  EXPECT_EQ((*store)->tensors().size(), 4u);
  EXPECT_EQ((*store)->find("f")->at(0), 1.5f);
  EXPECT_EQ((*store)->find("b")->at(0), -2.0f);
  EXPECT_EQ((*store)->find("h")->at(0), 0.25f);
  EXPECT_EQ((*store)->find("e")->numElements(), 0);
  llvm::Expected<const TensorView *> h = (*store)->get("h", {1, 1});
  ASSERT_TRUE(succeeded(h));
  EXPECT_EQ((*h)->bytes, 2u);
}

//===----------------------------------------------------------------------===//
// Llama tensor set
//===----------------------------------------------------------------------===//

TEST(ValidateTest, WrongShape) {
  TempDir dir;
  ModelSpec spec = tinySpec();
  std::vector<RawTensor> tensors = llamaTensors(spec);
  for (RawTensor &tensor : tensors)
    if (tensor.name == "model.layers.1.mlp.up_proj.weight")
      tensor.shape = {96, 200};
  dir.write("model.safetensors", safetensors(tensors));
  auto store = WeightStore::open(dir.str());
  ASSERT_TRUE(succeeded(store));
  EXPECT_THAT(errorOf((*store)->validate(spec)),
              HasSubstr("model.safetensors: tensor "
                        "'model.layers.1.mlp.up_proj.weight': expected shape "
                        "[200, 96], found [96, 200]"));
}

TEST(ValidateTest, MissingTensor) {
  TempDir dir;
  ModelSpec spec = tinySpec();
  std::vector<RawTensor> tensors = llamaTensors(spec);
  tensors.erase(tensors.begin() + 1); // model.norm.weight
  dir.write("model.safetensors", safetensors(tensors));
  auto store = WeightStore::open(dir.str());
  ASSERT_TRUE(succeeded(store));
  EXPECT_THAT(errorOf((*store)->validate(spec)),
              HasSubstr("missing tensor 'model.norm.weight' (expected shape "
                        "[96])"));
  // Untied embeddings need lm_head.weight as well.
  tensors = llamaTensors(spec);
  dir.write("model.safetensors", safetensors(tensors));
  store = WeightStore::open(dir.str());
  ASSERT_TRUE(succeeded(store));
  spec.tiedEmbeddings = false;
  EXPECT_THAT(errorOf((*store)->validate(spec)),
              HasSubstr("missing tensor 'lm_head.weight' (expected shape "
                        "[300, 96])"));
}

TEST(ValidateTest, UnusedTensorsAreRefused) {
  TempDir dir;
  ModelSpec spec = tinySpec();
  std::vector<RawTensor> tensors = llamaTensors(spec);
  tensors.push_back({"model.layers.0.self_attn.q_proj.bias", {96}});
  dir.write("model.safetensors", safetensors(tensors));
  auto store = WeightStore::open(dir.str());
  ASSERT_TRUE(succeeded(store));
  EXPECT_THAT(errorOf((*store)->validate(spec)),
              HasSubstr("tensor 'model.layers.0.self_attn.q_proj.bias' is in "
                        "the checkpoint but"));
  // Cached RoPE frequencies are recomputed, and a tied model may keep a
  // copy of its embedding as lm_head.
  tensors.back() = {"model.layers.0.self_attn.rotary_emb.inv_freq", {8}};
  tensors.push_back({"lm_head.weight", {300, 96}});
  dir.write("model.safetensors", safetensors(tensors));
  store = WeightStore::open(dir.str());
  ASSERT_TRUE(succeeded(store));
  ASSERT_TRUE(spec.tiedEmbeddings);
  EXPECT_TRUE(succeeded((*store)->validate(spec)));
}

//===----------------------------------------------------------------------===//
// Sharded models
//===----------------------------------------------------------------------===//

/// Writes the tiny model as two shards and an index; returns the index text.
std::string writeShards(const TempDir &dir, llvm::StringRef extraEntry = "") {
  std::vector<RawTensor> tensors = llamaTensors(tinySpec());
  size_t half = tensors.size() / 2;
  std::vector<RawTensor> first(tensors.begin(), tensors.begin() + half);
  std::vector<RawTensor> second(tensors.begin() + half, tensors.end());
  dir.write("model-00001-of-00002.safetensors", safetensors(first));
  dir.write("model-00002-of-00002.safetensors", safetensors(second));
  std::string index = "{\"metadata\": {}, \"weight_map\": {";
  for (size_t t = 0; t < tensors.size(); ++t)
    index += (t ? ", \"" : "\"") + tensors[t].name + "\": \"model-0000" +
             (t < half ? "1" : "2") + "-of-00002.safetensors\"";
  index += extraEntry.str() + "}}";
  dir.write("model.safetensors.index.json", index);
  return index;
}

TEST(ShardedTest, OpensTwoShards) {
  TempDir dir;
  writeShards(dir);
  auto store = WeightStore::open(dir.str());
  ASSERT_TRUE(succeeded(store));
  EXPECT_TRUE(succeeded((*store)->validate(tinySpec())));
  const TensorView *embed = (*store)->find("model.embed_tokens.weight");
  const TensorView *down = (*store)->find("model.layers.1.mlp.down_proj.weight");
  ASSERT_TRUE(embed && down);
  EXPECT_THAT(embed->file, HasSubstr("model-00001-of-00002.safetensors"));
  EXPECT_THAT(down->file, HasSubstr("model-00002-of-00002.safetensors"));
  EXPECT_EQ(down->at(5), 5.0f);
}

TEST(ShardedTest, TensorAbsentFromItsShard) {
  TempDir dir;
  writeShards(dir, ", \"model.extra.weight\": "
                   "\"model-00002-of-00002.safetensors\"");
  EXPECT_THAT(openError(dir),
              HasSubstr("model.safetensors.index.json: tensor "
                        "'model.extra.weight' is mapped to "
                        "'model-00002-of-00002.safetensors' but that file "
                        "does not contain it"));
}

TEST(ShardedTest, MissingShardAndBadIndex) {
  TempDir dir;
  writeShards(dir, ", \"model.extra.weight\": \"model-00003.safetensors\"");
  EXPECT_THAT(openError(dir),
              HasSubstr("model-00003.safetensors: cannot read"));
  dir.write("model.safetensors.index.json", "{\"weight_map\": 3}");
  EXPECT_THAT(openError(dir),
              HasSubstr("model.safetensors.index.json: field 'weight_map'"));
}

//===----------------------------------------------------------------------===//
// loadModel
//===----------------------------------------------------------------------===//

TEST(LoadModelTest, HuggingFaceDirectory) {
  TempDir dir;
  ASSERT_TRUE(succeeded(writeSyntheticModel(tinySpec(), dir.str(),
                                            DType::BF16, 1, 0.02, false)));
  dir.write("tokenizer.json", "{}");
  llvm::Expected<LoadedModel> model = loadModel(dir.str(), "");
  ASSERT_TRUE(succeeded(model));
  EXPECT_EQ(model->spec.hiddenSize, 96);
  EXPECT_EQ(model->dir, dir.str());
  EXPECT_EQ(model->tokenizerJsonPath, dir.file("tokenizer.json"));
  EXPECT_NE(model->weights->find("model.norm.weight"), nullptr);
}

TEST(LoadModelTest, ModelCardWithWeights) {
  TempDir dir;
  std::string card = (llvm::Twine(LLMC_EXAMPLES_DIR) + "/tiny-llama.yaml").str();
  ASSERT_TRUE(succeeded(writeSyntheticModel(tinySpec(), dir.str(),
                                            DType::F16, 1, 0.02, false)));
  llvm::Expected<LoadedModel> model = loadModel(card, dir.str());
  ASSERT_TRUE(succeeded(model));
  EXPECT_EQ(model->spec.name, "tiny-llama");
  EXPECT_TRUE(model->tokenizerJsonPath.empty());

  EXPECT_THAT(errorOf(loadModel(card, "")),
              HasSubstr("a model card needs a weights directory"));

  // A config.json next to the weights must agree with the card.
  ModelSpec other = tinySpec();
  other.intermediateSize = 256;
  ASSERT_TRUE(succeeded(writeHFConfig(other, dir.file("config.json"))));
  EXPECT_THAT(errorOf(loadModel(card, dir.str())),
              HasSubstr("config.json: field 'intermediate_size': 256 "
                        "disagrees with the model card"));
}

TEST(LoadModelTest, WeightsDisagreeWithSpec) {
  TempDir dir;
  ModelSpec spec = tinySpec();
  spec.intermediateSize = 256;
  ASSERT_TRUE(succeeded(
      writeSyntheticModel(spec, dir.str(), DType::F32, 1, 0.02, false)));
  llvm::sys::fs::remove(dir.file("config.json"));
  std::string card = (llvm::Twine(LLMC_EXAMPLES_DIR) + "/tiny-llama.yaml").str();
  EXPECT_THAT(errorOf(loadModel(card, dir.str())),
              HasSubstr("model.safetensors: tensor "
                        "'model.layers.0.mlp.gate_proj.weight': expected "
                        "shape [200, 96], found [256, 96]"));
  EXPECT_THAT(errorOf(loadModel(dir.file("model.txt"), dir.str())),
              HasSubstr("expected a model directory, a .gguf file or a .yaml/.yml model "
                        "card"));
}

} // namespace
