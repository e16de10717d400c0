//===- X86Strategy.cpp - Tile and layout choices for x86-64 ---------------===//
//
// One 512-bit register holds 16 f32 lanes. A packed block of 2 registers (32
// output columns) times 6 rows uses 12 accumulators, leaving room for the
// weight vectors and the broadcast input among AVX-512's 32 registers; with
// 16 registers (AVX2) 4 rows of 2 vectors fit. The reduction is cut into
// depth steps whose weight panel and input rows fit in half of L2, so a
// panel stays in L2 while all rows of the thread's share sweep over it
// (measured: steps sized for L1 made prefill 25% slower on Zen 3 than
// whole-depth tiles, the extra accumulator traffic outweighing the reuse).
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "codegen/TargetInfo.h"

#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "llm-x86-strategy"

namespace mlir::llm {
#define GEN_PASS_DEF_X86STRATEGYPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

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

struct X86StrategyPass : llm::impl::X86StrategyPassBase<X86StrategyPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::Expected<TargetDesc> target = TargetDesc::fromAttr(
        module->getAttrOfType<DictionaryAttr>(kTargetAttr));
    if (!target) {
      module.emitError() << llvm::toString(target.takeError());
      return signalPassFailure();
    }
    int64_t lanes = target->vectorBits / 32;
    int64_t rows = target->vectorRegisters >= 32 ? 6 : 4;
    Builder b(&getContext());
    WalkResult result = module.walk([&](LinearOp linear) {
      auto weight = linear.getWeight().getDefiningOp<WeightOp>();
      if (!weight) {
        linear.emitError("weight must come from an llm.weight");
        return WalkResult::interrupt();
      }
      ParamOp param = weight.getParamOp();
      int64_t outputs = param.getTensorType().getDimSize(0);
      int64_t depth = param.getTensorType().getDimSize(1);
      // Two registers per block unless the matrix is too narrow to fill them.
      int64_t block = outputs >= 2 * lanes ? 2 * lanes : lanes;
      if (std::optional<int64_t> existing = param.getBlock())
        block = *existing;
      else
        param.setBlockAttr(b.getI64IntegerAttr(block));
      int64_t elementBytes =
          param.getTensorType().getElementTypeBitWidth() / 8;
      int64_t step = chooseDepthStep(depth, target->l2Bytes / 2,
                                     rows * 4 + block * elementBytes);
      linear.setTilesAttr(b.getDenseI64ArrayAttr({rows, block, step}));
      LLVM_DEBUG(llvm::dbgs() << param.getSymName() << ": tile " << rows
                              << "x" << block << ", depth step " << step
                              << "\n");
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
