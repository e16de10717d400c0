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

/// Replaces the host-level `loop` by a launch with one thread per iteration.
void launchParallelLoop(RewriterBase &rewriter, scf::ParallelOp loop,
                        int64_t threadsPerBlock) {
  Location loc = loop.getLoc();
  rewriter.setInsertionPoint(loop);
  auto index = [&](int64_t v) -> Value {
    return rewriter.create<arith::ConstantIndexOp>(loc, v);
  };
  Value one = index(1);
  SmallVector<Value> counts;
  Value total = one;
  for (auto [lb, ub, step] : llvm::zip(
           loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    Value span = rewriter.create<arith::SubIOp>(loc, ub, lb);
    Value count = rewriter.create<arith::CeilDivUIOp>(loc, span, step);
    counts.push_back(count);
    total = rewriter.create<arith::MulIOp>(loc, total, count);
  }
  Value blockSize = index(threadsPerBlock);
  // A launch of zero blocks is an error in CUDA: an empty space still gets
  // one block, whose threads all fail the bounds check.
  Value blocks = rewriter.create<arith::MaxUIOp>(
      loc, rewriter.create<arith::CeilDivUIOp>(loc, total, blockSize), one);
  auto launch = rewriter.create<gpu::LaunchOp>(loc, blocks, one, one,
                                               blockSize, one, one);
  Block &body = launch.getBody().front();
  rewriter.setInsertionPointToStart(&body);
  rewriter.create<gpu::TerminatorOp>(loc);
  rewriter.setInsertionPointToStart(&body);
  Value id = rewriter.create<arith::AddIOp>(
      loc,
      rewriter.create<arith::MulIOp>(loc, launch.getBlockIds().x, blockSize),
      launch.getThreadIds().x);
  Value inRange = rewriter.create<arith::CmpIOp>(
      loc, arith::CmpIPredicate::ult, id, total);
  auto guard = rewriter.create<scf::IfOp>(loc, inRange, /*withElse=*/false);
  rewriter.setInsertionPointToStart(&guard.getThenRegion().front());

  // The innermost dimension varies fastest.
  IRMapping mapping;
  Value rest = id;
  for (int64_t d = loop.getNumLoops() - 1; d >= 0; --d) {
    Value position = d == 0 ? rest
                            : rewriter.create<arith::RemUIOp>(loc, rest,
                                                              counts[d]);
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
}

/// Runs `op` (a loop nest with no parallel loop outside) on one thread.
void launchSingleThread(RewriterBase &rewriter, Operation *op) {
  Location loc = op->getLoc();
  rewriter.setInsertionPoint(op);
  Value one = rewriter.create<arith::ConstantIndexOp>(loc, 1);
  auto launch = rewriter.create<gpu::LaunchOp>(loc, one, one, one, one, one,
                                               one);
  Block &body = launch.getBody().front();
  rewriter.setInsertionPointToStart(&body);
  rewriter.create<gpu::TerminatorOp>(loc);
  op->moveBefore(&body, body.begin());
  sinkGlobals(rewriter, launch);
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

    for (Operation *nest : nests) {
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
      auto linalgOp = cast<linalg::LinalgOp>(nest);
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
      if (auto parallel = dyn_cast<scf::ParallelOp>(loops->front()))
        launchParallelLoop(rewriter, parallel, threadsPerBlock);
      else
        launchSingleThread(rewriter, loops->front());
    }

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
