//===- DistributeToThreads.cpp - SPMD work split and barriers
//--------------===//
//
// Every worker runs each function in full (see runtime/abi/ModelABI.h); the
// first two arguments of every lowered function are the worker id and count.
// A kernel becomes a loop over a share of one parallel dimension, and a call
// to the runtime's barrier follows each kernel. Matmuls and `scf.forall`
// loops (the long kernels) are cut into `chunks-per-worker` chunks per worker
// that the workers claim from the runtime's counter (`llmc_next_chunk`) until
// none is left, so a worker that runs slower (a busy core, a cold cache)
// takes fewer of them instead of keeping the others at the barrier; other
// kernels, and all of them with `chunks-per-worker=0`, give each worker one
// contiguous chunk.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "mlir/Dialect/Affine/LoopUtils.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "llm-distribute-threads"

namespace mlir::llm {
#define GEN_PASS_DEF_DISTRIBUTETOTHREADSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

/// The loop dimension to split: the packed block dimension of a matmul,
/// otherwise the parallel dimension with the largest static extent (rows are
/// dynamic and often 1 while decoding), otherwise the first parallel one.
static std::optional<unsigned> chooseDimension(linalg::LinalgOp op) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (LLMDialect::LoweringConfigAttrHelper(op->getContext())
          .isAttrPresent(op) &&
      ranges.size() >= 4)
    return 1;
  std::optional<unsigned> best;
  for (unsigned d = 0; d < iterators.size(); ++d) {
    if (iterators[d] != utils::IteratorType::parallel)
      continue;
    if (!best)
      best = d;
    if (!ShapedType::isDynamic(ranges[d]) &&
        (ShapedType::isDynamic(ranges[*best]) || ranges[d] > ranges[*best]))
      best = d;
  }
  return best;
}

/// True for the matmuls the strategy tiled: packed weights, blocks as the
/// second loop dimension.
static bool isPackedMatmul(linalg::LinalgOp op) {
  return LLMDialect::LoweringConfigAttrHelper(op->getContext())
             .isAttrPresent(op) &&
         op.getNumLoops() >= 4;
}

struct Distributor {
  IRRewriter &rewriter;
  Value tid, nthreads;
  func::FuncOp barrier, nextChunk;
  unsigned chunksPerWorker;

  /// ceil(total / (nthreads * chunksPerWorker)): the size of a claimed chunk.
  Value claimedChunkSize(Location loc, Value total) {
    Value perWorker =
        rewriter.create<arith::ConstantIndexOp>(loc, chunksPerWorker);
    Value chunks = rewriter.create<arith::MulIOp>(loc, nthreads, perWorker);
    return rewriter.create<arith::CeilDivUIOp>(loc, total, chunks);
  }

