//===- Reference.cpp - Independent float64 forward pass of a Llama model --===//
//
// `llmc-reference`: the ground truth the whole project is checked against. It
// reads a Hugging Face model directory with its own config.json and
// safetensors readers and its own bf16/f16 decoding (or a llama GGUF file
// with its own GGUF reader and dequantizer), and runs the textbook
// Llama forward pass over every position at once, in float64, with no KV
// cache, no fusion and no packing: it shares no code with the compiler, so
// one bug cannot pass both sides. It follows Hugging Face's
// LlamaForCausalLM: RMSNorm, rotate-half RoPE (with llama3 frequency
// scaling), causal GQA attention, SwiGLU MLP, tied or untied lm_head.
//
//===----------------------------------------------------------------------===//

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/EndianStream.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace {

llvm::cl::OptionCategory referenceCategory("llmc-reference options");

llvm::cl::opt<std::string> modelDir(llvm::cl::Positional, llvm::cl::Required,
                                    llvm::cl::desc("<Hugging Face model dir or model.gguf>"),
                                    llvm::cl::cat(referenceCategory));
llvm::cl::opt<std::string>
    tokensOpt("tokens", llvm::cl::Required,
              llvm::cl::desc("Comma-separated input token ids"),
              llvm::cl::cat(referenceCategory));
llvm::cl::opt<std::string>
    logitsOut("logits-out",
              llvm::cl::desc("Write the float32 logits of every input "
                             "position here, row-major [tokens, vocab]"),
              llvm::cl::cat(referenceCategory));
llvm::cl::opt<unsigned> numGenerate(
    "generate", llvm::cl::init(0),
    llvm::cl::desc("Greedily generate this many tokens after the input and "
                   "print their ids, comma-separated, on stdout"),
    llvm::cl::cat(referenceCategory));
/// Worker threads (0: one per core). `--threads N` is parsed by hand because
/// libLLVM already registers a global `-threads` option of its own.
unsigned numThreads = 0;

/// A weight matrix converted to float64, row-major [rows, cols] as stored by
/// Hugging Face ([out, in] for projections).
struct Matrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<double> data;
  const double *row(int64_t r) const { return data.data() + r * cols; }
};

struct Layer {
  std::vector<double> inputNorm, postAttentionNorm;
  Matrix q, k, v, o, gate, up, down;
};

/// What the reference reads from config.json, on its own: sharing the
/// compiler's parser would let one bug pass both sides.
struct Config {
  int64_t vocabSize = 0, hiddenSize = 0, intermediateSize = 0, numLayers = 0;
  int64_t numHeads = 0, numKVHeads = 0, headDim = 0;
  double rmsNormEps = 0, ropeTheta = 10000.0;
  bool tiedEmbeddings = false;
  struct {
    bool enabled = false;
    double factor = 1, lowFreqFactor = 1, highFreqFactor = 4;
    int64_t originalMaxPositions = 8192;
  } ropeScaling;
};

struct Model {
  Config spec;
  Matrix embed;
  std::vector<Layer> layers;
  std::vector<double> finalNorm;
  Matrix lmHead; ///< empty when tied to `embed`
  std::vector<double> invFreq;

  const Matrix &head() const { return spec.tiedEmbeddings ? embed : lmHead; }
};

unsigned threadCount() {
  if (numThreads > 0)
    return numThreads;
  return std::max(1u, std::thread::hardware_concurrency());
}

/// Runs fn(begin, end) on contiguous slices of [0, count) across the workers.
template <typename Fn> void parallelFor(int64_t count, Fn fn) {
  int64_t workers = std::min<int64_t>(threadCount(), count);
  if (workers <= 1) {
    fn(int64_t(0), count);
    return;
  }
  std::vector<std::thread> pool;
  for (int64_t w = 0; w < workers; ++w) {
    int64_t begin = count * w / workers, end = count * (w + 1) / workers;
    pool.emplace_back([=] { fn(begin, end); });
  }
  for (std::thread &t : pool)
    t.join();
}

/// One stored tensor: its element type, shape and bytes.
struct Stored {
  std::string dtype;
  std::vector<int64_t> shape;
  const uint8_t *data = nullptr;

  /// Element `i` as a double, decoded here (not by the compiler's code).
  double at(int64_t i) const {
    if (dtype == "F32") {
      uint32_t bits = llvm::support::endian::read32le(data + 4 * i);
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    }
    uint16_t h = llvm::support::endian::read16le(data + 2 * i);
    if (dtype == "BF16") {
      uint32_t bits = uint32_t(h) << 16;
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    }
    // F16: sign, 5-bit exponent, 10-bit mantissa.
    int exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    double sign = (h & 0x8000) ? -1.0 : 1.0;
    if (exponent == 0)
      return sign * std::ldexp(mantissa, -24);
    if (exponent == 31)
      return mantissa ? NAN : sign * INFINITY;
    return sign * std::ldexp(1024 + mantissa, exponent - 25);
  }
};

