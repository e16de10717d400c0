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

/// A projection as the importer builds it: `linear(x, W)`, plus
/// `linear(group_sum(x), O)` when W is asymmetric (its group offsets O).
struct Projection {
  LinearOp linear;
  WeightOp weight;
  /// The offsets' projection and the sum, when asymmetric.
  LinearOp offsets;
  WeightOp offsetsWeight;
  AddOp sum;
};

static std::optional<Projection> matchProjection(Value v) {
  Projection p;
  if (auto add = v.getDefiningOp<AddOp>()) {
    p.linear = add.getLhs().getDefiningOp<LinearOp>();
    p.offsets = add.getRhs().getDefiningOp<LinearOp>();
    if (!p.linear || !p.offsets || !p.offsets->hasOneUse() ||
        !p.offsets.getInput().getDefiningOp<GroupSumOp>() ||
        p.offsets.getRowScale())
      return std::nullopt;
    p.offsetsWeight = p.offsets.getWeight().getDefiningOp<WeightOp>();
    if (!p.offsetsWeight)
      return std::nullopt;
    p.sum = add;
  } else {
    p.linear = v.getDefiningOp<LinearOp>();
  }
  if (!p.linear || !p.linear->hasOneUse())
    return std::nullopt;
  p.weight = p.linear.getWeight().getDefiningOp<WeightOp>();
  if (!p.weight)
    return std::nullopt;
  return p;
}

/// The rows of the parameters of two projections concatenated into `name`;
/// null when they cannot be.
static ParamOp fuseParams(PatternRewriter &rewriter, WeightOp first,
                          WeightOp second, StringRef name) {
  ParamOp a = first.getParamOp(), b = second.getParamOp();
  if (a.getTensorType() != b.getTensorType() ||
      first.getLayer() != second.getLayer())
    return {};
  return concatParams(rewriter, {a, b}, name);
}

/// A projection of `input` on `param` at `layer`, before `at`.
static Value project(PatternRewriter &rewriter, Location loc, Operation *at,
                     Value input, Value rowScale, ParamOp param, Value layer) {
  rewriter.setInsertionPoint(at);
  auto weight = rewriter.create<WeightOp>(loc, param.getTensorType(),
                                          param.getSymName(), layer);
  auto type = RankedTensorType::get(
      {ShapedType::kDynamic, param.getTensorType().getDimSize(0)},
      rewriter.getF32Type());
  return rewriter.create<LinearOp>(loc, type, input, weight, rowScale);
}

/// mul(silu(linear(x, Wg)), linear(x, Wu)) -> swiglu(linear(x, [Wg; Wu])),
/// and for asymmetric matrices the offsets' projections fused the same way.
struct FuseSwiGLU : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    auto silu = op.getLhs().getDefiningOp<SiLUOp>();
    if (!silu || !silu->hasOneUse())
      return failure();
    std::optional<Projection> gate = matchProjection(silu.getInput());
    std::optional<Projection> up = matchProjection(op.getRhs());
    if (!gate || !up || gate->linear.getInput() != up->linear.getInput() ||
        gate->linear.getRowScale() != up->linear.getRowScale() ||
        static_cast<bool>(gate->sum) != static_cast<bool>(up->sum) ||
        (gate->sum && !gate->sum->hasOneUse()) ||
        (up->sum && !up->sum->hasOneUse()))
      return failure();
    if (gate->sum && gate->offsets.getInput() != up->offsets.getInput())
      return failure();
    ParamOp fused =
        fuseParams(rewriter, gate->weight, up->weight,
                   gate->weight.getParamOp().getSymName().str() + "_up");
    if (!fused)
      return failure();
    ParamOp fusedOffsets;
    if (gate->sum) {
      fusedOffsets = fuseParams(
          rewriter, gate->offsetsWeight, up->offsetsWeight,
          gate->offsetsWeight.getParamOp().getSymName().str() + "_up");
      if (!fusedOffsets) {
        rewriter.eraseOp(fused);
        return failure();
      }
    }
    LLVM_DEBUG(llvm::dbgs() << "fused gate/up into " << fused.getSymName()
                            << "\n");
    Location loc =
        rewriter.getFusedLoc({gate->linear.getLoc(), up->linear.getLoc()});
    Value linear =
        project(rewriter, loc, gate->linear, gate->linear.getInput(),
                gate->linear.getRowScale(), fused, gate->weight.getLayer());
    if (fusedOffsets) {
      Value offsets =
          project(rewriter, loc, gate->offsets, gate->offsets.getInput(),
                  Value(), fusedOffsets, gate->offsetsWeight.getLayer());
      rewriter.setInsertionPoint(op);
      linear = rewriter.create<AddOp>(
          rewriter.getFusedLoc({gate->sum.getLoc(), up->sum.getLoc()}),
          linear.getType(), linear, offsets);
    }
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
