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
#include "frontend/TensorSource.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace llmc {

/// All tensors of a model directory.
class WeightStore : public TensorSource {
public:
  /// Opens `dir`/model.safetensors or `dir`/model.safetensors.index.json.
  static llvm::Expected<std::unique_ptr<WeightStore>> open(llvm::StringRef dir);
  ~WeightStore() override;

  const TensorView *find(llvm::StringRef name) const override;
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

/// Reads the header of one safetensors file's `contents` and appends its
/// tensors (views into `contents`); `path` names it in errors.
llvm::Error parseSafetensors(llvm::StringRef path, llvm::StringRef contents,
                             std::vector<TensorView> &out);

/// The shards of a model.safetensors.index.json (`text`), each file with the
/// tensors mapped to it; sorted so that shards open in a stable order, each
/// exactly once. Files must be plain names inside the directory.
using ShardMap = std::map<std::string, std::vector<std::string>>;
llvm::Expected<ShardMap> parseSafetensorsIndex(llvm::StringRef text,
                                               llvm::StringRef indexPath);

/// Writes a Hugging Face model directory (config.json, model.safetensors) with
/// seeded random weights for `spec`: matrices ~ N(0, std), norm weights
/// 1 + N(0, std/4)... stored as `dtype`. Prints progress on long writes only
/// when `progress` is set.
llvm::Error writeSyntheticModel(const ModelSpec &spec, llvm::StringRef dir,
                                DType dtype, uint64_t seed, double std,
                                bool progress);

} // namespace llmc

#endif // LLMC_FRONTEND_WEIGHTS_H
