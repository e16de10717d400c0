//===- ParamUtils.cpp - Creating derived parameters for fusion ------------===//

#include "passes/Passes.h"

using namespace mlir;
using namespace mlir::llm;

/// Whether `a` and `b` are stacked, scaled and quantized alike.
static bool sameStorage(ParamOp a, ParamOp b) {
  return a.getLayers() == b.getLayers() &&
         a.getLayerListAttr() == b.getLayerListAttr() &&
         a.getScaleAttr() == b.getScaleAttr() &&
         a.getGroupAttr() == b.getGroupAttr() &&
         a.getAsymmetric() == b.getAsymmetric() &&
         a.getOffsetsOfAttr() == b.getOffsetsOfAttr();
}

bool mlir::llm::canConcatParams(ParamOp a, ParamOp b) {
  RankedTensorType aType = a.getTensorType(), bType = b.getTensorType();
  // A parameter that is itself a concatenation is not concatenated again.
  return aType.getRank() == 2 && bType.getRank() == 2 &&
         aType.getDimSize(1) == bType.getDimSize(1) &&
         aType.getElementType() == bType.getElementType() &&
         sameStorage(a, b) && a.getSources().size() == 1 &&
         b.getSources().size() == 1;
}

ParamOp mlir::llm::concatParams(RewriterBase &rewriter, ArrayRef<ParamOp> parts,
                                StringRef name) {
  if (parts.empty())
    return {};
  ParamOp first = parts.front();
  RankedTensorType firstType = first.getTensorType();
  if (firstType.getRank() != 2)
    return {};
  int64_t rows = 0;
  SmallVector<Attribute> sources;
  SmallVector<Location> locs;
  for (ParamOp part : parts) {
    if (!canConcatParams(first, part))
      return {};
    rows += part.getTensorType().getDimSize(0);
    llvm::append_range(sources, part.getSources());
    locs.push_back(part.getLoc());
  }
  auto type = RankedTensorType::get({rows, firstType.getDimSize(1)},
                                    firstType.getElementType());
  // The same parts fused in another layer function (layers whose other
  // weights differ in type have their own) are one parameter.
  auto sourcesAttr = rewriter.getArrayAttr(sources);
  for (auto existing : first->getParentOp()->getRegion(0).getOps<ParamOp>())
    if (existing.getSourcesAttr() == sourcesAttr &&
        existing.getType() == type && sameStorage(existing, first))
      return existing;
  // Build the table before the new symbol exists: insert() then uniques its
  // name.
  SymbolTable symbols(first->getParentOp());
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(first);
  auto fused = rewriter.create<ParamOp>(
      rewriter.getFusedLoc(locs), name, type, first.getLayers(), sourcesAttr,
      first.getScaleAttr(), first.getGroupAttr(), first.getAsymmetric(),
      first.getOffsetsOfAttr(), first.getLayerListAttr());
  symbols.insert(fused);
  return fused;
}

void mlir::llm::eraseUnusedParams(Operation *module) {
  SymbolTableCollection symbols;
  SymbolUserMap users(symbols, module);
  SmallVector<ParamOp> dead;
  module->walk([&](ParamOp param) {
    if (users.getUsers(param).empty())
      dead.push_back(param);
  });
  for (ParamOp param : dead)
    param.erase();
}
