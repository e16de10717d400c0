//===- LlamaTensors.h - The tensors of a Llama checkpoint ------*- C++ -*-===//
//
// The one table of a Llama model's weights: the parameter each becomes in the
// llm IR, the Hugging Face module it belongs to (which names the tensor and
// locates the ops that read it), its shape and whether it repeats per layer.
// The importer, the safetensors validator and the synthetic model writer all
// read it.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_FRONTEND_LLAMATENSORS_H
#define LLMC_FRONTEND_LLAMATENSORS_H

#include "frontend/ModelSpec.h"

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace llmc {

/// One tensor family of a Llama checkpoint.
struct LlamaTensor {
  /// The `llm.param` it becomes ("wq").
  llvm::StringRef param;
  /// Its Hugging Face module, with `{layer}` when per layer
  /// ("model.layers.{layer}.self_attn.q_proj").
  std::string module;
  std::vector<int64_t> shape;
  /// One tensor per decoder layer rather than one for the model.
  bool perLayer;
  /// A normalization weight (a vector near 1) rather than a matrix.
  bool isNorm;

  /// The checkpoint's tensor name, `{layer}` kept: `<module>.weight`.
  std::string tensorName() const;
};

/// Every tensor family of a Llama model with `spec`, in checkpoint order
/// (`lm_head` only when embeddings are untied).
std::vector<LlamaTensor> llamaTensors(const ModelSpec &spec);

/// A tensor of the checkpoint itself.
struct CheckpointTensor {
  std::string name;
  std::vector<int64_t> shape;
  bool isNorm;
};

/// Every tensor of a Llama checkpoint with `spec`, in file order: the
/// per-layer families layer after layer, at their place in the table.
std::vector<CheckpointTensor> checkpointTensors(const ModelSpec &spec);

/// The module `suffix` of every decoder layer: `model.layers.{layer}.suffix`
/// (the decoder layer itself for an empty suffix).
std::string layerModule(llvm::StringRef suffix);

/// The name `suffix` of decoder layer `layer`: `model.layers.<layer>.suffix`.
std::string layerTensorName(int64_t layer, llvm::StringRef suffix);

} // namespace llmc

#endif // LLMC_FRONTEND_LLAMATENSORS_H
