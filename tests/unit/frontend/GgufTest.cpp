//===- GgufTest.cpp - GGUF reader, ggml blocks, GGUF models ---------------===//

#include "TestUtils.h"

#include "GgufWriter.h"

#include "frontend/Gguf.h"
#include "frontend/GgufModel.h"
#include "frontend/ModelLoader.h"
#include "frontend/TokenizerJson.h"

#include "llvm/Support/JSON.h"

#include <cmath>
#include <cstring>
#include <map>
#include <random>

using namespace llmc;
using namespace llmc::test;
using ::testing::HasSubstr;

namespace {

std::string errorOf(llvm::Error err) { return llvm::toString(std::move(err)); }

template <typename T> std::string errorOf(llvm::Expected<T> value) {
  if (value)
    return "(no error)";
  return llvm::toString(value.takeError());
}

std::string parseError(const std::string &bytes) {
  return errorOf(GgufFile::parse("t.gguf", bytes));
}

/// The sizes of a tiny llama: vocab 16, hidden 8, 2 heads of 4 sharing one
/// KV head, MLP 16, one layer.
struct Tiny {
  int64_t vocab = 16, hidden = 8, heads = 2, kvHeads = 1, headDim = 4,
          ffn = 16, layers = 1;
};

/// Value `i` of tensor `seed`: distinct everywhere, exact in f32.
float valueOf(int seed, int64_t i) { return float(seed * 1000 + i) / 64; }

/// A valid tiny llama GGUF (tied embeddings), its tensors in f32 unless
/// `types` names another type for them.
GgufWriter tinyWriter(const Tiny &t = Tiny(),
                      const std::map<std::string, uint32_t> &types = {}) {
  GgufWriter w;
  w.setString("general.architecture", "llama");
  w.setString("general.name", "tiny-gguf");
  w.setU32("llama.block_count", t.layers);
  w.setU32("llama.context_length", 64);
  w.setU32("llama.embedding_length", t.hidden);
  w.setU32("llama.feed_forward_length", t.ffn);
  w.setU32("llama.attention.head_count", t.heads);
  w.setU32("llama.attention.head_count_kv", t.kvHeads);
  w.setF32("llama.rope.freq_base", 500000.0f);
  w.setF32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  w.setU32("llama.rope.dimension_count", t.headDim);
  w.setU32("llama.attention.key_length", t.headDim);
  int seed = 0;
  auto add = [&](const std::string &name, std::vector<int64_t> dims) {
    int64_t n = 1;
    for (int64_t d : dims)
      n *= d;
    std::vector<float> v(n);
    ++seed;
    for (int64_t i = 0; i < n; ++i)
      v[i] = valueOf(seed, i);
    auto it = types.find(name);
    uint32_t type = it == types.end() ? kF32 : it->second;
    w.addTensor(name, type, dims, encodeGgml(type, v.data(), n));
  };
  add("token_embd.weight", {t.hidden, t.vocab});
  for (int64_t l = 0; l < t.layers; ++l) {
    std::string blk = "blk." + std::to_string(l) + ".";
    add(blk + "attn_norm.weight", {t.hidden});
    add(blk + "attn_q.weight", {t.hidden, t.heads * t.headDim});
    add(blk + "attn_k.weight", {t.hidden, t.kvHeads * t.headDim});
    add(blk + "attn_v.weight", {t.hidden, t.kvHeads * t.headDim});
    add(blk + "attn_output.weight", {t.heads * t.headDim, t.hidden});
    add(blk + "ffn_norm.weight", {t.hidden});
    add(blk + "ffn_gate.weight", {t.hidden, t.ffn});
    add(blk + "ffn_up.weight", {t.hidden, t.ffn});
    add(blk + "ffn_down.weight", {t.ffn, t.hidden});
  }
  add("output_norm.weight", {t.hidden});
  return w;
}

std::string modelError(const GgufWriter &w, uint32_t version = 3) {
  TempDir dir;
  std::string path = dir.write("m.gguf", w.write(version));
  return errorOf(GgufModel::open(path));
}

//===----------------------------------------------------------------------===//
// The file format
//===----------------------------------------------------------------------===//

TEST(GgufFile, ReadsTypedMetadataAndTensors) {
  GgufWriter w;
  w.setString("general.architecture", "llama");
  w.setU32("a.u32", 7);
  w.setI32("a.i32", -3);
  w.setU64("a.u64", uint64_t(1) << 40);
  w.setF32("a.f32", 0.25f);
  w.setBool("a.bool", true);
  w.setStrings("a.strings", {"x", "", "yz"});
  w.setI32s("a.ints", {1, -2, 3});
  std::vector<float> v = {1, 2, 3, 4, 5, 6};
  w.addTensor("t", kF32, {3, 2}, encodeGgml(kF32, v.data(), 6));
  w.addTensor("u", kF16, {2}, encodeGgml(kF16, v.data(), 2));
  std::string bytes = w.write(3, 64);
  auto file = GgufFile::parse("t.gguf", bytes);
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  EXPECT_EQ((*file)->version(), 3u);
  EXPECT_EQ((*file)->alignment(), 64u);
  EXPECT_EQ(**(*file)->getInteger("a.u32"), 7);
  EXPECT_EQ(**(*file)->getInteger("a.i32"), -3);
  EXPECT_EQ(**(*file)->getInteger("a.u64"), int64_t(1) << 40);
  EXPECT_EQ(**(*file)->getNumber("a.f32"), 0.25);
  EXPECT_EQ((*file)->find("a.bool")->integer, 1);
  EXPECT_EQ(**(*file)->getString("general.architecture"), "llama");
  const GgufValue *strings =
      *(*file)->getArray("a.strings", GgufValue::Kind::String);
  ASSERT_NE(strings, nullptr);
  EXPECT_EQ(strings->strings.size(), 3u);
  EXPECT_EQ(strings->strings[2], "yz");
  const GgufValue *ints = *(*file)->getArray("a.ints", GgufValue::Kind::Int64);
  ASSERT_NE(ints, nullptr);
  EXPECT_EQ(ints->integers, (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(*(*file)->getInteger("missing"), std::nullopt);
  EXPECT_THAT(errorOf((*file)->getInteger("a.f32")),
              HasSubstr("'a.f32' is a f32, not an integer"));
  EXPECT_THAT(errorOf((*file)->getString("a.u32")),
              HasSubstr("'a.u32' is a u32, not a string"));
  EXPECT_THAT(errorOf((*file)->getArray("a.ints", GgufValue::Kind::String)),
              HasSubstr("is a array of i32, not an array of string"));

  const GgufTensor *t = (*file)->findTensor("t");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dims, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(t->bytes, 24u);
  EXPECT_EQ((reinterpret_cast<uintptr_t>(t->data) -
             reinterpret_cast<uintptr_t>(bytes.data())) % 64, 0u);
  float back[6];
  std::memcpy(back, t->data, sizeof(back));
  EXPECT_EQ(back[5], 6.0f);
  EXPECT_EQ((*file)->findTensor("u")->bytes, 4u);
  // Version 2 has the same layout.
  EXPECT_TRUE(bool(GgufFile::parse("t.gguf", w.write(2))));
}

TEST(GgufFile, EveryTruncationIsAnError) {
  GgufWriter w = tinyWriter();
  w.setStrings("tokenizer.ggml.tokens", {"a", "b"});
  std::string bytes = w.write();
  for (size_t length = 0; length < bytes.size(); ++length) {
    auto file = GgufFile::parse("t.gguf", llvm::StringRef(bytes).take_front(length));
    // The last tensor's bytes are only missing, not cut: either way, short
    // files never parse.
    EXPECT_FALSE(bool(file)) << "prefix of " << length << " bytes parsed";
    if (!file)
      llvm::consumeError(file.takeError());
  }
}

TEST(GgufFile, HeaderErrors) {
  std::string good = tinyWriter().write();
  EXPECT_THAT(parseError("GGUX" + good.substr(4)),
              HasSubstr("t.gguf: not a GGUF file"));
  EXPECT_THAT(parseError(""), HasSubstr("not a GGUF file"));
  for (uint32_t version : {1u, 4u}) {
    std::string bad = good;
    std::memcpy(&bad[4], &version, 4);
    EXPECT_THAT(parseError(bad), HasSubstr("GGUF version " +
                                           std::to_string(version) +
                                           " is not supported"));
  }
  std::string bad = good;
  uint64_t huge = uint64_t(1) << 60;
  std::memcpy(&bad[8], &huge, 8);
  EXPECT_THAT(parseError(bad), HasSubstr("tensor count 1152921504606846976 "
                                         "does not fit in the file"));
  bad = good;
  std::memcpy(&bad[16], &huge, 8);
  EXPECT_THAT(parseError(bad), HasSubstr("metadata count"));
  // The first key's length.
  bad = good;
  std::memcpy(&bad[24], &huge, 8);
  EXPECT_THAT(parseError(bad), HasSubstr("metadata key 0 claims"));
}

TEST(GgufFile, ValueErrors) {
  auto withRaw = [](uint32_t kind, std::string payload) {
    GgufWriter w;
    w.setRaw("k", kind, std::move(payload));
    return parseError(w.write());
  };
  EXPECT_THAT(withRaw(13, ""), HasSubstr("'k': unknown value type 13"));
  EXPECT_THAT(withRaw(kBool, std::string(1, 2)), HasSubstr("bool value 2"));
  std::string hugeString(8, '\xff');
  EXPECT_THAT(withRaw(kString, hugeString), HasSubstr("'k' claims"));
  std::string array;
  uint32_t kind = kU32;
  uint64_t count = uint64_t(1) << 40;
  array.append(reinterpret_cast<char *>(&kind), 4);
  array.append(reinterpret_cast<char *>(&count), 8);
  EXPECT_THAT(withRaw(kArray, array), HasSubstr("array of 1099511627776 u32 "
                                                "elements does not fit"));
  std::string nested;
  kind = kArray;
  nested.append(reinterpret_cast<char *>(&kind), 4);
  EXPECT_THAT(withRaw(kArray, nested),
              HasSubstr("arrays of arrays are not supported"));
  GgufWriter twice;
  twice.setU32("k", 1);
  std::string bytes = twice.write();
  // Write the same pair twice by hand: header counts 2, the pair repeated.
  std::string pair = bytes.substr(24, 8 + 1 + 4 + 4); // "k", u32, 1
  std::string doubled = bytes.substr(0, 24) + pair + pair;
  uint64_t two = 2;
  std::memcpy(&doubled[16], &two, 8);
  EXPECT_THAT(parseError(doubled), HasSubstr("metadata key 'k' appears twice"));
  GgufWriter align;
  align.setU32("general.alignment", 24);
  EXPECT_THAT(parseError(align.write()),
              HasSubstr("general.alignment must be a power of two"));
}

TEST(GgufFile, TensorErrors) {
  std::vector<float> v(64, 1.0f);
  std::string f32 = encodeGgml(kF32, v.data(), 8);
  auto oneTensor = [&](uint32_t type, std::vector<int64_t> dims,
                       std::string bytes, std::optional<uint64_t> offset) {
    GgufWriter w;
    w.addTensor("w", type, dims, bytes, offset);
    return parseError(w.write());
  };
  EXPECT_THAT(oneTensor(kF32, {8}, f32, 4),
              HasSubstr("tensor 'w': offset 4 is not a multiple of the "
                        "alignment 32"));
  EXPECT_THAT(oneTensor(kF32, {8, 2}, f32, std::nullopt),
              HasSubstr("tensor 'w': its 64 bytes at offset 0 run past the "
                        "end of the file"));
  EXPECT_THAT(oneTensor(kF32, {8}, f32, uint64_t(1) << 50),
              HasSubstr("run past the end of the file"));
  EXPECT_THAT(oneTensor(kF32, {0}, "", std::nullopt),
              HasSubstr("has dimension 0"));
  EXPECT_THAT(oneTensor(kF32, {1, 1, 1, 1, 1}, f32, std::nullopt),
              HasSubstr("has 5 dimensions (1 to 4 expected)"));
  EXPECT_THAT(oneTensor(kF32, {int64_t(1) << 30, int64_t(1) << 30}, f32,
                        std::nullopt),
              HasSubstr("too large"));
  EXPECT_THAT(oneTensor(kQ8_0, {48}, std::string(68, '\0'), std::nullopt),
              HasSubstr("its rows of 48 Q8_0 values are not whole blocks "
                        "of 32"));
  GgufWriter overlap;
  overlap.addTensor("a", kF32, {16}, encodeGgml(kF32, v.data(), 16));
  overlap.addTensor("b", kF32, {8}, f32, 32);
  EXPECT_THAT(parseError(overlap.write()),
              HasSubstr("tensors 'a' and 'b' overlap"));
  GgufWriter twice;
  twice.addTensor("a", kF32, {8}, f32);
  twice.addTensor("a", kF32, {8}, f32);
  EXPECT_THAT(parseError(twice.write()), HasSubstr("tensor 'a' appears twice"));
}

//===----------------------------------------------------------------------===//
// ggml blocks
//===----------------------------------------------------------------------===//

TEST(GgmlBlocks, SizesAndNames) {
  EXPECT_EQ(ggmlBlock(uint32_t(GgmlType::Q4_K))->bytes, 144);
  EXPECT_EQ(ggmlBlock(uint32_t(GgmlType::Q6_K))->bytes, 210);
  EXPECT_EQ(ggmlBlock(uint32_t(GgmlType::Q8_0))->bytes, 34);
  EXPECT_EQ(ggmlBlock(uint32_t(GgmlType::Q4_0))->bytes, 18);
  EXPECT_FALSE(ggmlBlock(13).has_value()); // Q5_K
  EXPECT_EQ(ggmlTypeName(13), "Q5_K");
  EXPECT_EQ(ggmlTypeName(17), "IQ2_XS");
  EXPECT_EQ(ggmlTypeName(30), "BF16");
  EXPECT_EQ(ggmlTypeName(1000), "type 1000");
}

/// Hand-assembled blocks, read back with the values the specification
/// gives them.
TEST(GgmlBlocks, HandAssembledBlocks) {
  auto half = [](float v) { return floatToF16(v); };
  auto put16 = [](uint8_t *p, uint16_t v) { std::memcpy(p, &v, 2); };
  {
    uint8_t b[34];
    put16(b, half(0.5f));
    for (int i = 0; i < 32; ++i)
      b[2 + i] = uint8_t(int8_t(i * 8 - 128));
    float out[32];
    dequantizeGgml(GgmlType::Q8_0, b, 32, out);
    for (int i = 0; i < 32; ++i)
      EXPECT_EQ(out[i], 0.5f * (i * 8 - 128)) << i;
  }
  {
    uint8_t b[18];
    put16(b, half(2.0f));
    for (int i = 0; i < 16; ++i)
      b[2 + i] = uint8_t(i | ((15 - i) << 4));
    float out[32];
    dequantizeGgml(GgmlType::Q4_0, b, 32, out);
    for (int i = 0; i < 16; ++i) {
      EXPECT_EQ(out[i], 2.0f * (i - 8)) << i;
      EXPECT_EQ(out[16 + i], 2.0f * (15 - i - 8)) << i;
    }
  }
  {
    // Q4_K: sub-block j has scale sc[j] and min mn[j]; those of 4-7 need
    // their top two bits in bytes 0-7.
    const int sc[8] = {1, 2, 3, 4, 33, 50, 63, 17};
    const int mn[8] = {5, 6, 7, 8, 40, 0, 63, 18};
    uint8_t b[144] = {};
    put16(b, half(1.0f));
    put16(b + 2, half(0.5f));
    uint8_t *s = b + 4;
    for (int j = 0; j < 4; ++j) {
      s[j] = uint8_t(sc[j] | ((sc[j + 4] >> 4) << 6));
      s[j + 4] = uint8_t(mn[j] | ((mn[j + 4] >> 4) << 6));
      s[j + 8] = uint8_t((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
    }
    // Value i of sub-block j is (i + j) % 16.
    for (int pair = 0; pair < 4; ++pair)
      for (int i = 0; i < 32; ++i)
        b[16 + 32 * pair + i] =
            uint8_t(((i + 2 * pair) % 16) | (((i + 2 * pair + 1) % 16) << 4));
    float out[256];
    dequantizeGgml(GgmlType::Q4_K, b, 256, out);
    for (int j = 0; j < 8; ++j)
      for (int i = 0; i < 32; ++i)
        EXPECT_EQ(out[32 * j + i], 1.0f * sc[j] * ((i + j) % 16) - 0.5f * mn[j])
            << j << " " << i;
  }
  {
    // Q6_K: value v of the block is (v * 7) % 64 - 32 with scale
    // (v / 16) - 8 for its sub-block of 16.
    uint8_t b[210] = {};
    auto q = [](int v) { return (v * 7) % 64; };
    for (int v = 0; v < 256; ++v) {
      int h = v / 128, r = v % 128, k = r / 32, l = r % 32;
      uint8_t &low = b[64 * h + l + 32 * (k % 2)];
      low |= uint8_t((q(v) & 15) << (k < 2 ? 0 : 4));
      b[128 + 32 * h + l] |= uint8_t((q(v) >> 4) << (2 * k));
    }
    for (int j = 0; j < 16; ++j)
      b[192 + j] = uint8_t(int8_t(j - 8));
    put16(b + 208, half(0.25f));
    float out[256];
    dequantizeGgml(GgmlType::Q6_K, b, 256, out);
    for (int v = 0; v < 256; ++v)
      EXPECT_EQ(out[v], 0.25f * (v / 16 - 8) * (q(v) - 32)) << v;
  }
}

/// The test writer's quantizers and the reader's dequantizers agree: the
/// round trip stays within the step each format's scales allow.
TEST(GgmlBlocks, RoundTripWithinTheQuantizationStep) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(1024);
  for (float &v : x)
    v = normal(rng);
  struct Case {
    uint32_t type;
    double maxRelL2;
  };
  for (Case c : {Case{kF16, 1e-3}, Case{kBF16, 5e-3}, Case{kQ8_0, 1e-2},
                 Case{kQ4_0, 0.15}, Case{kQ4_K, 0.15}, Case{kQ6_K, 0.04}}) {
    std::string bytes = encodeGgml(c.type, x.data(), x.size());
    std::vector<float> back(x.size());
    dequantizeGgml(static_cast<GgmlType>(c.type),
                   reinterpret_cast<const uint8_t *>(bytes.data()), x.size(),
                   back.data());
    double err = 0, norm = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      err += (back[i] - x[i]) * (back[i] - x[i]);
      norm += x[i] * x[i];
    }
    EXPECT_LT(std::sqrt(err / norm), c.maxRelL2) << ggmlTypeName(c.type);
    EXPECT_GT(std::sqrt(err / norm), 0.0) << ggmlTypeName(c.type);
  }
}

//===----------------------------------------------------------------------===//
// GGUF models
//===----------------------------------------------------------------------===//

TEST(GgufModel, ReadsTheSpecAndUndoesTheQKInterleaving) {
  Tiny t;
  GgufWriter w = tinyWriter(t);
  w.setU32("tokenizer.ggml.bos_token_id", 1);
  w.setU32("tokenizer.ggml.eos_token_id", 2);
  std::vector<float> factors = {1.0f, 4.0f};
  w.addTensor("rope_freqs.weight", kF32, {2},
              encodeGgml(kF32, factors.data(), 2));
  TempDir dir;
  std::string path = dir.write("m.gguf", w.write());
  auto model = GgufModel::open(path);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  const ModelSpec &spec = (*model)->spec();
  EXPECT_EQ(spec.name, "tiny-gguf");
  EXPECT_EQ(spec.vocabSize, 16);
  EXPECT_EQ(spec.hiddenSize, 8);
  EXPECT_EQ(spec.numHeads, 2);
  EXPECT_EQ(spec.numKVHeads, 1);
  EXPECT_EQ(spec.headDim, 4);
  EXPECT_EQ(spec.maxPositions, 64);
  EXPECT_TRUE(spec.tiedEmbeddings);
  EXPECT_EQ(spec.ropeTheta, 500000.0);
  EXPECT_EQ(spec.bosTokenId, 1);
  EXPECT_EQ(spec.eosTokenId, 2);
  EXPECT_EQ(spec.ropeFreqFactors, (std::vector<double>{1.0, 4.0}));
  EXPECT_TRUE((*model)->quantizedTypes().empty());

  // q is tensor 3 of the writer (seed 3), 8 rows of 8: GGUF row
  // h*4 + 2i + s is Hugging Face row h*4 + 2s + i.
  const TensorView *q =
      (*model)->find("model.layers.0.self_attn.q_proj.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->shape, (std::vector<int64_t>{8, 8}));
  const int hfToGguf[8] = {0, 2, 1, 3, 4, 6, 5, 7};
  for (int row = 0; row < 8; ++row)
    for (int col = 0; col < 8; ++col)
      EXPECT_EQ(q->at(row * 8 + col), valueOf(3, hfToGguf[row] * 8 + col))
          << row << " " << col;
  // v is not interleaved; the embedding is [vocab, hidden].
  const TensorView *v =
      (*model)->find("model.layers.0.self_attn.v_proj.weight");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->at(9), valueOf(5, 9));
  EXPECT_EQ((*model)->find("model.embed_tokens.weight")->shape,
            (std::vector<int64_t>{16, 8}));
  EXPECT_EQ((*model)->find("lm_head.weight"), nullptr);
}

TEST(GgufModel, QuantizedTensorsAreExpandedToF32) {
  // hidden 256 so that every matrix row is whole Q4_K blocks.
  Tiny t;
  t.hidden = 256;
  t.ffn = 256;
  t.heads = 4;
  t.kvHeads = 2;
  t.headDim = 64;
  GgufWriter w = tinyWriter(t, {{"blk.0.attn_k.weight", kQ4_K},
                                {"blk.0.ffn_up.weight", kQ8_0}});
  std::string bytes = w.write();
  TempDir dir;
  std::string path = dir.write("m.gguf", bytes);
  auto model = GgufModel::open(path);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  EXPECT_EQ((*model)->quantizedTypes(),
            (std::vector<std::string>{"Q8_0", "Q4_K"}));
  const GgufTensor *stored = (*model)->file().findTensor("blk.0.attn_k.weight");
  ASSERT_NE(stored, nullptr);
  const TensorView *k =
      (*model)->find("model.layers.0.self_attn.k_proj.weight");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->dtype, DType::F32);
  EXPECT_EQ(k->shape, (std::vector<int64_t>{128, 256}));
  // Hugging Face row 1 of head 1 is GGUF row 64 + 2; Q4_K rows of 256 are
  // one block of 144 bytes.
  float row[256];
  dequantizeGgml(GgmlType::Q4_K, stored->data + (64 + 2) * 144, 256, row);
  for (int c = 0; c < 256; ++c)
    EXPECT_EQ(k->at((64 + 1) * 256 + c), row[c]) << c;
  // And the values are the written ones, within Q4_K's step.
  EXPECT_NEAR(k->at(0), valueOf(4, 0), 8.0);
}

TEST(GgufModel, ModelErrors) {
  GgufWriter w = tinyWriter();
  w.setString("general.architecture", "qwen2");
  EXPECT_THAT(modelError(w), HasSubstr("architecture 'qwen2' is not "
                                       "supported (llmc reads llama GGUF "
                                       "files)"));
  w = tinyWriter();
  w.setU32("llama.expert_count", 8);
  EXPECT_THAT(modelError(w), HasSubstr("a mixture of 8 experts is not "
                                       "supported"));
  w = tinyWriter();
  w.setString("llama.rope.scaling.type", "yarn");
  EXPECT_THAT(modelError(w), HasSubstr("RoPE scaling 'yarn' is not "
                                       "supported"));
  w = tinyWriter();
  w.setU32("llama.rope.dimension_count", 2);
  EXPECT_THAT(modelError(w), HasSubstr("RoPE over 2 of 4 head dimensions"));
  w = tinyWriter();
  w.setString("llama.block_count", "one");
  EXPECT_THAT(modelError(w),
              HasSubstr("'llama.block_count' is a string, not an integer"));
  w = tinyWriter();
  w.setU32("llama.embedding_length", 12);
  EXPECT_THAT(modelError(w),
              HasSubstr("tensor 'token_embd.weight' is 16 x 8 (rows x "
                        "columns), the model's hyperparameters need 16 x 12"));
  w = tinyWriter();
  w.setU32("llama.attention.head_count_kv", 3);
  EXPECT_THAT(modelError(w), HasSubstr("'num_key_value_heads': 3 does not "
                                       "divide num_attention_heads (2)"));
  // A tensor type llmc does not read, named with the tensor.
  w = tinyWriter();
  w.addTensor("output.weight", 13, {8, 16}, std::string(4096, '\0'));
  EXPECT_THAT(modelError(w), HasSubstr("tensor 'output.weight' has type "
                                       "Q5_K, which llmc does not read"));
  w = tinyWriter();
  w.addTensor("rope_freqs.weight", kF32, {3}, std::string(12, '\0'));
  EXPECT_THAT(modelError(w), HasSubstr("tensor 'rope_freqs.weight' must be "
                                       "2 F32 values"));
  w = tinyWriter();
  w.setU32("tokenizer.ggml.eos_token_id", 16);
  EXPECT_THAT(modelError(w), HasSubstr("'tokenizer.ggml.eos_token_id' 16 is "
                                       "outside the vocabulary of 16"));
  w = tinyWriter();
  std::vector<std::string> tokens(17, "a");
  w.setU32("llama.vocab_size", 16);
  w.setStrings("tokenizer.ggml.tokens", tokens);
  EXPECT_THAT(modelError(w), HasSubstr("17 tokens for a vocabulary of 16"));
  // A missing tensor.
  GgufWriter noDown;
  {
    TempDir dir;
    std::string bytes = tinyWriter().write();
    // Rename ffn_down in place: same length, another name.
    size_t at = bytes.find("blk.0.ffn_down.weight");
    ASSERT_NE(at, std::string::npos);
    bytes.replace(at, 21, "blk.0.ffn_dowX.weight");
    std::string path = dir.write("m.gguf", bytes);
    EXPECT_THAT(errorOf(GgufModel::open(path)),
                HasSubstr("no tensor 'blk.0.ffn_down.weight' "
                          "(model.layers.0.mlp.down_proj.weight)"));
  }
}

/// A byte-level BPE vocabulary of the 256 byte tokens, two merges and one
/// special token, as a GGUF stores it.
std::vector<std::string> byteTokens() {
  // The GPT-2 byte alphabet, as the tokenizer builder defines it.
  std::vector<std::string> tokens;
  int next = 256;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
    int cp = printable ? b : next++;
    std::string utf8;
    if (cp < 0x80) {
      utf8 += char(cp);
    } else {
      utf8 += char(0xC0 | (cp >> 6));
      utf8 += char(0x80 | (cp & 0x3F));
    }
    tokens.push_back(utf8);
  }
  return tokens;
}

TEST(GgufModel, TokenizerMatchesTheSameVocabularyAsTokenizerJson) {
  std::vector<std::string> tokens = byteTokens();
  tokens.push_back("ab");
  tokens.push_back("abc");
  tokens.push_back("<|special|>");
  // The same vocabulary as a tokenizer.json.
  std::string vocab;
  for (size_t id = 0; id + 1 < tokens.size(); ++id) {
    llvm::json::Value spelling(tokens[id]);
    std::string quoted;
    llvm::raw_string_ostream os(quoted);
    os << spelling;
    vocab += (vocab.empty() ? "" : ",") + os.str() + ":" + std::to_string(id);
  }
  std::string json =
      "{\"model\":{\"type\":\"BPE\",\"ignore_merges\":true,\"vocab\":{" +
      vocab + "},\"merges\":[\"a b\",\"ab c\"]},\"added_tokens\":[{\"id\":" +
      std::to_string(tokens.size() - 1) +
      ",\"content\":\"<|special|>\",\"special\":true}]}";
  llvm::Expected<std::string> fromJson = compileTokenizerJson(json);
  ASSERT_TRUE(bool(fromJson)) << llvm::toString(fromJson.takeError());

  Tiny t;
  t.vocab = int64_t(tokens.size());
  GgufWriter w = tinyWriter(t);
  w.setString("tokenizer.ggml.model", "gpt2");
  w.setString("tokenizer.ggml.pre", "llama-bpe");
  w.setStrings("tokenizer.ggml.tokens", tokens);
  std::vector<int32_t> types(tokens.size(), 1);
  types.back() = 3;
  w.setI32s("tokenizer.ggml.token_type", types);
  w.setStrings("tokenizer.ggml.merges", {"a b", "ab c"});
  TempDir dir;
  std::string path = dir.write("m.gguf", w.write());
  auto model = GgufModel::open(path);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  llvm::Expected<std::string> fromGguf = (*model)->compileTokenizer();
  ASSERT_TRUE(bool(fromGguf)) << llvm::toString(fromGguf.takeError());
  EXPECT_EQ(*fromGguf, *fromJson);

  // What a GGUF tokenizer must be.
  w.setString("tokenizer.ggml.pre", "qwen2");
  path = dir.write("pre.gguf", w.write());
  EXPECT_THAT(errorOf((*GgufModel::open(path))->compileTokenizer()),
              HasSubstr("pre-tokenizer 'qwen2' is not supported"));
  w.setString("tokenizer.ggml.pre", "llama-bpe");
  w.setString("tokenizer.ggml.model", "llama");
  path = dir.write("spm.gguf", w.write());
  EXPECT_THAT(errorOf((*GgufModel::open(path))->compileTokenizer()),
              HasSubstr("tokenizer model 'llama' is not supported"));
  w.setString("tokenizer.ggml.model", "gpt2");
  w.setI32s("tokenizer.ggml.token_type", {1, 1});
  path = dir.write("types.gguf", w.write());
  EXPECT_THAT(errorOf((*GgufModel::open(path))->compileTokenizer()),
              HasSubstr("'tokenizer.ggml.token_type' has 2 entries for 259 "
                        "tokens"));
}

TEST(GgufModel, LoadModelTakesAGgufFile) {
  TempDir dir;
  std::string path = dir.write("m.gguf", tinyWriter().write());
  llvm::Expected<LoadedModel> model = loadModel(path, "");
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  EXPECT_EQ(model->spec.hiddenSize, 8);
  ASSERT_TRUE(model->tokenizerImage.has_value());
  EXPECT_EQ(*model->tokenizerImage, ""); // The file has no tokenizer.
  EXPECT_NE(model->weights->find("model.norm.weight"), nullptr);
  EXPECT_THAT(errorOf(loadModel(path, dir.str())),
              HasSubstr("a GGUF file holds its weights; --weights does not "
                        "apply"));
  EXPECT_THAT(errorOf(loadModel(dir.file("missing.gguf"), "")),
              HasSubstr("missing.gguf"));
}

} // namespace
