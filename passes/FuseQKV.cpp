//===- FuseQKV.cpp - Fuse sibling projections into one --------------------===//

#include "passes/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "llm-fuse-qkv"

namespace mlir::llm {
#define GEN_PASS_DEF_FUSEQKVPASS
#include "passes/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

/// The parameter a projection reads, if its weight is an `llm.weight`.
static WeightOp weightOf(LinearOp linear) {
  return linear.getWeight().getDefiningOp<WeightOp>();
}

/// The parameter of a projection's group offsets, if it has them.
static WeightOp offsetsOf(LinearOp linear) {
  Value offsets = linear.getOffsets();
  return offsets ? offsets.getDefiningOp<WeightOp>() : WeightOp();
}

/// Whether two projections' offsets fuse: neither has them, or both read
/// concatenable parameters at the same layer.
static bool offsetsFuse(LinearOp a, LinearOp b) {
  if (!a.getOffsets() && !b.getOffsets())
    return true;
  WeightOp x = offsetsOf(a), y = offsetsOf(b);
  return x && y && x.getLayer() == y.getLayer() &&
         canConcatParams(x.getParamOp(), y.getParamOp());
}

/// Fuses all later sibling projections of a projection into it: same input,
/// same row scale, weights of compatible parameters read at the same layer
/// (a q and k in 4 bits fuse, a v in 8 bits beside them stays apart).
struct FuseSiblingLinears : OpRewritePattern<LinearOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LinearOp op,
                                PatternRewriter &rewriter) const override {
    WeightOp weight = weightOf(op);
    if (!weight)
      return failure();
    SmallVector<LinearOp> group;
    for (Operation *user : op.getInput().getUsers()) {
      auto sibling = dyn_cast<LinearOp>(user);
      if (!sibling || sibling.getInput() != op.getInput() ||
          sibling.getRowScale() != op.getRowScale())
        continue;
      WeightOp siblingWeight = weightOf(sibling);
      if (!siblingWeight || siblingWeight.getLayer() != weight.getLayer() ||
          sibling->getBlock() != op->getBlock() ||
          !canConcatParams(weight.getParamOp(), siblingWeight.getParamOp()) ||
          !offsetsFuse(op, sibling))
        continue;
      if (llvm::is_contained(group, sibling))
        continue;
      group.push_back(sibling);
    }
    if (group.size() < 2)
      return failure();
    // Fuse in program order so that the slices come out in a stable order.
    llvm::sort(group, [](LinearOp a, LinearOp b) {
      return a->isBeforeInBlock(b);
    });
    if (group.front() != op)
      return failure();

    SmallVector<ParamOp> params;
    for (LinearOp linear : group)
      params.push_back(weightOf(linear).getParamOp());
    std::string name = params.front().getSymName().str() + "_fused";
    // Every sibling's parameters concatenate with the first's (checked
    // above), so neither concatenation fails.
    ParamOp fused = concatParams(rewriter, params, name);
    ParamOp fusedOffsets;
    if (op.getOffsets()) {
      SmallVector<ParamOp> offsetParams;
      for (LinearOp linear : group)
        offsetParams.push_back(offsetsOf(linear).getParamOp());
      fusedOffsets =
          concatParams(rewriter, offsetParams,
                       offsetParams.front().getSymName().str() + "_fused");
    }
    LLVM_DEBUG(llvm::dbgs() << "fusing " << group.size()
                            << " projections into " << fused.getSymName()
                            << "\n");

    // Insert after the last operand definition the group needs: the first
    // projection's position works because all operands dominate it.
    rewriter.setInsertionPoint(op);
    SmallVector<Location> sources;
    for (LinearOp linear : group)
      sources.push_back(linear.getLoc());
    Location loc = rewriter.getFusedLoc(sources);
    auto fusedWeight = rewriter.create<WeightOp>(
        loc, fused.getTensorType(), fused.getSymName(), weight.getLayer());
    auto inputType = cast<RankedTensorType>(op.getInput().getType());
    auto resultType = RankedTensorType::get(
        {ShapedType::kDynamic, fused.getTensorType().getDimSize(0)},
        inputType.getElementType());
    Value fusedOffsetsWeight;
    if (fusedOffsets)
      fusedOffsetsWeight = rewriter.create<WeightOp>(
          loc, fusedOffsets.getTensorType(), fusedOffsets.getSymName(),
          offsetsOf(op).getLayer());
    auto fusedLinear =
        rewriter.create<LinearOp>(loc, resultType, op.getInput(), fusedWeight,
                                  op.getRowScale(), fusedOffsetsWeight);
    int64_t offset = 0;
    // `op` itself is replaced below: insert after the fused projection, each
    // slice after the previous one so they keep the projections' order.
    rewriter.setInsertionPointAfter(fusedLinear);
    for (LinearOp linear : group) {
      auto slice = rewriter.create<SliceOp>(linear.getLoc(), linear.getType(),
                                            fusedLinear,
                                            rewriter.getI64IntegerAttr(offset));
      offset += cast<RankedTensorType>(linear.getType()).getDimSize(1);
      rewriter.replaceOp(linear, slice);
      rewriter.setInsertionPointAfter(slice);
    }
    return success();
  }
};

struct FuseQKVPass : llm::impl::FuseQKVPassBase<FuseQKVPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFuseQKVPatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    eraseUnusedParams(getOperation());
  }
};

} // namespace

void mlir::llm::populateFuseQKVPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseSiblingLinears>(patterns.getContext());
}
