//===- GgufModel.h - A llama GGUF file as a model ---------------*- C++ -*-===//
//
// A GGUF file is a whole model: the llama.* hyperparameters become a
// ModelSpec, `rope_freqs` its per-pair RoPE divisors, tokenizer.ggml.* the
// tokenizer image, and the tensors are served under their Hugging Face names
// through the TensorSource interface, with llama.cpp's interleaving of the q
// and k rows undone. Quantized tensors (Q8_0, Q4_0, Q4_K, Q6_K) are served
// expanded to f32 (exactly the values ggml's dequantizers give); f32, f16
// and bf16 tensors are served from the mapped file.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_FRONTEND_GGUFMODEL_H
#define LLMC_FRONTEND_GGUFMODEL_H

#include "frontend/Gguf.h"
#include "frontend/ModelSpec.h"
#include "frontend/TensorSource.h"

#include "llvm/ADT/StringMap.h"

#include <memory>
#include <string>
#include <vector>

namespace llmc {

class GgufModel : public TensorSource {
public:
  /// Opens and validates a llama GGUF file: the architecture, every
  /// hyperparameter, every tensor's name, type and shape.
  static llvm::Expected<std::unique_ptr<GgufModel>> open(llvm::StringRef path);
  /// The same for a parsed file.
  static llvm::Expected<std::unique_ptr<GgufModel>>
  fromFile(std::unique_ptr<GgufFile> file);
  ~GgufModel() override;

  const ModelSpec &spec() const { return modelSpec; }
  const GgufFile &file() const { return *gguf; }

  /// The tensor under its Hugging Face name (`model.layers.0.mlp.up_proj.
  /// weight`), expanded or reordered on first use.
  const TensorView *find(llvm::StringRef name) const override;
  /// Frees the expansion of a quantized or reordered tensor.
  void release(llvm::StringRef name) const override;

  /// The quantized types among the model's tensors ("Q4_K", "Q6_K"), in
  /// type id order; empty when every tensor is f32, f16 or bf16.
  std::vector<std::string> quantizedTypes() const;
  /// The ggml type name ("Q4_K") of the tensor served as `name`, or "" when
  /// there is none.
  std::string typeName(llvm::StringRef name) const;

  /// The tokenizer image of tokenizer.ggml.* (a byte-level BPE, "gpt2",
  /// with the Llama 3 pre-tokenizer "llama-bpe").
  llvm::Expected<std::string> compileTokenizer() const;

private:
  GgufModel() = default;
  llvm::Error mapTensors();

  /// One tensor served under a Hugging Face name.
  struct Served {
    const GgufTensor *tensor = nullptr;
    /// Rows to de-interleave in groups of this many heads (0: none).
    int64_t permuteHeads = 0;
    std::vector<int64_t> shape;
    /// Filled on first use.
    mutable std::unique_ptr<TensorView> view;
    mutable std::vector<uint8_t> owned;
  };

  std::unique_ptr<GgufFile> gguf;
  ModelSpec modelSpec;
  llvm::StringMap<Served> served;
};

} // namespace llmc

#endif // LLMC_FRONTEND_GGUFMODEL_H
