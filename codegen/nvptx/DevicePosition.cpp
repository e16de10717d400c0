//===- DevicePosition.cpp - The position read by the kernels -------------===//
//
// A decode step of a GPU model is captured once as a CUDA graph and replayed
// for every token, so no kernel parameter may change from one token to the
// next. The position is the one input that does: it is read by the kernels
// from a device global, `llmc_position` (one i64), which the runtime writes
// before each forward call, instead of being passed to them. The host code
// computes with the position only to pass it on (views of the KV cache at
// the position, RoPE's angles, attention's length): those pure computations
// move into the kernels that use them, and a launch whose grid depends on
// the position, or host code that does anything else with it, is an error.
//
// The position is the entry point's fourth argument (runtime/abi/
// ModelABI.h) and, in a function it is passed to, the parameter every call
// passes it to.
//
//===----------------------------------------------------------------------===//

#include "codegen/LLMToLinalg.h"
#include "codegen/nvptx/NVPTXPasses.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/RegionUtils.h"

using namespace mlir;

namespace {

constexpr StringLiteral kPositionGlobal = "llmc_position";
/// The position's index among the entry point's arguments.
constexpr unsigned kPositionArgument = 3;

struct DevicePositionPass
    : public PassWrapper<DevicePositionPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(DevicePositionPass)

  StringRef getArgument() const override { return "llm-device-position"; }
  StringRef getDescription() const override {
    return "Make the GPU kernels read the position from the device global "
           "llmc_position instead of a parameter (for CUDA graph replay)";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<arith::ArithDialect, memref::MemRefDialect>();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto entry = module.lookupSymbol<func::FuncOp>(llm::kEntryPoint);
    if (!entry || entry.isExternal())
      return;
    if (entry.getNumArguments() <= kPositionArgument ||
        !entry.getArgument(kPositionArgument).getType().isIndex()) {
      entry.emitError("expected the position as the entry point's argument ")
          << kPositionArgument << " (index)";
      return signalPassFailure();
    }

    // The position's value in every function it reaches.
    SymbolTableCollection symbols;
    llvm::MapVector<func::FuncOp, Value> positions;
    positions[entry] = entry.getArgument(kPositionArgument);
    for (size_t i = 0; i < positions.size(); ++i) {
      func::FuncOp func = (positions.begin() + i)->first;
      Value position = (positions.begin() + i)->second;
      WalkResult walk = func.walk([&](func::CallOp call) {
        for (auto [index, operand] : llvm::enumerate(call.getOperands())) {
          if (operand != position)
            continue;
          auto callee = symbols.lookupNearestSymbolFrom<func::FuncOp>(
              call, call.getCalleeAttr());
          if (!callee || callee.isExternal() || callee.isPublic()) {
            call.emitError("the position is passed to a function the GPU "
                           "lowering cannot follow");
            return WalkResult::interrupt();
          }
          Value parameter = callee.getArgument(index);
          auto [it, inserted] = positions.insert({callee, parameter});
          if (!inserted && it->second != parameter) {
            call.emitError("the position is passed as two different "
                           "parameters of ")
                << callee.getName();
            return WalkResult::interrupt();
          }
        }
        return WalkResult::advance();
      });
      if (walk.wasInterrupted())
        return signalPassFailure();
    }
    // Every call of such a function passes the position there.
    for (auto [func, position] : positions) {
      if (func == entry)
        continue;
      unsigned index = cast<BlockArgument>(position).getArgNumber();
      std::optional<SymbolTable::UseRange> uses =
          SymbolTable::getSymbolUses(func, module);
      for (const SymbolTable::SymbolUse &use : *uses) {
        auto call = dyn_cast<func::CallOp>(use.getUser());
        auto caller =
            call ? call->getParentOfType<func::FuncOp>() : func::FuncOp();
        if (!call || !positions.count(caller) ||
            call.getOperand(index) != positions[caller]) {
          use.getUser()->emitError("a call of ")
              << func.getName()
              << " that does not pass the position as its parameter " << index;
          return signalPassFailure();
        }
      }
    }

    bool used = false;
    for (auto [func, position] : positions) {
      FailureOr<bool> moved = moveIntoKernels(func, position);
      if (failed(moved))
        return signalPassFailure();
      used |= *moved;
    }
    if (!used || module.lookupSymbol(kPositionGlobal))
      return;
    OpBuilder builder(module.getBodyRegion());
    auto type = MemRefType::get({1}, builder.getI64Type());
    builder.create<memref::GlobalOp>(
        module.getLoc(), kPositionGlobal, builder.getStringAttr("public"), type,
        builder.getUnitAttr(), /*constant=*/false,
        /*alignment=*/builder.getI64IntegerAttr(8));
  }

