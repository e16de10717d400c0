//===- DistributeToGPU.cpp - One kernel launch per loop nest --------------===//
//
// The GPU counterpart of distribute-threads: a linalg op (or the attention
// `scf.forall`) becomes a `gpu.launch` over a 1-D grid whose threads each run
// one point of its parallel iteration space, with the innermost parallel
// dimension numbered fastest so that a warp's 32 threads touch neighbouring
// elements (coalesced loads of the packed weights, whose blocks are as wide
// as a warp). Reduction dimensions stay sequential loops inside the thread.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "codegen/nvptx/NVPTXTarget.h"
#include "codegen/nvptx/PackedProjection.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::llm {
#define GEN_PASS_DEF_DISTRIBUTETOGPUPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

/// Whether `op` reads or writes a buffer (and so must run on the device).
bool touchesMemory(Operation *op) {
  return isa<memref::LoadOp, memref::StoreOp, memref::CopyOp,
             vector::TransferReadOp, vector::TransferWriteOp, vector::LoadOp,
             vector::StoreOp, linalg::LinalgOp>(op);
}

/// Moves the `memref.get_global`s a kernel uses into it: a global's host
/// address means nothing on the device, while a global inside the kernel is
/// cloned into its GPU module by the outlining.
void sinkGlobals(RewriterBase &rewriter, gpu::LaunchOp launch) {
  Block &body = launch.getBody().front();
  DenseMap<Operation *, Value> cloned;
  launch.getBody().walk([&](Operation *op) {
    for (OpOperand &operand : op->getOpOperands()) {
      auto global = operand.get().getDefiningOp<memref::GetGlobalOp>();
      if (!global || launch->isAncestor(global))
        continue;
      Value &local = cloned[global];
      if (!local) {
        OpBuilder::InsertionGuard guard(rewriter);
        rewriter.setInsertionPointToStart(&body);
        local = rewriter.clone(*global)->getResult(0);
      }
      operand.set(local);
    }
  });
}

/// Creates, before the rewriter's insertion point, a 1-D launch of blocks
/// of `threadsPerBlock` threads covering `total` threads, and leaves the
/// rewriter inside its bounds check with `id` the thread's global index.
gpu::LaunchOp createGuardedLaunch(RewriterBase &rewriter, Location loc,
                                  Value total, int64_t threadsPerBlock,
                                  Value &id) {
  Value one = rewriter.create<arith::ConstantIndexOp>(loc, 1);
  Value blockSize =
      rewriter.create<arith::ConstantIndexOp>(loc, threadsPerBlock);
  // A launch of zero blocks is an error in CUDA: an empty space still gets
  // one block, whose threads all fail the bounds check.
  Value blocks = rewriter.create<arith::MaxUIOp>(
      loc, rewriter.create<arith::CeilDivUIOp>(loc, total, blockSize), one);
  auto launch = rewriter.create<gpu::LaunchOp>(loc, blocks, one, one, blockSize,
                                               one, one);
  Block &body = launch.getBody().front();
  rewriter.setInsertionPointToStart(&body);
  rewriter.create<gpu::TerminatorOp>(loc);
  rewriter.setInsertionPointToStart(&body);
  id = rewriter.create<arith::AddIOp>(
      loc,
      rewriter.create<arith::MulIOp>(loc, launch.getBlockIds().x, blockSize),
      launch.getThreadIds().x);
  Value inRange =
      rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, id, total);
  auto guard = rewriter.create<scf::IfOp>(loc, inRange, /*withElse=*/false);
  rewriter.setInsertionPointToStart(&guard.getThenRegion().front());
  return launch;
}

/// Replaces the host-level `loop` by a launch with one thread per iteration.
gpu::LaunchOp launchParallelLoop(RewriterBase &rewriter, scf::ParallelOp loop,
                                 int64_t threadsPerBlock) {
  Location loc = loop.getLoc();
  rewriter.setInsertionPoint(loop);
  auto index = [&](int64_t v) -> Value {
    return rewriter.create<arith::ConstantIndexOp>(loc, v);
  };
  Value one = index(1);
  SmallVector<Value> counts;
  Value total = one;
  for (auto [lb, ub, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    Value span = rewriter.create<arith::SubIOp>(loc, ub, lb);
    Value count = rewriter.create<arith::CeilDivUIOp>(loc, span, step);
    counts.push_back(count);
    total = rewriter.create<arith::MulIOp>(loc, total, count);
  }
  Value id;
  gpu::LaunchOp launch =
      createGuardedLaunch(rewriter, loc, total, threadsPerBlock, id);

  // The innermost dimension varies fastest.
  IRMapping mapping;
  Value rest = id;
  for (int64_t d = loop.getNumLoops() - 1; d >= 0; --d) {
    Value position =
        d == 0 ? rest : rewriter.create<arith::RemUIOp>(loc, rest, counts[d]);
    if (d > 0)
      rest = rewriter.create<arith::DivUIOp>(loc, rest, counts[d]);
    Value iv = rewriter.create<arith::AddIOp>(
        loc, loop.getLowerBound()[d],
        rewriter.create<arith::MulIOp>(loc, position, loop.getStep()[d]));
    mapping.map(loop.getInductionVars()[d], iv);
  }
  for (Operation &op : loop.getBody()->without_terminator())
    rewriter.clone(op, mapping);
  rewriter.eraseOp(loop);
  sinkGlobals(rewriter, launch);
  return launch;
}

/// Runs `op` (a loop nest with no parallel loop outside) on one thread.
void launchSingleThread(RewriterBase &rewriter, Operation *op) {
  Location loc = op->getLoc();
  rewriter.setInsertionPoint(op);
  Value one = rewriter.create<arith::ConstantIndexOp>(loc, 1);
  auto launch =
      rewriter.create<gpu::LaunchOp>(loc, one, one, one, one, one, one);
  Block &body = launch.getBody().front();
  rewriter.setInsertionPointToStart(&body);
  rewriter.create<gpu::TerminatorOp>(loc);
  op->moveBefore(&body, body.begin());
  sinkGlobals(rewriter, launch);
}

/// The accumulation `out + f` a linalg body yields, f computed from the
/// inputs (and, with `allowIndex`, the iteration indices) by pure ops that
/// do not read `out`.
struct Accumulation {
  arith::AddFOp add;
  Value addend;
};

std::optional<Accumulation> matchAccumulation(Block &body, bool allowIndex) {
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (yield.getValues().size() != 1)
    return std::nullopt;
  auto add = yield.getValues()[0].getDefiningOp<arith::AddFOp>();
  BlockArgument out = body.getArguments().back();
  if (!add || !add->hasOneUse() || (add.getLhs() != out && add.getRhs() != out))
    return std::nullopt;
  Value addend = add.getLhs() == out ? add.getRhs() : add.getLhs();
  if (addend == out)
    return std::nullopt;
  for (Operation &inner : body.without_terminator()) {
    if (&inner == add.getOperation())
      continue;
    if (!isPure(&inner) || inner.getNumRegions() != 0 ||
        (!allowIndex && isa<linalg::IndexOp>(inner)) ||
        llvm::is_contained(inner.getOperands(), Value(out)))
      return std::nullopt;
  }
  return Accumulation{add, addend};
}

/// `value` summed over the threads of a warp whose lane indices differ only
/// in the bits from `firstOffset` up to (not including) `endOffset`, both
/// powers of two: a butterfly of shuffles, every thread getting the sum.
Value warpSum(OpBuilder &b, Location loc, Value value, int64_t firstOffset,
              int64_t endOffset = 32) {
  Type i32 = b.getI32Type();
  Value width = b.create<arith::ConstantIntOp>(loc, 32, i32);
  for (int64_t offset = firstOffset; offset < endOffset; offset *= 2)
    value = b.create<arith::AddFOp>(
        loc, value,
        b.create<gpu::ShuffleOp>(
             loc, value, b.create<arith::ConstantIntOp>(loc, offset, i32),
             width, gpu::ShuffleMode::XOR)
            .getShuffleResult());
  return value;
}

/// A linalg reduction `out[p] += f(ins[p, r])` over one reduction dimension
/// r (RMSNorm's sum of squares, for instance): f does not read `out`.
struct SplitReduction {
  linalg::GenericOp op;
  unsigned reductionDim;
  /// The body's accumulation `out + f` and its f.
  Operation *accumulation;
  Value addend;
};

std::optional<SplitReduction> matchSplitReduction(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 1 ||
      !isa<MemRefType>(op.getDpsInits()[0].getType()) ||
      !cast<MemRefType>(op.getDpsInits()[0].getType()).getElementType().isF32())
    return std::nullopt;
  SmallVector<unsigned> reductions;
  op.getReductionDims(reductions);
  unsigned reductionDim = reductions.front();
  for (AffineMap map : op.getIndexingMapsArray())
    if (!map.isProjectedPermutation())
      return std::nullopt;
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (outMap.isFunctionOfDim(reductionDim))
    return std::nullopt;
  // Too short a reduction for threads to share it.
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (!ShapedType::isDynamic(ranges[reductionDim]) && ranges[reductionDim] < 64)
    return std::nullopt;
  std::optional<Accumulation> accumulation =
      matchAccumulation(op.getRegion().front(), /*allowIndex=*/true);
  if (!accumulation)
    return std::nullopt;
  return SplitReduction{op, reductionDim, accumulation->add,
                        accumulation->addend};
}

