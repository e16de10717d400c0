//===- Weights.h - Read-only access to a model's safetensors --------------===//
//
// Opens `model.safetensors` or a sharded `model.safetensors.index.json` in a
// Hugging Face model directory, memory-maps the files and validates every
// header (dtype, shape, offsets in range and not overlapping). Tensor bytes are
// never copied here; consumers read them through `TensorView`.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_FRONTEND_WEIGHTS_H
#define LLMC_FRONTEND_WEIGHTS_H

#include "frontend/ModelSpec.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace llmc {

/// One tensor inside a mapped safetensors file.
struct TensorView {
  std::string name;
  std::string file; ///< the safetensors file that holds it
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t *data = nullptr;
  uint64_t bytes = 0;

  int64_t numElements() const;
  /// Element `i` converted to float (from f32, bf16 or f16).
  float at(int64_t i) const;
};

/// All tensors of a model directory.
class WeightStore {
public:
  /// Opens `dir`/model.safetensors or `dir`/model.safetensors.index.json.
  static llvm::Expected<std::unique_ptr<WeightStore>> open(llvm::StringRef dir);
  ~WeightStore();

  /// nullptr when absent.
  const TensorView *find(llvm::StringRef name) const;
  /// The tensor, or an error naming it, the directory and the expected shape
  /// when it is missing or its shape differs from `shape`.
  llvm::Expected<const TensorView *> get(llvm::StringRef name,
                                         llvm::ArrayRef<int64_t> shape) const;
  /// Checks that every tensor a Llama model with `spec` needs is present with
  /// the right shape (lm_head.weight only when embeddings are untied).
  llvm::Error validate(const ModelSpec &spec) const;

  const std::vector<TensorView> &tensors() const;

private:
  WeightStore();
  struct Impl;
  std::unique_ptr<Impl> impl;
};

/// bf16 is the upper half of an f32.
float bf16ToFloat(uint16_t bits);
/// Rounds to nearest, ties to even; NaN stays NaN.
uint16_t floatToBF16(float value);
/// IEEE half, including subnormals, infinities and NaN.
float f16ToFloat(uint16_t bits);
/// Rounds to nearest, ties to even; overflow gives infinity.
uint16_t floatToF16(float value);

/// Names of the Hugging Face tensors of a Llama model.
std::string layerTensorName(int64_t layer, llvm::StringRef suffix);

/// Writes a Hugging Face model directory (config.json, model.safetensors) with
/// seeded random weights for `spec`: matrices ~ N(0, std), norm weights
/// 1 + N(0, std/4)... stored as `dtype`. Prints progress on long writes only
/// when `progress` is set.
llvm::Error writeSyntheticModel(const ModelSpec &spec, llvm::StringRef dir,
                                DType dtype, uint64_t seed, double std,
                                bool progress);

} // namespace llmc

#endif // LLMC_FRONTEND_WEIGHTS_H
