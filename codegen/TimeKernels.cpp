//===- TimeKernels.cpp - Kernel boundaries for the executable's --profile -===//
//
// After llm-outline-kernels every kernel is a call of a function of its own,
// followed by the barrier. This pass puts a call of the runtime's
// llmc_profile_mark(tid, kernel) before each of them: with --profile, worker
// 0 charges the wall time from one mark to the next (its share of the kernel
// and the wait at the barrier after it) to the kernel; without, the call
// returns after one load and branch. The kernels' names go into the module
// as llmc_kernel_names, so the runtime's table uses the names the assembly
// and perf use, grouped by the module each computes, with that module's
// costs from llm-estimate-costs.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "mlir/IR/BuiltinAttributes.h"

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

/// The fields of one group's entry in llmc_group_costs, in order.
constexpr StringLiteral kCostFields[] = {
    "flops_per_row",  "bytes_per_row", "bytes_per_call", "flops_per_pair",
    "bytes_per_pair", "int8_dot",      "bf16_dot"};

/// `names`, each followed by a NUL byte.
std::string joinNames(ArrayRef<StringRef> names) {
  std::string joined;
  for (StringRef name : names) {
    joined += name.str();
    joined.push_back('\0');
  }
  return joined;
}

} // namespace

void mlir::llm::addKernelProfileTables(ModuleOp module,
                                       ArrayRef<std::string> kernelNames,
                                       ArrayRef<std::string> kernelGroups,
                                       ArrayRef<int64_t> kernelCallers) {
  MLIRContext *context = module.getContext();
  OpBuilder b(context);
  Type i64 = b.getI64Type();
  llvm::MapVector<StringRef, int64_t> groups;
  SmallVector<int64_t> groupOf;
  for (const std::string &group : kernelGroups)
    groupOf.push_back(
        groups.insert({group, int64_t(groups.size())}).first->second);

  // Per group: known (1 when llm.costs has an entry), rows are output rows,
  // then kCostFields.
  DictionaryAttr costs = LLMDialect::CostsAttrHelper(context).getAttr(module);
  SmallVector<int64_t> groupCosts;
  for (const auto &[name, index] : groups) {
    auto entry = costs ? dyn_cast_or_null<DictionaryAttr>(costs.get(name))
                       : DictionaryAttr();
    groupCosts.push_back(entry ? 1 : 0);
    groupCosts.push_back(entry && entry.get("rows") ? 1 : 0);
    for (StringRef field : kCostFields) {
      auto value =
          entry ? dyn_cast_or_null<IntegerAttr>(entry.get(field)) : nullptr;
      groupCosts.push_back(value ? value.getInt() : 0);
    }
  }

  b.setInsertionPointToStart(module.getBody());
  Location loc = module.getLoc();
  auto addString = [&](StringRef symbol, ArrayRef<StringRef> names) {
    std::string joined = joinNames(names);
    b.create<LLVM::GlobalOp>(
        loc, LLVM::LLVMArrayType::get(b.getI8Type(), joined.size()),
        /*isConstant=*/true, LLVM::Linkage::External, symbol,
        b.getStringAttr(joined));
  };
  auto addInt = [&](StringRef symbol, int64_t value) {
    b.create<LLVM::GlobalOp>(loc, i64, /*isConstant=*/true,
                             LLVM::Linkage::External, symbol,
                             b.getI64IntegerAttr(value));
  };
  auto addInts = [&](StringRef symbol, ArrayRef<int64_t> values) {
    auto type = RankedTensorType::get({int64_t(values.size())}, i64);
    b.create<LLVM::GlobalOp>(loc, LLVM::LLVMArrayType::get(i64, values.size()),
                             /*isConstant=*/true, LLVM::Linkage::External,
                             symbol, DenseIntElementsAttr::get(type, values));
  };
  SmallVector<StringRef> names(kernelNames.begin(), kernelNames.end()),
      groupNames;
  for (const auto &entry : groups)
    groupNames.push_back(entry.first);
  addInt("llmc_kernel_count", int64_t(kernelNames.size()));
  addString("llmc_kernel_names", names);
  addInts("llmc_kernel_group", groupOf);
  SmallVector<int64_t> callers(kernelCallers);
  callers.resize(kernelNames.size(), 0);
  addInts("llmc_kernel_caller", callers);
  addInt("llmc_group_count", int64_t(groups.size()));
  addString("llmc_group_names", groupNames);
  addInts("llmc_group_costs", groupCosts);
}

namespace {

struct TimeKernelsPass : llm::impl::TimeKernelsPassBase<TimeKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *context = &getContext();
    OpBuilder b(context);
    Type i64 = b.getI64Type();

    // Kernel calls in callers whose first argument is the worker id; each
    // kernel's group is the module it computes (its llm.kernel_module).
    SmallVector<func::CallOp> calls;
    llvm::MapVector<StringRef, int64_t> kernels;
    SmallVector<std::string> kernelNames, kernelGroups;
    SmallVector<int64_t> kernelCallers;
    int64_t callerIndex = -1;
    for (func::FuncOp caller : module.getOps<func::FuncOp>()) {
      if (caller.isExternal() || caller.getNumArguments() == 0 ||
          !caller.getArgument(0).getType().isIndex())
        continue;
      ++callerIndex;
      caller.walk([&](func::CallOp call) {
        auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
        if (!callee || !callee->hasAttr("no_inline"))
          return;
        calls.push_back(call);
        if (!kernels.insert({callee.getSymName(), int64_t(kernels.size())})
                 .second)
          return;
        StringAttr group =
            LLMDialect::KernelModuleAttrHelper(context).getAttr(callee);
        kernelNames.push_back(callee.getSymName().str());
        kernelCallers.push_back(callerIndex);
        kernelGroups.push_back(
            (group ? group.getValue() : callee.getSymName()).str());
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
    addKernelProfileTables(module, kernelNames, kernelGroups, kernelCallers);

    for (func::CallOp call : calls) {
      b.setInsertionPoint(call);
      Location callLoc = call.getLoc();
      auto caller = call->getParentOfType<func::FuncOp>();
      Value tid =
          b.create<arith::IndexCastOp>(callLoc, i64, caller.getArgument(0));
      Value kernel = b.create<arith::ConstantIntOp>(
          callLoc, kernels.lookup(call.getCallee()), i64);
      b.create<func::CallOp>(callLoc, mark, ValueRange{tid, kernel});
    }
  }
};

} // namespace