/// The safetensors files of a model directory (model.safetensors, or the
/// shards of model.safetensors.index.json), read by the reference's own
/// parser.
class Checkpoint {
public:
  llvm::Error open(llvm::StringRef dir) {
    llvm::SmallString<256> single(dir), index(dir);
    llvm::sys::path::append(single, "model.safetensors");
    llvm::sys::path::append(index, "model.safetensors.index.json");
    if (llvm::sys::fs::exists(single))
      return addFile(single);
    llvm::Expected<llvm::json::Value> json = readJson(index);
    if (!json)
      return json.takeError();
    const llvm::json::Object *map =
        json->getAsObject() ? json->getAsObject()->getObject("weight_map")
                            : nullptr;
    if (!map)
      return llvm::createStringError(index + ": no weight_map");
    std::vector<std::string> files;
    for (const auto &entry : *map)
      if (std::optional<llvm::StringRef> file = entry.second.getAsString())
        if (llvm::find(files, file->str()) == files.end())
          files.push_back(file->str());
    for (const std::string &file : files) {
      llvm::SmallString<256> path(dir);
      llvm::sys::path::append(path, file);
      if (llvm::Error err = addFile(path))
        return err;
    }
    return llvm::Error::success();
  }

  llvm::Expected<const Stored *> get(llvm::StringRef name,
                                     llvm::ArrayRef<int64_t> shape) const {
    auto it = tensors.find(name);
    if (it == tensors.end())
      return llvm::createStringError("missing tensor '" + name + "'");
    if (llvm::ArrayRef<int64_t>(it->second.shape) != shape)
      return llvm::createStringError("tensor '" + name +
                                     "' has an unexpected shape");
    return &it->second;
  }

  static llvm::Expected<llvm::json::Value> readJson(llvm::StringRef path) {
    auto buffer = llvm::MemoryBuffer::getFile(path);
    if (!buffer)
      return llvm::createStringError(path + ": " + buffer.getError().message());
    return llvm::json::parse((*buffer)->getBuffer());
  }

private:
  llvm::Error addFile(llvm::StringRef path) {
    auto buffer = llvm::MemoryBuffer::getFile(path, false, false);
    if (!buffer)
      return llvm::createStringError(path + ": " + buffer.getError().message());
    llvm::StringRef bytes = (*buffer)->getBuffer();
    if (bytes.size() < 8)
      return llvm::createStringError(path + ": truncated");
    uint64_t headerSize = llvm::support::endian::read64le(bytes.data());
    if (headerSize > bytes.size() - 8)
      return llvm::createStringError(path + ": truncated header");
    llvm::Expected<llvm::json::Value> header =
        llvm::json::parse(bytes.substr(8, headerSize));
    if (!header)
      return header.takeError();
    const auto *data =
        reinterpret_cast<const uint8_t *>(bytes.data()) + 8 + headerSize;
    uint64_t dataSize = bytes.size() - 8 - headerSize;
    for (const auto &entry : *header->getAsObject()) {
      const llvm::json::Object *info = entry.second.getAsObject();
      if (entry.first == "__metadata__" || !info)
        continue;
      Stored t;
      t.dtype = info->getString("dtype").value_or("").str();
      int64_t count = 1;
      for (const llvm::json::Value &dim : *info->getArray("shape")) {
        t.shape.push_back(*dim.getAsInteger());
        count *= t.shape.back();
      }
      const llvm::json::Array *offsets = info->getArray("data_offsets");
      uint64_t begin = uint64_t(*(*offsets)[0].getAsInteger());
      uint64_t end = uint64_t(*(*offsets)[1].getAsInteger());
      uint64_t width = t.dtype == "F32" ? 4 : 2;
      if (end > dataSize || end - begin != uint64_t(count) * width ||
          (t.dtype != "F32" && t.dtype != "BF16" && t.dtype != "F16"))
        return llvm::createStringError(path + ": bad tensor '" +
                                       llvm::StringRef(entry.first) + "'");
      t.data = data + begin;
      tensors[entry.first] = std::move(t);
    }
    buffers.push_back(std::move(*buffer));
    return llvm::Error::success();
  }

  std::vector<std::unique_ptr<llvm::MemoryBuffer>> buffers;
  llvm::StringMap<Stored> tensors;
};

llvm::Expected<std::vector<double>>
readVector(const Checkpoint &store, llvm::StringRef name, int64_t size) {
  llvm::Expected<const Stored *> t = store.get(name, {size});
  if (!t)
    return t.takeError();
  std::vector<double> out(size);
  for (int64_t i = 0; i < size; ++i)
    out[i] = (*t)->at(i);
  return out;
}

llvm::Expected<Matrix> readMatrix(const Checkpoint &store, llvm::StringRef name,
                                  int64_t rows, int64_t cols) {
  llvm::Expected<const Stored *> t = store.get(name, {rows, cols});
  if (!t)
    return t.takeError();
  Matrix m;
  m.rows = rows;
  m.cols = cols;
  m.data.resize(rows * cols);
  const Stored *view = *t;
  parallelFor(rows, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin * cols; i < end * cols; ++i)
      m.data[i] = view->at(i);
  });
  return m;
}

