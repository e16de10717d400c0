//===- ImportLlama.h - Build the llm IR of a Llama model ---------*- C++ -*-===//

#ifndef LLMC_FRONTEND_IMPORTLLAMA_H
#define LLMC_FRONTEND_IMPORTLLAMA_H

#include "frontend/ModelSpec.h"
#include "frontend/TensorSource.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringMap.h"

#include <optional>
#include <vector>

namespace llmc {

struct ImportOptions {
  /// Element type of packed matrices; by default each tensor's own.
  std::optional<DType> weightType;
  /// Quantize the matrices to integers, one scale per this many columns of
  /// a row.
  std::optional<int64_t> quantizationGroup;
  /// 8 (i8) or 4 (i4: the projections; the embedding table, gathered by
  /// rows, stays i8).
  unsigned quantizationBits = 8;
  /// With a group: the embedding table (and a tied lm_head) too, or else it
  /// keeps `weightType`.
  bool quantizeEmbedding = true;
  /// With a group, for the parameters named ("wq", "w_down"): their integer
  /// width instead of `quantizationBits`, whether their groups are
  /// asymmetric (an offset each, as GGUF's Q4_K has: the projection then
  /// also multiplies the input's group sums by the offsets), and their group
  /// size when not `quantizationGroup` (0). 6 bits (i6: GGUF's Q6_K kept as
  /// it is) only where the target multiplies them on the 8-bit dot product
  /// interleaved by 4. The embedding table stays 8-bit unless `bits` is 6.
  struct ParamQuantization {
    unsigned bits = 8;
    bool asymmetric = false;
    int64_t group = 0;
    bool operator==(const ParamQuantization &other) const {
      return bits == other.bits && asymmetric == other.asymmetric &&
             group == other.group;
    }
  };
  llvm::StringMap<ParamQuantization> paramQuantization;
  /// With a group, for per-layer families whose layers are quantized
  /// differently (a GGUF Q4_K_M file's attn_v and ffn_down: Q4_K in some
  /// layers, Q6_K in others), each layer's quantization instead. Each
  /// distinct one becomes a parameter of its own holding those layers
  /// (`layer_list`), named `<family>_i<bits>`, located at
  /// `model.layers.{<its layers>}.<module>`; layers that pick the same
  /// parameters share a layer function, and the forward runs each run of
  /// consecutive layers through theirs.
  llvm::StringMap<std::vector<ParamQuantization>> layerQuantization;
};

/// Builds the llm-dialect module of a Llama model: one `llm.param` per
/// checkpoint tensor family (stacked over layers), one shared layer function,
/// and the entry point `llmc_forward`.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importLlama(mlir::MLIRContext &context, const ModelSpec &spec,
            const TensorSource &weights, const ImportOptions &options);

} // namespace llmc

#endif // LLMC_FRONTEND_IMPORTLLAMA_H