/// `sum` plus the reduction's term f(ins) at the loop indices `ivs`
/// (loading the inputs there).
Value addReductionTerm(OpBuilder &b, Location loc,
                       const SplitReduction &reduction, ArrayRef<Value> ivs,
                       Value sum) {
  linalg::GenericOp op = reduction.op;
  Block &body = op.getRegion().front();
  IRMapping mapping;
  for (OpOperand *input : op.getDpsInputOperands()) {
    Value value = input->get();
    if (isa<MemRefType>(value.getType())) {
      SmallVector<Value> indices;
      for (AffineExpr expr : op.getMatchingIndexingMap(input).getResults())
        indices.push_back(ivs[cast<AffineDimExpr>(expr).getPosition()]);
      value = b.create<memref::LoadOp>(loc, value, indices);
    }
    mapping.map(body.getArgument(input->getOperandNumber()), value);
  }
  for (Operation &inner : body.without_terminator()) {
    if (auto indexOp = dyn_cast<linalg::IndexOp>(inner))
      mapping.map(indexOp.getResult(), ivs[indexOp.getDim()]);
    else if (&inner != reduction.accumulation)
      b.clone(inner, mapping);
  }
  return b.create<arith::AddFOp>(loc, sum, mapping.lookup(reduction.addend));
}

/// A packed projection's body split by what its values vary with: the row
/// (computed once per row: a prologue's RMSNorm scale), the depth (once per
/// depth: the activation, SwiGLU of a prologue) or the lane (once per
/// weight: the product).
struct ProjectionBody {
  enum class Level { Row, Depth, Lane };
  DenseMap<Value, Level> levels;
  SmallVector<OpOperand *> rowInputs, depthInputs;
  SmallVector<Operation *> rowOps, depthOps, laneOps;
  /// Row inputs computed in the projection's launch instead of read: the
  /// reduction that would have written them (RMSNorm's sum of squares),
  /// by operand number.
  DenseMap<unsigned, SplitReduction> inlined;

  ProjectionBody(const PackedProjection &projection,
                 DenseMap<unsigned, SplitReduction> inlined =
                     DenseMap<unsigned, SplitReduction>())
      : inlined(std::move(inlined)) {
    linalg::GenericOp op = projection.op;
    Block &combiner = op.getRegion().front();
    for (OpOperand *input : op.getDpsInputOperands()) {
      Value arg = combiner.getArgument(input->getOperandNumber());
      if (input->getOperandNumber() == projection.weightInput) {
        levels[arg] = Level::Lane;
      } else if (op.getMatchingIndexingMap(input).isFunctionOfDim(3)) {
        levels[arg] = Level::Depth;
        depthInputs.push_back(input);
      } else {
        levels[arg] = Level::Row;
        rowInputs.push_back(input);
      }
    }
    Value out = combiner.getArguments().back();
    for (Operation &inner : combiner.without_terminator()) {
      // The accumulation itself (the only op that reads the output).
      if (llvm::is_contained(inner.getOperands(), out))
        continue;
      Level level = Level::Row;
      for (Value operand : inner.getOperands())
        level = std::max(level, levels.lookup(operand));
      for (Value result : inner.getResults())
        levels[result] = level;
      (level == Level::Row     ? rowOps
       : level == Level::Depth ? depthOps
                               : laneOps)
          .push_back(&inner);
    }
  }
};

/// An activation's indices: the row and/or the depth `k`.
SmallVector<Value> activationIndices(linalg::GenericOp op, OpOperand *input,
                                     Value row, Value k) {
  SmallVector<Value> indices;
  for (AffineExpr expr : op.getMatchingIndexingMap(input).getResults())
    indices.push_back(cast<AffineDimExpr>(expr).getPosition() == 0 ? row : k);
  return indices;
}

/// How the threads that need one row's inlined reductions share them:
/// `lanes` neighbouring threads of a warp (a power of two; 1: each thread
/// alone), this one being `lane` of them, summing with shuffles.
struct RowShare {
  Value lane;
  int64_t lanes = 1;
};

/// The reduction `reduction` (over two loops: one parallel, one reduced)
/// at the parallel index `row`, summed by the threads of `share`: each adds
/// every `lanes`-th element from its lane on, then a butterfly of shuffles
/// gives each of them the total.
Value emitInlineReduction(OpBuilder &b, Location loc,
                          const SplitReduction &reduction, Value row,
                          const RowShare &share) {
  linalg::GenericOp op = reduction.op;
  SmallVector<Range> ranges =
      cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(b, loc);
  Value depth = getValueOrCreateConstantIndexOp(
      b, loc, ranges[reduction.reductionDim].size);
  Value start =
      share.lanes > 1 ? share.lane : b.create<arith::ConstantIndexOp>(loc, 0);
  Value step = b.create<arith::ConstantIndexOp>(loc, share.lanes);
  Value zero = b.create<arith::ConstantOp>(loc, b.getZeroAttr(b.getF32Type()));
  auto loop = b.create<scf::ForOp>(
      loc, start, depth, step, ValueRange{zero},
      [&](OpBuilder &nested, Location, Value k, ValueRange sum) {
        SmallVector<Value> ivs(2);
        ivs[reduction.reductionDim] = k;
        ivs[1 - reduction.reductionDim] = row;
        nested.create<scf::YieldOp>(
            loc, addReductionTerm(nested, loc, reduction, ivs, sum[0]));
      });
  Value total = loop.getResult(0);
  if (share.lanes > 1)
    total = warpSum(b, loc, total, 1, share.lanes);
  return total;
}

/// Maps the body's row-level values of row `row` (loading what they read,
/// or computing an inlined reduction with the threads of `share`).
void mapRowValues(OpBuilder &b, Location loc,
                  const PackedProjection &projection,
                  const ProjectionBody &body, Value row, IRMapping &mapping,
                  const RowShare &share = {}) {
  linalg::GenericOp op = projection.op;
  Block &combiner = op.getRegion().front();
  for (OpOperand *input : body.rowInputs) {
    auto inlined = body.inlined.find(input->getOperandNumber());
    Value value = inlined != body.inlined.end()
                      ? emitInlineReduction(b, loc, inlined->second, row, share)
                      : b.create<memref::LoadOp>(
                            loc, input->get(),
                            activationIndices(op, input, row, Value()));
    mapping.map(combiner.getArgument(input->getOperandNumber()), value);
  }
  for (Operation *inner : body.rowOps)
    b.clone(*inner, mapping);
}

