//===- SinkZeroFills.cpp - A slot zeroed after its last use, not before ---===//
//
// A projection split over its depth adds its partial sums into a zeroed
// buffer, so the zero fill is a launch of its own at the start of the layer
// with nothing to share it with: every launch before it in the function
// reads or writes other buffers, but none runs earlier. Filled after the
// buffer's last reader instead, the slot is zero when the next call comes,
// and the fill joins the independent launch that follows (the attention
// after RoPE read the queries and keys): one launch fewer per layer.
//
// That is exact when the slot is the function's own (the scratch planner
// gives each buffer of the module its own bytes of the arena, so only this
// function touches them, all through the one view the fill fills), and when
// the arena is zero before the first call: the pass sets `llm.zero_scratch`
// on the module, which the runtime reads from the model's info
// (LLMC_MODEL_ZERO_SCRATCH) and honours once, when it allocates the arena.
// Every call leaves the rows it touched zero again: the fill covers the
// view the other users index, with the call's own row count.
//
//===----------------------------------------------------------------------===//

#include "codegen/LLMToLinalg.h"
#include "codegen/nvptx/NVPTXPasses.h"
#include "dialects/llm/IR/LLMOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;

namespace {

/// The buffer a zero-fill launch stores into: its one memory access.
Value filledBuffer(gpu::LaunchOp launch) {
  Value buffer;
  WalkResult walk = launch.getBody().walk([&](Operation *op) {
    if (isa<gpu::TerminatorOp>(op) || isMemoryEffectFree(op) ||
        isa<scf::IfOp, scf::YieldOp>(op))
      return WalkResult::advance();
    // linalg.fill's loops load the element they overwrite, unused.
    if (auto load = dyn_cast<memref::LoadOp>(op); load && load->use_empty())
      return WalkResult::advance();
    auto store = dyn_cast<memref::StoreOp>(op);
    if (!store || buffer)
      return WalkResult::interrupt();
    buffer = store.getMemRef();
    return WalkResult::advance();
  });
  return walk.wasInterrupted() ? Value() : buffer;
}

/// `buffer` through reshapes and casts (which keep every byte) to the view
/// it was made from.
memref::ViewOp wholeView(Value buffer) {
  while (Operation *def = buffer ? buffer.getDefiningOp() : nullptr) {
    if (auto view = dyn_cast<memref::ViewOp>(def))
      return view;
    if (!isa<memref::ExpandShapeOp, memref::CollapseShapeOp, memref::CastOp>(
            def))
      return {};
    buffer = def->getOperand(0);
  }
  return {};
}

/// Bytes of the scratch arena `view` may cover: from its constant shift,
/// a dynamic leading dimension counting `maxTokens` rows.
std::optional<std::pair<int64_t, int64_t>> byteRange(memref::ViewOp view,
                                                     int64_t maxTokens) {
  APInt shift;
  std::optional<int64_t> bytes =
      llm::boundedBufferBytes(view.getType(), maxTokens);
  if (!bytes || !matchPattern(view.getByteShift(), m_ConstantInt(&shift)))
    return std::nullopt;
  int64_t start = shift.getSExtValue();
  return std::make_pair(start, start + *bytes);
}

class SinkZeroFillsPass
    : public PassWrapper<SinkZeroFillsPass, OperationPass<ModuleOp>> {
public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(SinkZeroFillsPass)

  StringRef getArgument() const override { return "llm-sink-zero-fills"; }
  StringRef getDescription() const override {
    return "Zero a function's own scratch slot after its last use instead of "
           "before its first (the arena starts zero)";
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *context = &getContext();
    IntegerAttr maxTokensAttr =
        llm::LLMDialect::MaxTokensAttrHelper(context).getAttr(module);
    int64_t maxTokens = maxTokensAttr ? maxTokensAttr.getInt() : 0;
    auto zeroFill = llm::LLMDialect::ZeroFillAttrHelper(context);
    bool sunk = false;
    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isExternal())
        sunk |= sinkIn(func, maxTokens);
    // The marks are for this pass only.
    module.walk([&](gpu::LaunchOp launch) { zeroFill.removeAttr(launch); });
    if (sunk)
      llm::LLMDialect::ZeroScratchAttrHelper(context).setAttr(
          module, UnitAttr::get(context));
  }

private:
  /// Sinks the marked fill that opens `func`, of its own slot; whether it
  /// moved.
  bool sinkIn(func::FuncOp func, int64_t maxTokens) {
    // A function without llmc's calling convention keeps its fills.
    ScopedDiagnosticHandler quiet(&getContext(),
                                  [](Diagnostic &) { return success(); });
    FailureOr<llm::ABIArguments> abi =
        llm::ABIArguments::of(&func.getBody().front().front());
    if (failed(abi) || !abi->scratch)
      return false;
    Value scratch = abi->scratch;
    Block &entry = func.getBody().front();

    // Every view of the arena, with its bytes; a call may touch any of it.
    SmallVector<std::pair<memref::ViewOp, std::pair<int64_t, int64_t>>> views;
    bool opaque = false;
    for (OpOperand &use : scratch.getUses()) {
      auto view = dyn_cast<memref::ViewOp>(use.getOwner());
      std::optional<std::pair<int64_t, int64_t>> bytes =
          view && view.getSource() == scratch ? byteRange(view, maxTokens)
                                              : std::nullopt;
      if (!bytes) {
        opaque = true;
        break;
      }
      views.push_back({view, *bytes});
    }
    if (opaque)
      return false;

    // A fill after another launch joins that one already (as the slot's
    // first user it touches other bytes); only a fill that opens the
    // function has none before it.
    auto launches = entry.getOps<gpu::LaunchOp>();
    if (launches.empty() ||
        !llm::LLMDialect::ZeroFillAttrHelper(&getContext())
             .isAttrPresent(*launches.begin()))
      return false;
    gpu::LaunchOp fill = *launches.begin();
    memref::ViewOp view = wholeView(filledBuffer(fill));
    if (!view || view.getSource() != scratch)
      return false;
    auto own = llvm::find_if(views, [&](auto &v) { return v.first == view; });
    if (own == views.end() || llvm::any_of(views, [&](auto &other) {
          return other.first != view &&
                 other.second.first < own->second.second &&
                 own->second.first < other.second.second;
        }))
      return false;
    // After the last user, and before a launch that can take it in.
    std::optional<Operation *> last = lastUser(view, fill, entry);
    if (!last || !*last || !nextLaunch(*last))
      return false;
    fill->moveAfter(*last);
    return true;
  }

