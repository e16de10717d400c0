//===- TileAndVectorize.cpp - Register tiles for packed matmuls -----------===//
//
// A packed matmul has loops (m, b, r, k): rows, weight blocks, lanes of a
// block, reduction. Its `llm.tiles` = [rows, block, depth step] comes from
// the target strategy. The loops are tiled to (rows x 1 block x all lanes x
// one depth step), ordered blocks, steps, rows. Rows are peeled so the main
// loop's tiles are static and the remainder runs one row at a time, and every
// static tile becomes a loop over its depth step of vector FMAs whose `rows`
// accumulators stay in registers; the weight vector is widened to f32 in
// registers.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
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

/// A packed matmul as convert-llm-to-linalg builds it: inputs x [m, k] and
/// w [b, k, r]; output [m, b, r].
static bool isPackedMatmul(Operation *op) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  return linalgOp && op->hasAttr(kTilesAttr) && linalgOp.getNumLoops() == 4 &&
         linalgOp.getNumDpsInits() == 1 && linalgOp.getNumDpsInputs() == 2;
}

/// Replaces a static register tile (rows x 1 block x lanes, whole depth) by
/// its vector form: the rows' accumulators stay in registers across the
/// depth loop; each step loads one weight vector, widens it to f32 and does
/// one FMA per row with the broadcast input element.
static LogicalResult vectorizeTile(RewriterBase &rewriter,
                                   linalg::LinalgOp op) {
  Value x = op.getDpsInputOperand(0)->get();
  Value w = op.getDpsInputOperand(1)->get();
  Value out = op.getDpsInitOperand(0)->get();
  auto xType = cast<MemRefType>(x.getType());
  auto wType = cast<MemRefType>(w.getType());
  auto outType = cast<MemRefType>(out.getType());
  if (!xType.hasStaticShape() || !wType.hasStaticShape() ||
      !outType.hasStaticShape() || wType.getDimSize(0) != 1 ||
      outType.getDimSize(1) != 1)
    return failure();
  int64_t rows = xType.getDimSize(0), depth = xType.getDimSize(1),
          lanes = wType.getDimSize(2);
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  Type f32 = rewriter.getF32Type();
  auto accType = VectorType::get({lanes}, f32);
  auto wVecType = VectorType::get({lanes}, wType.getElementType());
  Value c0 = rewriter.create<arith::ConstantIndexOp>(loc, 0);
  Value c1 = rewriter.create<arith::ConstantIndexOp>(loc, 1);
  Value zero = rewriter.create<arith::ConstantOp>(loc, rewriter.getF32FloatAttr(0));
  Value wPad = rewriter.create<arith::ConstantOp>(
      loc, rewriter.getFloatAttr(wType.getElementType(), 0));
  SmallVector<bool> inBounds = {true};
  SmallVector<Value> accs;
  for (int64_t i = 0; i < rows; ++i) {
    Value row = rewriter.create<arith::ConstantIndexOp>(loc, i);
    accs.push_back(rewriter.create<vector::TransferReadOp>(
        loc, accType, out, ValueRange{row, c0, c0}, zero, inBounds));
  }
  Value end = rewriter.create<arith::ConstantIndexOp>(loc, depth);
  auto loop = rewriter.create<scf::ForOp>(
      loc, c0, end, c1, accs,
      [&](OpBuilder &b, Location nloc, Value k, ValueRange carried) {
        Value wVec = b.create<vector::TransferReadOp>(
            nloc, wVecType, w, ValueRange{c0, k, c0}, wPad, inBounds);
        if (wVecType != accType)
          wVec = b.create<arith::ExtFOp>(nloc, accType, wVec);
        SmallVector<Value> next;
        for (int64_t i = 0; i < rows; ++i) {
          Value row = b.create<arith::ConstantIndexOp>(nloc, i);
          Value xs = b.create<memref::LoadOp>(nloc, x, ValueRange{row, k});
          Value splat = b.create<vector::SplatOp>(nloc, accType, xs);
          next.push_back(
              b.create<vector::FMAOp>(nloc, splat, wVec, carried[i]));
        }
        b.create<scf::YieldOp>(nloc, next);
      });
  for (int64_t i = 0; i < rows; ++i) {
    Value row = rewriter.create<arith::ConstantIndexOp>(loc, i);
    rewriter.create<vector::TransferWriteOp>(loc, loop.getResult(i), out,
                                             ValueRange{row, c0, c0},
                                             inBounds);
  }
  rewriter.eraseOp(op);
  return success();
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
      int64_t rows = tiles[0], step = tiles[2];
      int64_t depth = op.getStaticLoopRanges()[3];
      // Loops: blocks, depth steps, rows; each tile is rows x 1 x lanes x
      // step, so a block's panel for one step is reused by all rows.
      int64_t depthTile = step < depth && depth % step == 0 ? step : 0;
      FailureOr<scf::SCFTilingResult> tiled =
          tile(rewriter, op, {rows, 1, 0, depthTile}, {1, 3, 0, 2});
      if (failed(tiled)) {
        op.emitError("llm-tile-and-vectorize: tiling failed");
        return signalPassFailure();
      }
      auto rowLoop = cast<scf::ForOp>(tiled->loops.back());
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
    // Folds the peeled bounds so that the main tiles get static shapes.
    canonicalize(func);

    SmallVector<linalg::LinalgOp> candidates;
    func.walk([&](linalg::LinalgOp op) {
      if (isPackedMatmul(op))
        candidates.push_back(op);
    });
    for (linalg::LinalgOp op : candidates)
      if (failed(vectorizeTile(rewriter, op)))
        LLVM_DEBUG(llvm::dbgs() << "left a dynamic tile scalar: " << op
                                << "\n");
    canonicalize(func);
  }
};

} // namespace