/// config.json's fields, with Hugging Face's defaults.
llvm::Expected<Config> readConfig(llvm::StringRef path) {
  llvm::Expected<llvm::json::Value> json = Checkpoint::readJson(path);
  if (!json)
    return json.takeError();
  const llvm::json::Object *root = json->getAsObject();
  if (!root)
    return llvm::createStringError(path + ": not an object");
  Config c;
  auto integer = [&](llvm::StringRef key, int64_t fallback) {
    return root->getInteger(key).value_or(fallback);
  };
  c.vocabSize = integer("vocab_size", 0);
  c.hiddenSize = integer("hidden_size", 0);
  c.intermediateSize = integer("intermediate_size", 0);
  c.numLayers = integer("num_hidden_layers", 0);
  c.numHeads = integer("num_attention_heads", 1);
  c.numKVHeads = integer("num_key_value_heads", c.numHeads);
  c.headDim = integer("head_dim", c.hiddenSize / c.numHeads);
  c.rmsNormEps = root->getNumber("rms_norm_eps").value_or(1e-6);
  c.ropeTheta = root->getNumber("rope_theta").value_or(10000.0);
  c.tiedEmbeddings = root->getBoolean("tie_word_embeddings").value_or(false);
  if (const llvm::json::Object *rope = root->getObject("rope_scaling")) {
    std::optional<llvm::StringRef> type = rope->getString("rope_type");
    if (!type)
      type = rope->getString("type");
    c.ropeScaling.enabled = type && *type == "llama3";
    c.ropeScaling.factor = rope->getNumber("factor").value_or(1);
    c.ropeScaling.lowFreqFactor =
        rope->getNumber("low_freq_factor").value_or(1);
    c.ropeScaling.highFreqFactor =
        rope->getNumber("high_freq_factor").value_or(4);
    c.ropeScaling.originalMaxPositions =
        rope->getInteger("original_max_position_embeddings").value_or(8192);
  }
  if (c.vocabSize <= 0 || c.hiddenSize <= 0 || c.numLayers <= 0 ||
      c.intermediateSize <= 0 || c.numKVHeads <= 0 || c.headDim <= 0)
    return llvm::createStringError(path + ": missing sizes");
  return c;
}

/// HF's default RoPE frequencies, then `_compute_llama3_parameters` when the
/// model asks for llama3 scaling.
std::vector<double> ropeFrequencies(const Config &spec) {
  int64_t half = spec.headDim / 2;
  std::vector<double> invFreq(half);
  for (int64_t i = 0; i < half; ++i)
    invFreq[i] = std::pow(spec.ropeTheta, -2.0 * double(i) / spec.headDim);
  const auto &s = spec.ropeScaling;
  if (!s.enabled)
    return invFreq;
  double orig = double(s.originalMaxPositions);
  double lowFreqWavelen = orig / s.lowFreqFactor;
  double highFreqWavelen = orig / s.highFreqFactor;
  for (double &f : invFreq) {
    double wavelen = 2.0 * M_PI / f;
    if (wavelen > lowFreqWavelen) {
      f = f / s.factor;
    } else if (wavelen >= highFreqWavelen) {
      double smooth = (orig / wavelen - s.lowFreqFactor) /
                      (s.highFreqFactor - s.lowFreqFactor);
      f = (1.0 - smooth) * f / s.factor + smooth * f;
    }
  }
  return invFreq;
}

/// Assigns or returns the error from the enclosing function.
#define LLMC_READ(dst, expr)                                                   \
  do {                                                                         \
    auto value = (expr);                                                       \
    if (!value)                                                                \
      return value.takeError();                                                \
    dst = std::move(*value);                                                   \
  } while (false)

