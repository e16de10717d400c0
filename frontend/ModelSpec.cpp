//===- ModelSpec.cpp - Model description and Hugging Face config.json -----===//
//
// Reads and writes the Hugging Face config.json of a LlamaForCausalLM model.
// Every error is one line that names the file and the field.
//
//===----------------------------------------------------------------------===//

#include "frontend/ModelSpec.h"

#include "frontend/InputFiles.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <optional>

using namespace llmc;
using llvm::json::Array;
using llvm::json::Object;
using llvm::json::Value;

//===----------------------------------------------------------------------===//
// ModelSpec::validate
//===----------------------------------------------------------------------===//

llvm::Error ModelSpec::validate() const {
  // Each size is bounded so that every product the compiler and the runtime
  // form from them (a matrix's elements, a KV row, bytes of a buffer) stays
  // far from overflowing 64 bits: 2^24 x 2^24 x 4 bytes < 2^51.
  constexpr int64_t kMaxSize = int64_t(1) << 24;
  auto inRange = [](llvm::StringRef field, int64_t value,
                    int64_t max) -> llvm::Error {
    if (value <= 0)
      return llvm::createStringError(
          llvm::formatv("field '{0}': expected a positive integer, "
                        "found {1}",
                        field, value));
    if (value > max)
      return llvm::createStringError(
          llvm::formatv("field '{0}': {1} is larger than llmc supports (at "
                        "most {2})",
                        field, value, max));
    return llvm::Error::success();
  };
  for (auto [field, value] :
       {std::pair<llvm::StringRef, int64_t>{"vocab_size", vocabSize},
        {"hidden_size", hiddenSize},
        {"intermediate_size", intermediateSize},
        {"max_position_embeddings", maxPositions}})
    if (auto err = inRange(field, value, kMaxSize))
      return err;
  for (auto [field, value] :
       {std::pair<llvm::StringRef, int64_t>{"num_hidden_layers", numLayers},
        {"num_attention_heads", numHeads},
        {"num_key_value_heads", numKVHeads},
        {"head_dim", headDim}})
    if (auto err = inRange(field, value, int64_t(1) << 16))
      return err;
  if (numHeads * headDim > kMaxSize)
    return llvm::createStringError(
        llvm::formatv("fields 'num_attention_heads' x 'head_dim': {0} x {1} "
                      "is larger than llmc supports",
                      numHeads, headDim));
  if (numHeads % numKVHeads != 0)
    return llvm::createStringError(
        llvm::formatv("field 'num_key_value_heads': {0} does not divide "
                      "num_attention_heads ({1})",
                      numKVHeads, numHeads));
  if (headDim % 2 != 0)
    return llvm::createStringError(llvm::formatv(
        "field 'head_dim': RoPE needs an even head dimension, found {0}",
        headDim));
  if (!(rmsNormEps > 0.0))
    return llvm::createStringError(llvm::formatv(
        "field 'rms_norm_eps': expected a positive number, found {0}",
        rmsNormEps));
  if (!(ropeTheta > 0.0))
    return llvm::createStringError(llvm::formatv(
        "field 'rope_theta': expected a positive number, found {0}",
        ropeTheta));
  if (ropeScaling.enabled) {
    if (!(ropeScaling.factor > 0.0))
      return llvm::createStringError(
          "field 'rope_scaling.factor': expected a positive "
          "number");
    if (!(ropeScaling.lowFreqFactor > 0.0) ||
        !(ropeScaling.highFreqFactor > ropeScaling.lowFreqFactor))
      return llvm::createStringError(
          "field 'rope_scaling.high_freq_factor': expected "
          "0 < low_freq_factor < high_freq_factor");
    if (ropeScaling.originalMaxPositions <= 0)
      return llvm::createStringError(
          "field 'rope_scaling.original_max_position_embeddings'"
          ": expected a positive integer");
  }
  if (!ropeFreqFactors.empty()) {
    if (ropeScaling.enabled)
      return llvm::createStringError(
          "RoPE frequency factors and llama3 rope_scaling are exclusive");
    if (int64_t(ropeFreqFactors.size()) != headDim / 2)
      return llvm::createStringError(llvm::formatv(
          "RoPE frequency factors: {0} given, head_dim / 2 = {1} expected",
          ropeFreqFactors.size(), headDim / 2));
    for (double factor : ropeFreqFactors)
      if (!(factor > 0.0) || !std::isfinite(factor))
        return llvm::createStringError(llvm::formatv(
            "RoPE frequency factors: {0} is not a positive number", factor));
  }
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// config.json reader
//===----------------------------------------------------------------------===//

namespace {
/// Typed access to the fields of one JSON object; errors name the file and
/// the field (with `prefix` for nested objects such as rope_scaling).
class FieldReader {
public:
  FieldReader(llvm::StringRef file, const Object &object,
              llvm::StringRef prefix = "")
      : file(file), object(object), prefix(prefix) {}

  llvm::Error error(llvm::StringRef field, const llvm::Twine &message) const {
    return llvm::createStringError(file + ": field '" + prefix + field +
                                   "': " + message);
  }

  bool has(llvm::StringRef field) const {
    const Value *value = object.get(field);
    return value && value->kind() != Value::Null;
  }

  /// A positive integer; `fallback` is used when the field is absent.
  llvm::Expected<int64_t>
  positiveInt(llvm::StringRef field,
              std::optional<int64_t> fallback = std::nullopt) const {
    if (!has(field)) {
      if (fallback)
        return *fallback;
      return error(field, "missing required field");
    }
    std::optional<int64_t> value = object.get(field)->getAsInteger();
    if (!value || *value <= 0)
      return error(field, "expected a positive integer");
    return *value;
  }

  llvm::Expected<double>
  number(llvm::StringRef field,
         std::optional<double> fallback = std::nullopt) const {
    if (!has(field)) {
      if (fallback)
        return *fallback;
      return error(field, "missing required field");
    }
    std::optional<double> value = object.get(field)->getAsNumber();
    if (!value)
      return error(field, "expected a number");
    return *value;
  }

  llvm::Expected<bool> boolean(llvm::StringRef field, bool fallback) const {
    if (!has(field))
      return fallback;
    std::optional<bool> value = object.get(field)->getAsBoolean();
    if (!value)
      return error(field, "expected true or false");
    return *value;
  }

  /// A token id given as an integer or a list of integers (first one wins);
  /// -1 when absent.
  llvm::Expected<int64_t> tokenId(llvm::StringRef field) const {
    if (!has(field))
      return -1;
    const Value *value = object.get(field);
    if (const Array *list = value->getAsArray()) {
      if (list->empty())
        return -1;
      value = &list->front();
    }
    std::optional<int64_t> id = value->getAsInteger();
    if (!id || *id < 0)
      return error(field, "expected a non-negative integer or a list of them");
    return *id;
  }

private:
  llvm::StringRef file;
  const Object &object;
  llvm::StringRef prefix;
};
} // namespace

static llvm::Error readRopeScaling(const FieldReader &fields,
                                   const Object &root, llvm::StringRef file,
                                   RopeScaling &scaling) {
  if (!fields.has("rope_scaling"))
    return llvm::Error::success();
  const Object *object = root.get("rope_scaling")->getAsObject();
  if (!object)
    return fields.error("rope_scaling", "expected an object or null");
  FieldReader rope(file, *object, "rope_scaling.");
  llvm::StringRef typeField = object->get("rope_type") ? "rope_type" : "type";
  std::optional<llvm::StringRef> type = object->getString(typeField);
  if (!type)
    return rope.error(typeField, "expected a string");
  if (*type == "default")
    return llvm::Error::success();
  if (*type != "llama3")
    return rope.error(typeField, "unsupported rope scaling type '" + *type +
                                     "' (expected llama3)");
  scaling.enabled = true;
  if (llvm::Error err = rope.number("factor").moveInto(scaling.factor))
    return err;
  if (llvm::Error err =
          rope.number("low_freq_factor").moveInto(scaling.lowFreqFactor))
    return err;
  if (llvm::Error err =
          rope.number("high_freq_factor").moveInto(scaling.highFreqFactor))
    return err;
  return rope.positiveInt("original_max_position_embeddings")
      .moveInto(scaling.originalMaxPositions);
}

static llvm::Expected<ModelSpec> parseHFConfig(const Object &root,
                                               llvm::StringRef file) {
  FieldReader fields(file, root);
  ModelSpec spec;

  const Array *architectures =
      root.get("architectures") ? root.get("architectures")->getAsArray()
                                : nullptr;
  if (!architectures)
    return fields.error("architectures", "expected a list of strings");
  bool isLlama = llvm::any_of(*architectures, [](const Value &value) {
    return value.getAsString() == llvm::StringRef("LlamaForCausalLM");
  });
  if (!isLlama) {
    std::string found = "(none)";
    if (!architectures->empty()) {
      found.clear();
      llvm::raw_string_ostream os(found);
      os << architectures->front();
    }
    return fields.error("architectures", "unsupported architecture " + found +
                                             " (expected LlamaForCausalLM)");
  }

  if (fields.has("hidden_act")) {
    std::optional<llvm::StringRef> act = root.getString("hidden_act");
    if (!act || *act != "silu")
      return fields.error("hidden_act",
                          "unsupported activation (expected \"silu\")");
  }

  // Fields that would change the math if they were set: llmc implements the
  // model without them, so a checkpoint that has them is refused rather
  // than run wrong.
  for (llvm::StringRef bias : {"attention_bias", "mlp_bias"}) {
    llvm::Expected<bool> present = fields.boolean(bias, false);
    if (!present)
      return present.takeError();
    if (*present)
      return fields.error(bias, "biases are not supported (expected false)");
  }

  if (std::optional<llvm::StringRef> name = root.getString("_name_or_path"))
    spec.name = name->str();
  else
    spec.name =
        llvm::sys::path::filename(llvm::sys::path::parent_path(file)).str();

  if (llvm::Error err = fields.positiveInt("vocab_size").moveInto(spec.vocabSize))
    return std::move(err);
  if (llvm::Error err =
          fields.positiveInt("hidden_size").moveInto(spec.hiddenSize))
    return std::move(err);
  if (llvm::Error err = fields.positiveInt("intermediate_size")
                            .moveInto(spec.intermediateSize))
    return std::move(err);
  if (llvm::Error err =
          fields.positiveInt("num_hidden_layers").moveInto(spec.numLayers))
    return std::move(err);
  if (llvm::Error err =
          fields.positiveInt("num_attention_heads").moveInto(spec.numHeads))
    return std::move(err);
  if (llvm::Error err = fields.positiveInt("num_key_value_heads", spec.numHeads)
                            .moveInto(spec.numKVHeads))
    return std::move(err);
  if (spec.hiddenSize % spec.numHeads != 0 && !fields.has("head_dim"))
    return fields.error("head_dim",
                        "missing, and hidden_size is not a multiple of "
                        "num_attention_heads");
  if (llvm::Error err =
          fields.positiveInt("head_dim", spec.hiddenSize / spec.numHeads)
              .moveInto(spec.headDim))
    return std::move(err);
  if (llvm::Error err = fields.positiveInt("max_position_embeddings")
                            .moveInto(spec.maxPositions))
    return std::move(err);
  if (llvm::Error err = fields.number("rms_norm_eps").moveInto(spec.rmsNormEps))
    return std::move(err);
  if (llvm::Error err =
          fields.number("rope_theta", 10000.0).moveInto(spec.ropeTheta))
    return std::move(err);
  if (llvm::Error err = readRopeScaling(fields, root, file, spec.ropeScaling))
    return std::move(err);
  if (llvm::Error err = fields.boolean("tie_word_embeddings", false)
                            .moveInto(spec.tiedEmbeddings))
    return std::move(err);
  if (fields.has("torch_dtype")) {
    std::optional<llvm::StringRef> dtype = root.getString("torch_dtype");
    if (!dtype)
      return fields.error("torch_dtype", "expected a string");
    llvm::Expected<DType> type = parseDType(*dtype);
    if (!type)
      return fields.error("torch_dtype", llvm::toString(type.takeError()));
    spec.dtype = *type;
  }
  if (llvm::Error err = fields.tokenId("bos_token_id").moveInto(spec.bosTokenId))
    return std::move(err);
  if (llvm::Error err = fields.tokenId("eos_token_id").moveInto(spec.eosTokenId))
    return std::move(err);

  if (llvm::Error err = spec.validate())
    return llvm::createStringError(file + ": " +
                                   llvm::toString(std::move(err)));
  return spec;
}

/// The top-level object of the JSON file `path` holding `text`.
static llvm::Expected<Object> parseTopLevelObject(llvm::StringRef text,
                                                  llvm::StringRef path) {
  llvm::Expected<Value> json = parseJson(text);
  if (!json)
    return llvm::createStringError(
        path + ": malformed JSON: " + llvm::toString(json.takeError()));
  Object *root = json->getAsObject();
  if (!root)
    return llvm::createStringError(path +
                                   ": expected a JSON object at the top level");
  return std::move(*root);
}

/// The contents of the text file `path`, parsed by `parse`.
template <typename T>
static llvm::Expected<T>
loadJsonFile(llvm::StringRef path,
             llvm::Expected<T> (*parse)(llvm::StringRef, llvm::StringRef)) {
  llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      readInputFile(path, /*isText=*/true);
  if (!buffer)
    return buffer.takeError();
  return parse((*buffer)->getBuffer(), path);
}

llvm::Expected<ModelSpec> llmc::loadHFConfig(llvm::StringRef path) {
  return loadJsonFile<ModelSpec>(path, parseHFConfigText);
}

llvm::Expected<GenerationConfig>
llmc::loadGenerationConfig(llvm::StringRef path) {
  return loadJsonFile<GenerationConfig>(path, parseGenerationConfigText);
}

llvm::Expected<GenerationConfig>
llmc::parseGenerationConfigText(llvm::StringRef text, llvm::StringRef path) {
  llvm::Expected<Object> root = parseTopLevelObject(text, path);
  if (!root)
    return root.takeError();
  FieldReader fields(path, *root);
  GenerationConfig config;
  for (llvm::StringRef field : {"do_sample", "temperature", "top_k", "top_p",
                                "min_p", "repetition_penalty", "eos_token_id"})
    if (fields.has(field))
      config.given.push_back(field.str());
  if (llvm::Error err =
          fields.boolean("do_sample", false).moveInto(config.doSample))
    return std::move(err);
  // Each number within what the executable's options accept.
  struct NumberField {
    const char *name;
    double *value;
    bool (*valid)(double);
    const char *domain;
  } numbers[] = {
      {"temperature", &config.temperature, [](double v) { return v >= 0; },
       "a number >= 0"},
      {"top_p", &config.topP, [](double v) { return v > 0 && v <= 1; },
       "a number in (0, 1]"},
      {"min_p", &config.minP, [](double v) { return v >= 0 && v <= 1; },
       "a number in [0, 1]"},
      {"repetition_penalty", &config.repetitionPenalty,
       [](double v) { return v > 0; }, "a number > 0"},
  };
  for (const NumberField &number : numbers) {
    if (!fields.has(number.name))
      continue;
    llvm::Expected<double> value = fields.number(number.name);
    if (!value)
      return value.takeError();
    if (!std::isfinite(*value) || !number.valid(*value))
      return fields.error(number.name, llvm::Twine("expected ") +
                                           number.domain + ", got " +
                                           llvm::formatv("{0}", *value).str());
    *number.value = *value;
  }
  if (fields.has("top_k")) {
    std::optional<int64_t> k = root->get("top_k")->getAsInteger();
    if (!k || *k < 0)
      return fields.error("top_k", "expected a non-negative integer");
    config.topK = *k;
  }
  if (fields.has("eos_token_id")) {
    const Value *value = root->get("eos_token_id");
    std::vector<const Value *> items;
    if (const Array *list = value->getAsArray())
      for (const Value &item : *list)
        items.push_back(&item);
    else
      items.push_back(value);
    for (const Value *item : items) {
      std::optional<int64_t> id = item->getAsInteger();
      if (!id || *id < 0)
        return fields.error("eos_token_id",
                            "expected a non-negative integer or a list of "
                            "them");
      config.eosTokenIds.push_back(*id);
    }
  }
  return config;
}

llvm::Expected<ModelSpec> llmc::parseHFConfigText(llvm::StringRef text,
                                                  llvm::StringRef path) {
  llvm::Expected<Object> root = parseTopLevelObject(text, path);
  if (!root)
    return root.takeError();
  return parseHFConfig(*root, path);
}

//===----------------------------------------------------------------------===//
// config.json writer
//===----------------------------------------------------------------------===//

static llvm::StringRef torchDTypeName(DType type) {
  switch (type) {
  case DType::F32:
    return "float32";
  case DType::BF16:
    return "bfloat16";
  case DType::F16:
    return "float16";
  }
  llvm_unreachable("unknown DType");
}

llvm::Error llmc::writeHFConfig(const ModelSpec &spec, llvm::StringRef path) {
  Object config{
      {"_name_or_path", spec.name},
      {"architectures", Array{"LlamaForCausalLM"}},
      {"model_type", "llama"},
      {"hidden_act", "silu"},
      {"vocab_size", spec.vocabSize},
      {"hidden_size", spec.hiddenSize},
      {"intermediate_size", spec.intermediateSize},
      {"num_hidden_layers", spec.numLayers},
      {"num_attention_heads", spec.numHeads},
      {"num_key_value_heads", spec.numKVHeads},
      {"head_dim", spec.headDim},
      {"max_position_embeddings", spec.maxPositions},
      {"rms_norm_eps", spec.rmsNormEps},
      {"rope_theta", spec.ropeTheta},
      {"tie_word_embeddings", spec.tiedEmbeddings},
      {"torch_dtype", torchDTypeName(spec.dtype)},
      {"attention_bias", false},
      {"mlp_bias", false},
  };
  if (spec.ropeScaling.enabled)
    config["rope_scaling"] = Object{
        {"rope_type", "llama3"},
        {"factor", spec.ropeScaling.factor},
        {"low_freq_factor", spec.ropeScaling.lowFreqFactor},
        {"high_freq_factor", spec.ropeScaling.highFreqFactor},
        {"original_max_position_embeddings",
         spec.ropeScaling.originalMaxPositions},
    };
  else
    config["rope_scaling"] = nullptr;
  if (spec.bosTokenId >= 0)
    config["bos_token_id"] = spec.bosTokenId;
  if (spec.eosTokenId >= 0)
    config["eos_token_id"] = spec.eosTokenId;

  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return llvm::createStringError(path + ": cannot write: " + ec.message());
  os << llvm::formatv("{0:2}", Value(std::move(config))) << "\n";
  os.close();
  if (os.has_error()) {
    std::error_code writeError = os.error();
    os.clear_error();
    return llvm::createStringError(path +
                                   ": write failed: " + writeError.message());
  }
  return llvm::Error::success();
}
