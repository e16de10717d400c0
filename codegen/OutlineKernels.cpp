//===- OutlineKernels.cpp - One function per kernel, named by its module --===//
//
// After llm-distribute-threads a lowered function is a sequence of kernels,
// each a worker's share of one op followed by a call to the runtime's barrier.
// This pass moves every kernel into its own private function named after the
// model module it computes (its location), so the assembly says where each
// kernel came from and profilers attribute time to it. The functions are
// marked `no_inline` so that LLVM keeps them apart, and have internal linkage
// (local symbols, which profilers still see).
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "llm-outline-kernels"

namespace mlir::llm {
#define GEN_PASS_DEF_OUTLINEKERNELSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

void mlir::llm::collectModuleNames(Location loc,
                                   llvm::SetVector<StringRef> &names) {
  if (auto name = dyn_cast<NameLoc>(loc))
    names.insert(name.getName().getValue());
  else if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location part : fused.getLocations())
      collectModuleNames(part, names);
  else if (auto callSite = dyn_cast<CallSiteLoc>(loc))
    collectModuleNames(callSite.getCallee(), names);
}

std::string mlir::llm::kernelNameOf(Location loc) {
  llvm::SetVector<StringRef> names;
  collectModuleNames(loc, names);
  if (names.size() <= 1)
    return names.empty() ? std::string() : names.front().str();
  SmallVector<SmallVector<StringRef>> parts;
  size_t common = std::numeric_limits<size_t>::max();
  for (StringRef name : names) {
    name.split(parts.emplace_back(), '.');
    // Keep at least one component of every name out of the prefix.
    common = std::min(common, parts.back().size() - 1);
  }
  for (size_t i = 0; i < common; ++i)
    if (llvm::any_of(parts, [&](ArrayRef<StringRef> p) {
          return p[i] != parts.front()[i];
        }))
      common = i;
  SmallVector<std::string> rests;
  for (ArrayRef<StringRef> p : parts)
    rests.push_back(llvm::join(p.drop_front(common), "."));
  std::string prefix =
      llvm::join(ArrayRef(parts.front()).take_front(common), ".");
  return (prefix.empty() ? "" : prefix + ".") + "{" + llvm::join(rests, ",") +
         "}";
}

namespace {

/// True for a call to the runtime's barrier.
static bool isBarrier(Operation *op) {
  auto call = dyn_cast<func::CallOp>(op);
  return call && call.getCallee() == kBarrierFn;
}

/// A kernel: the op a barrier follows, with the side-effect free ops before
/// it (back to the previous call) that only it uses, in program order.
static SmallVector<Operation *> kernelOps(Operation *kernel) {
  llvm::SetVector<Operation *> ops;
  ops.insert(kernel);
  Block *block = kernel->getBlock();
  for (Operation *op = kernel->getPrevNode(); op && !isa<func::CallOp>(op);
       op = op->getPrevNode()) {
    if (op->getNumRegions() != 0 || !isMemoryEffectFree(op))
      continue;
    bool onlyThisKernel = llvm::all_of(op->getUsers(), [&](Operation *user) {
      return ops.contains(block->findAncestorOpInBlock(*user));
    });
    if (onlyThisKernel && !op->use_empty())
      ops.insert(op);
  }
  SmallVector<Operation *> ordered(ops.rbegin(), ops.rend());
  return ordered;
}

/// Values `ops` (and the regions inside them) use but do not define.
static llvm::SetVector<Value> capturedValues(ArrayRef<Operation *> ops) {
  auto isInside = [&](Operation *op) {
    return llvm::any_of(
        ops, [&](Operation *kernelOp) { return kernelOp->isAncestor(op); });
  };
  llvm::SetVector<Value> captured;
  for (Operation *kernelOp : ops)
    kernelOp->walk([&](Operation *op) {
      for (Value operand : op->getOperands()) {
        Operation *def = operand.getDefiningOp();
        if (!isInside(def ? def : operand.getParentBlock()->getParentOp()))
          captured.insert(operand);
      }
    });
  return captured;
}

/// Outlines kernels into functions named after their locations.
class Outliner {
public:
  explicit Outliner(ModuleOp module) : symbols(module) {}