  static gpu::LaunchOp nextLaunch(Operation *op) {
    for (op = op->getNextNode(); op; op = op->getNextNode())
      if (auto launch = dyn_cast<gpu::LaunchOp>(op))
        return launch;
    return {};
  }

  /// The last op of `entry` using `view` after `fill`, which must be the
  /// first: null when there is none, nothing when a use is not a launch
  /// (a call, a return, a copy on the host) or comes before the fill.
  static std::optional<Operation *> lastUser(memref::ViewOp view,
                                             gpu::LaunchOp fill, Block &entry) {
    Operation *last = nullptr;
    SmallVector<Value> pending{view.getResult()};
    while (!pending.empty()) {
      Value value = pending.pop_back_val();
      for (Operation *user : value.getUsers()) {
        if (isa<memref::ExpandShapeOp, memref::CollapseShapeOp, memref::CastOp,
                memref::SubViewOp>(user) &&
            user->getOperand(0) == value) {
          if (user->getBlock() == &entry || fill->isAncestor(user)) {
            pending.push_back(user->getResult(0));
            continue;
          }
        }
        if (isa<memref::DimOp>(user) && user->getBlock() == &entry)
          continue;
        Operation *top = entry.findAncestorOpInBlock(*user);
        if (!top || !isa<gpu::LaunchOp>(top))
          return std::nullopt;
        if (top == fill.getOperation())
          continue;
        if (top->isBeforeInBlock(fill))
          return std::nullopt;
        if (!last || last->isBeforeInBlock(top))
          last = top;
      }
    }
    return last;
  }
};

} // namespace

std::unique_ptr<Pass> mlir::llm::createSinkZeroFillsPass() {
  return std::make_unique<SinkZeroFillsPass>();
}

void mlir::llm::registerSinkZeroFillsPass() {
  PassRegistration<SinkZeroFillsPass>();
}
