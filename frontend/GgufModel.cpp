//===- GgufModel.cpp - A llama GGUF file as a model -----------------------===//

#include "frontend/GgufModel.h"

#include "frontend/LlamaTensors.h"
#include "frontend/TokenizerJson.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cstring>
#include <set>

using namespace llmc;
using llvm::createStringError;
using llvm::Twine;

GgufModel::~GgufModel() = default;

/// The GGUF name of a Hugging Face Llama tensor name ("" for a name llama.cpp
/// does not have).
static std::string ggufName(llvm::StringRef hfName) {
  static const std::pair<const char *, const char *> globals[] = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"},
  };
  for (auto [hf, gguf] : globals)
    if (hfName == hf)
      return gguf;
  static const std::pair<const char *, const char *> perLayer[] = {
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
  llvm::StringRef rest = hfName;
  if (!rest.consume_front("model.layers."))
    return "";
  auto [layer, suffix] = rest.split('.');
  for (auto [hf, gguf] : perLayer)
    if (suffix == hf)
      return ("blk." + layer + "." + gguf).str();
  return "";
}

/// The per-pair RoPE divisors llama.cpp stores for llama3 scaling.
constexpr llvm::StringLiteral kRopeFreqs = "rope_freqs.weight";

/// The ModelSpec of the llama.* keys.
static llvm::Expected<ModelSpec> readSpec(const GgufFile &file) {
  llvm::StringRef path = file.path();
  llvm::Expected<std::optional<llvm::StringRef>> arch =
      file.getString("general.architecture");
  if (!arch)
    return arch.takeError();
  if (!*arch)
    return createStringError(path + ": no 'general.architecture' key");
  if (**arch != "llama")
    return createStringError(path + ": architecture '" + **arch +
                             "' is not supported (llmc reads llama GGUF "
                             "files)");

  ModelSpec spec;
  auto integer = [&](llvm::StringRef key, std::optional<int64_t> fallback,
                     int64_t &out) -> llvm::Error {
    llvm::Expected<std::optional<int64_t>> value =
        file.getInteger(("llama." + key).str());
    if (!value)
      return value.takeError();
    if (!*value && !fallback)
      return createStringError(path + ": no 'llama." + key + "' key");
    out = value->value_or(fallback.value_or(0));
    return llvm::Error::success();
  };
  auto number = [&](llvm::StringRef key, double fallback,
                    double &out) -> llvm::Error {
    llvm::Expected<std::optional<double>> value =
        file.getNumber(("llama." + key).str());
    if (!value)
      return value.takeError();
    out = value->value_or(fallback);
    return llvm::Error::success();
  };

  int64_t experts = 0, keyLength = 0, valueLength = 0, ropeDims = 0;
  if (llvm::Error err = integer("block_count", std::nullopt, spec.numLayers))
    return std::move(err);
  if (llvm::Error err =
          integer("embedding_length", std::nullopt, spec.hiddenSize))
    return std::move(err);
  if (llvm::Error err = integer("feed_forward_length", std::nullopt,
                                spec.intermediateSize))
    return std::move(err);
  if (llvm::Error err =
          integer("context_length", std::nullopt, spec.maxPositions))
    return std::move(err);
  if (llvm::Error err =
          integer("attention.head_count", std::nullopt, spec.numHeads))
    return std::move(err);
  if (llvm::Error err = integer("attention.head_count_kv", spec.numHeads,
                                spec.numKVHeads))
    return std::move(err);
  if (llvm::Error err = integer("expert_count", 0, experts))
    return std::move(err);
  if (experts > 0)
    return createStringError(path + ": a mixture of " + Twine(experts) +
                             " experts is not supported (dense llama only)");
  if (spec.numHeads <= 0 || spec.hiddenSize <= 0)
    return createStringError(path + ": 'llama.attention.head_count' and "
                             "'llama.embedding_length' must be positive");
  if (llvm::Error err = integer("attention.key_length",
                                spec.hiddenSize / spec.numHeads, keyLength))
    return std::move(err);
  if (llvm::Error err =
          integer("attention.value_length", keyLength, valueLength))
    return std::move(err);
  if (valueLength != keyLength)
    return createStringError(path + ": key length " + Twine(keyLength) +
                             " and value length " + Twine(valueLength) +
                             " differ; llmc needs them equal");
  spec.headDim = keyLength;
  if (llvm::Error err = integer("rope.dimension_count", keyLength, ropeDims))
    return std::move(err);
  if (ropeDims != keyLength)
    return createStringError(path + ": RoPE over " + Twine(ropeDims) +
                             " of " + Twine(keyLength) +
                             " head dimensions is not supported (all of "
                             "them only)");
  if (llvm::Error err = number("rope.freq_base", 10000.0, spec.ropeTheta))
    return std::move(err);
  if (llvm::Error err = number("attention.layer_norm_rms_epsilon", 1e-5,
                               spec.rmsNormEps))
    return std::move(err);
  llvm::Expected<std::optional<llvm::StringRef>> scaling =
      file.getString("llama.rope.scaling.type");
  if (!scaling)
    return scaling.takeError();
  if (*scaling && **scaling != "none")
    return createStringError(path + ": RoPE scaling '" + **scaling +
                             "' is not supported (llama3 scaling comes as "
                             "the rope_freqs tensor)");

  // The vocabulary: the key, else the token list, else the embedding.
  llvm::Expected<const GgufValue *> tokens =
      file.getArray("tokenizer.ggml.tokens", GgufValue::Kind::String);
  if (!tokens)
    return tokens.takeError();
  const GgufTensor *embedding = file.findTensor("token_embd.weight");
  int64_t fallbackVocab = *tokens ? int64_t((*tokens)->strings.size())
                          : embedding && embedding->dims.size() == 2
                              ? embedding->dims[1]
                              : 0;
  if (llvm::Error err = integer("vocab_size", fallbackVocab, spec.vocabSize))
    return std::move(err);
  if (*tokens && int64_t((*tokens)->strings.size()) > spec.vocabSize)
    return createStringError(path + ": " +
                             Twine((*tokens)->strings.size()) +
                             " tokens for a vocabulary of " +
                             Twine(spec.vocabSize));

  spec.tiedEmbeddings = file.findTensor("output.weight") == nullptr;
  llvm::Expected<std::optional<llvm::StringRef>> name =
      file.getString("general.name");
  if (!name)
    return name.takeError();
  spec.name =
      name->value_or(llvm::sys::path::stem(path)).str();
  for (auto [key, out] : {std::make_pair("tokenizer.ggml.bos_token_id",
                                         &spec.bosTokenId),
                          std::make_pair("tokenizer.ggml.eos_token_id",
                                         &spec.eosTokenId)}) {
    llvm::Expected<std::optional<int64_t>> id = file.getInteger(key);
    if (!id)
      return id.takeError();
    if (*id && (**id < 0 || **id >= spec.vocabSize))
      return createStringError(path + ": '" + key + "' " + Twine(**id) +
                               " is outside the vocabulary of " +
                               Twine(spec.vocabSize));
    *out = id->value_or(-1);
  }
  // The storage type the model declares: its embedding's when it is a float
  // type, bf16 for quantized files (what their tensors are expanded to
  // unless --weight-type says otherwise).
  spec.dtype = DType::BF16;
  if (embedding && embedding->type == uint32_t(GgmlType::F32))
    spec.dtype = DType::F32;
  else if (embedding && embedding->type == uint32_t(GgmlType::F16))
    spec.dtype = DType::F16;

  if (const GgufTensor *freqs = file.findTensor(kRopeFreqs)) {
    if (freqs->type != uint32_t(GgmlType::F32) || freqs->dims.size() != 1 ||
        freqs->dims[0] != spec.headDim / 2)
      return createStringError(
          path + ": tensor '" + kRopeFreqs + "' must be " +
          Twine(spec.headDim / 2) + " F32 values (head_dim / 2)");
    spec.ropeFreqFactors.resize(spec.headDim / 2);
    std::vector<float> factors(spec.headDim / 2);
    std::memcpy(factors.data(), freqs->data, factors.size() * sizeof(float));
    std::copy(factors.begin(), factors.end(), spec.ropeFreqFactors.begin());
  }
  if (llvm::Error err = spec.validate())
    return createStringError(path + ": " + llvm::toString(std::move(err)));
  return spec;
}

