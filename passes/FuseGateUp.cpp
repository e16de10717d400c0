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

/// mul(silu(linear(x, Wg)), linear(x, Wu)) -> swiglu(linear(x, [Wg; Wu])).
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
        gate.getRowScale() != up.getRowScale())
      return failure();
    auto gateWeight = gate.getWeight().getDefiningOp<WeightOp>();
    auto upWeight = up.getWeight().getDefiningOp<WeightOp>();
    if (!gateWeight || !upWeight ||
        gateWeight.getLayer() != upWeight.getLayer())
      return failure();
    ParamOp gateParam = gateWeight.getParamOp();
    ParamOp upParam = upWeight.getParamOp();
    if (gateParam.getTensorType() != upParam.getTensorType())
      return failure();
    ParamOp fused = concatParams(rewriter, {gateParam, upParam},
                                 gateParam.getSymName().str() + "_up");
    if (!fused)
      return failure();
    LLVM_DEBUG(llvm::dbgs() << "fused gate/up into " << fused.getSymName()
                            << "\n");

    rewriter.setInsertionPoint(gate);
    Location loc = rewriter.getFusedLoc({gate.getLoc(), up.getLoc()});
    auto weight = rewriter.create<WeightOp>(loc, fused.getTensorType(),
                                            fused.getSymName(),
                                            gateWeight.getLayer());
    auto type = RankedTensorType::get(
        {ShapedType::kDynamic, fused.getTensorType().getDimSize(0)},
        rewriter.getF32Type());
    auto linear = rewriter.create<LinearOp>(loc, type, gate.getInput(), weight,
                                            gate.getRowScale());
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
