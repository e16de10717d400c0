//===- PlanScratch.cpp - Place every buffer in the scratch arena ----------===//
//
// The lowering allocates each activation as memref.alloc(rows) of
// [rows, columns] f32 (bf16 for inputs rounded for a dot product). Rows never
// exceed the tokens one forward call takes, so each allocation gets a fixed
// slot of max-tokens rows in the scratch arena the runtime passes in (a
// static-shaped f32 buffer, its own size): slots
// are handed out in program order across the whole module and never reused,
// so no two live buffers share bytes (the arena is small next to the
// weights: a few hundred activations).
//
//===----------------------------------------------------------------------===//

#include "codegen/LLMToLinalg.h"
#include "codegen/Passes.h"

#include "llvm/Support/MathExtras.h"

#define DEBUG_TYPE "llm-plan-scratch"

namespace mlir::llm {
#define GEN_PASS_DEF_PLANSCRATCHPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

/// Every slot starts on a cache line.
static constexpr int64_t kSlotAlignment = 64;

namespace {

struct PlanScratchPass : llm::impl::PlanScratchPassBase<PlanScratchPass> {
  using PlanScratchPassBase::PlanScratchPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (maxTokens <= 0 || maxTokens > kMaxTokensLimit) {
      module.emitError() << "max-tokens must be in [1, " << kMaxTokensLimit
                         << "]";
      return signalPassFailure();
    }
    int64_t arenaBytes = 0;
    WalkResult result = module.walk([&](memref::AllocOp alloc) {
      FailureOr<int64_t> bytes = slotBytes(alloc);
      FailureOr<ABIArguments> abi = ABIArguments::of(alloc);
      if (failed(bytes) || failed(abi))
        return WalkResult::interrupt();
      OpBuilder b(alloc);
      Value offset =
          b.create<arith::ConstantIndexOp>(alloc.getLoc(), arenaBytes);
      Value view = b.create<memref::ViewOp>(alloc.getLoc(), alloc.getType(),
                                            abi->scratch, offset,
                                            alloc.getDynamicSizes());
      alloc.replaceAllUsesWith(view);
      alloc.erase();
      arenaBytes += llvm::alignTo(*bytes, kSlotAlignment);
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    Builder b(&getContext());
    LLMDialect::ScratchBytesAttrHelper(&getContext())
        .setAttr(module, b.getI64IntegerAttr(arenaBytes));
    LLMDialect::MaxTokensAttrHelper(&getContext())
        .setAttr(module, b.getI64IntegerAttr(maxTokens));
  }

  /// Bytes of a slot for `alloc`: max-tokens rows of its static columns,
  /// or its bytes when its shape is static (a buffer not counted in rows,
  /// as attention's per-split states).
  FailureOr<int64_t> slotBytes(memref::AllocOp alloc) {
    MemRefType type = alloc.getType();
    if (type.hasStaticShape() && type.getLayout().isIdentity() &&
        type.getElementType().isF32())
      return type.getNumElements() * 4;
    bool rowsOnly =
        type.getRank() == 1 || (type.getRank() == 2 && !type.isDynamicDim(1));
    Type element = type.getElementType();
    if (!type.getLayout().isIdentity() ||
        !(element.isF32() || element.isBF16() || element.isInteger(8) ||
          element.isInteger(32)) ||
        !rowsOnly || !type.isDynamicDim(0))
      return alloc.emitError("llm-plan-scratch: only [rows] or [rows, N] "
                             "f32, bf16, i8 or i32 activation buffers and "
                             "static f32 ones can be placed, got ")
             << type;
    int64_t columns = type.getRank() == 2 ? type.getDimSize(1) : 1;
    return maxTokens * columns * (element.getIntOrFloatBitWidth() / 8);
  }
};

} // namespace