/// Maps the body's depth-level values of (row, k), the row's values mapped.
void mapDepthValues(OpBuilder &b, Location loc,
                    const PackedProjection &projection,
                    const ProjectionBody &body, Value row, Value k,
                    ArrayRef<Value> activations, IRMapping &mapping) {
  Block &combiner = linalg::GenericOp(projection.op).getRegion().front();
  for (auto [input, value] : llvm::zip(body.depthInputs, activations))
    mapping.map(combiner.getArgument(input->getOperandNumber()), value);
  for (Operation *inner : body.depthOps)
    b.clone(*inner, mapping);
}

/// The weights of `projection` as 16-byte vectors: [blocks, depth, groups]
/// flattened, with `lanes` elements each.
struct WeightVectors {
  Value vectors;
  int64_t blocks, depth, width, lanes, groups;
};

/// The shape of `projection`'s weights and their 16-byte groups of lanes
/// (no vector view yet).
WeightVectors weightGroups(const PackedProjection &projection) {
  auto weightType = cast<MemRefType>(
      projection.op->getOperand(projection.weightInput).getType());
  WeightVectors w;
  w.blocks = weightType.getDimSize(0);
  w.depth = weightType.getDimSize(1);
  w.width = weightType.getDimSize(2);
  int64_t elementBytes = std::max<int64_t>(
      weightType.getElementType().getIntOrFloatBitWidth() / 8, 1);
  w.lanes = std::min<int64_t>(16 / elementBytes, w.width);
  while (w.width % w.lanes != 0)
    --w.lanes;
  w.groups = w.width / w.lanes;
  return w;
}

WeightVectors viewWeightVectors(OpBuilder &b, Location loc,
                                const PackedProjection &projection) {
  WeightVectors w = weightGroups(projection);
  Type element =
      cast<MemRefType>(
          projection.op->getOperand(projection.weightInput).getType())
          .getElementType();
  memref::ViewOp view = projection.weights;
  w.vectors = b.create<memref::ViewOp>(
      loc,
      MemRefType::get({ShapedType::kDynamic},
                      VectorType::get({w.lanes}, element)),
      view.getSource(), view.getByteShift(),
      ValueRange{b.create<arith::ConstantIndexOp>(loc, w.blocks * w.depth *
                                                           w.groups)});
  return w;
}

/// The streaming form of a packed projection, for few rows (decode): each
/// weight byte read once. Each thread owns one 16-byte group of output
/// lanes of one row and block and a strided share of the depth (split-K,
/// chosen at run time so that the launch has about `targetThreads` threads
/// whatever the row count), loads its weights 16 bytes at a time (the
/// weights are viewed as vectors of 16 bytes, so the loads are 16-byte
/// loads), `kUnroll` loads in flight, and adds its partial sums to the
/// output (zeros or a residual before) atomically. What a prologue computes
/// from the row alone is computed once before the loop, what it computes
/// from a depth once per depth. The threads of a warp read neighbouring
/// depths of one block: consecutive 64-byte rows. With `warpShuffles`, the
/// split count is a multiple of the splits one warp holds, so that a warp's
/// threads share one row and block: they sum their partial sums with
/// butterfly shuffles first, and each of them adds a different lane, a
/// warp's width fewer atomics (the emulation on the CPU, which runs threads
/// one after another, cannot shuffle).
struct StreamingPlan {
  Value total, splits;
  int64_t warpSplits;
  bool warpShuffles;
};

StreamingPlan planStreaming(RewriterBase &rewriter, Location loc,
                            const PackedProjection &projection, Value rows,
                            int64_t threadsPerBlock, int64_t targetThreads,
                            bool warpShuffles) {
  constexpr int64_t kWarp = 32;
  auto index = [&](int64_t v) -> Value {
    return rewriter.create<arith::ConstantIndexOp>(loc, v);
  };
  WeightVectors w = weightGroups(projection);
  int64_t blocks = w.blocks, depth = w.depth, groups = w.groups;
  StreamingPlan plan;
  // Splits of one (row, block) in a warp; shuffles need whole warps of them.
  plan.warpSplits = kWarp % groups == 0 ? kWarp / groups : 0;
  plan.warpShuffles =
      warpShuffles && plan.warpSplits > 1 && threadsPerBlock % kWarp == 0;
  Value one = index(1);
  Value work =
      rewriter.create<arith::MulIOp>(loc, rows, index(blocks * groups));
  Value splits =
      rewriter.create<arith::CeilDivUIOp>(loc, index(targetThreads), work);
  splits = rewriter.create<arith::MinUIOp>(
      loc, rewriter.create<arith::MaxUIOp>(loc, splits, one),
      index(std::max<int64_t>(depth / 8, 1)));
  if (plan.warpShuffles)
    splits =
        rewriter.create<arith::MulIOp>(loc,
                                       rewriter.create<arith::CeilDivUIOp>(
                                           loc, splits, index(plan.warpSplits)),
                                       index(plan.warpSplits));
  plan.splits = splits;
  plan.total = rewriter.create<arith::MulIOp>(loc, work, splits);
  return plan;
}

