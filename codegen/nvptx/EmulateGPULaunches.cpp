//===- EmulateGPULaunches.cpp - GPU launches as host loops ----------------===//
//
// A launch becomes loops over its blocks; in each block, its body runs as
// loops over the threads, split at the barriers: every thread finishes the
// code before a barrier before any runs the code after it, which is what
// the barrier promises. Barriers may sit in the body itself or in `scf.for`
// and `scf.if` ops (with conditions and bounds the same for every thread of
// a block) around them, which the split keeps as loops and branches of the
// block. A value computed before a barrier and used after it is computed
// again from the thread and block ids when it is arithmetic on them (an
// index), and otherwise kept in a buffer with one element per thread (a
// loaded value, a loop's partial sums); a loop's iteration arguments live
// in such buffers. Workgroup memory is one host buffer, reused by the blocks
// that run one after another. Shuffles cannot be emulated.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::llm {
#define GEN_PASS_DEF_EMULATEGPULAUNCHESPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

bool containsBarrier(Operation *op) {
  return op->walk([](gpu::BarrierOp) { return WalkResult::interrupt(); })
      .wasInterrupted();
}

/// One launch's emulation.
class Emulation {
public:
  Emulation(gpu::LaunchOp launch) : launch(launch), builder(launch) {}

  LogicalResult run();

private:
  LogicalResult emitBlock(Block &source, IRMapping &uniform);
  LogicalResult emitThreads(ArrayRef<Operation *> ops, IRMapping &uniform);
  FailureOr<Value> materialize(Value value, IRMapping &mapping, bool perThread);
  Value spillBuffer(Value value);
  Value threadIndex(OpBuilder &b);
  void openThreadLoops(IRMapping &mapping);

  gpu::LaunchOp launch;
  OpBuilder builder;
  Location loc = launch.getLoc();
  /// Where buffers are allocated (before the block loops), and the threads.
  Operation *blockLoops = nullptr;
  Value threads;
  /// The thread loops' counters while a segment is emitted.
  Value threadIds[3];
  /// Values kept per thread: value -> buffer of [threads].
  DenseMap<Value, Value> spills;
  SmallVector<Value> buffers;
};

Value Emulation::threadIndex(OpBuilder &b) {
  gpu::KernelDim3 size = launch.getBlockSizeOperandValues();
  // (z * ny + y) * nx + x
  Value zy = b.create<arith::AddIOp>(
      loc, b.create<arith::MulIOp>(loc, threadIds[2], size.y), threadIds[1]);
  return b.create<arith::AddIOp>(loc, b.create<arith::MulIOp>(loc, zy, size.x),
                                 threadIds[0]);
}

Value Emulation::spillBuffer(Value value) {
  Value &buffer = spills[value];
  if (!buffer) {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPoint(blockLoops);
    buffer = builder.create<memref::AllocOp>(
        loc, MemRefType::get({ShapedType::kDynamic}, value.getType()),
        ValueRange{threads});
    buffers.push_back(buffer);
  }
  return buffer;
}

/// `value` (of the launch's body) where `mapping` applies: mapped already,
/// defined outside the launch, kept per thread (loaded, with `perThread`)
/// or computed again by pure ops from such values.
FailureOr<Value> Emulation::materialize(Value value, IRMapping &mapping,
                                        bool perThread) {
  if (Value mapped = mapping.lookupOrNull(value))
    return mapped;
  if (!launch->isAncestor(value.getParentRegion()->getParentOp()))
    return value;
  if (perThread) {
    if (Value buffer = spills.lookup(value)) {
      Value loaded =
          builder.create<memref::LoadOp>(loc, buffer, threadIndex(builder));
      mapping.map(value, loaded);
      return loaded;
    }
  }
  Operation *def = value.getDefiningOp();
  if (!def || !isPure(def) || def->getNumRegions() != 0)
    return launch.emitError(perThread
                                ? "a value crosses a barrier in a way the "
                                  "emulation cannot follow"
                                : "a loop bound or branch condition around a "
                                  "barrier differs between threads"),
           failure();
  for (Value operand : def->getOperands())
    if (failed(materialize(operand, mapping, perThread)))
      return failure();
  Operation *clone = builder.clone(*def, mapping);
  return clone->getResult(cast<OpResult>(value).getResultNumber());
}