llvm::Expected<Model> loadModel(llvm::StringRef dir) {
  llvm::SmallString<256> configPath(dir);
  llvm::sys::path::append(configPath, "config.json");
  llvm::Expected<Config> spec = readConfig(configPath);
  if (!spec)
    return spec.takeError();
  Checkpoint ws;
  if (llvm::Error err = ws.open(dir))
    return std::move(err);

  Model m;
  m.spec = *spec;
  const Config &s = m.spec;
  int64_t qDim = s.numHeads * s.headDim, kvDim = s.numKVHeads * s.headDim;


  LLMC_READ(m.embed, readMatrix(ws, "model.embed_tokens.weight", s.vocabSize,
                                s.hiddenSize));
  m.layers.resize(s.numLayers);
  for (int64_t l = 0; l < s.numLayers; ++l) {
    Layer &L = m.layers[l];
    auto name = [&](const char *suffix) {
      return "model.layers." + std::to_string(l) + "." + suffix;
    };
    LLMC_READ(L.inputNorm,
              readVector(ws, name("input_layernorm.weight"), s.hiddenSize));
    LLMC_READ(
        L.postAttentionNorm,
        readVector(ws, name("post_attention_layernorm.weight"), s.hiddenSize));
    LLMC_READ(L.q, readMatrix(ws, name("self_attn.q_proj.weight"), qDim,
                              s.hiddenSize));
    LLMC_READ(L.k, readMatrix(ws, name("self_attn.k_proj.weight"), kvDim,
                              s.hiddenSize));
    LLMC_READ(L.v, readMatrix(ws, name("self_attn.v_proj.weight"), kvDim,
                              s.hiddenSize));
    LLMC_READ(L.o, readMatrix(ws, name("self_attn.o_proj.weight"), s.hiddenSize,
                              qDim));
    LLMC_READ(L.gate, readMatrix(ws, name("mlp.gate_proj.weight"),
                                 s.intermediateSize, s.hiddenSize));
    LLMC_READ(L.up, readMatrix(ws, name("mlp.up_proj.weight"),
                               s.intermediateSize, s.hiddenSize));
    LLMC_READ(L.down, readMatrix(ws, name("mlp.down_proj.weight"), s.hiddenSize,
                                 s.intermediateSize));
  }
  LLMC_READ(m.finalNorm, readVector(ws, "model.norm.weight", s.hiddenSize));
  if (!s.tiedEmbeddings)
    LLMC_READ(m.lmHead,
              readMatrix(ws, "lm_head.weight", s.vocabSize, s.hiddenSize));
  m.invFreq = ropeFrequencies(s);
  return m;
}

//===----------------------------------------------------------------------===//
// GGUF: the reference's own reader and dequantizer
//===----------------------------------------------------------------------===//

/// A GGUF file read by the reference: the integer and float metadata it
/// needs and the tensors. Written from the GGUF specification apart from the
/// compiler's reader (frontend/Gguf.cpp).
class GgufReader {
public:
  struct Tensor {
    uint32_t type = 0;
    std::vector<int64_t> dims; ///< ggml order, contiguous first
    const uint8_t *data = nullptr;
  };

  llvm::Error open(llvm::StringRef path) {
    auto buffer = llvm::MemoryBuffer::getFile(path, false, false);
    if (!buffer)
      return llvm::createStringError(path + ": " + buffer.getError().message());
    file = std::move(*buffer);
    at = reinterpret_cast<const uint8_t *>(file->getBufferStart());
    end = reinterpret_cast<const uint8_t *>(file->getBufferEnd());
    const uint8_t *start = at;
    if (!take(4) || std::memcmp(start, "GGUF", 4) != 0)
      return llvm::createStringError(path + ": not GGUF");
    uint32_t version = u32();
    uint64_t tensorCount = u64(), valueCount = u64();
    if (version < 2 || version > 3)
      return llvm::createStringError(path + ": unsupported version");
    for (uint64_t i = 0; i < valueCount && ok; ++i) {
      std::string key = str();
      readValue(key, u32());
    }
    std::vector<std::pair<std::string, uint64_t>> offsets;
    for (uint64_t i = 0; i < tensorCount && ok; ++i) {
      std::string name = str();
      Tensor t;
      uint32_t dimCount = u32();
      for (uint32_t d = 0; d < dimCount && ok && d < 8; ++d)
        t.dims.push_back(int64_t(u64()));
      t.type = u32();
      offsets.emplace_back(name, u64());
      tensors[name] = t;
    }
    if (!ok)
      return llvm::createStringError(path + ": truncated");
    uint64_t alignment = uint64_t(integers.lookup("general.alignment"));
    if (alignment == 0)
      alignment = 32;
    uint64_t header = at - start;
    const uint8_t *data = start + (header + alignment - 1) / alignment * alignment;
    for (auto &[name, offset] : offsets) {
      Tensor &t = tensors[name];
      t.data = data + offset;
      int64_t count = 1;
      for (int64_t dim : t.dims)
        count *= dim;
      auto [blockValues, blockBytes] = block(t.type);
      if (blockValues == 0 || data + offset + count / blockValues * blockBytes > end)
        return llvm::createStringError(path + ": bad tensor '" + name + "'");
    }
    return llvm::Error::success();
  }

  /// Values and bytes per block of the types the reference decodes.
  static std::pair<int64_t, int64_t> block(uint32_t type) {
    switch (type) {
    case 0: return {1, 4};      // F32
    case 1: return {1, 2};      // F16
    case 30: return {1, 2};     // BF16
    case 8: return {32, 34};    // Q8_0
    case 2: return {32, 18};    // Q4_0
    case 12: return {256, 144}; // Q4_K
    case 14: return {256, 210}; // Q6_K
    default: return {0, 0};
    }
  }