  /// Replaces `loop` (no results, one chunk per iteration) by a loop that
  /// runs the iterations this worker claims: `while ((c = next()) * step +
  /// lb < ub)`.
  void claimIterations(scf::ForOp loop) {
    Location loc = loop.getLoc();
    rewriter.setInsertionPoint(loop);
    Type indexType = rewriter.getIndexType();
    // The condition forwards the chunk's start to the body, and so to the
    // (unused) result.
    auto whileOp =
        rewriter.create<scf::WhileOp>(loc, TypeRange{indexType}, ValueRange{});
    rewriter.createBlock(&whileOp.getBefore());
    Value claimed =
        rewriter.create<func::CallOp>(loc, nextChunk, ValueRange{})
            .getResult(0);
    Value index =
        rewriter.create<arith::IndexCastOp>(loc, indexType, claimed);
    Value start = rewriter.create<arith::AddIOp>(
        loc, loop.getLowerBound(),
        rewriter.create<arith::MulIOp>(loc, index, loop.getStep()));
    Value more = rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult,
                                                start, loop.getUpperBound());
    rewriter.create<scf::ConditionOp>(loc, more, ValueRange{start});
    Block *after =
        rewriter.createBlock(&whileOp.getAfter(), {}, {indexType}, {loc});
    auto yield = rewriter.create<scf::YieldOp>(loc);
    Block *body = loop.getBody();
    rewriter.eraseOp(body->getTerminator());
    rewriter.inlineBlockBefore(body, yield, after->getArgument(0));
    rewriter.eraseOp(loop);
    rewriter.setInsertionPointAfter(whileOp);
  }

  /// [lo, hi) of this worker's share of `total`.
  std::pair<Value, Value> chunk(Location loc, Value total) {
    Value chunkSize = rewriter.create<arith::CeilDivUIOp>(loc, total, nthreads);
    Value lo = rewriter.create<arith::MinUIOp>(
        loc, rewriter.create<arith::MulIOp>(loc, tid, chunkSize), total);
    Value hi = rewriter.create<arith::MinUIOp>(
        loc, rewriter.create<arith::AddIOp>(loc, lo, chunkSize), total);
    return {lo, hi};
  }

  LogicalResult distributeLinalg(linalg::LinalgOp op) {
    std::optional<unsigned> dim = chooseDimension(op);
    if (!dim)
      return guardOnFirstWorker(op);
    Location loc = op.getLoc();
    rewriter.setInsertionPoint(op);
    SmallVector<Range> ranges =
        cast<TilingInterface>(op.getOperation()).getIterationDomain(rewriter);
    Value total =
        getValueOrCreateConstantIndexOp(rewriter, loc, ranges[*dim].size);
    bool claimed = chunksPerWorker > 0 && isPackedMatmul(op);
    Value chunkSize =
        claimed ? claimedChunkSize(loc, total)
                : rewriter.create<arith::CeilDivUIOp>(loc, total, nthreads);
    SmallVector<OpFoldResult> sizes(ranges.size(), rewriter.getIndexAttr(0));
    sizes[*dim] = chunkSize;
    scf::SCFTilingOptions options;
    options.setTileSizes(sizes);
    FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
        rewriter, cast<TilingInterface>(op.getOperation()), options);
    if (failed(tiled))
      return op.emitError("llm-distribute-threads: cannot tile this op");
    rewriter.eraseOp(op);
    auto loop = cast<scf::ForOp>(tiled->loops.front());
    if (claimed) {
      claimIterations(loop);
    } else {
      affine::mapLoopToProcessorIds(loop, {tid}, {nthreads});
      rewriter.setInsertionPointAfter(loop);
    }
    rewriter.create<func::CallOp>(loc, barrier, ValueRange{});
    return success();
  }

  LogicalResult distributeForall(scf::ForallOp forall) {
    if (forall.getRank() != 1 || !forall.getOutputs().empty())
      return forall.emitError("llm-distribute-threads: only 1-D forall loops "
                              "without outputs are supported");
    Location loc = forall.getLoc();
    rewriter.setInsertionPoint(forall);
    SmallVector<OpFoldResult> lbs = forall.getMixedLowerBound();
    SmallVector<OpFoldResult> ubs = forall.getMixedUpperBound();
    Value lower = getValueOrCreateConstantIndexOp(rewriter, loc, lbs[0]);
    Value upper = getValueOrCreateConstantIndexOp(rewriter, loc, ubs[0]);
    Value count = rewriter.create<arith::SubIOp>(loc, upper, lower);
    Value one = rewriter.create<arith::ConstantIndexOp>(loc, 1);
    scf::ForOp loop;
    if (chunksPerWorker > 0) {
      // Claimed chunks of `grain` iterations: for c in claims: for i in
      // [lower + c * grain, min(lower + (c + 1) * grain, upper)).
      Value grain = claimedChunkSize(loc, count);
      auto chunks = rewriter.create<scf::ForOp>(loc, lower, upper, grain);
      rewriter.setInsertionPoint(chunks.getBody()->getTerminator());
      Value start = chunks.getInductionVar();
      Value end = rewriter.create<arith::MinUIOp>(
          loc, rewriter.create<arith::AddIOp>(loc, start, grain), upper);
      loop = rewriter.create<scf::ForOp>(loc, start, end, one);
      rewriter.setInsertionPointAfter(chunks);
      moveForallBody(forall, loop);
      claimIterations(chunks);
    } else {
      auto [lo, hi] = chunk(loc, count);
      loop = rewriter.create<scf::ForOp>(
          loc, rewriter.create<arith::AddIOp>(loc, lower, lo),
          rewriter.create<arith::AddIOp>(loc, lower, hi), one);
      moveForallBody(forall, loop);
      rewriter.setInsertionPointAfter(loop);
    }
    rewriter.create<func::CallOp>(loc, barrier, ValueRange{});
    return success();
  }

  /// Moves the body of `forall` into `loop` and erases `forall`.
  void moveForallBody(scf::ForallOp forall, scf::ForOp loop) {
    Block *body = forall.getBody();
    rewriter.eraseOp(body->getTerminator());
    rewriter.inlineBlockBefore(body, loop.getBody()->getTerminator(),
                               ValueRange{loop.getInductionVar()});
    rewriter.eraseOp(forall);
  }

  LogicalResult guardOnFirstWorker(Operation *op) {
    Location loc = op->getLoc();
    rewriter.setInsertionPoint(op);
    Value zero = rewriter.create<arith::ConstantIndexOp>(loc, 0);
    Value first = rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq,
                                                 tid, zero);
    auto guard = rewriter.create<scf::IfOp>(loc, first, /*withElse=*/false);
    rewriter.moveOpBefore(op, guard.thenBlock()->getTerminator());
    rewriter.setInsertionPointAfter(guard);
    rewriter.create<func::CallOp>(loc, barrier, ValueRange{});
    return success();
  }

  /// Distributes the kernels of `block`, recursing into loops and branches
  /// that every worker executes.
  LogicalResult run(Block &block) {
    for (Operation &op : llvm::make_early_inc_range(block)) {
      LogicalResult result = success();
      if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
        result = distributeLinalg(linalgOp);
      else if (auto forall = dyn_cast<scf::ForallOp>(op))
        result = distributeForall(forall);
      else if (isa<scf::ForOp, scf::IfOp>(op)) {
        for (Region &region : op.getRegions())
          for (Block &inner : region)
            if (failed(run(inner)))
              return failure();
      } else if (!isa<func::CallOp>(op) && !isMemoryEffectFree(&op) &&
                 !op.hasTrait<OpTrait::IsTerminator>()) {
        auto effects = dyn_cast<MemoryEffectOpInterface>(op);
        if (!effects || effects.hasEffect<MemoryEffects::Write>())
          result = guardOnFirstWorker(&op);
      }
      if (failed(result))
        return failure();
    }
    return success();
  }
};

