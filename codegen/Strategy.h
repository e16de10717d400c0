//===- Strategy.h - Shared mechanics of the target strategies ----*- C++ -*-===//
//
// A target strategy decides numbers (register tile rows, packed block width,
// vector-length agnostic chunks); recording them on the IR is the same for
// every target and lives here.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_CODEGEN_STRATEGY_H
#define LLMC_CODEGEN_STRATEGY_H

#include "codegen/Passes.h"
#include "codegen/TargetInfo.h"

#include "llvm/ADT/STLFunctionalExtras.h"

namespace mlir::llm {

/// A target's choice for one projection.
struct LinearTileChoice {
  /// Rows of the register tile (accumulators = rows x block / lanes).
  int64_t rows = 1;
  /// Output columns packed together; also the lanes one tile computes.
  int64_t block = 1;
  /// When > 0, the tile walks its block in chunks of this many lanes times
  /// vscale (vector-length agnostic code).
  int64_t scalableLanes = 0;
};

/// Records `choose`'s answer on every `llm.linear` of `module` (`tiles`,
/// `scalable_lanes`) and the packed `block` on its parameter; a parameter
/// shared by several projections keeps the first block chosen. The depth
/// step is the largest that keeps a tile's weight panel and input rows in
/// half of `target`'s L2. Fails (with a diagnostic) on a projection whose
/// weight is not an `llm.weight`.
LogicalResult
annotateLinears(ModuleOp module, const TargetDesc &target,
                llvm::function_ref<LinearTileChoice(ParamOp)> choose);

/// Reads the module's `llm.target`, emitting an error when it is missing.
FailureOr<TargetDesc> getModuleTarget(ModuleOp module);

} // namespace mlir::llm

#endif // LLMC_CODEGEN_STRATEGY_H