  /// Element `j` of the row starting at `row`, decoded one value at a time
  /// from the block layouts in the GGUF specification.
  static double element(uint32_t type, const uint8_t *row, int64_t j) {
    auto half = [](const uint8_t *p) {
      Stored s;
      s.dtype = "F16";
      s.data = p;
      return s.at(0);
    };
    switch (type) {
    case 0:
    case 1:
    case 30: {
      Stored s;
      s.dtype = type == 0 ? "F32" : type == 1 ? "F16" : "BF16";
      s.data = row;
      return s.at(j);
    }
    case 8: { // Q8_0: f16 scale, 32 signed bytes.
      const uint8_t *b = row + (j / 32) * 34;
      return half(b) * double(int8_t(b[2 + j % 32]));
    }
    case 2: { // Q4_0: f16 scale, 16 bytes of two nibbles, offset 8.
      const uint8_t *b = row + (j / 32) * 18;
      int i = int(j % 32);
      int q = i < 16 ? (b[2 + i] & 15) : (b[2 + i - 16] >> 4);
      return half(b) * double(q - 8);
    }
    case 12: { // Q4_K: d, dmin, 12 bytes of 6-bit scales/mins, 128 bytes.
      const uint8_t *b = row + (j / 256) * 144;
      int i = int(j % 256), sub = i / 32;
      const uint8_t *s = b + 4;
      int scale, min;
      if (sub < 4) {
        scale = s[sub] & 63;
        min = s[sub + 4] & 63;
      } else {
        scale = (s[sub + 4] & 15) | ((s[sub - 4] >> 6) << 4);
        min = (s[sub + 4] >> 4) | ((s[sub] >> 6) << 4);
      }
      uint8_t byte = b[16 + (i / 64) * 32 + i % 32];
      int q = (sub % 2 == 0) ? (byte & 15) : (byte >> 4);
      return float(float(half(b)) * float(scale)) * float(q) -
             float(float(half(b + 2)) * float(min));
    }
    case 14: { // Q6_K: ql[128], qh[64], int8 scales[16], f16 d.
      const uint8_t *b = row + (j / 256) * 210;
      int i = int(j % 256), h = i / 128, r = i % 128, k = r / 32, l = r % 32;
      uint8_t low = b[64 * h + l + 32 * (k % 2)];
      int lo4 = k < 2 ? (low & 15) : (low >> 4);
      int hi2 = (b[128 + 32 * h + l] >> (2 * k)) & 3;
      int scale = int8_t(b[192 + 8 * h + l / 16 + 2 * k]);
      return float(float(half(b + 208)) * float(scale)) *
             float((lo4 | (hi2 << 4)) - 32);
    }
    }
    return NAN;
  }

  llvm::StringMap<int64_t> integers;
  llvm::StringMap<double> numbers;
  llvm::StringMap<std::string> strings;
  std::map<std::string, Tensor> tensors;

private:
  bool take(uint64_t n) {
    if (!ok || uint64_t(end - at) < n) {
      ok = false;
      return false;
    }
    at += n;
    return true;
  }
  template <typename T> T scalar() {
    T value{};
    if (take(sizeof(T)))
      std::memcpy(&value, at - sizeof(T), sizeof(T));
    return value;
  }
  uint32_t u32() { return scalar<uint32_t>(); }
  uint64_t u64() { return scalar<uint64_t>(); }
  std::string str() {
    uint64_t n = u64();
    if (!take(n))
      return "";
    return std::string(reinterpret_cast<const char *>(at - n), n);
  }
  /// Keeps scalars; skips arrays (the reference needs no tokenizer).
  void readValue(const std::string &key, uint32_t type) {
    switch (type) {
    case 0: integers[key] = scalar<uint8_t>(); return;
    case 1: integers[key] = scalar<int8_t>(); return;
    case 2: integers[key] = scalar<uint16_t>(); return;
    case 3: integers[key] = scalar<int16_t>(); return;
    case 4: integers[key] = scalar<uint32_t>(); return;
    case 5: integers[key] = scalar<int32_t>(); return;
    case 6: numbers[key] = scalar<float>(); return;
    case 7: integers[key] = scalar<uint8_t>(); return;
    case 8: strings[key] = str(); return;
    case 10: integers[key] = int64_t(scalar<uint64_t>()); return;
    case 11: integers[key] = scalar<int64_t>(); return;
    case 12: numbers[key] = scalar<double>(); return;
    case 9: {
      uint32_t elementType = u32();
      uint64_t count = u64();
      for (uint64_t i = 0; i < count && ok; ++i)
        readValue("", elementType);
      return;
    }
    }
    ok = false;
  }

  std::unique_ptr<llvm::MemoryBuffer> file;
  const uint8_t *at = nullptr, *end = nullptr;
  bool ok = true;
};

