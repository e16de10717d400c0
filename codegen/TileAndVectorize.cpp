//===- TileAndVectorize.cpp - Register tiles for packed matmuls -----------===//
//
// A packed matmul has loops (m, b, r, k): rows, weight blocks, lanes of a
// block, reduction. Its `llm.lowering_config` (tiles = [rows, block, depth
// step]) comes from the target strategy. The loops are tiled to (rows x 1 block
// x all lanes x one depth step), ordered blocks, steps, rows. Rows are peeled
// so the main loop's tiles are static and the remainder runs one row at a time,
// and every static tile becomes a loop over its depth step of vector FMAs whose
// `rows` accumulators stay in registers; the weight vector is widened to f32 in
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

/// The strategy's tiles for `op`, or null.
static LoweringConfigAttr getConfig(Operation *op) {
  return LLMDialect::LoweringConfigAttrHelper(op->getContext()).getAttr(op);
}

/// A packed matmul as convert-llm-to-linalg builds it: inputs x [m, k] and
/// w [b, k, r]; output [m, b, r].
static bool isPackedMatmul(Operation *op) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  return linalgOp && getConfig(op) && linalgOp.getNumLoops() == 4 &&
         linalgOp.getNumDpsInits() == 1 && linalgOp.getNumDpsInputs() == 2;
}

/// The tiles describe a packed matmul, and the vector code replaces its body
/// by FMAs: an op carrying them must be exactly out[m, b, r] += x[m, k] *
/// w[b, k, r] (the weight possibly widened), nothing else.
static LogicalResult verifyPackedMatmul(linalg::LinalgOp op) {
  MLIRContext *ctx = op.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineMap> expected = {
      AffineMap::get(4, 0, {d(0), d(3)}, ctx),
      AffineMap::get(4, 0, {d(1), d(3), d(2)}, ctx),
      AffineMap::get(4, 0, {d(0), d(1), d(2)}, ctx)};
  if (!isPackedMatmul(op) || op.getIndexingMapsArray() != expected ||
      !linalg::isaContractionOpInterface(op))
    return op->emitError("llm-tile-and-vectorize: an op with an "
                         "llm.lowering_config must be a packed multiply-add "
                         "out[m, b, r] += x[m, k] * w[b, k, r]");
  return success();
}

/// The operands of a static register tile: x [rows, depth], w [1, depth,
/// lanes], out [rows, 1, lanes].
struct Tile {
  Value x, w, out;
  int64_t rows, depth, lanes;
};

static std::optional<Tile> matchStaticTile(linalg::LinalgOp op) {
  Tile t{op.getDpsInputOperand(0)->get(), op.getDpsInputOperand(1)->get(),
         op.getDpsInitOperand(0)->get(), 0, 0, 0};
  auto xType = cast<MemRefType>(t.x.getType());
  auto wType = cast<MemRefType>(t.w.getType());
  auto outType = cast<MemRefType>(t.out.getType());
  if (!xType.hasStaticShape() || !wType.hasStaticShape() ||
      !outType.hasStaticShape() || wType.getDimSize(0) != 1 ||
      outType.getDimSize(1) != 1)
    return std::nullopt;
  t.rows = xType.getDimSize(0);
  t.depth = xType.getDimSize(1);
  t.lanes = wType.getDimSize(2);
  return t;
}

/// bf16 -> f32 is exact as bits: the bf16 is the upper half of the f32.
/// Spelled as integer ops because LLVM 19 cannot select a scalable bf16
/// extension on SVE without +bf16, and they are what x86 selects anyway.
static Value widenBF16(OpBuilder &b, Location loc, Value v, VectorType f32Type) {
  auto shape = [&](Type element) {
    return VectorType::get(f32Type.getShape(), element,
                           f32Type.getScalableDims());
  };
  Value bits = b.create<arith::BitcastOp>(loc, shape(b.getI16Type()), v);
  Value wide = b.create<arith::ExtUIOp>(loc, shape(b.getI32Type()), bits);
  Value sixteen = b.create<arith::ConstantOp>(
      loc, DenseElementsAttr::get(shape(b.getI32Type()),
                                  b.getI32IntegerAttr(16)));
  return b.create<arith::BitcastOp>(
      loc, f32Type, b.create<arith::ShLIOp>(loc, wide, sixteen));
}

