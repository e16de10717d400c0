//===- ParamUtils.cpp - Creating derived parameters for fusion ------------===//

#include "passes/Passes.h"

using namespace mlir;
using namespace mlir::llm;

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
    RankedTensorType type = part.getTensorType();
    if (type.getRank() != 2 || type.getDimSize(1) != firstType.getDimSize(1) ||
        type.getElementType() != firstType.getElementType() ||
        part.getLayers() != first.getLayers() ||
        part.getScaleAttr() != first.getScaleAttr() ||
        part.getGroupAttr() != first.getGroupAttr())
      return {};
    // A parameter that is itself a concatenation contributes its sources.
    if (part.getSources().size() != 1)
      return {};
    rows += type.getDimSize(0);
    llvm::append_range(sources, part.getSources());
    locs.push_back(part.getLoc());
  }
  auto type = RankedTensorType::get({rows, firstType.getDimSize(1)},
                                    firstType.getElementType());
  // Build the table before the new symbol exists: insert() then uniques its
  // name.
  SymbolTable symbols(first->getParentOp());
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(first);
  auto fused = rewriter.create<ParamOp>(
      rewriter.getFusedLoc(locs), name, type, first.getLayers(),
      rewriter.getArrayAttr(sources), first.getScaleAttr(),
      first.getGroupAttr());
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