llvm::Error GgufModel::mapTensors() {
  llvm::StringRef path = gguf->path();
  llvm::StringSet<> used;
  used.insert(kRopeFreqs);
  for (const CheckpointTensor &expected : checkpointTensors(modelSpec)) {
    std::string name = ggufName(expected.name);
    const GgufTensor *tensor = gguf->findTensor(name);
    if (!tensor)
      return createStringError(path + ": no tensor '" + name + "' (" +
                               expected.name + ")");
    used.insert(name);
    std::optional<GgmlBlock> block = ggmlBlock(tensor->type);
    if (!block)
      return createStringError(
          path + ": tensor '" + name + "' has type " +
          ggmlTypeName(tensor->type) +
          ", which llmc does not read (F32, F16, BF16, Q8_0, Q4_0, Q4_K "
          "and Q6_K are read)");
    std::vector<int64_t> shape(tensor->dims.rbegin(), tensor->dims.rend());
    if (shape != expected.shape) {
      auto show = [](llvm::ArrayRef<int64_t> dims) {
        std::string text;
        for (int64_t dim : dims)
          text += (text.empty() ? "" : " x ") + std::to_string(dim);
        return text;
      };
      return createStringError(path + ": tensor '" + name + "' is " +
                               show(shape) + " (rows x columns), the model's "
                               "hyperparameters need " +
                               show(expected.shape));
    }
    Served &entry = served[expected.name];
    entry.tensor = tensor;
    entry.shape = std::move(shape);
    llvm::StringRef suffix = llvm::StringRef(name).rsplit('.').first;
    if (suffix.ends_with(".attn_q"))
      entry.permuteHeads = modelSpec.numHeads;
    else if (suffix.ends_with(".attn_k"))
      entry.permuteHeads = modelSpec.numKVHeads;
  }
  for (const GgufTensor &tensor : gguf->tensors())
    if (!used.contains(tensor.name))
      return createStringError(
          path + ": tensor '" + tensor.name + "' is in the file but the " +
          "llama model llmc builds does not use it; refusing to ignore it");
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<GgufModel>>
GgufModel::open(llvm::StringRef path) {
  llvm::Expected<std::unique_ptr<GgufFile>> file = GgufFile::open(path);
  if (!file)
    return file.takeError();
  return fromFile(std::move(*file));
}

llvm::Expected<std::unique_ptr<GgufModel>>
GgufModel::fromFile(std::unique_ptr<GgufFile> file) {
  std::unique_ptr<GgufModel> model(new GgufModel());
  model->gguf = std::move(file);
  if (llvm::Error err = readSpec(*model->gguf).moveInto(model->modelSpec))
    return std::move(err);
  if (llvm::Error err = model->mapTensors())
    return std::move(err);
  return std::move(model);
}

const TensorView *GgufModel::find(llvm::StringRef name) const {
  auto it = served.find(name);
  if (it == served.end())
    return nullptr;
  const Served &entry = it->second;
  if (entry.view)
    return entry.view.get();

  const GgufTensor &tensor = *entry.tensor;
  auto view = std::make_unique<TensorView>();
  view->name = name.str();
  view->file = gguf->path().str();
  view->shape = entry.shape;
  GgmlType type = static_cast<GgmlType>(tensor.type);
  bool quantized = isQuantized(type);
  view->dtype = type == GgmlType::F16    ? DType::F16
                : type == GgmlType::BF16 ? DType::BF16
                                         : DType::F32;
  if (!quantized && !entry.permuteHeads) {
    view->data = tensor.data;
    view->bytes = tensor.bytes;
    entry.view = std::move(view);
    return entry.view.get();
  }

  // Rows in Hugging Face order, expanded to f32 when quantized. llama.cpp
  // stores row h * d + 2 i + s of a q or k head (d = head_dim) where
  // Hugging Face has row h * d + s * d / 2 + i.
  int64_t cols = tensor.dims[0];
  int64_t rows = tensor.numElements() / cols;
  std::optional<GgmlBlock> block = ggmlBlock(tensor.type);
  int64_t storedRowBytes = cols / block->elements * block->bytes;
  int64_t rowBytes = quantized ? cols * int64_t(sizeof(float))
                               : storedRowBytes;
  entry.owned.resize(rows * rowBytes);
  int64_t headDim = entry.permuteHeads ? rows / entry.permuteHeads : 0;
  for (int64_t row = 0; row < rows; ++row) {
    int64_t from = row;
    if (entry.permuteHeads) {
      int64_t head = row / headDim, j = row % headDim;
      int64_t half = headDim / 2;
      from = head * headDim + 2 * (j % half) + j / half;
    }
    const uint8_t *src = tensor.data + from * storedRowBytes;
    uint8_t *dst = entry.owned.data() + row * rowBytes;
    if (quantized)
      dequantizeGgml(type, src, cols, reinterpret_cast<float *>(dst));
    else
      std::memcpy(dst, src, rowBytes);
  }
  view->data = entry.owned.data();
  view->bytes = entry.owned.size();
  entry.view = std::move(view);
  return entry.view.get();
}

void GgufModel::release(llvm::StringRef name) const {
  auto it = served.find(name);
  if (it == served.end() || it->second.owned.empty())
    return;
  it->second.view.reset();
  std::vector<uint8_t>().swap(it->second.owned);
}

std::string GgufModel::typeName(llvm::StringRef name) const {
  auto it = served.find(name);
  return it == served.end() ? std::string()
                            : ggmlTypeName(it->second.tensor->type);
}

std::vector<std::string> GgufModel::quantizedTypes() const {
  std::set<uint32_t> types;
  for (const auto &entry : served)
    if (isQuantized(static_cast<GgmlType>(entry.second.tensor->type)))
      types.insert(entry.second.tensor->type);
  std::vector<std::string> names;
  for (uint32_t type : types)
    names.push_back(ggmlTypeName(type));
  return names;
}

llvm::Expected<std::string> GgufModel::compileTokenizer() const {
  const GgufFile &file = *gguf;
  llvm::StringRef path = file.path();
  llvm::Expected<const GgufValue *> tokens =
      file.getArray("tokenizer.ggml.tokens", GgufValue::Kind::String);
  if (!tokens)
    return tokens.takeError();
  if (!*tokens)
    return std::string(); // No tokenizer: the executable reads token ids.

  llvm::Expected<std::optional<llvm::StringRef>> model =
      file.getString("tokenizer.ggml.model");
  if (!model)
    return model.takeError();
  if (!*model || **model != "gpt2")
    return createStringError(
        path + ": tokenizer model '" + model->value_or("(none)") +
        "' is not supported (llmc reads byte-level BPE, 'gpt2', tokenizers)");
  llvm::Expected<std::optional<llvm::StringRef>> pre =
      file.getString("tokenizer.ggml.pre");
  if (!pre)
    return pre.takeError();
  llvm::StringRef preName = pre->value_or("(none)");
  if (preName != "llama-bpe" && preName != "llama3" && preName != "llama-v3")
    return createStringError(path + ": pre-tokenizer '" + preName +
                             "' is not supported (only the Llama 3 split, "
                             "'llama-bpe')");
  llvm::Expected<const GgufValue *> types =
      file.getArray("tokenizer.ggml.token_type", GgufValue::Kind::Int64);
  if (!types)
    return types.takeError();
  llvm::Expected<const GgufValue *> merges =
      file.getArray("tokenizer.ggml.merges", GgufValue::Kind::String);
  if (!merges)
    return merges.takeError();
  if (!*merges)
    return createStringError(path + ": no 'tokenizer.ggml.merges' (a BPE "
                             "tokenizer needs its merges)");

  BpeVocabulary vocabulary;
  vocabulary.tokens = (*tokens)->strings;
  vocabulary.merges = (*merges)->strings;
  vocabulary.ignoreMerges = true; // As Llama 3's tokenizer.json says.
  vocabulary.added.assign(vocabulary.tokens.size(), false);
  if (*types) {
    if ((*types)->integers.size() != vocabulary.tokens.size())
      return createStringError(
          path + ": 'tokenizer.ggml.token_type' has " +
          Twine((*types)->integers.size()) + " entries for " +
          Twine(vocabulary.tokens.size()) + " tokens");
    // llama.cpp's token types: 3 control, 4 user-defined tokens are matched
    // as whole text, like tokenizer.json's added tokens.
    for (auto [id, type] : llvm::enumerate((*types)->integers))
      vocabulary.added[id] = type == 3 || type == 4;
  }
  llvm::Expected<std::string> image = compileBpeVocabulary(vocabulary);
  if (!image)
    return createStringError(path + ": tokenizer: " +
                             llvm::toString(image.takeError()));
  return image;
}