/// Emits, at the rewriter's insertion point inside a launch, the streaming
/// form's thread `id` (below the plan's total).
void emitStreamingThread(RewriterBase &rewriter, Location loc,
                         const PackedProjection &projection,
                         const ProjectionBody &body, const StreamingPlan &plan,
                         Value id) {
  constexpr int64_t kUnroll = 4;
  linalg::GenericOp op = projection.op;
  auto index = [&](int64_t v) -> Value {
    return rewriter.create<arith::ConstantIndexOp>(loc, v);
  };
  WeightVectors w = viewWeightVectors(rewriter, loc, projection);
  int64_t blocks = w.blocks, depth = w.depth, lanes = w.lanes,
          groups = w.groups;
  Value splits = plan.splits;
  auto split = [&](Value &rest, Value count) {
    Value part = rewriter.create<arith::RemUIOp>(loc, rest, count);
    rest = rewriter.create<arith::DivUIOp>(loc, rest, count);
    return part;
  };
  Value rest = id;
  Value group = split(rest, index(groups));
  Value first = split(rest, splits);
  Value block = split(rest, index(blocks));
  Value row = rest;

  // The thread's depths: first, first + splits, ... below depth.
  Value zero = index(0);
  Value remaining = rewriter.create<arith::SubIOp>(loc, index(depth), first);
  Value count = rewriter.create<arith::SelectOp>(
      loc,
      rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, first,
                                     index(depth)),
      rewriter.create<arith::CeilDivUIOp>(loc, remaining, splits), zero);
  Value unrolledCount = rewriter.create<arith::MulIOp>(
      loc, rewriter.create<arith::DivUIOp>(loc, count, index(kUnroll)),
      index(kUnroll));
  Value stride = rewriter.create<arith::MulIOp>(loc, splits, index(kUnroll));
  Value unrolledEnd = rewriter.create<arith::AddIOp>(
      loc, first, rewriter.create<arith::MulIOp>(loc, unrolledCount, splits));

  Type f32 = rewriter.getF32Type();
  SmallVector<Value> zeros(lanes, rewriter.create<arith::ConstantOp>(
                                      loc, rewriter.getZeroAttr(f32)));
  Block &combiner = op.getRegion().front();
  IRMapping rowMapping;
  // With shuffles, a warp's threads share one row: they share its inlined
  // reductions too.
  RowShare share;
  if (plan.warpShuffles) {
    share.lanes = 32;
    share.lane = rewriter.create<arith::RemUIOp>(loc, id, index(32));
  }
  mapRowValues(rewriter, loc, projection, body, row, rowMapping, share);

  // What one depth `k` reads: the activations and the weight vector.
  struct Loaded {
    SmallVector<Value> activations;
    Value weights;
    Value k;
  };
  auto load = [&](OpBuilder &b, Location nested, Value k) {
    Loaded loaded;
    loaded.k = k;
    for (OpOperand *input : body.depthInputs)
      loaded.activations.push_back(b.create<memref::LoadOp>(
          nested, input->get(), activationIndices(op, input, row, k)));
    auto constant = [&](int64_t v) -> Value {
      return b.create<arith::ConstantIndexOp>(nested, v);
    };
    Value at = b.create<arith::AddIOp>(
        nested,
        b.create<arith::MulIOp>(
            nested,
            b.create<arith::AddIOp>(
                nested, b.create<arith::MulIOp>(nested, block, constant(depth)),
                k),
            constant(groups)),
        group);
    loaded.weights = b.create<memref::LoadOp>(nested, w.vectors, at);
    return loaded;
  };
  // The partial sums after adding f(..., w) of every lane.
  auto accumulate = [&](OpBuilder &b, Location nested, const Loaded &loaded,
                        ValueRange sums) {
    IRMapping mapping = rowMapping;
    mapDepthValues(b, nested, projection, body, row, loaded.k,
                   loaded.activations, mapping);
    SmallVector<Value> next;
    for (int64_t i = 0; i < lanes; ++i) {
      mapping.map(combiner.getArgument(projection.weightInput),
                  b.create<vector::ExtractOp>(nested, loaded.weights, i));
      for (Operation *inner : body.laneOps)
        b.clone(*inner, mapping);
      next.push_back(b.create<arith::AddFOp>(
          nested, sums[i], mapping.lookup(projection.addend)));
    }
    return next;
  };
  auto unrolled = rewriter.create<scf::ForOp>(
      loc, first, unrolledEnd, stride, zeros,
      [&](OpBuilder &b, Location nested, Value k, ValueRange sums) {
        // Every load first, so that they are in flight together.
        SmallVector<Loaded> loaded;
        for (int64_t u = 0; u < kUnroll; ++u) {
          Value at =
              u == 0 ? k
                     : b.create<arith::AddIOp>(
                           nested, k,
                           b.create<arith::MulIOp>(
                               nested, splits,
                               b.create<arith::ConstantIndexOp>(nested, u)));
          loaded.push_back(load(b, nested, at));
        }
        SmallVector<Value> next(sums);
        for (const Loaded &one : loaded)
          next = accumulate(b, nested, one, next);
        b.create<scf::YieldOp>(nested, next);
      });
  auto tail = rewriter.create<scf::ForOp>(
      loc, unrolledEnd, index(depth), splits, unrolled.getResults(),
      [&](OpBuilder &b, Location nested, Value k, ValueRange sums) {
        b.create<scf::YieldOp>(nested,
                               accumulate(b, nested, load(b, nested, k), sums));
      });
  SmallVector<Value> sums(tail.getResults());

  auto laneOf = [&](int64_t i) -> Value {
    return rewriter.create<arith::AddIOp>(
        loc, rewriter.create<arith::MulIOp>(loc, group, index(lanes)),
        index(i));
  };
  if (!plan.warpShuffles) {
    for (int64_t i = 0; i < lanes; ++i)
      rewriter.create<memref::AtomicRMWOp>(loc, arith::AtomicRMWKind::addf,
                                           sums[i], projection.y,
                                           ValueRange{row, block, laneOf(i)});
    return;
  }
  // The warp's threads of one group hold neighbouring splits: a butterfly
  // over the thread-index bits above the group's leaves each of them the
  // warp's sum.
  for (Value &sum : sums)
    sum = warpSum(rewriter, loc, sum, groups);
  // Thread j of the warp's splits adds the lanes i with i % warpSplits == j.
  Value slot =
      rewriter.create<arith::RemUIOp>(loc, first, index(plan.warpSplits));
  for (int64_t i = 0; i < lanes; ++i) {
    Value mine = rewriter.create<arith::CmpIOp>(
        loc, arith::CmpIPredicate::eq, slot, index(i % plan.warpSplits));
    auto owner = rewriter.create<scf::IfOp>(loc, mine, /*withElse=*/false);
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(&owner.getThenRegion().front());
    rewriter.create<memref::AtomicRMWOp>(loc, arith::AtomicRMWKind::addf,
                                         sums[i], projection.y,
                                         ValueRange{row, block, laneOf(i)});
  }
}

/// The tiled form of a packed projection, for prefill: a block of 256
/// threads computes a tile of kTileRows rows x kTileBlocks weight blocks,
/// stepping through the depth kTileDepth at a time. Each step the block's
/// threads stage the activations (the prologue applied once per element)
/// and the widened weights (16-byte loads) in shared memory, wait at a
/// barrier, and each thread adds a 4 x 4 piece of the tile from them, so a
/// weight byte is read once per 64 rows instead of once per row. It needs
/// the product f = P * Q of an activation value P and a value Q of the
/// weight alone (the widening), which every float projection has.
constexpr int64_t kTileRows = 64, kTileBlocks = 2, kTileDepth = 32,
                  kTileThreads = 256, kTileThreadRows = 16;
/// Projections of at least this many rows take the tiled form.
constexpr int64_t kTiledMinRows = 16;

struct TiledFactors {
  /// P, computed from the row- and depth-level values.
  Value activation;
  /// The ops computing Q from the weight, in order, and Q.
  SmallVector<Operation *> weightOps;
  Value weight;
};

std::optional<TiledFactors>
matchTiledFactors(const PackedProjection &projection,
                  const ProjectionBody &body) {
  auto product = projection.addend.getDefiningOp<arith::MulFOp>();
  if (!product || !product.getType().isF32())
    return std::nullopt;
  Block &combiner = linalg::GenericOp(projection.op).getRegion().front();
  Value weightArg = combiner.getArgument(projection.weightInput);
  // Values computed from the weight alone (and constants).
  llvm::SmallPtrSet<Operation *, 4> fromWeight;
  auto weightOnly = [&](Value v) {
    if (v == weightArg)
      return true;
    Operation *def = v.getDefiningOp();
    return def && fromWeight.contains(def);
  };
  TiledFactors factors;
  for (Operation *inner : body.laneOps) {
    if (inner == product.getOperation())
      continue;
    bool pure = isPure(inner) && inner->getNumRegions() == 0;
    for (Value operand : inner->getOperands())
      pure = pure &&
             (weightOnly(operand) || operand.getParentBlock() != &combiner);
    if (!pure)
      return std::nullopt;
    fromWeight.insert(inner);
    factors.weightOps.push_back(inner);
  }
  for (auto [p, q] : {std::pair(product.getLhs(), product.getRhs()),
                      std::pair(product.getRhs(), product.getLhs())}) {
    if (weightOnly(q) && body.levels.lookup(p) != ProjectionBody::Level::Lane &&
        p.getParentBlock() == &combiner) {
      factors.activation = p;
      factors.weight = q;
      return factors;
    }
  }
  return std::nullopt;
}