  /// Moves each of `kernels` of `caller` into a new function, in order after
  /// `caller`, and calls it in its place.
  void outlineAll(func::FuncOp caller, ArrayRef<Operation *> kernels) {
    Operation *last = caller;
    for (Operation *kernel : kernels)
      last = outline(caller, kernel, last);
  }

private:
  /// Outlines `kernel` of `caller` into a function placed after `previous`.
  func::FuncOp outline(func::FuncOp caller, Operation *kernel,
                       Operation *previous) {
    SmallVector<Operation *> ops = kernelOps(kernel);
    llvm::SetVector<Value> captured = capturedValues(ops);
    // Constants are cloned, not passed, so sizes stay static for LLVM.
    SmallVector<Operation *> constants;
    SmallVector<Value> arguments;
    for (Value value : captured) {
      Operation *def = value.getDefiningOp();
      if (def && def->hasTrait<OpTrait::ConstantLike>())
        constants.push_back(def);
      else
        arguments.push_back(value);
    }
    // The caller's own arguments (worker id and count first) lead, in order.
    auto rank = [&](Value value) {
      auto arg = dyn_cast<BlockArgument>(value);
      return arg && arg.getOwner() == &caller.front()
                 ? arg.getArgNumber()
                 : std::numeric_limits<unsigned>::max();
    };
    llvm::stable_sort(arguments,
                      [&](Value a, Value b) { return rank(a) < rank(b); });

    OpBuilder b(caller.getContext());
    b.setInsertionPointAfter(previous);
    Location loc = kernel->getLoc();
    auto type = b.getFunctionType(ValueRange(arguments).getTypes(), {});
    std::string module = kernelNameOf(loc);
    if (module.empty())
      module = (caller.getSymName() + ".kernel").str();
    auto func = b.create<func::FuncOp>(loc, uniqueName(module), type);
    func.setPrivate();
    LLMDialect::KernelModuleAttrHelper(b.getContext())
        .setAttr(func, b.getStringAttr(module));
    // Kept by the LLVM lowering: noinline and a local symbol.
    func->setAttr("no_inline", b.getUnitAttr());
    func->setAttr("llvm.linkage", LLVM::LinkageAttr::get(
                                      b.getContext(), LLVM::Linkage::Internal));
    symbols.insert(func);
    Block *entry = func.addEntryBlock();
    b.setInsertionPointToStart(entry);
    IRMapping mapping;
    mapping.map(arguments, entry->getArguments());
    for (Operation *op : llvm::concat<Operation *>(constants, ops))
      b.clone(*op, mapping);
    b.create<func::ReturnOp>(loc);
    LLVM_DEBUG(llvm::dbgs() << "outlined " << func.getSymName() << " with "
                            << arguments.size() << " arguments\n");

    b.setInsertionPoint(kernel);
    b.create<func::CallOp>(loc, func, arguments);
    for (Operation *op : llvm::reverse(ops))
      op->erase();
    return func;
  }

  /// `module`, with `.1`, `.2`, ... for the second, third, ... kernel of a
  /// module.
  std::string uniqueName(const std::string &module) {
    std::string name = module;
    for (unsigned &count = counts[module]; symbols.lookup(name);)
      name = module + "." + std::to_string(++count);
    return name;
  }

  SymbolTable symbols;
  llvm::StringMap<unsigned> counts;
};

struct OutlineKernelsPass
    : llm::impl::OutlineKernelsPassBase<OutlineKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    Outliner outliner(module);
    SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
    for (func::FuncOp func : funcs) {
      SmallVector<Operation *> kernels;
      func.walk([&](Operation *op) {
        Operation *kernel = op->getPrevNode();
        // (A claimed kernel's scf.while has a result nobody uses.)
        if (isBarrier(op) && kernel && !isa<func::CallOp>(kernel) &&
            kernel->use_empty())
          kernels.push_back(kernel);
      });
      outliner.outlineAll(func, kernels);
    }
  }
};

} // namespace
