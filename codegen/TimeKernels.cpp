//===- TimeKernels.cpp - Kernel boundaries for the executable's --profile -===//
//
// After llm-outline-kernels every kernel is a call of a function of its own,
// followed by the barrier. This pass puts a call of the runtime's
// llmc_profile_mark(tid, kernel) before each of them: with --profile, worker
// 0 charges the wall time from one mark to the next (its share of the kernel
// and the wait at the barrier after it) to the kernel; without, the call
// returns after one load and branch. The kernels' names go into the module
// as llmc_kernel_names, so the runtime's table uses the names the assembly
// and perf use.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "llvm/ADT/MapVector.h"

namespace mlir::llm {
#define GEN_PASS_DEF_TIMEKERNELSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

constexpr StringLiteral kMarkFn = "llmc_profile_mark";

struct TimeKernelsPass : llm::impl::TimeKernelsPassBase<TimeKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    OpBuilder b(module.getContext());
    Type i64 = b.getI64Type();

    // Kernel calls in callers whose first argument is the worker id.
    SmallVector<func::CallOp> calls;
    llvm::MapVector<StringRef, int64_t> index;
    for (func::FuncOp caller : module.getOps<func::FuncOp>()) {
      if (caller.isExternal() || caller.getNumArguments() == 0 ||
          !caller.getArgument(0).getType().isIndex())
        continue;
      caller.walk([&](func::CallOp call) {
        auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
        if (!callee || !callee->hasAttr("no_inline"))
          return;
        index.insert({callee.getSymName(), int64_t(index.size())});
        calls.push_back(call);
      });
    }
    if (calls.empty())
      return;

    b.setInsertionPointToStart(module.getBody());
    auto mark = module.lookupSymbol<func::FuncOp>(kMarkFn);
    if (!mark) {
      mark = b.create<func::FuncOp>(module.getLoc(), kMarkFn,
                                    b.getFunctionType({i64, i64}, {}));
      mark.setPrivate();
    }
    std::string names;
    for (const auto &[name, i] : index) {
      names += name.str();
      names.push_back('\0');
    }
    b.create<LLVM::GlobalOp>(
        module.getLoc(), LLVM::LLVMArrayType::get(b.getI8Type(), names.size()),
        /*isConstant=*/true, LLVM::Linkage::External, "llmc_kernel_names",
        b.getStringAttr(names));
    b.create<LLVM::GlobalOp>(module.getLoc(), i64, /*isConstant=*/true,
                             LLVM::Linkage::External, "llmc_kernel_count",
                             b.getI64IntegerAttr(int64_t(index.size())));

    for (func::CallOp call : calls) {
      b.setInsertionPoint(call);
      Location loc = call.getLoc();
      auto caller = call->getParentOfType<func::FuncOp>();
      Value tid = b.create<arith::IndexCastOp>(loc, i64, caller.getArgument(0));
      Value kernel = b.create<arith::ConstantIntOp>(
          loc, index.lookup(call.getCallee()), i64);
      b.create<func::CallOp>(loc, mark, ValueRange{tid, kernel});
    }
  }
};

} // namespace
