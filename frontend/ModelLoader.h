//===- ModelLoader.h - One entry point for a model and its weights -*- C++ -*-//
//
// Loads a model's description (Hugging Face directory or YAML model card) and
// its validated weights. Part of the LLMCModelCard library.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_FRONTEND_MODELLOADER_H
#define LLMC_FRONTEND_MODELLOADER_H

#include "frontend/ModelSpec.h"
#include "frontend/Weights.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace llmc {

/// A model description with its weights, checked against each other.
struct LoadedModel {
  ModelSpec spec;
  std::unique_ptr<TensorSource> weights;
  /// The directory holding the safetensors (or the GGUF file).
  std::string dir;
  /// `dir`/tokenizer.json, or empty when there is none.
  std::string tokenizerJsonPath;
  /// The tokenizer image a GGUF file carries ("" when it has none).
  std::optional<std::string> tokenizerImage;
  /// The quantized ggml types of a GGUF file's tensors ("Q4_K"); their
  /// tensors are served expanded to f32.
  std::vector<std::string> quantizedTypes;
  /// A GGUF's ggml types of each matrix family (`llm.param` name, "wq"),
  /// over its layers: {"Q4_K", "Q6_K"}.
  std::map<std::string, std::set<std::string>> paramTypes;
  /// The same per layer, for the per-layer families: {"Q6_K", "Q4_K", ...}.
  std::map<std::string, std::vector<std::string>> paramLayerTypes;
  /// `dir`/generation_config.json, when there is one.
  std::optional<GenerationConfig> generation;
};

/// `modelPath` is a llama GGUF file (`.gguf`: the whole model; then
/// `weightsDir` must be empty), a Hugging Face directory (config.json + safetensors; then
/// `weightsDir` may be empty, or name another directory with the weights) or
/// a .yaml/.yml model card (then `weightsDir` is required). When a card is
/// used and `weightsDir` also has a config.json, the two must agree on every
/// size. The weights are validated against the spec.
llvm::Expected<LoadedModel> loadModel(llvm::StringRef modelPath,
                                      llvm::StringRef weightsDir);

} // namespace llmc

#endif // LLMC_FRONTEND_MODELLOADER_H
