//===- FuseGateUp.cpp - Fuse SwiGLU's gate and up projections -------------===//

#include "passes/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "llm-fuse-gate-up"

namespace mlir::llm {
#define GEN_PASS_DEF_FUSEGATEUPPASS
#include "passes/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

/// Whether the parameters two projections read at the same layer concatenate.
static bool fusable(WeightOp first, WeightOp second) {
  return first && second && first.getLayer() == second.getLayer() &&
         first.getType() == second.getType() &&
         canConcatParams(first.getParamOp(), second.getParamOp());
}

static WeightOp weightOp(Value v) {
  return v ? v.getDefiningOp<WeightOp>() : WeightOp();
}

/// mul(silu(linear(x, Wg)), linear(x, Wu)) -> swiglu(linear(x, [Wg; Wu])),
/// the group offsets of asymmetric matrices concatenated the same way.
struct FuseSwiGLU : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    auto silu = op.getLhs().getDefiningOp<SiLUOp>();
    if (!silu || !silu->hasOneUse())
      return failure();
    auto gate = silu.getInput().getDefiningOp<LinearOp>();
    auto up = op.getRhs().getDefiningOp<LinearOp>();
    if (!gate || !up || !gate->hasOneUse() || !up->hasOneUse() ||
        gate.getInput() != up.getInput() ||
        gate.getRowScale() != up.getRowScale() ||
        static_cast<bool>(gate.getOffsets()) !=
            static_cast<bool>(up.getOffsets()))
      return failure();
    WeightOp gateWeight = weightOp(gate.getWeight());
    WeightOp gateOffsets = weightOp(gate.getOffsets());
    WeightOp upWeight = weightOp(up.getWeight());
    WeightOp upOffsets = weightOp(up.getOffsets());
    if (!fusable(gateWeight, upWeight) ||
        (gate.getOffsets() && !fusable(gateOffsets, upOffsets)))
      return failure();
    ParamOp fused =
        concatParams(rewriter, {gateWeight.getParamOp(), upWeight.getParamOp()},
                     gateWeight.getParam().str() + "_up");
    ParamOp fusedOffsets;
    if (gateOffsets)
      fusedOffsets = concatParams(
          rewriter, {gateOffsets.getParamOp(), upOffsets.getParamOp()},
          gateOffsets.getParam().str() + "_up");
    LLVM_DEBUG(llvm::dbgs() << "fused gate/up into " << fused.getSymName()
                            << "\n");

    rewriter.setInsertionPoint(gate);
    Location loc = rewriter.getFusedLoc({gate.getLoc(), up.getLoc()});
    auto weight = rewriter.create<WeightOp>(
        loc, fused.getTensorType(), fused.getSymName(), gateWeight.getLayer());
    Value offsets;
    if (fusedOffsets)
      offsets = rewriter.create<WeightOp>(loc, fusedOffsets.getTensorType(),
                                          fusedOffsets.getSymName(),
                                          gateOffsets.getLayer());
    auto type = RankedTensorType::get(
        {ShapedType::kDynamic, fused.getTensorType().getDimSize(0)},
        rewriter.getF32Type());
    auto linear = rewriter.create<LinearOp>(loc, type, gate.getInput(), weight,
                                            gate.getRowScale(), offsets);
    rewriter.setInsertionPoint(op);
    auto swiglu = rewriter.create<SwiGLUOp>(
        rewriter.getFusedLoc({silu.getLoc(), op.getLoc()}), op.getType(),
        linear);
    rewriter.replaceOp(op, swiglu);
    return success();
  }
};

struct FuseGateUpPass : llm::impl::FuseGateUpPassBase<FuseGateUpPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFuseGateUpPatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    eraseUnusedParams(getOperation());
  }
};

} // namespace

void mlir::llm::populateFuseGateUpPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseSwiGLU>(patterns.getContext());
}
