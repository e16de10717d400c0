//===- ModelCard.cpp - YAML model card reader -----------------------------===//
//
// Parses a model card with yaml-cpp. yaml-cpp reports errors by throwing, so
// this file (built with -fexceptions) throws its own CardError for semantic
// errors too and turns every exception into an llvm::Error in
// loadModelCard; nothing escapes to exception-free LLVM code.
//
//===----------------------------------------------------------------------===//

#include "frontend/ModelCard.h"

#include "frontend/InputFiles.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MemoryBuffer.h"

#include <yaml-cpp/yaml.h>

#include <initializer_list>

using namespace llmc;

namespace {
/// A semantic error in a card, already formatted as one line.
struct CardError {
  std::string message;
};

/// Reads the keys of one YAML mapping; errors name the file and the key path
/// ("architecture.attention.kv-heads").
class MapReader {
public:
  MapReader(llvm::StringRef file, const YAML::Node &node, std::string path)
      : file(file.str()), node(node), path(std::move(path)) {
    if (!node.IsMap())
      fail(this->path.empty() ? "(top level)" : this->path,
           "expected a mapping");
  }

  std::string keyPath(llvm::StringRef key) const {
    return path.empty() ? key.str() : path + "." + key.str();
  }

  [[noreturn]] void fail(const std::string &where,
                         const llvm::Twine &message) const {
    throw CardError{(file + ": " + where + ": " + message).str()};
  }

  /// Rejects any key outside `allowed`, naming the first one in file order.
  void allowOnly(std::initializer_list<llvm::StringRef> allowed) const {
    for (const auto &entry : node) {
      std::string key =
          entry.first.IsScalar() ? entry.first.Scalar() : std::string("?");
      if (!llvm::is_contained(allowed, key))
        fail(keyPath(key),
             "unknown key (expected one of: " + llvm::join(allowed, ", ") +
                 ")");
    }
  }

  bool has(llvm::StringRef key) const { return bool(node[key.str()]); }

  YAML::Node required(llvm::StringRef key) const {
    YAML::Node value = node[key.str()];
    if (!value)
      fail(keyPath(key), "missing required key");
    return value;
  }

  int64_t positiveInt(llvm::StringRef key) const {
    YAML::Node value = required(key);
    int64_t result = 0;
    if (!value.IsScalar() ||
        !YAML::convert<int64_t>::decode(value, result) || result <= 0)
      fail(keyPath(key), "expected a positive integer, found '" +
                             describe(value) + "'");
    return result;
  }

  int64_t nonNegativeInt(llvm::StringRef key) const {
    YAML::Node value = required(key);
    int64_t result = 0;
    if (!value.IsScalar() ||
        !YAML::convert<int64_t>::decode(value, result) || result < 0)
      fail(keyPath(key), "expected a non-negative integer, found '" +
                             describe(value) + "'");
    return result;
  }

  double positiveNumber(llvm::StringRef key) const {
    YAML::Node value = required(key);
    double result = 0;
    if (!value.IsScalar() || !YAML::convert<double>::decode(value, result) ||
        !(result > 0.0))
      fail(keyPath(key), "expected a positive number, found '" +
                             describe(value) + "'");
    return result;
  }

  bool boolean(llvm::StringRef key, bool fallback) const {
    if (!has(key))
      return fallback;
    YAML::Node value = node[key.str()];
    bool result = false;
    if (!value.IsScalar() || !YAML::convert<bool>::decode(value, result))
      fail(keyPath(key),
           "expected true or false, found '" + describe(value) + "'");
    return result;
  }

  std::string string(llvm::StringRef key) const {
    YAML::Node value = required(key);
    if (!value.IsScalar() || value.Scalar().empty())
      fail(keyPath(key), "expected a string");
    return value.Scalar();
  }

  /// A string that must be one of `choices`.
  std::string choice(llvm::StringRef key,
                     std::initializer_list<llvm::StringRef> choices) const {
    std::string value = string(key);
    if (!llvm::is_contained(choices, value))
      fail(keyPath(key), "unsupported value '" + value +
                             "' (expected one of: " +
                             llvm::join(choices, ", ") + ")");
    return value;
  }

  MapReader map(llvm::StringRef key) const {
    return MapReader(file, required(key), keyPath(key));
  }

private:
  static std::string describe(const YAML::Node &value) {
    if (value.IsScalar())
      return value.Scalar();
    if (value.IsSequence())
      return "a list";
    if (value.IsMap())
      return "a mapping";
    return "null";
  }

  std::string file;
  YAML::Node node;
  std::string path;
};
} // namespace

static void readAttention(const MapReader &arch, ModelSpec &spec) {
  MapReader attention = arch.map("attention");
  std::string type = attention.choice("type", {"gqa", "mha"});
  if (type == "gqa")
    attention.allowOnly({"type", "heads", "kv-heads", "head-dim"});
  else
    attention.allowOnly({"type", "heads", "head-dim"});
  spec.numHeads = attention.positiveInt("heads");
  spec.numKVHeads =
      type == "gqa" ? attention.positiveInt("kv-heads") : spec.numHeads;
  if (spec.numHeads % spec.numKVHeads != 0)
    attention.fail(attention.keyPath("kv-heads"),
                   "must divide heads (" + llvm::Twine(spec.numHeads) + ")");
  if (attention.has("head-dim")) {
    spec.headDim = attention.positiveInt("head-dim");
  } else {
    if (spec.hiddenSize % spec.numHeads != 0)
      attention.fail(attention.keyPath("head-dim"),
                     "missing, and hidden is not a multiple of heads");
    spec.headDim = spec.hiddenSize / spec.numHeads;
  }
  if (spec.headDim % 2 != 0)
    attention.fail(attention.keyPath("head-dim"),
                   "RoPE needs an even head dimension");
}