/// Emits, at the rewriter's insertion point inside a launch of kTileThreads
/// threads, the tiled form's block `blockId` with thread `threadId`; `a`
/// and `b` are the launch's shared buffers.
void emitTiledBlock(RewriterBase &rewriter, Location loc,
                    const PackedProjection &projection,
                    const ProjectionBody &body, const TiledFactors &factors,
                    Value rows, Value blockId, Value threadId, Value a, Value b,
                    bool warpShuffles) {
  linalg::GenericOp op = projection.op;
  Block &combiner = op.getRegion().front();
  auto index = [&](OpBuilder &builder, int64_t v) -> Value {
    return builder.create<arith::ConstantIndexOp>(loc, v);
  };
  WeightVectors w = viewWeightVectors(rewriter, loc, projection);
  int64_t tileWidth = kTileBlocks * w.width;
  int64_t threadLanes = tileWidth / (kTileThreads / kTileThreadRows);
  int64_t threadRows = kTileRows / kTileThreadRows;
  int64_t colTiles = llvm::divideCeil(w.blocks, kTileBlocks);
  Type f32 = rewriter.getF32Type();
  Value zero =
      rewriter.create<arith::ConstantOp>(loc, rewriter.getZeroAttr(f32));

  Value colTile =
      rewriter.create<arith::RemUIOp>(loc, blockId, index(rewriter, colTiles));
  Value rowTile =
      rewriter.create<arith::DivUIOp>(loc, blockId, index(rewriter, colTiles));
  Value row0 =
      rewriter.create<arith::MulIOp>(loc, rowTile, index(rewriter, kTileRows));
  Value block0 = rewriter.create<arith::MulIOp>(loc, colTile,
                                                index(rewriter, kTileBlocks));
  Value threadRow = rewriter.create<arith::DivUIOp>(
      loc, threadId, index(rewriter, kTileThreadRows));
  Value threadCol = rewriter.create<arith::RemUIOp>(
      loc, threadId, index(rewriter, kTileThreadRows));
  Value rowBase = rewriter.create<arith::MulIOp>(loc, threadRow,
                                                 index(rewriter, threadRows));
  Value colBase = rewriter.create<arith::MulIOp>(loc, threadCol,
                                                 index(rewriter, threadLanes));
  auto below = [&](OpBuilder &builder, Value x, Value bound) -> Value {
    return builder.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, x,
                                         bound);
  };

  // The row this thread stages (kTileDepth / kStageDepths threads per
  // row), its row-level values computed once.
  constexpr int64_t kStageDepths = kTileRows * kTileDepth / kTileThreads;
  constexpr int64_t kStageThreadsPerRow = kTileDepth / kStageDepths;
  Value stageRow = rewriter.create<arith::DivUIOp>(
      loc, threadId, index(rewriter, kStageThreadsPerRow));
  Value stageDepth = rewriter.create<arith::MulIOp>(
      loc,
      rewriter.create<arith::RemUIOp>(loc, threadId,
                                      index(rewriter, kStageThreadsPerRow)),
      index(rewriter, kStageDepths));
  Value stageRowGlobal = rewriter.create<arith::AddIOp>(loc, row0, stageRow);
  Value stageRowInside = below(rewriter, stageRowGlobal, rows);
  // The tiled form runs with rows >= kTiledMinRows > 0.
  Value stageRowLoad = rewriter.create<arith::MinUIOp>(
      loc, stageRowGlobal,
      rewriter.create<arith::SubIOp>(loc, rows, index(rewriter, 1)));
  IRMapping stageRowMapping;
  RowShare share;
  if (warpShuffles) {
    share.lanes = kStageThreadsPerRow;
    share.lane = rewriter.create<arith::RemUIOp>(
        loc, threadId, index(rewriter, kStageThreadsPerRow));
  }
  mapRowValues(rewriter, loc, projection, body, stageRowLoad, stageRowMapping,
               share);

  SmallVector<Value> zeros(threadRows * threadLanes, zero);
  auto steps = rewriter.create<scf::ForOp>(
      loc, index(rewriter, 0), index(rewriter, w.depth),
      index(rewriter, kTileDepth), zeros,
      [&](OpBuilder &builder, Location, Value k0, ValueRange sums) {
        // The activations P(row, k) of the step: each thread stages
        // kStageDepths neighbouring depths of one row, stored transposed
        // with a column of padding so that a warp's stores hit 32 banks.
        // Out-of-range rows and depths read the last one (in bounds) and
        // store zero.
        for (int64_t i = 0; i < kStageDepths; ++i) {
          Value kk =
              builder.create<arith::AddIOp>(loc, stageDepth, index(builder, i));
          Value k = builder.create<arith::AddIOp>(loc, k0, kk);
          Value kLoad = builder.create<arith::MinUIOp>(
              loc, k, index(builder, w.depth - 1));
          SmallVector<Value> activations;
          for (OpOperand *input : body.depthInputs)
            activations.push_back(builder.create<memref::LoadOp>(
                loc, input->get(),
                activationIndices(op, input, stageRowLoad, kLoad)));
          IRMapping mapping = stageRowMapping;
          mapDepthValues(builder, loc, projection, body, stageRowLoad, kLoad,
                         activations, mapping);
          Value inside = builder.create<arith::AndIOp>(
              loc, stageRowInside, below(builder, k, index(builder, w.depth)));
          Value value = builder.create<arith::SelectOp>(
              loc, inside, mapping.lookup(factors.activation), zero);
          builder.create<memref::StoreOp>(loc, value, a,
                                          ValueRange{kk, stageRow});
        }
        // The weights Q(w) of the step, one 16-byte vector at a time; a
        // warp reads 512 consecutive bytes.
        int64_t tileVectors = kTileBlocks * kTileDepth * w.groups;
        auto vectorType =
            cast<MemRefType>(w.vectors.getType()).getElementType();
        Value zeroVector = builder.create<arith::ConstantOp>(
            loc, builder.getZeroAttr(vectorType));
        for (int64_t i = 0; i < llvm::divideCeil(tileVectors, kTileThreads);
             ++i) {
          Value v = builder.create<arith::AddIOp>(
              loc, threadId, index(builder, i * kTileThreads));
          Value g =
              builder.create<arith::RemUIOp>(loc, v, index(builder, w.groups));
          Value rest =
              builder.create<arith::DivUIOp>(loc, v, index(builder, w.groups));
          Value kk = builder.create<arith::RemUIOp>(loc, rest,
                                                    index(builder, kTileDepth));
          Value local = builder.create<arith::DivUIOp>(
              loc, rest, index(builder, kTileDepth));
          Value block = builder.create<arith::AddIOp>(loc, block0, local);
          Value k = builder.create<arith::AddIOp>(loc, k0, kk);
          Value inside = builder.create<arith::AndIOp>(
              loc, below(builder, block, index(builder, w.blocks)),
              below(builder, k, index(builder, w.depth)));
          Value at = builder.create<arith::AddIOp>(
              loc,
              builder.create<arith::MulIOp>(
                  loc,
                  builder.create<arith::AddIOp>(
                      loc,
                      builder.create<arith::MulIOp>(
                          loc,
                          builder.create<arith::MinUIOp>(
                              loc, block, index(builder, w.blocks - 1)),
                          index(builder, w.depth)),
                      builder.create<arith::MinUIOp>(
                          loc, k, index(builder, w.depth - 1))),
                  index(builder, w.groups)),
              g);
          Value vector = builder.create<arith::SelectOp>(
              loc, inside, builder.create<memref::LoadOp>(loc, w.vectors, at),
              zeroVector);
          Value colStart = builder.create<arith::AddIOp>(
              loc,
              builder.create<arith::MulIOp>(loc, local,
                                            index(builder, w.width)),
              builder.create<arith::MulIOp>(loc, g, index(builder, w.lanes)));
          OpBuilder inner = builder;
          if (tileVectors % kTileThreads != 0) {
            auto store = builder.create<scf::IfOp>(
                loc, below(builder, v, index(builder, tileVectors)),
                /*withElseRegion=*/false);
            inner.setInsertionPointToStart(&store.getThenRegion().front());
          }
          for (int64_t l = 0; l < w.lanes; ++l) {
            IRMapping mapping;
            mapping.map(combiner.getArgument(projection.weightInput),
                        inner.create<vector::ExtractOp>(loc, vector, l));
            for (Operation *weightOp : factors.weightOps)
              inner.clone(*weightOp, mapping);
            Value col =
                inner.create<arith::AddIOp>(loc, colStart, index(inner, l));
            inner.create<memref::StoreOp>(loc, mapping.lookup(factors.weight),
                                          b, ValueRange{kk, col});
          }
        }
        builder.create<gpu::BarrierOp>(loc);
        // Each thread's 4 x 4 piece from the staged tiles.
        auto products = builder.create<scf::ForOp>(
            loc, index(builder, 0), index(builder, kTileDepth),
            index(builder, 1), sums,
            [&](OpBuilder &inner, Location, Value kk, ValueRange acc) {
              SmallVector<Value> as, bs;
              for (int64_t i = 0; i < threadRows; ++i)
                as.push_back(inner.create<memref::LoadOp>(
                    loc, a,
                    ValueRange{kk, inner.create<arith::AddIOp>(
                                       loc, rowBase, index(inner, i))}));
              for (int64_t j = 0; j < threadLanes; ++j)
                bs.push_back(inner.create<memref::LoadOp>(
                    loc, b,
                    ValueRange{kk, inner.create<arith::AddIOp>(
                                       loc, colBase, index(inner, j))}));
              SmallVector<Value> next;
              for (int64_t i = 0; i < threadRows; ++i)
                for (int64_t j = 0; j < threadLanes; ++j)
                  next.push_back(inner.create<arith::AddFOp>(
                      loc, acc[i * threadLanes + j],
                      inner.create<arith::MulFOp>(loc, as[i], bs[j])));
              inner.create<scf::YieldOp>(loc, next);
            });
        builder.create<gpu::BarrierOp>(loc);
        builder.create<scf::YieldOp>(loc, products.getResults());
      });

  // Each sum onto its output (zeros or the residual): one thread owns it.
  for (int64_t i = 0; i < threadRows; ++i) {
    Value row = rewriter.create<arith::AddIOp>(
        loc, row0,
        rewriter.create<arith::AddIOp>(loc, rowBase, index(rewriter, i)));
    for (int64_t j = 0; j < threadLanes; ++j) {
      Value col =
          rewriter.create<arith::AddIOp>(loc, colBase, index(rewriter, j));
      Value block = rewriter.create<arith::AddIOp>(
          loc, block0,
          rewriter.create<arith::DivUIOp>(loc, col, index(rewriter, w.width)));
      Value lane =
          rewriter.create<arith::RemUIOp>(loc, col, index(rewriter, w.width));
      auto owned = rewriter.create<scf::IfOp>(
          loc,
          rewriter.create<arith::AndIOp>(
              loc, below(rewriter, row, rows),
              below(rewriter, block, index(rewriter, w.blocks))),
          /*withElseRegion=*/false);
      OpBuilder inner = OpBuilder::atBlockBegin(&owned.getThenRegion().front());
      SmallVector<Value, 3> at{row, block, lane};
      Value old = inner.create<memref::LoadOp>(loc, projection.y, at);
      inner.create<memref::StoreOp>(
          loc,
          inner.create<arith::AddFOp>(loc, old,
                                      steps.getResult(i * threadLanes + j)),
          projection.y, at);
    }
  }
}