struct DistributeToThreadsPass
    : llm::impl::DistributeToThreadsPassBase<DistributeToThreadsPass> {
  using DistributeToThreadsPassBase::DistributeToThreadsPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    IRRewriter rewriter(&getContext());
    auto declare = [&](StringRef name, FunctionType type) {
      auto fn = module.lookupSymbol<func::FuncOp>(name);
      if (!fn) {
        rewriter.setInsertionPointToStart(module.getBody());
        fn = rewriter.create<func::FuncOp>(module.getLoc(), name, type);
        fn.setPrivate();
      }
      return fn;
    };
    func::FuncOp barrier =
        declare(kBarrierFn, rewriter.getFunctionType({}, {}));
    func::FuncOp nextChunk = declare(
        kNextChunkFn, rewriter.getFunctionType({}, {rewriter.getI64Type()}));
    for (func::FuncOp func : module.getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      if (func.getNumArguments() < 2 ||
          !func.getArgument(0).getType().isIndex() ||
          !func.getArgument(1).getType().isIndex()) {
        func.emitError("llm-distribute-threads: expected (tid: index, "
                       "nthreads: index, ...) arguments");
        return signalPassFailure();
      }
      Distributor distributor{rewriter, func.getArgument(0),
                              func.getArgument(1), barrier, nextChunk,
                              chunksPerWorker};
      if (failed(distributor.run(func.getBody().front())))
        return signalPassFailure();
    }
  }
};

} // namespace
