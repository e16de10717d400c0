//===- MarkInvariantLoads.cpp - Read-only kernel data as invariant loads --===//
//
// NVPTX turns a load from global memory that is marked invariant into a
// non-coherent load (`ld.global.nc`, through the read-only data cache), the
// fastest way to stream the weights. A kernel parameter is read-only when
// nothing the kernel stores or updates atomically is addressed from it;
// every load addressed from such a parameter is marked. The buffers llmc
// passes to one kernel do not overlap (the scratch planner gives live
// buffers disjoint ranges), so a parameter that is not written is not
// written through another one either. A store whose address does not trace
// back to a parameter (other than a store to shared memory) leaves the
// kernel's loads alone.
//
// An invariant 16-byte vector load becomes NVPTX's `ld.global.nc.v4`
// intrinsic: LLVM's instcombine splits a vector load whose elements are
// only extracted into scalar loads, dropping the invariant mark, and the
// NVPTX load-store vectorizer merges them back into a coherent `ld.v4`.
//
//===----------------------------------------------------------------------===//

#include "codegen/nvptx/NVPTXPasses.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;

namespace {

/// NVPTX's address space of shared (workgroup) memory.
constexpr unsigned kSharedAddressSpace = 3;

/// The kernel parameter `address` is computed from, or null.
BlockArgument parameterOf(Value address, Block &entry) {
  while (true) {
    if (auto arg = dyn_cast<BlockArgument>(address))
      return arg.getOwner() == &entry ? arg : BlockArgument();
    Operation *def = address.getDefiningOp();
    if (auto gep = dyn_cast_or_null<LLVM::GEPOp>(def))
      address = gep.getBase();
    else if (auto cast = dyn_cast_or_null<LLVM::AddrSpaceCastOp>(def))
      address = cast.getArg();
    else if (auto extract = dyn_cast_or_null<LLVM::ExtractValueOp>(def)) {
      // A field of a memref descriptor that the kernel assembled from its
      // parameters.
      Value container = extract.getContainer();
      Value field;
      while (auto insert = container.getDefiningOp<LLVM::InsertValueOp>()) {
        if (insert.getPosition() == extract.getPosition()) {
          field = insert.getValue();
          break;
        }
        container = insert.getContainer();
      }
      if (!field)
        return BlockArgument();
      address = field;
    } else {
      return BlockArgument();
    }
  }
}

/// Replaces the invariant load `load` of a 16-byte vector by the NVPTX
/// non-coherent global load of four words, bitcast back to its type.
void loadThroughNonCoherentCache(LLVM::LoadOp load) {
  auto type = dyn_cast<VectorType>(load.getType());
  if (!type || type.getRank() != 1 || type.isScalable() ||
      !type.getElementType().isIntOrFloat() ||
      type.getNumElements() * type.getElementTypeBitWidth() != 128 ||
      (load.getAlignment() && *load.getAlignment() < 16) ||
      load.getVolatile_() ||
      load.getOrdering() != LLVM::AtomicOrdering::not_atomic)
    return;
  auto pointer = dyn_cast<LLVM::LLVMPointerType>(load.getAddr().getType());
  if (!pointer || pointer.getAddressSpace() != 0)
    return;
  OpBuilder builder(load);
  Location loc = load.getLoc();
  MLIRContext *context = load.getContext();
  Type i32 = builder.getI32Type();
  Value global = builder.create<LLVM::AddrSpaceCastOp>(
      loc, LLVM::LLVMPointerType::get(context, /*addressSpace=*/1),
      load.getAddr());
  Value alignment = builder.create<LLVM::ConstantOp>(loc, i32, 16);
  auto words = builder.create<LLVM::CallIntrinsicOp>(
      loc, TypeRange{VectorType::get({4}, i32)},
      builder.getStringAttr("llvm.nvvm.ldg.global.i.v4i32.p1"),
      ValueRange{global, alignment});
  Value value = builder.create<LLVM::BitcastOp>(loc, type, words->getResult(0));
  load.replaceAllUsesWith(value);
  load.erase();
}

void markKernel(LLVM::LLVMFuncOp kernel) {
  if (kernel.isExternal())
    return;
  Block &entry = kernel.getBody().front();
  llvm::SmallPtrSet<void *, 8> written;
  bool unknownWriter = false;
  kernel.walk([&](Operation *op) {
    Value address;
    if (auto store = dyn_cast<LLVM::StoreOp>(op))
      address = store.getAddr();
    else if (auto rmw = dyn_cast<LLVM::AtomicRMWOp>(op))
      address = rmw.getPtr();
    else if (auto cmpxchg = dyn_cast<LLVM::AtomicCmpXchgOp>(op))
      address = cmpxchg.getPtr();
    else if (isa<LLVM::CallOp, LLVM::InlineAsmOp, LLVM::MemcpyOp,
                 LLVM::MemsetOp, LLVM::MemmoveOp>(op))
      unknownWriter = true;
    if (!address)
      return;
    // Shared memory (the staged tiles of a tiled projection) is no
    // parameter's.
    if (cast<LLVM::LLVMPointerType>(address.getType()).getAddressSpace() ==
        kSharedAddressSpace)
      return;
    BlockArgument parameter = parameterOf(address, entry);
    if (!parameter)
      unknownWriter = true;
    else
      written.insert(parameter.getAsOpaquePointer());
  });
  if (unknownWriter)
    return;
  SmallVector<LLVM::LoadOp> vectorLoads;
  kernel.walk([&](LLVM::LoadOp load) {
    BlockArgument parameter = parameterOf(load.getAddr(), entry);
    if (!parameter || written.contains(parameter.getAsOpaquePointer()))
      return;
    load.setInvariant(true);
    if (isa<VectorType>(load.getType()))
      vectorLoads.push_back(load);
  });
  for (LLVM::LoadOp load : vectorLoads)
    loadThroughNonCoherentCache(load);
}

struct MarkInvariantLoadsPass
    : public PassWrapper<MarkInvariantLoadsPass,
                         OperationPass<gpu::GPUModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(MarkInvariantLoadsPass)

  StringRef getArgument() const override { return "llm-mark-invariant-loads"; }
  StringRef getDescription() const override {
    return "Mark the loads of read-only kernel parameters invariant (NVPTX "
           "ld.global.nc)";
  }
  void runOnOperation() override {
    for (auto kernel : getOperation().getOps<LLVM::LLVMFuncOp>())
      markKernel(kernel);
  }
};

} // namespace

std::unique_ptr<Pass> mlir::llm::createMarkInvariantLoadsPass() {
  return std::make_unique<MarkInvariantLoadsPass>();
}

void mlir::llm::registerMarkInvariantLoadsPass() {
  PassRegistration<MarkInvariantLoadsPass>();
}
