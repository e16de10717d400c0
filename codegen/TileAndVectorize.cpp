//===- TileAndVectorize.cpp - Register tiles for packed matmuls -----------===//
//
// A packed matmul has loops (m, b, r, k): rows, weight blocks, lanes of a
// block, reduction. Its `llm.tiles` = [rows, block, depth] comes from the
// target strategy. The loops are tiled to (rows x 1 block x whole lanes x 1
// depth step), rows are peeled so the main loop's tiles are static and the
// remainder runs one row at a time, and every static tile is vectorized. The
// accumulator tile is hoisted out of the reduction loop so it stays in
// registers; the weight element is widened to f32 in registers.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Hoisting.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorTransforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "llm-tile-and-vectorize"

namespace mlir::llm {
#define GEN_PASS_DEF_TILEANDVECTORIZEPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

/// Tiles `op` with `sizes` (0 = untiled) in loop order `interchange`.
static FailureOr<scf::SCFTilingResult>
tile(RewriterBase &rewriter, linalg::LinalgOp op, ArrayRef<int64_t> sizes,
     ArrayRef<int64_t> interchange) {
  scf::SCFTilingOptions options;
  SmallVector<OpFoldResult> tileSizes;
  for (int64_t size : sizes)
    tileSizes.push_back(rewriter.getIndexAttr(size));
  options.setTileSizes(tileSizes);
  options.setInterchange(interchange);
  rewriter.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
      rewriter, cast<TilingInterface>(op.getOperation()), options);
  if (succeeded(tiled))
    rewriter.eraseOp(op);
  return tiled;
}

static bool isPackedMatmul(Operation *op) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  return linalgOp && op->hasAttr(kTilesAttr) && linalgOp.getNumLoops() == 4;
}

static void canonicalize(func::FuncOp func) {
  MLIRContext *ctx = func.getContext();
  RewritePatternSet patterns(ctx);
  for (RegisteredOperationName op : ctx->getRegisteredOperations())
    op.getCanonicalizationPatterns(patterns, ctx);
  (void)applyPatternsAndFoldGreedily(func, std::move(patterns));
}

struct TileAndVectorizePass
    : llm::impl::TileAndVectorizePassBase<TileAndVectorizePass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    MLIRContext *ctx = &getContext();
    IRRewriter rewriter(ctx);

    SmallVector<linalg::LinalgOp> matmuls;
    func.walk([&](linalg::LinalgOp op) {
      if (isPackedMatmul(op))
        matmuls.push_back(op);
    });
    for (linalg::LinalgOp op : matmuls) {
      ArrayRef<int64_t> tiles =
          op->getAttrOfType<DenseI64ArrayAttr>(kTilesAttr).asArrayRef();
      int64_t rows = tiles[0];
      // Loops: blocks, rows, depth; each tile is rows x 1 x block x 1.
      FailureOr<scf::SCFTilingResult> tiled =
          tile(rewriter, op, {rows, 1, 0, 1}, {1, 0, 3, 2});
      if (failed(tiled)) {
        op.emitError("llm-tile-and-vectorize: tiling failed");
        return signalPassFailure();
      }
      auto rowLoop = cast<scf::ForOp>(tiled->loops[1]);
      scf::ForOp remainder;
      if (rows > 1 &&
          succeeded(scf::peelForLoopAndSimplifyBounds(rewriter, rowLoop,
                                                      remainder))) {
        // The remainder has fewer than `rows` rows: one at a time.
        SmallVector<linalg::LinalgOp> rest;
        remainder.walk([&](linalg::LinalgOp inner) {
          if (isPackedMatmul(inner))
            rest.push_back(inner);
        });
        for (linalg::LinalgOp inner : rest)
          if (failed(tile(rewriter, inner, {1, 0, 0, 0}, {0, 1, 2, 3}))) {
            inner.emitError("llm-tile-and-vectorize: tiling failed");
            return signalPassFailure();
          }
      }
    }
    canonicalize(func);

    // Vectorize every tile whose shape is now static.
    SmallVector<linalg::LinalgOp> candidates;
    func.walk([&](linalg::LinalgOp op) {
      if (isPackedMatmul(op) && op.hasPureBufferSemantics() &&
          !op.hasDynamicShape())
        candidates.push_back(op);
    });
    for (linalg::LinalgOp op : candidates) {
      rewriter.setInsertionPoint(op);
      // On success vectorize() replaces the op itself.
      if (failed(linalg::vectorize(rewriter, op)))
        LLVM_DEBUG(llvm::dbgs() << "could not vectorize " << op << "\n");
    }

    // Fold subviews into the transfers so the accumulator reads and writes
    // become loop-invariant, then hoist them out of the reduction loop.
    {
      RewritePatternSet patterns(ctx);
      memref::populateFoldMemRefAliasOpPatterns(patterns);
      vector::populateVectorReductionToContractPatterns(patterns);
      vector::populateVectorTransferDropUnitDimsPatterns(patterns);
      vector::populateDropUnitDimWithShapeCastPatterns(patterns);
      vector::TransferReadOp::getCanonicalizationPatterns(patterns, ctx);
      vector::TransferWriteOp::getCanonicalizationPatterns(patterns, ctx);
      (void)applyPatternsAndFoldGreedily(func, std::move(patterns));
    }
    canonicalize(func);
    linalg::hoistRedundantVectorTransfers(func);

    // Contractions become outer products (one FMA per weight vector and
    // row), then plain vector ops LLVM can select directly.
    {
      RewritePatternSet patterns(ctx);
      vector::VectorTransformsOptions options;
      options.setVectorTransformsOptions(
          vector::VectorContractLowering::OuterProduct);
      vector::populateVectorContractLoweringPatterns(patterns, options);
      vector::populateVectorOuterProductLoweringPatterns(patterns);
      vector::populateVectorMultiReductionLoweringPatterns(
          patterns, vector::VectorMultiReductionLowering::InnerParallel);
      vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
      vector::populateVectorBroadcastLoweringPatterns(patterns);
      vector::populateVectorShapeCastLoweringPatterns(patterns);
      vector::populateVectorTransposeLoweringPatterns(patterns, options);
      (void)applyPatternsAndFoldGreedily(func, std::move(patterns));
    }
    canonicalize(func);
  }
};

} // namespace