/// A packed projection as one launch. Few rows (decode) stream each weight
/// byte once (emitStreamingThread); from kTiledMinRows rows on (prefill),
/// when the body allows it, the same launch runs the tiled form instead: the
/// grid and the branch are chosen at run time from the row count, so a
/// decode step's launches are the same whatever the prompt was.
void launchPackedProjection(RewriterBase &rewriter,
                            const PackedProjection &projection,
                            int64_t threadsPerBlock, int64_t targetThreads,
                            bool warpShuffles,
                            DenseMap<unsigned, SplitReduction> inlined) {
  linalg::GenericOp op = projection.op;
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  auto index = [&](int64_t v) -> Value {
    return rewriter.create<arith::ConstantIndexOp>(loc, v);
  };
  ProjectionBody body(projection, std::move(inlined));
  Value rows = rewriter.create<memref::DimOp>(loc, projection.y, 0);
  StreamingPlan plan =
      planStreaming(rewriter, loc, projection, rows, threadsPerBlock,
                    targetThreads, warpShuffles);
  std::optional<TiledFactors> factors = matchTiledFactors(projection, body);
  auto weightType =
      cast<MemRefType>(op->getOperand(projection.weightInput).getType());
  int64_t width = weightType.getDimSize(2);
  if (!factors || threadsPerBlock != kTileThreads ||
      (kTileBlocks * width) % (kTileThreads / kTileThreadRows) != 0) {
    Value id;
    createGuardedLaunch(rewriter, loc, plan.total, threadsPerBlock, id);
    emitStreamingThread(rewriter, loc, projection, body, plan, id);
    rewriter.eraseOp(op);
    return;
  }

  Value one = index(1);
  Value blockSize = index(threadsPerBlock);
  Value tiled = rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::uge,
                                               rows, index(kTiledMinRows));
  Value streamingBlocks = rewriter.create<arith::MaxUIOp>(
      loc, rewriter.create<arith::CeilDivUIOp>(loc, plan.total, blockSize),
      one);
  Value tiledBlocks = rewriter.create<arith::MulIOp>(
      loc, rewriter.create<arith::CeilDivUIOp>(loc, rows, index(kTileRows)),
      index(llvm::divideCeil(weightType.getDimSize(0), kTileBlocks)));
  Value blocks = rewriter.create<arith::SelectOp>(loc, tiled, tiledBlocks,
                                                  streamingBlocks);
  auto workgroup = gpu::AddressSpaceAttr::get(rewriter.getContext(),
                                              gpu::AddressSpace::Workgroup);
  Type f32 = rewriter.getF32Type();
  // The activations transposed, with a column of padding; the weights.
  auto aType = MemRefType::get({kTileDepth, kTileRows + 1}, f32,
                               MemRefLayoutAttrInterface(), workgroup);
  auto bType = MemRefType::get({kTileDepth, kTileBlocks * width}, f32,
                               MemRefLayoutAttrInterface(), workgroup);
  auto launch = rewriter.create<gpu::LaunchOp>(
      loc, blocks, one, one, blockSize, one, one, /*dynamicSharedMemorySize=*/
      Value(), /*asyncTokenType=*/Type(), /*asyncDependencies=*/ValueRange(),
      TypeRange{aType, bType});
  Block &launchBody = launch.getBody().front();
  rewriter.setInsertionPointToStart(&launchBody);
  rewriter.create<gpu::TerminatorOp>(loc);
  rewriter.setInsertionPointToStart(&launchBody);
  auto branch = rewriter.create<scf::IfOp>(loc, tiled, /*withElse=*/true);
  {
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(&branch.getThenRegion().front());
    emitTiledBlock(rewriter, loc, projection, body, *factors, rows,
                   launch.getBlockIds().x, launch.getThreadIds().x,
                   launch.getWorkgroupAttributions()[0],
                   launch.getWorkgroupAttributions()[1], warpShuffles);
  }
  rewriter.setInsertionPointToStart(&branch.getElseRegion().front());
  Value id = rewriter.create<arith::AddIOp>(
      loc,
      rewriter.create<arith::MulIOp>(loc, launch.getBlockIds().x, blockSize),
      launch.getThreadIds().x);
  auto inRange = rewriter.create<scf::IfOp>(
      loc,
      rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, id,
                                     plan.total),
      /*withElse=*/false);
  rewriter.setInsertionPointToStart(&inRange.getThenRegion().front());
  emitStreamingThread(rewriter, loc, projection, body, plan, id);
  rewriter.eraseOp(op);
  sinkGlobals(rewriter, launch);
}

