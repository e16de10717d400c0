//===- EmulateGPULaunches.cpp - GPU launches as host loops ----------------===//

#include "codegen/Passes.h"

#include "mlir/IR/IRMapping.h"

namespace mlir::llm {
#define GEN_PASS_DEF_EMULATEGPULAUNCHESPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

class EmulateGPULaunchesPass final
    : public llm::impl::EmulateGPULaunchesPassBase<EmulateGPULaunchesPass> {
public:
  void runOnOperation() override {
    SmallVector<gpu::LaunchOp> launches;
    getOperation().walk(
        [&](gpu::LaunchOp launch) { launches.push_back(launch); });
    for (gpu::LaunchOp launch : launches)
      if (failed(emulate(launch)))
        return signalPassFailure();
  }

private:
  LogicalResult emulate(gpu::LaunchOp launch) {
    if (!launch.getBody().hasOneBlock() || launch.getAsyncToken() ||
        launch.getDynamicSharedMemorySize())
      return launch.emitError("only single-block, synchronous launches "
                              "without shared memory can be emulated");
    bool communicates = false;
    launch.getBody().walk([&](Operation *op) {
      if (isa<gpu::BarrierOp, gpu::ShuffleOp>(op))
        communicates = true;
    });
    if (communicates)
      return launch.emitError("threads that synchronize cannot be emulated "
                              "one after another");

    OpBuilder builder(launch);
    Location loc = launch.getLoc();
    Value zero = builder.create<arith::ConstantIndexOp>(loc, 0);
    Value one = builder.create<arith::ConstantIndexOp>(loc, 1);
    gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
    gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
    // Blocks outside, threads inside; x fastest.
    Value bounds[6] = {grid.z, grid.y, grid.x, block.z, block.y, block.x};
    Value ivs[6];
    for (int i = 0; i < 6; ++i) {
      auto loop = builder.create<scf::ForOp>(loc, zero, bounds[i], one);
      ivs[i] = loop.getInductionVar();
      builder.setInsertionPoint(loop.getBody()->getTerminator());
    }
    IRMapping mapping;
    gpu::KernelDim3 blockIds = launch.getBlockIds();
    gpu::KernelDim3 threadIds = launch.getThreadIds();
    gpu::KernelDim3 gridSize = launch.getGridSize();
    gpu::KernelDim3 blockSize = launch.getBlockSize();
    mapping.map(blockIds.z, ivs[0]);
    mapping.map(blockIds.y, ivs[1]);
    mapping.map(blockIds.x, ivs[2]);
    mapping.map(threadIds.z, ivs[3]);
    mapping.map(threadIds.y, ivs[4]);
    mapping.map(threadIds.x, ivs[5]);
    mapping.map(gridSize.x, grid.x);
    mapping.map(gridSize.y, grid.y);
    mapping.map(gridSize.z, grid.z);
    mapping.map(blockSize.x, block.x);
    mapping.map(blockSize.y, block.y);
    mapping.map(blockSize.z, block.z);
    for (Operation &op : launch.getBody().front().without_terminator())
      builder.clone(op, mapping);
    launch.erase();
    return success();
  }
};

} // namespace