  /// Rewrites the kernels of `func` to read the position from the global;
  /// whether any does.
  FailureOr<bool> moveIntoKernels(func::FuncOp func, Value position) {
    // The host values computed from the position, in order.
    llvm::SetVector<Value> dependent;
    dependent.insert(position);
    SmallVector<gpu::LaunchOp> launches;
    WalkResult walk = func.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (auto launch = dyn_cast<gpu::LaunchOp>(op)) {
        for (Value operand : launch->getOperands())
          if (dependent.contains(operand)) {
            launch.emitError("a GPU launch whose grid depends on the "
                             "position cannot be replayed from a CUDA graph");
            return WalkResult::interrupt();
          }
        launches.push_back(launch);
        return WalkResult::skip();
      }
      if (isa<func::CallOp>(op))
        return WalkResult::advance();
      if (!llvm::any_of(op->getOperands(),
                        [&](Value v) { return dependent.contains(v); }))
        return WalkResult::advance();
      if (!isPure(op) || op->getNumRegions() != 0) {
        op->emitError("host code of a GPU target computes with the "
                      "position; only kernels may");
        return WalkResult::interrupt();
      }
      dependent.insert(op->result_begin(), op->result_end());
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return failure();

    bool used = false;
    for (gpu::LaunchOp launch : launches) {
      llvm::SetVector<Value> captured;
      getUsedValuesDefinedAbove(launch.getBody(), captured);
      SmallVector<Value> needed;
      for (Value value : captured)
        if (dependent.contains(value))
          needed.push_back(value);
      if (needed.empty())
        continue;
      used = true;
      // The host ops computing `needed` from the position, in order.
      llvm::SetVector<Operation *> slice;
      SmallVector<Value> worklist(needed);
      while (!worklist.empty()) {
        Value value = worklist.pop_back_val();
        Operation *def = value.getDefiningOp();
        if (!def || !slice.insert(def))
          continue;
        for (Value operand : def->getOperands())
          if (dependent.contains(operand))
            worklist.push_back(operand);
      }
      // `dependent` holds the results in the order of the walk, which
      // defines before using.
      SmallVector<Operation *> ordered(slice.begin(), slice.end());
      auto rank = [&](Operation *op) {
        return llvm::find(dependent, op->getResult(0)) - dependent.begin();
      };
      llvm::sort(ordered,
                 [&](Operation *a, Operation *b) { return rank(a) < rank(b); });

      Block &body = launch.getBody().front();
      OpBuilder builder = OpBuilder::atBlockBegin(&body);
      Location loc = launch.getLoc();
      auto type = MemRefType::get({1}, builder.getI64Type());
      Value global =
          builder.create<memref::GetGlobalOp>(loc, type, kPositionGlobal);
      Value zero = builder.create<arith::ConstantIndexOp>(loc, 0);
      Value loaded = builder.create<memref::LoadOp>(loc, global, zero);
      IRMapping mapping;
      mapping.map(position, builder.create<arith::IndexCastOp>(
                                loc, builder.getIndexType(), loaded));
      for (Operation *op : ordered)
        builder.clone(*op, mapping);
      for (Value value : needed)
        replaceAllUsesInRegionWith(value, mapping.lookup(value),
                                   launch.getBody());
    }
    return used;
  }
};

} // namespace

std::unique_ptr<Pass> mlir::llm::createDevicePositionPass() {
  return std::make_unique<DevicePositionPass>();
}

void mlir::llm::registerDevicePositionPass() {
  PassRegistration<DevicePositionPass>();
}