/// A llama GGUF file as a Model: Hugging Face shapes, q and k rows taken
/// back from llama.cpp's per-head interleaving, RoPE divisors from
/// rope_freqs.
llvm::Expected<Model> loadGguf(llvm::StringRef path) {
  GgufReader file;
  if (llvm::Error err = file.open(path))
    return std::move(err);
  if (file.strings.lookup("general.architecture") != "llama")
    return llvm::createStringError(path + ": not a llama model");
  Model m;
  Config &c = m.spec;
  auto integer = [&](const char *key) {
    return file.integers.lookup(std::string("llama.") + key);
  };
  c.numLayers = integer("block_count");
  c.hiddenSize = integer("embedding_length");
  c.intermediateSize = integer("feed_forward_length");
  c.numHeads = integer("attention.head_count");
  c.numKVHeads = integer("attention.head_count_kv");
  c.headDim = integer("attention.key_length");
  c.vocabSize = integer("vocab_size");
  c.rmsNormEps =
      file.numbers.lookup("llama.attention.layer_norm_rms_epsilon");
  c.ropeTheta = file.numbers.lookup("llama.rope.freq_base");
  c.tiedEmbeddings = !file.tensors.count("output.weight");
  if (c.numLayers <= 0 || c.hiddenSize <= 0 || c.headDim <= 0 ||
      c.vocabSize <= 0 || c.numKVHeads <= 0)
    return llvm::createStringError(path + ": missing sizes");

  // `heads` > 0: GGUF row h*d + 2i + s is Hugging Face row h*d + s*d/2 + i.
  auto matrix = [&](const std::string &name, int64_t rows, int64_t cols,
                    int64_t heads) -> llvm::Expected<Matrix> {
    auto it = file.tensors.find(name);
    bool vector = rows == 1 && it != file.tensors.end() &&
                  it->second.dims.size() == 1 && it->second.dims[0] == cols;
    if (!vector && (it == file.tensors.end() || it->second.dims.size() != 2 ||
                    it->second.dims[0] != cols || it->second.dims[1] != rows))
      return llvm::createStringError(path + ": tensor '" + name +
                                     "' missing or of another shape");
    const GgufReader::Tensor &t = it->second;
    auto [blockValues, blockBytes] = GgufReader::block(t.type);
    int64_t rowBytes = cols / blockValues * blockBytes;
    Matrix out;
    out.rows = rows;
    out.cols = cols;
    out.data.resize(rows * cols);
    parallelFor(rows, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        int64_t hfRow = r;
        if (heads) {
          int64_t d = rows / heads, head = r / d, i = (r % d) / 2,
                  s = r % 2;
          hfRow = head * d + s * (d / 2) + i;
        }
        for (int64_t j = 0; j < cols; ++j)
          out.data[hfRow * cols + j] =
              GgufReader::element(t.type, t.data + r * rowBytes, j);
      }
    });
    return out;
  };
  auto vector = [&](const std::string &name,
                    int64_t size) -> llvm::Expected<std::vector<double>> {
    llvm::Expected<Matrix> one = matrix(name, 1, size, 0);
    if (!one)
      return one.takeError();
    return one->data;
  };


  int64_t qDim = c.numHeads * c.headDim, kvDim = c.numKVHeads * c.headDim;
  LLMC_READ(m.embed, matrix("token_embd.weight", c.vocabSize, c.hiddenSize, 0));
  m.layers.resize(c.numLayers);
  for (int64_t l = 0; l < c.numLayers; ++l) {
    Layer &L = m.layers[l];
    std::string blk = "blk." + std::to_string(l) + ".";
    LLMC_READ(L.inputNorm, vector(blk + "attn_norm.weight", c.hiddenSize));
    LLMC_READ(L.postAttentionNorm,
              vector(blk + "ffn_norm.weight", c.hiddenSize));
    LLMC_READ(L.q, matrix(blk + "attn_q.weight", qDim, c.hiddenSize,
                          c.numHeads));
    LLMC_READ(L.k, matrix(blk + "attn_k.weight", kvDim, c.hiddenSize,
                          c.numKVHeads));
    LLMC_READ(L.v, matrix(blk + "attn_v.weight", kvDim, c.hiddenSize, 0));
    LLMC_READ(L.o, matrix(blk + "attn_output.weight", c.hiddenSize, qDim, 0));
    LLMC_READ(L.gate, matrix(blk + "ffn_gate.weight", c.intermediateSize,
                             c.hiddenSize, 0));
    LLMC_READ(L.up, matrix(blk + "ffn_up.weight", c.intermediateSize,
                           c.hiddenSize, 0));
    LLMC_READ(L.down, matrix(blk + "ffn_down.weight", c.hiddenSize,
                             c.intermediateSize, 0));
  }
  LLMC_READ(m.finalNorm, vector("output_norm.weight", c.hiddenSize));
  if (!c.tiedEmbeddings)
    LLMC_READ(m.lmHead,
              matrix("output.weight", c.vocabSize, c.hiddenSize, 0));
  m.invFreq = ropeFrequencies(c);
  if (file.tensors.count("rope_freqs.weight")) {
    std::vector<double> factors;
    LLMC_READ(factors, vector("rope_freqs.weight", c.headDim / 2));
    for (int64_t i = 0; i < c.headDim / 2; ++i)
      m.invFreq[i] /= factors[i];
  }
  return m;
}

