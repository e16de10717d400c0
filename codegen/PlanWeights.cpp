//===- PlanWeights.cpp - Place parameters in the packed weight blob -------===//

#include "codegen/Passes.h"

#include "llvm/Support/MathExtras.h"

namespace mlir::llm {
#define GEN_PASS_DEF_PLANWEIGHTSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

/// Every parameter starts on a cache line.
static constexpr int64_t kAlignment = 64;

/// Rows of `param` padded to whole blocks.
static int64_t paddedRows(ParamOp param) {
  int64_t rows = param.getTensorType().getDimSize(0);
  if (std::optional<int64_t> block = param.getBlock())
    rows = llvm::divideCeil(rows, *block) * *block;
  return rows;
}

int64_t mlir::llm::paramLayerBytes(ParamOp param) {
  RankedTensorType type = param.getTensorType();
  int64_t elementBits = type.getElementTypeBitWidth();
  int64_t rows = paddedRows(param);
  int64_t cols = type.getRank() == 2 ? type.getDimSize(1) : 1;
  int64_t bytes = llvm::divideCeil(rows * cols * elementBits, 8);
  // A quantized matrix's f16 scales follow its values.
  if (std::optional<int64_t> group = param.getGroup())
    bytes += rows * (cols / *group) * 2;
  return bytes;
}

int64_t mlir::llm::paramScalesOffset(ParamOp param) {
  RankedTensorType type = param.getTensorType();
  return llvm::divideCeil(paddedRows(param) * type.getDimSize(1) *
                              type.getElementTypeBitWidth(),
                          8);
}

int64_t mlir::llm::paramCrumbsOffset(ParamOp param) {
  return paddedRows(param) * param.getTensorType().getDimSize(1) / 2;
}

namespace {

struct PlanWeightsPass : llm::impl::PlanWeightsPassBase<PlanWeightsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *context = &getContext();
    Builder b(context);
    LLMDialect::LayoutAttrHelper layoutAttr(context);
    int64_t offset = 0;
    module.walk([&](ParamOp param) {
      int64_t stride = llvm::alignTo(paramLayerBytes(param), kAlignment);
      PackedLayoutAttr layout = param.getLayout();
      layoutAttr.setAttr(
          param, PackedLayoutAttr::get(
                     context, param.getBlock(),
                     layout ? layout.getInterleave() : std::nullopt, offset,
                     stride));
      offset += stride * std::max<int64_t>(param.getLayers(), 1);
    });
    LLMDialect::WeightsBytesAttrHelper(context).setAttr(
        module, b.getI64IntegerAttr(offset));
  }
};

} // namespace