static void readPosition(const MapReader &arch, ModelSpec &spec) {
  MapReader position = arch.map("position");
  std::string type = position.choice("type", {"rope", "rope-llama3"});
  if (type == "rope") {
    position.allowOnly({"type", "theta"});
    spec.ropeTheta = position.positiveNumber("theta");
    return;
  }
  position.allowOnly({"type", "theta", "factor", "low-freq-factor",
                      "high-freq-factor", "original-context"});
  spec.ropeTheta = position.positiveNumber("theta");
  RopeScaling &scaling = spec.ropeScaling;
  scaling.enabled = true;
  scaling.factor = position.positiveNumber("factor");
  scaling.lowFreqFactor = position.positiveNumber("low-freq-factor");
  scaling.highFreqFactor = position.positiveNumber("high-freq-factor");
  if (!(scaling.highFreqFactor > scaling.lowFreqFactor))
    position.fail(position.keyPath("high-freq-factor"),
                  "must be greater than low-freq-factor");
  scaling.originalMaxPositions = position.positiveInt("original-context");
}

static ModelSpec readCard(llvm::StringRef file, const YAML::Node &root) {
  MapReader card(file, root, "");
  card.allowOnly({"model", "architecture", "dtype", "tokens"});
  ModelSpec spec;
  spec.name = card.string("model");

  MapReader arch = card.map("architecture");
  arch.allowOnly({"family", "kind", "layers", "hidden", "vocab", "context",
                  "tied-embeddings", "norm", "attention", "position", "mlp"});
  arch.choice("family", {"llama"});
  arch.choice("kind", {"dense"});
  spec.numLayers = arch.positiveInt("layers");
  spec.hiddenSize = arch.positiveInt("hidden");
  spec.vocabSize = arch.positiveInt("vocab");
  spec.maxPositions = arch.positiveInt("context");
  spec.tiedEmbeddings = arch.boolean("tied-embeddings", false);

  MapReader norm = arch.map("norm");
  norm.allowOnly({"type", "eps"});
  norm.choice("type", {"rmsnorm"});
  spec.rmsNormEps = norm.positiveNumber("eps");

  readAttention(arch, spec);
  readPosition(arch, spec);

  MapReader mlp = arch.map("mlp");
  mlp.allowOnly({"type", "intermediate", "activation"});
  mlp.choice("type", {"swiglu"});
  spec.intermediateSize = mlp.positiveInt("intermediate");
  if (mlp.has("activation"))
    mlp.choice("activation", {"silu"});

  std::string dtype = card.string("dtype");
  llvm::Expected<DType> type = parseDType(dtype);
  if (!type) {
    llvm::consumeError(type.takeError());
    card.fail("dtype", "unknown dtype '" + dtype + "' (expected f32, bf16 "
                                                   "or f16)");
  }
  spec.dtype = *type;

  if (card.has("tokens")) {
    MapReader tokens = card.map("tokens");
    tokens.allowOnly({"bos", "eos"});
    if (tokens.has("bos"))
      spec.bosTokenId = tokens.nonNegativeInt("bos");
    if (tokens.has("eos"))
      spec.eosTokenId = tokens.nonNegativeInt("eos");
  }
  return spec;
}

llvm::Expected<ModelSpec> llmc::loadModelCard(llvm::StringRef path) {
  llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      readInputFile(path, /*isText=*/true);
  if (!buffer)
    return buffer.takeError();
  return parseModelCardText((*buffer)->getBuffer(), path);
}

llvm::Expected<ModelSpec> llmc::parseModelCardText(llvm::StringRef text,
                                                   llvm::StringRef path) {
  // yaml-cpp parses flow collections recursively.
  if (llvm::Error error = checkNesting(text, /*jsonStrings=*/false))
    return llvm::createStringError(path + ": " + toString(std::move(error)));

  ModelSpec spec;
  try {
    YAML::Node root = YAML::Load(text.str());
    spec = readCard(path, root);
  } catch (const CardError &error) {
    return llvm::createStringError(error.message);
  } catch (const YAML::Exception &error) {
    // Marks are 0-based; editors count lines and columns from 1.
    if (error.mark.is_null())
      return llvm::createStringError(path + ": malformed YAML: " + error.msg);
    return llvm::createStringError(
        path + ":" + llvm::Twine(error.mark.line + 1) + ":" +
        llvm::Twine(error.mark.column + 1) + ": malformed YAML: " + error.msg);
  } catch (const std::exception &error) {
    return llvm::createStringError(path + ": " + error.what());
  }
  if (llvm::Error err = spec.validate())
    return llvm::createStringError(path + ": " +
                                   llvm::toString(std::move(err)));
  return spec;
}