/// Emits the depth loop of a tile over lanes [lane, lane + vector width):
/// the rows' accumulators are loaded, carried in registers through the loop
/// (each step: one weight vector widened to f32, one FMA per row with the
/// broadcast input element) and stored. `mask` (scalable chunks) guards the
/// lanes past the block's end.
static void emitDepthLoop(OpBuilder &b, Location loc, const Tile &t,
                          VectorType accType, Value lane, Value mask) {
  Type wElement = cast<MemRefType>(t.w.getType()).getElementType();
  auto wVecType = VectorType::get(accType.getShape(), wElement,
                                  accType.getScalableDims());
  Value c0 = b.create<arith::ConstantIndexOp>(loc, 0);
  Value c1 = b.create<arith::ConstantIndexOp>(loc, 1);
  Value zero = b.create<arith::ConstantOp>(
      loc, DenseElementsAttr::get(accType, b.getF32FloatAttr(0)));
  Value wZero = b.create<arith::ConstantOp>(
      loc, DenseElementsAttr::get(wVecType, b.getFloatAttr(wElement, 0)));
  auto load = [&](OpBuilder &nb, Location nloc, Value base, ValueRange indices,
                  VectorType type, Value passThru) -> Value {
    if (mask)
      return nb.create<vector::MaskedLoadOp>(nloc, type, base, indices, mask,
                                             passThru);
    return nb.create<vector::LoadOp>(nloc, type, base, indices);
  };
  SmallVector<Value> accs;
  for (int64_t i = 0; i < t.rows; ++i) {
    Value row = b.create<arith::ConstantIndexOp>(loc, i);
    accs.push_back(load(b, loc, t.out, {row, c0, lane}, accType, zero));
  }
  Value end = b.create<arith::ConstantIndexOp>(loc, t.depth);
  auto loop = b.create<scf::ForOp>(
      loc, c0, end, c1, accs,
      [&](OpBuilder &nb, Location nloc, Value k, ValueRange carried) {
        Value wVec = load(nb, nloc, t.w, {c0, k, lane}, wVecType, wZero);
        if (wElement.isBF16())
          wVec = widenBF16(nb, nloc, wVec, accType);
        else if (wVecType != accType)
          wVec = nb.create<arith::ExtFOp>(nloc, accType, wVec);
        SmallVector<Value> next;
        for (int64_t i = 0; i < t.rows; ++i) {
          Value row = nb.create<arith::ConstantIndexOp>(nloc, i);
          Value xs = nb.create<memref::LoadOp>(nloc, t.x, ValueRange{row, k});
          Value splat = nb.create<vector::SplatOp>(nloc, accType, xs);
          next.push_back(
              nb.create<vector::FMAOp>(nloc, splat, wVec, carried[i]));
        }
        nb.create<scf::YieldOp>(nloc, next);
      });
  for (int64_t i = 0; i < t.rows; ++i) {
    Value row = b.create<arith::ConstantIndexOp>(loc, i);
    if (mask)
      b.create<vector::MaskedStoreOp>(loc, t.out, ValueRange{row, c0, lane},
                                      mask, loop.getResult(i));
    else
      b.create<vector::StoreOp>(loc, loop.getResult(i), t.out,
                                ValueRange{row, c0, lane});
  }
}

/// Replaces a static register tile (rows x 1 block x lanes, one depth step)
/// by vector code: one depth loop over the whole block with fixed-width
/// vectors, or, with `llm.scalable_lanes` = n, a loop over chunks of
/// n x vscale lanes, each with its own depth loop (vector-length agnostic).
static LogicalResult vectorizeTile(RewriterBase &rewriter,
                                   linalg::LinalgOp op) {
  std::optional<Tile> t = matchStaticTile(op);
  if (!t)
    return failure();
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  Type f32 = rewriter.getF32Type();
  std::optional<int64_t> scalable = getConfig(op).getScalableLanes();
  if (!scalable) {
    Value c0 = rewriter.create<arith::ConstantIndexOp>(loc, 0);
    emitDepthLoop(rewriter, loc, *t, VectorType::get({t->lanes}, f32), c0,
                  Value());
    rewriter.eraseOp(op);
    return success();
  }
  int64_t minLanes = *scalable;
  auto accType = VectorType::get({minLanes}, f32, {true});
  Value vscale = rewriter.create<vector::VectorScaleOp>(loc);
  Value step = rewriter.create<arith::MulIOp>(
      loc, vscale, rewriter.create<arith::ConstantIndexOp>(loc, minLanes));
  Value c0 = rewriter.create<arith::ConstantIndexOp>(loc, 0);
  Value lanes = rewriter.create<arith::ConstantIndexOp>(loc, t->lanes);
  rewriter.create<scf::ForOp>(
      loc, c0, lanes, step, ValueRange{},
      [&](OpBuilder &b, Location nloc, Value lane, ValueRange) {
        Value remaining = b.create<arith::SubIOp>(nloc, lanes, lane);
        auto maskType = VectorType::get({minLanes}, b.getI1Type(), {true});
        Value mask = b.create<vector::CreateMaskOp>(nloc, maskType,
                                                    ValueRange{remaining});
        emitDepthLoop(b, nloc, *t, accType, lane, mask);
        b.create<scf::YieldOp>(nloc);
      });
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
    WalkResult checked = func.walk([&](linalg::LinalgOp op) {
      if (!getConfig(op))
        return WalkResult::advance();
      if (failed(verifyPackedMatmul(op)))
        return WalkResult::interrupt();
      matmuls.push_back(op);
      return WalkResult::advance();
    });
    if (checked.wasInterrupted())
      return signalPassFailure();
    for (linalg::LinalgOp op : matmuls) {
      LoweringConfigAttr config = getConfig(op);
      int64_t rows = config.getRows(), step = config.getDepthStep();
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
