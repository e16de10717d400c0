//===- MakeGguf.cpp - llmc-make-gguf: a Hugging Face model as GGUF --------===//
//
// Test code only. Writes a Hugging Face Llama directory (config.json,
// safetensors, tokenizer.json) as a llama GGUF file the way llama.cpp's
// converter lays one out: llama.* hyperparameters, rope_freqs for llama3
// scaling, tokenizer.ggml.* from tokenizer.json, the q and k rows
// interleaved per head, norms in F32 and the matrices in the chosen type.
//
//   llmc-make-gguf HF_DIR -o OUT.gguf [--type q4_k] [--alignment 64]
//
//===----------------------------------------------------------------------===//

#include "GgufWriter.h"

#include "frontend/LlamaTensors.h"
#include "frontend/ModelSpec.h"
#include "frontend/Weights.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <map>

using namespace llmc;
using namespace llmc::test;
namespace cl = llvm::cl;

static cl::opt<std::string> modelDir(cl::Positional, cl::Required,
                                     cl::desc("<hf model dir>"));
static cl::opt<std::string> outputPath("o", cl::Required,
                                       cl::desc("Output .gguf file"));
static cl::opt<std::string>
    typeName("type", cl::init("f32"),
             cl::desc("Matrix type: f32, f16, bf16, q8_0, q4_0, q4_k, q6_k, "
                      "or mixed (Q6_K for the embedding, the lm_head and "
                      "some layers' attn_v and ffn_down, Q4_K elsewhere, as "
                      "Q4_K_M does; Q8_0 where a row is not whole "
                      "256-blocks)"));
static cl::opt<std::string> embeddingTypeName(
    "embedding-type",
    cl::desc("Type of token_embd and output (default: --type's), e.g. q6_k "
             "as llama.cpp's Q4_0 and Q8_0 files keep them"));
static cl::opt<unsigned> alignment("alignment", cl::init(32),
                                   cl::desc("general.alignment"));
static cl::opt<unsigned> ggufVersion("gguf-version", cl::init(3),
                                 cl::desc("GGUF version to write"));
static cl::opt<bool> noTokenizer("no-tokenizer",
                                 cl::desc("Leave tokenizer.ggml.* out"));

static int fail(const llvm::Twine &message) {
  llvm::errs() << "llmc-make-gguf: " << message << "\n";
  return 1;
}

/// llama.cpp's token types.
enum TokenType : int32_t { kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5 };

/// tokenizer.json as tokenizer.ggml.* lists.
static llvm::Error addTokenizer(GgufWriter &gguf, llvm::StringRef path,
                                int64_t vocabSize) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return llvm::createStringError(path + ": cannot read");
  llvm::Expected<llvm::json::Value> root =
      llvm::json::parse((*buffer)->getBuffer());
  if (!root)
    return root.takeError();
  const llvm::json::Object *model = root->getAsObject()->getObject("model");
  std::vector<std::string> tokens(vocabSize);
  std::vector<int32_t> types(vocabSize, kUnused);
  for (int64_t i = 0; i < vocabSize; ++i)
    tokens[i] = "[PAD" + std::to_string(i) + "]";
  for (const auto &entry : *model->getObject("vocab")) {
    int64_t id = *entry.second.getAsInteger();
    if (id >= vocabSize)
      return llvm::createStringError("token id beyond the vocabulary");
    tokens[id] = entry.first.str();
    types[id] = kNormal;
  }
  if (const llvm::json::Array *added = root->getAsObject()->getArray("added_tokens"))
    for (const llvm::json::Value &token : *added) {
      const llvm::json::Object *object = token.getAsObject();
      int64_t id = *object->getInteger("id");
      if (id >= vocabSize)
        return llvm::createStringError("added token id beyond the vocabulary");
      tokens[id] = object->getString("content")->str();
      types[id] =
          object->getBoolean("special").value_or(false) ? kControl : kUserDefined;
    }
  std::vector<std::string> merges;
  for (const llvm::json::Value &merge : *model->getArray("merges")) {
    if (std::optional<llvm::StringRef> text = merge.getAsString())
      merges.push_back(text->str());
    else
      merges.push_back((*(*merge.getAsArray())[0].getAsString() + " " +
                        *(*merge.getAsArray())[1].getAsString())
                           .str());
  }
  gguf.setString("tokenizer.ggml.model", "gpt2");
  gguf.setString("tokenizer.ggml.pre", "llama-bpe");
  gguf.setStrings("tokenizer.ggml.tokens", tokens);
  gguf.setI32s("tokenizer.ggml.token_type", types);
  gguf.setStrings("tokenizer.ggml.merges", merges);
  return llvm::Error::success();
}