/// Creates loops over the block's threads at the builder's insertion point,
/// leaves the builder in the innermost and maps the thread ids to them.
void Emulation::openThreadLoops(IRMapping &mapping) {
  Value zero = builder.create<arith::ConstantIndexOp>(loc, 0);
  Value one = builder.create<arith::ConstantIndexOp>(loc, 1);
  gpu::KernelDim3 size = launch.getBlockSizeOperandValues();
  Value bounds[3] = {size.z, size.y, size.x};
  for (int i = 0; i < 3; ++i) {
    auto loop = builder.create<scf::ForOp>(loc, zero, bounds[i], one);
    threadIds[2 - i] = loop.getInductionVar();
    builder.setInsertionPoint(loop.getBody()->getTerminator());
  }
  gpu::KernelDim3 ids = launch.getThreadIds();
  mapping.map(ids.x, threadIds[0]);
  mapping.map(ids.y, threadIds[1]);
  mapping.map(ids.z, threadIds[2]);
}

/// Emits `ops` (of one block of the body, no barrier among them) as loops
/// over the threads.
LogicalResult Emulation::emitThreads(ArrayRef<Operation *> ops,
                                     IRMapping &uniform) {
  if (ops.empty())
    return success();
  OpBuilder::InsertionGuard guard(builder);
  IRMapping mapping = uniform;
  openThreadLoops(mapping);
  llvm::SmallPtrSet<Operation *, 16> segment(ops.begin(), ops.end());
  for (Operation *op : ops) {
    // Everything the op (and its regions) uses from outside it.
    WalkResult walk = op->walk([&](Operation *inner) {
      for (Value operand : inner->getOperands()) {
        if (op->isAncestor(operand.getParentRegion()->getParentOp()))
          continue;
        if (failed(materialize(operand, mapping, /*perThread=*/true)))
          return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return failure();
    Operation *clone = builder.clone(*op, mapping);
    // Results used beyond this segment are kept per thread.
    for (auto [result, cloned] :
         llvm::zip(op->getResults(), clone->getResults())) {
      bool escapes = llvm::any_of(result.getUsers(), [&](Operation *user) {
        Operation *ancestor = op->getBlock()->findAncestorOpInBlock(*user);
        return !ancestor || !segment.contains(ancestor);
      });
      // What cannot be kept (a view) is computed again where it is used.
      if (escapes && BaseMemRefType::isValidElementType(result.getType()))
        builder.create<memref::StoreOp>(loc, cloned, spillBuffer(result),
                                        threadIndex(builder));
    }
  }
  return success();
}

/// Emits the ops of `source` (a block of the body) at the builder's
/// insertion point, at block level.
LogicalResult Emulation::emitBlock(Block &source, IRMapping &uniform) {
  SmallVector<Operation *> segment;
  for (Operation &op : source) {
    if (op.hasTrait<OpTrait::IsTerminator>() || !containsBarrier(&op)) {
      if (!op.hasTrait<OpTrait::IsTerminator>())
        segment.push_back(&op);
      continue;
    }
    if (failed(emitThreads(segment, uniform)))
      return failure();
    segment.clear();
    if (isa<gpu::BarrierOp>(op))
      continue;
    if (auto branch = dyn_cast<scf::IfOp>(op)) {
      if (branch.getNumResults() != 0)
        return branch.emitError("a branch with results around a barrier "
                                "cannot be emulated"),
               failure();
      FailureOr<Value> condition =
          materialize(branch.getCondition(), uniform, /*perThread=*/false);
      if (failed(condition))
        return failure();
      auto emitted = builder.create<scf::IfOp>(
          loc, *condition, /*withElseRegion=*/!branch.getElseRegion().empty());
      OpBuilder::InsertionGuard guard(builder);
      builder.setInsertionPoint(emitted.thenBlock()->getTerminator());
      IRMapping thenMapping = uniform;
      if (failed(emitBlock(*branch.thenBlock(), thenMapping)))
        return failure();
      if (branch.elseBlock()) {
        builder.setInsertionPoint(emitted.elseBlock()->getTerminator());
        IRMapping elseMapping = uniform;
        if (failed(emitBlock(*branch.elseBlock(), elseMapping)))
          return failure();
      }
      continue;
    }
    auto loop = dyn_cast<scf::ForOp>(op);
    if (!loop)
      return op.emitError("only scf.for and scf.if ops may hold a barrier "
                          "in an emulated launch"),
             failure();
    SmallVector<Value> bounds;
    for (Value bound :
         {loop.getLowerBound(), loop.getUpperBound(), loop.getStep()}) {
      FailureOr<Value> v = materialize(bound, uniform, /*perThread=*/false);
      if (failed(v))
        return failure();
      bounds.push_back(*v);
    }
    // The iteration arguments and results live in per-thread buffers.
    SmallVector<Value> carried;
    for (auto [arg, result] :
         llvm::zip(loop.getRegionIterArgs(), loop.getResults())) {
      Value buffer = spillBuffer(arg);
      spills[result] = buffer;
      carried.push_back(buffer);
    }
    if (!carried.empty()) {
      // The initial values, stored by each thread.
      OpBuilder::InsertionGuard guard(builder);
      IRMapping mapping = uniform;
      openThreadLoops(mapping);
      for (auto [init, buffer] : llvm::zip(loop.getInitArgs(), carried)) {
        FailureOr<Value> value = materialize(init, mapping, /*perThread=*/true);
        if (failed(value))
          return failure();
        builder.create<memref::StoreOp>(loc, *value, buffer,
                                        threadIndex(builder));
      }
    }
    auto emitted =
        builder.create<scf::ForOp>(loc, bounds[0], bounds[1], bounds[2]);
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPoint(emitted.getBody()->getTerminator());
    IRMapping body = uniform;
    body.map(loop.getInductionVar(), emitted.getInductionVar());
    if (failed(emitBlock(*loop.getBody(), body)))
      return failure();
    // The values yielded become the next iteration's arguments.
    auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
    if (!carried.empty()) {
      // Read them all before writing any (a yield may swap arguments).
      IRMapping mapping = body;
      openThreadLoops(mapping);
      SmallVector<Value> next;
      for (Value value : yield.getOperands()) {
        FailureOr<Value> v = materialize(value, mapping, /*perThread=*/true);
        if (failed(v))
          return failure();
        next.push_back(*v);
      }
      for (auto [value, buffer] : llvm::zip(next, carried))
        builder.create<memref::StoreOp>(loc, value, buffer,
                                        threadIndex(builder));
    }
  }
  return emitThreads(segment, uniform);
}

LogicalResult Emulation::run() {
  if (!launch.getBody().hasOneBlock() || launch.getAsyncToken() ||
      launch.getDynamicSharedMemorySize() ||
      !launch.getPrivateAttributions().empty())
    return launch.emitError("only single-block, synchronous launches without "
                            "dynamic shared or private memory can be "
                            "emulated");
  WalkResult shuffles = launch.getBody().walk(
      [](gpu::ShuffleOp) { return WalkResult::interrupt(); });
  if (shuffles.wasInterrupted())
    return launch.emitError("threads that shuffle cannot be emulated one "
                            "after another");

  gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
  gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
  threads = builder.create<arith::MulIOp>(
      loc, builder.create<arith::MulIOp>(loc, block.x, block.y), block.z);
  IRMapping uniform;
  // Workgroup memory: one host buffer, for one block after another.
  for (BlockArgument attribution : launch.getWorkgroupAttributions()) {
    auto type = cast<MemRefType>(attribution.getType());
    if (!type.hasStaticShape())
      return launch.emitError("workgroup memory of a dynamic shape cannot be "
                              "emulated");
    Value buffer = builder.create<memref::AllocOp>(
        loc, MemRefType::get(type.getShape(), type.getElementType()));
    buffers.push_back(buffer);
    uniform.map(attribution, buffer);
  }
  Value zero = builder.create<arith::ConstantIndexOp>(loc, 0);
  Value one = builder.create<arith::ConstantIndexOp>(loc, 1);
  // Blocks outside, x fastest.
  Value bounds[3] = {grid.z, grid.y, grid.x};
  Value ivs[3];
  for (int i = 0; i < 3; ++i) {
    auto loop = builder.create<scf::ForOp>(loc, zero, bounds[i], one);
    if (i == 0)
      blockLoops = loop;
    ivs[i] = loop.getInductionVar();
    builder.setInsertionPoint(loop.getBody()->getTerminator());
  }
  gpu::KernelDim3 blockIds = launch.getBlockIds();
  gpu::KernelDim3 gridSize = launch.getGridSize();
  gpu::KernelDim3 blockSize = launch.getBlockSize();
  uniform.map(blockIds.z, ivs[0]);
  uniform.map(blockIds.y, ivs[1]);
  uniform.map(blockIds.x, ivs[2]);
  uniform.map(gridSize.x, grid.x);
  uniform.map(gridSize.y, grid.y);
  uniform.map(gridSize.z, grid.z);
  uniform.map(blockSize.x, block.x);
  uniform.map(blockSize.y, block.y);
  uniform.map(blockSize.z, block.z);
  if (failed(emitBlock(launch.getBody().front(), uniform)))
    return failure();
  builder.setInsertionPointAfter(blockLoops);
  for (Value buffer : buffers)
    builder.create<memref::DeallocOp>(loc, buffer);
  launch.erase();
  return success();
}

class EmulateGPULaunchesPass final
    : public llm::impl::EmulateGPULaunchesPassBase<EmulateGPULaunchesPass> {
public:
  void runOnOperation() override {
    SmallVector<gpu::LaunchOp> launches;
    getOperation().walk(
        [&](gpu::LaunchOp launch) { launches.push_back(launch); });
    for (gpu::LaunchOp launch : launches)
      if (failed(Emulation(launch).run()))
        return signalPassFailure();
  }
};

} // namespace
