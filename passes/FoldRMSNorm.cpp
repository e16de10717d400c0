//===- FoldRMSNorm.cpp - Fold RMSNorm weights into projections ------------===//

#include "passes/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "llm-fold-rmsnorm"

namespace mlir::llm {
#define GEN_PASS_DEF_FOLDRMSNORMPASS
#include "passes/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

/// True when every use of `param` is an `llm.weight` feeding projections
/// only (a tied embedding table, for instance, must keep its own values).
static bool onlyFeedsProjections(ParamOp param) {
  std::optional<SymbolTable::UseRange> uses =
      SymbolTable::getSymbolUses(param, param->getParentOp());
  if (!uses)
    return false;
  for (const SymbolTable::SymbolUse &use : *uses) {
    auto weight = dyn_cast<WeightOp>(use.getUser());
    if (!weight)
      return false;
    for (Operation *user : weight->getUsers())
      if (!isa<LinearOp>(user))
        return false;
  }
  return true;
}

/// Folds `rms_norm(x, g)` into the projections that read it when `g` can be
/// multiplied into their weights exactly enough: f32 weights (for bf16/f16,
/// the product would be rounded a second time, measurably moving the logits;
/// the norm then stays a separate, cheap kernel) used only by projections.
struct FoldIntoProjections : OpRewritePattern<RMSNormOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RMSNormOp norm,
                                PatternRewriter &rewriter) const override {
    auto normWeight = norm.getWeight().getDefiningOp<WeightOp>();
    if (!normWeight || norm->use_empty())
      return failure();
    ParamOp normParam = normWeight.getParamOp();
    if (normParam.getSources().size() != 1 || normParam.getScale())
      return failure();

    SmallVector<LinearOp> linears;
    for (Operation *user : norm->getUsers()) {
      auto linear = dyn_cast<LinearOp>(user);
      if (!linear || linear.getInput() != norm.getResult() ||
          linear.getRowScale() || linear.getOffsets())
        return failure();
      auto weight = linear.getWeight().getDefiningOp<WeightOp>();
      if (!weight || weight.getLayer() != normWeight.getLayer())
        return failure();
      ParamOp param = weight.getParamOp();
      if (!param.getTensorType().getElementType().isF32() ||
          param.getScale() || param.getLayers() != normParam.getLayers() ||
          !onlyFeedsProjections(param))
        return failure();
      linears.push_back(linear);
    }

    rewriter.setInsertionPoint(norm);
    auto rowScaleType =
        RankedTensorType::get({ShapedType::kDynamic}, rewriter.getF32Type());
    auto inv = rewriter.create<RMSInvOp>(norm.getLoc(), rowScaleType,
                                         norm.getInput(), norm.getEpsAttr());
    StringAttr scale = cast<StringAttr>(normParam.getSources()[0]);
    for (LinearOp linear : linears) {
      auto weight = linear.getWeight().getDefiningOp<WeightOp>();
      ParamOp param = weight.getParamOp();
      SymbolTable symbols(param->getParentOp());
      rewriter.setInsertionPoint(param);
      auto scaled = cast<ParamOp>(rewriter.clone(*param));
      scaled->setLoc(
          rewriter.getFusedLoc({normParam.getLoc(), param.getLoc()}));
      scaled.setScaleAttr(scale);
      symbols.insert(scaled);
      LLVM_DEBUG(llvm::dbgs() << "folded norm into " << scaled.getSymName()
                              << "\n");
      rewriter.setInsertionPoint(linear);
      auto newWeight =
          rewriter.create<WeightOp>(scaled.getLoc(), weight.getType(),
                                    scaled.getSymName(), weight.getLayer());
      auto folded = rewriter.create<LinearOp>(
          rewriter.getFusedLoc({norm.getLoc(), linear.getLoc()}),
          linear.getType(), norm.getInput(), newWeight, inv, Value());
      rewriter.replaceOp(linear, folded);
    }
    return success();
  }
};

struct FoldRMSNormPass : llm::impl::FoldRMSNormPassBase<FoldRMSNormPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFoldRMSNormPatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    eraseUnusedParams(getOperation());
  }
};

} // namespace

void mlir::llm::populateFoldRMSNormPatterns(RewritePatternSet &patterns) {
  patterns.add<FoldIntoProjections>(patterns.getContext());
}