/// y[t, :] = x[t, :] W^T for the n rows of x (W is [out, in]).
std::vector<double> linear(const std::vector<double> &x, int64_t n,
                           const Matrix &w) {
  std::vector<double> y(n * w.rows);
  parallelFor(w.rows, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      const double *wr = w.row(o);
      for (int64_t t = 0; t < n; ++t) {
        const double *xr = x.data() + t * w.cols;
        double acc = 0.0;
        for (int64_t i = 0; i < w.cols; ++i)
          acc += xr[i] * wr[i];
        y[t * w.rows + o] = acc;
      }
    }
  });
  return y;
}

/// x / sqrt(mean(x^2) + eps) * w, row by row.
std::vector<double> rmsNorm(const std::vector<double> &x, int64_t n,
                            const std::vector<double> &w, double eps) {
  int64_t d = w.size();
  std::vector<double> y(n * d);
  for (int64_t t = 0; t < n; ++t) {
    const double *xr = x.data() + t * d;
    double ss = 0.0;
    for (int64_t i = 0; i < d; ++i)
      ss += xr[i] * xr[i];
    double scale = 1.0 / std::sqrt(ss / double(d) + eps);
    for (int64_t i = 0; i < d; ++i)
      y[t * d + i] = xr[i] * scale * w[i];
  }
  return y;
}

/// Rotate-half RoPE in place on [n, heads, headDim]: dimension i is paired
/// with i + headDim/2 and both are rotated by pos * invFreq[i].
void applyRope(std::vector<double> &x, int64_t n, int64_t heads,
               int64_t headDim, const std::vector<double> &invFreq) {
  int64_t half = headDim / 2;
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t i = 0; i < half; ++i) {
      double angle = double(t) * invFreq[i];
      double c = std::cos(angle), s = std::sin(angle);
      for (int64_t h = 0; h < heads; ++h) {
        double *v = x.data() + (t * heads + h) * headDim;
        double x1 = v[i], x2 = v[i + half];
        v[i] = x1 * c - x2 * s;
        v[i + half] = x2 * c + x1 * s;
      }
    }
  }
}

/// Causal softmax(q k^T / sqrt(headDim)) v; query head h reads KV head
/// h / (heads / kvHeads). Returns [n, heads * headDim].
std::vector<double> attention(const std::vector<double> &q,
                              const std::vector<double> &k,
                              const std::vector<double> &v, int64_t n,
                              const Config &s) {
  int64_t hd = s.headDim, group = s.numHeads / s.numKVHeads;
  int64_t qStride = s.numHeads * hd, kvStride = s.numKVHeads * hd;
  double scale = 1.0 / std::sqrt(double(hd));
  std::vector<double> out(n * qStride, 0.0);
  parallelFor(s.numHeads, [&](int64_t begin, int64_t end) {
    std::vector<double> scores(n);
    for (int64_t h = begin; h < end; ++h) {
      int64_t kvHead = h / group;
      for (int64_t i = 0; i < n; ++i) {
        const double *qi = q.data() + i * qStride + h * hd;
        double maxScore = -INFINITY;
        for (int64_t j = 0; j <= i; ++j) {
          const double *kj = k.data() + j * kvStride + kvHead * hd;
          double dot = 0.0;
          for (int64_t d = 0; d < hd; ++d)
            dot += qi[d] * kj[d];
          scores[j] = dot * scale;
          maxScore = std::max(maxScore, scores[j]);
        }
        double sum = 0.0;
        for (int64_t j = 0; j <= i; ++j) {
          scores[j] = std::exp(scores[j] - maxScore);
          sum += scores[j];
        }
        double *oi = out.data() + i * qStride + h * hd;
        for (int64_t j = 0; j <= i; ++j) {
          const double *vj = v.data() + j * kvStride + kvHead * hd;
          double p = scores[j] / sum;
          for (int64_t d = 0; d < hd; ++d)
            oi[d] += p * vj[d];
        }
      }
    }
  });
  return out;
}

/// Logits of every position, [n, vocab].
std::vector<double> forward(const Model &m, llvm::ArrayRef<int64_t> tokens) {
  const Config &s = m.spec;
  int64_t n = tokens.size(), d = s.hiddenSize;
  std::vector<double> x(n * d);
  for (int64_t t = 0; t < n; ++t)
    std::copy_n(m.embed.row(tokens[t]), d, x.begin() + t * d);

  for (const Layer &L : m.layers) {
    std::vector<double> h = rmsNorm(x, n, L.inputNorm, s.rmsNormEps);
    std::vector<double> q = linear(h, n, L.q);
    std::vector<double> k = linear(h, n, L.k);
    std::vector<double> v = linear(h, n, L.v);
    applyRope(q, n, s.numHeads, s.headDim, m.invFreq);
    applyRope(k, n, s.numKVHeads, s.headDim, m.invFreq);
    std::vector<double> attn = linear(attention(q, k, v, n, s), n, L.o);
    for (int64_t i = 0; i < n * d; ++i)
      x[i] += attn[i];

    h = rmsNorm(x, n, L.postAttentionNorm, s.rmsNormEps);
    std::vector<double> gate = linear(h, n, L.gate);
    std::vector<double> up = linear(h, n, L.up);
    for (size_t i = 0; i < gate.size(); ++i)
      gate[i] = gate[i] / (1.0 + std::exp(-gate[i])) * up[i];
    std::vector<double> mlp = linear(gate, n, L.down);
    for (int64_t i = 0; i < n * d; ++i)
      x[i] += mlp[i];
  }
  return linear(rmsNorm(x, n, m.finalNorm, s.rmsNormEps), n, m.head());
}

