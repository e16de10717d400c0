//===- ModelLoader.cpp - One entry point for a model and its weights ------===//
//
// Picks the description (config.json or model card), opens the weights and
// checks that everything agrees.
//
//===----------------------------------------------------------------------===//

#include "frontend/ModelLoader.h"

#include "frontend/GgufModel.h"
#include "frontend/LlamaTensors.h"
#include "frontend/ModelCard.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace llmc;

/// Checks that the config.json next to the weights describes the same shapes
/// as the model card.
static llvm::Error checkAgreement(const ModelSpec &card,
                                  llvm::StringRef cardPath,
                                  const ModelSpec &config,
                                  llvm::StringRef configPath) {
  struct Field {
    const char *name;
    int64_t cardValue, configValue;
  };
  const Field fields[] = {
      {"vocab_size", card.vocabSize, config.vocabSize},
      {"hidden_size", card.hiddenSize, config.hiddenSize},
      {"intermediate_size", card.intermediateSize, config.intermediateSize},
      {"num_hidden_layers", card.numLayers, config.numLayers},
      {"num_attention_heads", card.numHeads, config.numHeads},
      {"num_key_value_heads", card.numKVHeads, config.numKVHeads},
      {"head_dim", card.headDim, config.headDim},
      {"tie_word_embeddings", card.tiedEmbeddings, config.tiedEmbeddings},
  };
  for (const Field &field : fields)
    if (field.cardValue != field.configValue)
      return llvm::createStringError(configPath + ": field '" + field.name +
                                     "': " + llvm::Twine(field.configValue) +
                                     " disagrees with the model card " +
                                     cardPath + " (" +
                                     llvm::Twine(field.cardValue) + ")");
  return llvm::Error::success();
}

/// A regular file whose first bytes are GGUF's magic, whatever its name.
static bool startsWithGgufMagic(llvm::StringRef path) {
  if (!llvm::sys::fs::is_regular_file(path))
    return false;
  llvm::Expected<llvm::sys::fs::file_t> file =
      llvm::sys::fs::openNativeFileForRead(path);
  if (!file) {
    llvm::consumeError(file.takeError());
    return false;
  }
  char magic[4];
  llvm::Expected<size_t> read = llvm::sys::fs::readNativeFile(
      *file, llvm::MutableArrayRef<char>(magic, sizeof(magic)));
  llvm::sys::fs::closeFile(*file);
  if (!read) {
    llvm::consumeError(read.takeError());
    return false;
  }
  return *read == sizeof(magic) && llvm::StringRef(magic, 4) == "GGUF";
}

llvm::Expected<LoadedModel> llmc::loadModel(llvm::StringRef modelPath,
                                            llvm::StringRef weightsDir) {
  LoadedModel model;
  if (!llvm::sys::fs::exists(modelPath))
    return llvm::createStringError(
        modelPath + ": no such file or directory (expected a model "
                    "directory, a .gguf file or a .yaml/.yml model card)");
  if (llvm::sys::path::extension(modelPath).equals_insensitive(".gguf") ||
      startsWithGgufMagic(modelPath)) {
    if (!weightsDir.empty())
      return llvm::createStringError(
          modelPath + ": a GGUF file holds its weights; --weights does not "
                      "apply");
    llvm::Expected<std::unique_ptr<GgufModel>> gguf =
        GgufModel::open(modelPath);
    if (!gguf)
      return gguf.takeError();
    model.spec = (*gguf)->spec();
    model.dir = llvm::sys::path::parent_path(modelPath).str();
    model.quantizedTypes = (*gguf)->quantizedTypes();
    for (const LlamaTensor &tensor : llamaTensors(model.spec)) {
      if (tensor.shape.size() != 2)
        continue;
      std::set<std::string> &types = model.paramTypes[tensor.param.str()];
      for (int64_t l = 0; l < (tensor.perLayer ? model.spec.numLayers : 1);
           ++l) {
        std::string type =
            (*gguf)->typeName(substituteLayer(tensor.tensorName(), l));
        types.insert(type);
        if (tensor.perLayer)
          model.paramLayerTypes[tensor.param.str()].push_back(type);
      }
    }
    llvm::Expected<std::string> tokenizer = (*gguf)->compileTokenizer();
    if (!tokenizer)
      return tokenizer.takeError();
    model.tokenizerImage = std::move(*tokenizer);
    model.weights = std::move(*gguf);
    return std::move(model);
  }
  if (llvm::sys::fs::is_directory(modelPath)) {
    llvm::SmallString<256> configPath(modelPath);
    llvm::sys::path::append(configPath, "config.json");
    if (llvm::Error err = loadHFConfig(configPath).moveInto(model.spec))
      return std::move(err);
    model.dir = weightsDir.empty() ? modelPath.str() : weightsDir.str();
  } else {
    llvm::StringRef ext = llvm::sys::path::extension(modelPath);
    if (ext != ".yaml" && ext != ".yml")
      return llvm::createStringError(modelPath +
                                     ": expected a model directory, a .gguf "
                                     "file or a .yaml/.yml model card");
    if (weightsDir.empty())
      return llvm::createStringError(
          modelPath +
          ": a model card needs a weights directory (--weights DIR)");
    if (llvm::Error err = loadModelCard(modelPath).moveInto(model.spec))
      return std::move(err);
    model.dir = weightsDir.str();
    llvm::SmallString<256> configPath(weightsDir);
    llvm::sys::path::append(configPath, "config.json");
    if (llvm::sys::fs::exists(configPath)) {
      llvm::Expected<ModelSpec> config = loadHFConfig(configPath);
      if (!config)
        return config.takeError();
      if (llvm::Error err =
              checkAgreement(model.spec, modelPath, *config, configPath))
        return std::move(err);
    }
  }

  if (!llvm::sys::fs::is_directory(model.dir))
    return llvm::createStringError(model.dir +
                                   ": weights directory does not exist");
  std::unique_ptr<WeightStore> store;
  if (llvm::Error err = WeightStore::open(model.dir).moveInto(store))
    return std::move(err);
  if (llvm::Error err = store->validate(model.spec))
    return std::move(err);
  model.weights = std::move(store);

  llvm::SmallString<256> tokenizer(model.dir);
  llvm::sys::path::append(tokenizer, "tokenizer.json");
  if (llvm::sys::fs::exists(tokenizer))
    model.tokenizerJsonPath = tokenizer.str().str();
  llvm::SmallString<256> generation(model.dir);
  llvm::sys::path::append(generation, "generation_config.json");
  if (llvm::sys::fs::exists(generation)) {
    llvm::Expected<GenerationConfig> config = loadGenerationConfig(generation);
    if (!config)
      return config.takeError();
    model.generation = std::move(*config);
  }
  return std::move(model);
}
