//===- ExpandExp.cpp - Inline polynomial exponentials ---------------------===//

#include "codegen/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::llm {
#define GEN_PASS_DEF_EXPANDEXPPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

struct ExpandExpPass : llm::impl::ExpandExpPassBase<ExpandExpPass> {
  void runOnOperation() override {
    // MLIR's approximation patterns cover many math ops; only the
    // exponentials are handed to them.
    SmallVector<Operation *> exps;
    getOperation().walk([&](math::ExpOp op) { exps.push_back(op); });
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns);
    GreedyRewriteConfig config;
    config.strictMode = GreedyRewriteStrictness::ExistingOps;
    if (failed(applyOpPatternsAndFold(exps, std::move(patterns), config)))
      return signalPassFailure();
  }
};

} // namespace