/// A reduction as one launch in which `splits` threads share each output
/// point (its reduction split, chosen at run time so that the launch has
/// about `targetThreads` threads): each sums a strided part and adds it to
/// the output atomically. With `warpShuffles` the splits are a multiple of
/// a warp, numbered fastest, so that a warp's threads share one point and
/// sum their parts with shuffles first: one atomic per warp.
void launchSplitReduction(RewriterBase &rewriter,
                          const SplitReduction &reduction,
                          int64_t threadsPerBlock, int64_t targetThreads,
                          bool warpShuffles) {
  constexpr int64_t kWarp = 32;
  linalg::GenericOp op = reduction.op;
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  auto index = [&](int64_t v) -> Value {
    return rewriter.create<arith::ConstantIndexOp>(loc, v);
  };
  warpShuffles = warpShuffles && threadsPerBlock % kWarp == 0;
  SmallVector<Range> ranges =
      cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(rewriter, loc);
  SmallVector<Value> extents;
  for (Range range : ranges)
    extents.push_back(
        getValueOrCreateConstantIndexOp(rewriter, loc, range.size));
  Value one = index(1);
  Value points;
  for (auto [d, extent] : llvm::enumerate(extents))
    if (d != reduction.reductionDim)
      points =
          points ? rewriter.create<arith::MulIOp>(loc, points, extent) : extent;
  if (!points)
    points = one;
  Value depth = extents[reduction.reductionDim];
  Value splits =
      rewriter.create<arith::CeilDivUIOp>(loc, index(targetThreads), points);
  splits = rewriter.create<arith::MinUIOp>(
      loc, rewriter.create<arith::MaxUIOp>(loc, splits, one),
      rewriter.create<arith::MaxUIOp>(
          loc, rewriter.create<arith::CeilDivUIOp>(loc, depth, index(8)), one));
  if (warpShuffles)
    splits = rewriter.create<arith::MulIOp>(
        loc, rewriter.create<arith::CeilDivUIOp>(loc, splits, index(kWarp)),
        index(kWarp));
  Value total = rewriter.create<arith::MulIOp>(loc, points, splits);
  Value id;
  createGuardedLaunch(rewriter, loc, total, threadsPerBlock, id);
  Value first = rewriter.create<arith::RemUIOp>(loc, id, splits);
  Value rest = rewriter.create<arith::DivUIOp>(loc, id, splits);
  // The point's indices, the innermost parallel dimension fastest.
  SmallVector<Value> ivs(extents.size());
  for (int64_t d = int64_t(extents.size()) - 1; d >= 0; --d) {
    if (unsigned(d) == reduction.reductionDim)
      continue;
    ivs[d] = rewriter.create<arith::RemUIOp>(loc, rest, extents[d]);
    rest = rewriter.create<arith::DivUIOp>(loc, rest, extents[d]);
  }

  Block &body = op.getRegion().front();
  Value zero = rewriter.create<arith::ConstantOp>(
      loc, rewriter.getZeroAttr(rewriter.getF32Type()));
  auto indices = [&](OpOperand *operand) {
    SmallVector<Value> result;
    for (AffineExpr expr : op.getMatchingIndexingMap(operand).getResults())
      result.push_back(ivs[cast<AffineDimExpr>(expr).getPosition()]);
    return result;
  };
  auto loop = rewriter.create<scf::ForOp>(
      loc, first, depth, splits, ValueRange{zero},
      [&](OpBuilder &b, Location nested, Value r, ValueRange sum) {
        ivs[reduction.reductionDim] = r;
        b.create<scf::YieldOp>(
            nested, addReductionTerm(b, nested, reduction, ivs, sum[0]));
      });
  Value partial = loop.getResult(0);
  SmallVector<Value> outIndices = indices(op.getDpsInitOperand(0));
  if (warpShuffles) {
    partial = warpSum(rewriter, loc, partial, 1);
    Value lane = rewriter.create<arith::RemUIOp>(loc, first, index(kWarp));
    Value leader = rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq,
                                                  lane, index(0));
    auto owner = rewriter.create<scf::IfOp>(loc, leader, /*withElse=*/false);
    rewriter.setInsertionPointToStart(&owner.getThenRegion().front());
  }
  rewriter.create<memref::AtomicRMWOp>(loc, arith::AtomicRMWKind::addf, partial,
                                       op.getDpsInits()[0], outIndices);
  rewriter.eraseOp(op);
}

/// The buffer `buffer` is a view of, through subviews and reshapes.
Value baseOf(Value buffer) {
  while (Operation *def = buffer.getDefiningOp()) {
    if (!isa<memref::SubViewOp, memref::ExpandShapeOp, memref::CollapseShapeOp,
             memref::CastOp>(def))
      break;
    buffer = def->getOperand(0);
  }
  return buffer;
}

/// When `input` (a row-level input of the packed projection `projection`,
/// indexed by its row alone) is written only by a zero fill and then a
/// reduction over two loops in the same block, read by nothing but
/// `projection`, and the reduction's inputs are not written between it and
/// the projection: the fill and the reduction, which the projection can
/// compute instead.
std::optional<std::pair<Operation *, SplitReduction>>
inlinableReduction(linalg::GenericOp projection, OpOperand *input) {
  MLIRContext *context = projection.getContext();
  if (projection.getMatchingIndexingMap(input) !=
      AffineMap::get(4, 0, {getAffineDimExpr(0, context)}, context))
    return std::nullopt;
  Value sums = input->get();
  linalg::FillOp fill;
  std::optional<SplitReduction> reduction;
  for (Operation *user : sums.getUsers()) {
    if (user == projection.getOperation())
      continue;
    if (auto fillOp = dyn_cast<linalg::FillOp>(user);
        fillOp && !fill && fillOp.getOutputs()[0] == sums &&
        matchPattern(fillOp.getInputs()[0], m_AnyZeroFloat())) {
      fill = fillOp;
      continue;
    }
    auto generic = dyn_cast<linalg::GenericOp>(user);
    if (!generic || reduction || generic.getDpsInits()[0] != sums ||
        generic.getNumLoops() != 2)
      return std::nullopt;
    reduction = matchSplitReduction(generic);
    if (!reduction || llvm::is_contained(generic.getDpsInputs(), sums))
      return std::nullopt;
  }
  if (!fill || !reduction)
    return std::nullopt;
  Operation *producer = reduction->op;
  Block *block = projection->getBlock();
  if (fill->getBlock() != block || producer->getBlock() != block ||
      !fill->isBeforeInBlock(producer) ||
      !producer->isBeforeInBlock(projection))
    return std::nullopt;
  // The reduction's output indexed by its parallel loop.
  AffineMap outMap =
      reduction->op.getMatchingIndexingMap(reduction->op.getDpsInitOperand(0));
  if (outMap.getNumResults() != 1 ||
      outMap.getDimPosition(0) == reduction->reductionDim)
    return std::nullopt;
  // Nothing between writes what the reduction reads.
  SmallVector<Value> read;
  for (Value value : reduction->op.getDpsInputs())
    if (isa<MemRefType>(value.getType()))
      read.push_back(baseOf(value));
  for (Operation *op = producer->getNextNode(); op != projection.getOperation();
       op = op->getNextNode()) {
    if (isMemoryEffectFree(op))
      continue;
    auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
    if (!linalgOp)
      return std::nullopt;
    for (Value written : linalgOp.getDpsInits())
      if (llvm::is_contained(read, baseOf(written)))
        return std::nullopt;
  }
  return std::make_pair(fill.getOperation(), *reduction);
}

