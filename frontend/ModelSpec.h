//===- ModelSpec.h - Validated description of a Llama-family model --------===//
//
// The frontend's output: everything the compiler needs to know about a model's
// architecture. Produced from a Hugging Face config.json or a YAML model card.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_FRONTEND_MODELSPEC_H
#define LLMC_FRONTEND_MODELSPEC_H

#include "frontend/TensorSource.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace llmc {

/// llama3-style RoPE frequency scaling (rope_scaling.rope_type == "llama3").
struct RopeScaling {
  bool enabled = false;
  double factor = 1.0;
  double lowFreqFactor = 1.0;
  double highFreqFactor = 4.0;
  int64_t originalMaxPositions = 8192;
};

/// A dense Llama-family decoder: RMSNorm, GQA attention with RoPE
/// (rotate-half pairing, i with i + headDim/2), SwiGLU MLP.
struct ModelSpec {
  std::string name;
  int64_t vocabSize = 0;
  int64_t hiddenSize = 0;
  int64_t intermediateSize = 0;
  int64_t numLayers = 0;
  int64_t numHeads = 0;
  int64_t numKVHeads = 0;
  int64_t headDim = 0;
  int64_t maxPositions = 0;
  double rmsNormEps = 1e-5;
  double ropeTheta = 10000.0;
  RopeScaling ropeScaling;
  /// Per-pair divisors of the RoPE frequencies (head_dim / 2 of them, a GGUF
  /// file's `rope_freqs`); empty for none. Exclusive with ropeScaling.
  std::vector<double> ropeFreqFactors;
  bool tiedEmbeddings = false;
  /// Storage type declared by the model (torch_dtype); tensors may differ.
  DType dtype = DType::F32;
  int64_t bosTokenId = -1;
  int64_t eosTokenId = -1;

  /// Checks internal consistency (positive sizes, heads divisible by KV
  /// heads, even head_dim, ...). The message names the offending field.
  llvm::Error validate() const;
};

/// Reads a Hugging Face config.json (LlamaForCausalLM). Errors name the file
/// and the field.
llvm::Expected<ModelSpec> loadHFConfig(llvm::StringRef path);

/// The sampling defaults of a Hugging Face generation_config.json, resolved
/// the way transformers' generate() reads the file: without do_sample (or
/// with do_sample false) decoding is greedy; with it, temperature, top_k and
/// top_p default to 1.0, 50 and 1.0.
struct GenerationConfig {
  bool doSample = false;
  double temperature = 1.0;
  int64_t topK = 50;
  double topP = 1.0;
  double minP = 0.0;
  double repetitionPenalty = 1.0;
  /// eos_token_id, an integer or a list of them: generation stops at any.
  std::vector<int64_t> eosTokenIds;
  /// The fields the file gave, for messages ("temperature, top_p").
  std::vector<std::string> given;
};

/// Reads generation_config.json; errors name the file and the field.
llvm::Expected<GenerationConfig> loadGenerationConfig(llvm::StringRef path);
llvm::Expected<GenerationConfig>
parseGenerationConfigText(llvm::StringRef text, llvm::StringRef path);
/// The same for the contents of a config.json; `path` names it in errors.
llvm::Expected<ModelSpec> parseHFConfigText(llvm::StringRef text,
                                            llvm::StringRef path);

/// Writes `spec` as a Hugging Face config.json.
llvm::Error writeHFConfig(const ModelSpec &spec, llvm::StringRef path);

} // namespace llmc

#endif // LLMC_FRONTEND_MODELSPEC_H