/// The divisors llama.cpp's converter stores for llama3 scaling, in f32
/// arithmetic as it computes them.
static std::vector<float> ropeFactors(const ModelSpec &spec) {
  const RopeScaling &s = spec.ropeScaling;
  std::vector<float> factors;
  float lowWavelen = float(s.originalMaxPositions) / float(s.lowFreqFactor);
  float highWavelen = float(s.originalMaxPositions) / float(s.highFreqFactor);
  for (int64_t i = 0; i < spec.headDim; i += 2) {
    float freq = 1.0f / std::pow(float(spec.ropeTheta),
                                 float(i) / float(spec.headDim));
    float wavelen = (1.0f / freq) * float(2 * M_PI);
    if (wavelen < highWavelen) {
      factors.push_back(1.0f);
    } else if (wavelen > lowWavelen) {
      factors.push_back(float(s.factor));
    } else {
      float smooth = ((1.0f / wavelen) * float(s.originalMaxPositions) -
                      float(s.lowFreqFactor)) /
                     float(s.highFreqFactor - s.lowFreqFactor);
      factors.push_back(1.0f / ((1.0f - smooth) / float(s.factor) + smooth));
    }
  }
  return factors;
}

static std::optional<uint32_t> parseType(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<uint32_t>>(name)
      .Case("f32", kF32)
      .Case("f16", kF16)
      .Case("bf16", kBF16)
      .Case("q8_0", kQ8_0)
      .Case("q4_0", kQ4_0)
      .Case("q4_k", kQ4_K)
      .Case("q6_k", kQ6_K)
      .Case("mixed", kQ4_K)
      .Default(std::nullopt);
}