class DistributeToGPUPass final
    : public llm::impl::DistributeToGPUPassBase<DistributeToGPUPass> {
public:
  using DistributeToGPUPassBase::DistributeToGPUPassBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (threadsPerBlock < 32 || threadsPerBlock > 1024) {
      func.emitError("threads-per-block must be in [32, 1024]");
      return signalPassFailure();
    }
    IRRewriter rewriter(&getContext());
    // About 1024 threads per SM keep enough loads in flight to stream the
    // weights; without an SM count (an emulation on the CPU), a fixed split.
    auto module = func->getParentOfType<ModuleOp>();
    TargetAttr target =
        module ? LLMDialect::TargetAttrHelper(&getContext()).getAttr(module)
               : TargetAttr();
    int64_t sms = target ? target.getSmCount() : 0;
    int64_t targetThreads = sms > 0 ? sms * 1024 : 4096;
    // Warp shuffles only where the kernels run on a GPU, not emulated.
    bool warpShuffles = hasWarps(target);

    // The loop nests at host level, in order; nests inside other nests
    // (the loops of a linalg op's body) travel with them.
    SmallVector<Operation *> nests;
    func.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isa<linalg::LinalgOp, scf::ForallOp>(op)) {
        nests.push_back(op);
        return WalkResult::skip();
      }
      return WalkResult::advance();
    });

    // Reductions whose only reader is one projection's row-level input (the
    // sums of squares of an RMSNorm folded into it) are computed in that
    // projection's launch: their zero fill and their launch go away.
    DenseMap<Operation *, DenseMap<unsigned, SplitReduction>> inlined;
    llvm::SmallPtrSet<Operation *, 8> folded;
    for (Operation *nest : nests) {
      auto generic = dyn_cast<linalg::GenericOp>(nest);
      std::optional<PackedProjection> projection =
          generic ? matchPackedProjection(generic) : std::nullopt;
      if (!projection)
        continue;
      for (OpOperand *input : generic.getDpsInputOperands())
        if (std::optional<std::pair<Operation *, SplitReduction>> found =
                inlinableReduction(generic, input)) {
          inlined[nest][input->getOperandNumber()] = found->second;
          folded.insert(found->first);
          folded.insert(found->second.op);
        }
    }

    for (Operation *nest : nests) {
      if (folded.contains(nest))
        continue;
      rewriter.setInsertionPoint(nest);
      if (auto forall = dyn_cast<scf::ForallOp>(nest)) {
        if (forall.getNumResults() != 0) {
          forall.emitError("a GPU kernel cannot return tensors");
          return signalPassFailure();
        }
        scf::ParallelOp parallel;
        if (failed(scf::forallToParallelLoop(rewriter, forall, &parallel)))
          return signalPassFailure();
        launchParallelLoop(rewriter, parallel, threadsPerBlock);
        continue;
      }
      if (auto generic = dyn_cast<linalg::GenericOp>(nest)) {
        if (std::optional<PackedProjection> projection =
                matchPackedProjection(generic)) {
          launchPackedProjection(rewriter, *projection, threadsPerBlock,
                                 targetThreads, warpShuffles,
                                 inlined.lookup(nest));
          continue;
        }
        if (std::optional<SplitReduction> reduction =
                matchSplitReduction(generic)) {
          launchSplitReduction(rewriter, *reduction, threadsPerBlock,
                               targetThreads, warpShuffles);
          continue;
        }
      }
      auto linalgOp = cast<linalg::LinalgOp>(nest);
      auto fill = dyn_cast<linalg::FillOp>(nest);
      bool zeroBits =
          fill && (matchPattern(fill.getInputs()[0], m_Zero()) ||
                   matchPattern(fill.getInputs()[0], m_PosZeroFloat()));
      if (!linalgOp.hasPureBufferSemantics()) {
        nest->emitError("GPU kernels are made from linalg ops on buffers");
        return signalPassFailure();
      }
      FailureOr<linalg::LinalgLoops> loops =
          linalg::linalgOpToParallelLoops(rewriter, linalgOp);
      if (failed(loops)) {
        nest->emitError("cannot lower this op to loops for the GPU");
        return signalPassFailure();
      }
      rewriter.eraseOp(linalgOp);
      if (loops->empty())
        continue;
      if (auto parallel = dyn_cast<scf::ParallelOp>(loops->front())) {
        gpu::LaunchOp launch =
            launchParallelLoop(rewriter, parallel, threadsPerBlock);
        // A whole buffer set to zero bits: llm-sink-zero-fills may move it.
        if (zeroBits)
          LLMDialect::ZeroFillAttrHelper(&getContext())
              .setAttr(launch, rewriter.getUnitAttr());
      } else
        launchSingleThread(rewriter, loops->front());
    }

    for (Operation *nest : nests)
      if (folded.contains(nest))
        rewriter.eraseOp(nest);

    // Globals now read only inside kernels.
    func.walk([&](memref::GetGlobalOp global) {
      if (global->use_empty())
        rewriter.eraseOp(global);
    });

    // The host only computes addresses and launches.
    WalkResult leftover = func.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isa<gpu::LaunchOp>(op))
        return WalkResult::skip();
      if (touchesMemory(op)) {
        op->emitError("host code of a GPU target reads or writes a buffer; "
                      "it must run in a kernel");
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (leftover.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace

std::optional<PackedProjection>
mlir::llm::matchPackedProjection(linalg::GenericOp op) {
  if (!LLMDialect::LoweringConfigAttrHelper(op->getContext())
           .isAttrPresent(op) ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 4 ||
      op.getNumReductionLoops() != 1 || !op.hasPureBufferSemantics() ||
      !linalg::isReductionIterator(op.getIteratorTypesArray()[3]))
    return std::nullopt;
  MLIRContext *context = op.getContext();
  AffineExpr r, nb, lane, k;
  bindDims(context, r, nb, lane, k);
  AffineMap weightMap = AffineMap::get(4, 0, {nb, k, lane}, context);
  if (op.getMatchingIndexingMap(op.getDpsInitOperand(0)) !=
      AffineMap::get(4, 0, {r, nb, lane}, context))
    return std::nullopt;
  std::optional<unsigned> weightInput;
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    if (!weightInput && map == weightMap &&
        input->get().getDefiningOp<memref::ViewOp>()) {
      weightInput = input->getOperandNumber();
      continue;
    }
    // An activation: indexed by the row and/or the depth, in that order.
    if (!isa<MemRefType>(input->get().getType()))
      return std::nullopt;
    int64_t last = -1;
    for (AffineExpr expr : map.getResults()) {
      auto dim = dyn_cast<AffineDimExpr>(expr);
      if (!dim || (dim.getPosition() != 0 && dim.getPosition() != 3) ||
          int64_t(dim.getPosition()) <= last)
        return std::nullopt;
      last = dim.getPosition();
    }
  }
  if (!weightInput)
    return std::nullopt;
  Value weights = op->getOperand(*weightInput);
  auto weightType = cast<MemRefType>(weights.getType());
  if (!weightType.hasStaticShape() || !weightType.getLayout().isIdentity() ||
      !weightType.getElementType().isIntOrFloat())
    return std::nullopt;
  std::optional<Accumulation> accumulation =
      matchAccumulation(op.getRegion().front(), /*allowIndex=*/false);
  if (!accumulation)
    return std::nullopt;
  return PackedProjection{op, *weightInput, weights.getDefiningOp<memref::ViewOp>(),
                          op.getDpsInits()[0], accumulation->addend};
}
