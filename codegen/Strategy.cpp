//===- Strategy.cpp - Shared mechanics of the target strategies -----------===//

#include "codegen/Strategy.h"

#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "llm-strategy"

using namespace mlir;
using namespace mlir::llm;

/// The largest divisor of `depth` that is a multiple of 8 and whose panel
/// (`bytesPerStep` per unit of depth) fits in `budget` bytes; `depth` itself
/// when it fits or has no such divisor.
static int64_t chooseDepthStep(int64_t depth, int64_t budget,
                               int64_t bytesPerStep) {
  int64_t limit = budget / bytesPerStep;
  if (depth <= limit)
    return depth;
  for (int64_t step = limit - limit % 8; step >= 8; step -= 8)
    if (depth % step == 0)
      return step;
  return depth;
}

FailureOr<TargetDesc> mlir::llm::getModuleTarget(ModuleOp module) {
  llvm::Expected<TargetDesc> target = TargetDesc::fromAttr(
      module->getAttrOfType<DictionaryAttr>(kTargetAttr));
  if (!target) {
    module.emitError() << llvm::toString(target.takeError());
    return failure();
  }
  return *target;
}

LogicalResult mlir::llm::annotateLinears(
    ModuleOp module, const TargetDesc &target,
    llvm::function_ref<LinearTileChoice(ParamOp)> choose) {
  Builder b(module.getContext());
  WalkResult result = module.walk([&](LinearOp linear) {
    auto weight = linear.getWeight().getDefiningOp<WeightOp>();
    if (!weight) {
      linear.emitError("weight must come from an llm.weight");
      return WalkResult::interrupt();
    }
    ParamOp param = weight.getParamOp();
    LinearTileChoice choice = choose(param);
    if (std::optional<int64_t> existing = param.getBlock())
      choice.block = *existing;
    else
      param.setBlockAttr(b.getI64IntegerAttr(choice.block));
    int64_t depth = param.getTensorType().getDimSize(1);
    int64_t elementBytes = param.getTensorType().getElementTypeBitWidth() / 8;
    int64_t step = chooseDepthStep(depth, target.l2Bytes / 2,
                                   choice.rows * 4 + choice.block * elementBytes);
    linear.setTilesAttr(b.getDenseI64ArrayAttr({choice.rows, choice.block, step}));
    if (choice.scalableLanes > 0 && choice.block % choice.scalableLanes == 0)
      linear.setScalableLanesAttr(b.getI64IntegerAttr(choice.scalableLanes));
    LLVM_DEBUG(llvm::dbgs() << param.getSymName() << ": tile " << choice.rows
                            << "x" << choice.block << ", depth step " << step
                            << "\n");
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}