int main(int argc, char **argv) {
  cl::ParseCommandLineOptions(argc, argv, "Writes a HF Llama model as GGUF\n");
  std::optional<uint32_t> matrixType = parseType(typeName);
  if (!matrixType)
    return fail("unknown --type " + typeName);
  bool mixed = typeName == "mixed";
  std::optional<uint32_t> embeddingType;
  if (!embeddingTypeName.empty()) {
    embeddingType = parseType(embeddingTypeName);
    if (!embeddingType || embeddingTypeName == "mixed")
      return fail("unknown --embedding-type " + embeddingTypeName);
  }

  llvm::SmallString<256> configPath(modelDir);
  llvm::sys::path::append(configPath, "config.json");
  llvm::Expected<ModelSpec> spec = loadHFConfig(configPath);
  if (!spec)
    return fail(llvm::toString(spec.takeError()));
  llvm::Expected<std::unique_ptr<WeightStore>> store = WeightStore::open(modelDir);
  if (!store)
    return fail(llvm::toString(store.takeError()));

  GgufWriter gguf;
  gguf.setString("general.architecture", "llama");
  gguf.setString("general.name", spec->name);
  gguf.setU32("llama.block_count", spec->numLayers);
  gguf.setU32("llama.context_length", spec->maxPositions);
  gguf.setU32("llama.embedding_length", spec->hiddenSize);
  gguf.setU32("llama.feed_forward_length", spec->intermediateSize);
  gguf.setU32("llama.attention.head_count", spec->numHeads);
  gguf.setU32("llama.attention.head_count_kv", spec->numKVHeads);
  gguf.setF32("llama.rope.freq_base", float(spec->ropeTheta));
  gguf.setF32("llama.attention.layer_norm_rms_epsilon",
              float(spec->rmsNormEps));
  gguf.setU32("llama.attention.key_length", spec->headDim);
  gguf.setU32("llama.attention.value_length", spec->headDim);
  gguf.setU32("llama.vocab_size", spec->vocabSize);
  gguf.setU32("llama.rope.dimension_count", spec->headDim);
  if (spec->bosTokenId >= 0)
    gguf.setU32("tokenizer.ggml.bos_token_id", spec->bosTokenId);
  if (spec->eosTokenId >= 0)
    gguf.setU32("tokenizer.ggml.eos_token_id", spec->eosTokenId);
  llvm::SmallString<256> tokenizerPath(modelDir);
  llvm::sys::path::append(tokenizerPath, "tokenizer.json");
  if (!noTokenizer && llvm::sys::fs::exists(tokenizerPath))
    if (llvm::Error err = addTokenizer(gguf, tokenizerPath, spec->vocabSize))
      return fail(llvm::toString(std::move(err)));

  static const std::map<std::string, std::string> perLayer = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},
      {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"},
  };
  for (const CheckpointTensor &tensor : checkpointTensors(*spec)) {
    std::string name;
    int64_t layerIndex = -1;
    llvm::StringRef hf = tensor.name;
    if (hf == "model.embed_tokens.weight")
      name = "token_embd.weight";
    else if (hf == "model.norm.weight")
      name = "output_norm.weight";
    else if (hf == "lm_head.weight")
      name = "output.weight";
    else {
      llvm::StringRef rest = hf.drop_front(strlen("model.layers."));
      auto [layer, suffix] = rest.split('.');
      name = ("blk." + layer + "." + perLayer.at(suffix.str())).str();
      if (layer.getAsInteger(10, layerIndex))
        layerIndex = -1;
    }
    const TensorView *view = (*store)->find(hf);
    int64_t rows = tensor.shape[0];
    int64_t cols = tensor.shape.size() == 2 ? tensor.shape[1] : 1;
    std::vector<float> values(view->numElements());
    // llama.cpp's converter interleaves each q and k head: Hugging Face
    // row h * d + s * d / 2 + i becomes row h * d + 2 i + s.
    int64_t heads = llvm::StringRef(name).ends_with("attn_q.weight")
                        ? spec->numHeads
                    : llvm::StringRef(name).ends_with("attn_k.weight")
                        ? spec->numKVHeads
                        : 0;
    for (int64_t row = 0; row < rows; ++row) {
      int64_t to = row;
      if (heads) {
        int64_t d = rows / heads, h = row / d, j = row % d;
        to = h * d + 2 * (j % (d / 2)) + j / (d / 2);
      }
      for (int64_t c = 0; c < cols; ++c)
        values[to * cols + c] = view->at(row * cols + c);
    }
    uint32_t type = kF32;
    if (!tensor.isNorm) {
      type = *matrixType;
      // As llama.cpp's Q4_K_M: attn_v and ffn_down in Q6_K for the first
      // and last eighth of the layers and every third between, Q4_K in the
      // others.
      int64_t n = spec->numLayers, eighth = n / 8;
      bool moreBits = layerIndex >= 0 &&
                      (layerIndex < eighth || layerIndex >= 7 * n / 8 ||
                       (layerIndex - eighth) % 3 == 2);
      if (mixed && (name == "token_embd.weight" || name == "output.weight" ||
                    (moreBits && (name.find("attn_v") != std::string::npos ||
                                  name.find("ffn_down") != std::string::npos))))
        type = kQ6_K;
      if (embeddingType &&
          (name == "token_embd.weight" || name == "output.weight"))
        type = *embeddingType;
      if (cols % ggmlBlockElements(type) != 0) {
        if (!mixed)
          return fail(name + ": rows of " + std::to_string(cols) +
                      " are not whole blocks of " + typeName);
        type = kQ8_0;
      }
    }
    std::vector<int64_t> dims(tensor.shape.rbegin(), tensor.shape.rend());
    gguf.addTensor(name, type, dims,
                   encodeGgml(type, values.data(), values.size()));
  }
  if (spec->ropeScaling.enabled) {
    std::vector<float> factors = ropeFactors(*spec);
    gguf.addTensor("rope_freqs.weight", kF32, {int64_t(factors.size())},
                   encodeGgml(kF32, factors.data(), factors.size()));
  }

  std::error_code error;
  llvm::raw_fd_ostream out(outputPath, error);
  if (error)
    return fail(outputPath + ": " + error.message());
  out << gguf.write(ggufVersion, alignment);
  return 0;
}
