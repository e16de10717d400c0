//===- ResidualInPlace.cpp - A layer's output written over its input ------===//
//
// A layer function returns a fresh buffer that its callers copy straight
// back into the buffer they passed in (the residual stream a loop carries
// through the layers). When the function reads that argument only before
// it first touches the buffer it returns, the returned buffer can be the
// argument itself: the function writes its output in place, returns the
// argument, and the callers' copies (a kernel launch each on a GPU, one per
// layer and decode step) go away. On a GPU target this runs on linalg ops
// on buffers, before scratch planning, so the returned buffer's slot is not
// planned either.
//
//===----------------------------------------------------------------------===//

#include "codegen/nvptx/NVPTXPasses.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;

namespace {

/// The op of `block` that holds `op`.
Operation *topLevel(Operation *op, Block &block) {
  return block.findAncestorOpInBlock(*op);
}

/// Every user of `value`, through views of it, none of them a view.
void collectUsers(Value value, SmallVectorImpl<Operation *> &users) {
  for (Operation *user : value.getUsers()) {
    if (isa<ViewLikeOpInterface>(user) && user->getNumResults() == 1 &&
        user->getOperand(0) == value) {
      collectUsers(user->getResult(0), users);
      continue;
    }
    users.push_back(user);
  }
}

class ResidualInPlacePass
    : public PassWrapper<ResidualInPlacePass, OperationPass<ModuleOp>> {
public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ResidualInPlacePass)

  StringRef getArgument() const override { return "llm-residual-in-place"; }
  StringRef getDescription() const override {
    return "Write a layer's output over the input its callers copy it back "
           "into";
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTableCollection tables;
    SymbolUserMap symbolUsers(tables, module);
    for (auto func : module.getOps<func::FuncOp>())
      rewrite(func, symbolUsers);
  }

private:
  /// The copy of call `call`'s only result back into its operand `operand`,
  /// when that is all the result is used for.
  static linalg::CopyOp copyBack(func::CallOp call, unsigned operand) {
    Value result = call.getResult(0);
    if (!result.hasOneUse())
      return nullptr;
    auto copy = dyn_cast<linalg::CopyOp>(*result.getUsers().begin());
    if (!copy || copy->getBlock() != call->getBlock() ||
        copy.getInputs()[0] != result ||
        copy.getOutputs()[0] != call.getOperand(operand))
      return nullptr;
    return copy;
  }

  void rewrite(func::FuncOp func, SymbolUserMap &symbolUsers) {
    if (!func.isPrivate() || func.isExternal() || func.getNumResults() != 1 ||
        !func.getBody().hasOneBlock())
      return;
    Block &body = func.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    auto alloc = ret.getOperand(0).getDefiningOp<memref::AllocOp>();
    if (!alloc || alloc->getBlock() != &body)
      return;
    // The first op that touches the returned buffer.
    SmallVector<Operation *> outputUsers;
    collectUsers(alloc.getResult(), outputUsers);
    Operation *first = nullptr;
    for (Operation *user : outputUsers) {
      Operation *top = topLevel(user, body);
      if (top != ret && (!first || top->isBeforeInBlock(first)))
        first = top;
    }
    if (!first)
      return;
    ArrayRef<Operation *> calls = symbolUsers.getUsers(func);
    if (calls.empty())
      return;
    for (BlockArgument arg : func.getArguments()) {
      if (arg.getType() != alloc.getType())
        continue;
      // Read only before the output is first touched.
      SmallVector<Operation *> argUsers;
      collectUsers(arg, argUsers);
      if (!llvm::all_of(argUsers, [&](Operation *user) {
            Operation *top = topLevel(user, body);
            return top && top != ret && top->isBeforeInBlock(first);
          }))
        continue;
      // Every caller copies the result straight back into the argument.
      SmallVector<linalg::CopyOp> copies;
      for (Operation *user : calls) {
        auto call = dyn_cast<func::CallOp>(user);
        linalg::CopyOp copy =
            call ? copyBack(call, arg.getArgNumber()) : linalg::CopyOp();
        if (!copy)
          break;
        copies.push_back(copy);
      }
      if (copies.size() != calls.size())
        continue;
      alloc.getResult().replaceAllUsesWith(arg);
      alloc.erase();
      for (linalg::CopyOp copy : copies)
        copy.erase();
      return;
    }
  }
};

} // namespace

std::unique_ptr<Pass> mlir::llm::createResidualInPlacePass() {
  return std::make_unique<ResidualInPlacePass>();
}

void mlir::llm::registerResidualInPlacePass() {
  PassRegistration<ResidualInPlacePass>();
}