llvm::Expected<std::vector<int64_t>> parseTokens(llvm::StringRef list,
                                                 int64_t vocab) {
  std::vector<int64_t> tokens;
  llvm::SmallVector<llvm::StringRef> parts;
  list.split(parts, ',', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef part : parts) {
    int64_t id;
    if (part.trim().getAsInteger(10, id))
      return llvm::createStringError("--tokens: '" + part.str() +
                                     "' is not a token id");
    if (id < 0 || id >= vocab)
      return llvm::createStringError(
          "--tokens: token id " + std::to_string(id) +
          " is out of range for vocab size " + std::to_string(vocab));
    tokens.push_back(id);
  }
  if (tokens.empty())
    return llvm::createStringError("--tokens: no token ids given");
  return tokens;
}

llvm::Error writeLogits(llvm::StringRef path,
                        const std::vector<double> &logits) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return llvm::createStringError(ec, "cannot write '" + path.str() +
                                           "': " + ec.message());
  llvm::support::endian::Writer writer(os, llvm::endianness::little);
  for (double value : logits)
    writer.write(static_cast<float>(value));
  os.close();
  if (os.has_error())
    return llvm::createStringError(os.error(),
                                   "cannot write '" + path.str() +
                                       "': " + os.error().message());
  return llvm::Error::success();
}

int64_t argmax(const double *row, int64_t size) {
  return std::max_element(row, row + size) - row;
}

llvm::Error run() {
  llvm::Expected<Model> model =
      llvm::StringRef(modelDir).ends_with(".gguf") ? loadGguf(modelDir)
                                                   : loadModel(modelDir);
  if (!model)
    return model.takeError();
  int64_t vocab = model->spec.vocabSize;
  llvm::Expected<std::vector<int64_t>> tokens = parseTokens(tokensOpt, vocab);
  if (!tokens)
    return tokens.takeError();

  std::vector<double> logits = forward(*model, *tokens);
  if (!logitsOut.empty())
    if (llvm::Error err = writeLogits(logitsOut, logits))
      return err;
  if (numGenerate == 0)
    return llvm::Error::success();

  // Greedy decoding, recomputing the whole sequence each step: slow but it
  // keeps the reference free of any cache logic.
  std::vector<int64_t> sequence = *tokens;
  std::vector<int64_t> generated;
  for (unsigned step = 0; step < numGenerate; ++step) {
    if (step > 0)
      logits = forward(*model, sequence);
    int64_t next = argmax(logits.data() + (sequence.size() - 1) * vocab, vocab);
    generated.push_back(next);
    sequence.push_back(next);
  }
  llvm::outs() << llvm::join(llvm::map_range(
                                 generated,
                                 [](int64_t id) { return std::to_string(id); }),
                             ",")
               << "\n";
  return llvm::Error::success();
}

/// Removes `--threads N` / `--threads=N` from `args` into numThreads.
bool takeThreadsOption(std::vector<char *> &args) {
  for (size_t i = 1; i < args.size(); ++i) {
    llvm::StringRef arg = args[i];
    if (!arg.consume_front("--threads") && !arg.consume_front("-threads"))
      continue;
    size_t used = 1;
    if (arg.empty() && i + 1 < args.size()) {
      arg = args[i + 1];
      used = 2;
    } else if (!arg.consume_front("=")) {
      continue;
    }
    if (arg.getAsInteger(10, numThreads)) {
      llvm::WithColor::error(llvm::errs(), "llmc-reference")
          << "--threads: '" << arg << "' is not a number\n";
      return false;
    }
    args.erase(args.begin() + i, args.begin() + i + used);
    --i;
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<char *> args(argv, argv + argc);
  if (!takeThreadsOption(args))
    return 1;
  llvm::cl::HideUnrelatedOptions(referenceCategory);
  llvm::cl::ParseCommandLineOptions(
      args.size(), args.data(),
      "llmc-reference: float64 Llama forward pass for tests\n\n"
      "  --threads N  worker threads (default: one per core)\n");
  if (llvm::Error err = run()) {
    llvm::WithColor::error(llvm::errs(), "llmc-reference")
        << llvm::toString(std::move(err)) << "\n";
    return 1;
  }
  return 0;
}
