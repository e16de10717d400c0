//===- MaterializeABI.cpp - Give every function llmc's calling convention -===//
//
// Still on tensors: every function gets the worker id and count in front and
// the runtime's buffers (KV capacity, weight blob, KV cache, scratch arena)
// at the end; calls pass their caller's. The entry point writes its logits
// into a flat buffer the runtime owns instead of returning them.
//
//===----------------------------------------------------------------------===//

#include "codegen/LLMToLinalg.h"
#include "codegen/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/BitVector.h"

#define DEBUG_TYPE "llm-materialize-abi"

namespace mlir::llm {
#define GEN_PASS_DEF_MATERIALIZEABIPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

Type mlir::llm::kvCacheElementType(Operation *op) {
  auto module = dyn_cast<ModuleOp>(op);
  if (!module)
    module = op->getParentOfType<ModuleOp>();
  TypeAttr type =
      module ? LLMDialect::KvCacheTypeAttrHelper(op->getContext())
                   .getAttr(module)
             : TypeAttr();
  return type ? type.getValue() : Float32Type::get(op->getContext());
}

std::optional<int64_t> mlir::llm::boundedBufferBytes(MemRefType type,
                                                     int64_t maxTokens) {
  if (!type.getLayout().isIdentity() || !type.getElementType().isIntOrFloat())
    return std::nullopt;
  int64_t bytes = std::max<int64_t>(type.getElementTypeBitWidth() / 8, 1);
  for (auto [i, dim] : llvm::enumerate(type.getShape())) {
    if (ShapedType::isDynamic(dim) && (i != 0 || maxTokens <= 0))
      return std::nullopt;
    bytes *= ShapedType::isDynamic(dim) ? maxTokens : dim;
  }
  return bytes;
}

int64_t mlir::llm::kvBytesPerPosition(int64_t numLayers, int64_t kvWidth,
                                      Type elementType) {
  return numLayers * 2 * kvWidth * elementType.getIntOrFloatBitWidth() / 8;
}

unsigned ABIArguments::numTrailing(FunctionOpInterface func) {
  return func.getName() == kEntryPoint ? 5 : 4;
}

FailureOr<ABIArguments> ABIArguments::of(Operation *op) {
  auto func = op->getParentOfType<FunctionOpInterface>();
  auto fail = [&]() -> FailureOr<ABIArguments> {
    return op->emitError("the enclosing function does not have llmc's "
                         "calling convention; run llm-materialize-abi first");
  };
  if (!func || func.isExternal())
    return fail();
  unsigned trailing = numTrailing(func);
  unsigned count = func.getNumArguments();
  if (count < 2 + trailing)
    return fail();
  Block &entry = func.getFunctionBody().front();
  auto arg = [&](unsigned i) -> Value { return entry.getArgument(i); };
  auto isBytes = [](Value v) {
    auto type = dyn_cast<MemRefType>(v.getType());
    return type && type.getRank() == 1 && type.getElementType().isInteger(8);
  };
  unsigned first = count - trailing;
  ABIArguments abi{arg(0),         arg(1),         arg(first), arg(first + 1),
                   arg(first + 2), arg(first + 3), Value()};
  if (trailing == 5)
    abi.logits = arg(first + 4);
  if (!abi.tid.getType().isIndex() || !abi.nthreads.getType().isIndex() ||
      !abi.capacity.getType().isIndex() || !isBytes(abi.weights) ||
      !(isBytes(abi.kv) || isa<KVCacheType>(abi.kv.getType())) ||
      !isBytes(abi.scratch))
    return fail();
  return abi;
}

namespace {

struct MaterializeABIPass
    : llm::impl::MaterializeABIPassBase<MaterializeABIPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> functions;
    for (func::FuncOp func : module.getOps<func::FuncOp>())
      if (!func.isExternal())
        functions.push_back(func);
    for (func::FuncOp func : functions)
      if (failed(rewriteSignature(func)))
        return signalPassFailure();
    for (func::FuncOp func : functions)
      if (failed(rewriteCalls(func)))
        return signalPassFailure();
    if (failed(setKVBytes(module)))
      signalPassFailure();
  }

  /// (args...) -> results becomes (tid, nthreads, args without the cache...,
  /// capacity, weights, kv, scratch[, logits]) -> results (none for the
  /// entry point).
  LogicalResult rewriteSignature(func::FuncOp func) {
    Builder b(&getContext());
    Location loc = func.getLoc();
    bool entry = func.getSymName() == kEntryPoint;
    if (entry && func.getNumResults() != 1)
      return func.emitError("the entry point must return the logits");
    auto bytes = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
    Type index = b.getIndexType();
    // Positions in the original argument list.
    unsigned end = func.getNumArguments();
    SmallVector<unsigned> at = {0, 0, end, end, end, end};
    SmallVector<Type> types = {
        index, index, index, bytes, KVCacheType::get(&getContext()), bytes};
    if (entry) {
      at.push_back(end);
      types.push_back(MemRefType::get({ShapedType::kDynamic}, b.getF32Type()));
    }
    SmallVector<DictionaryAttr> attrs(types.size());
    SmallVector<Location> locs(types.size(), loc);
    func.insertArguments(at, types, attrs, locs);
    FailureOr<ABIArguments> abi = ABIArguments::of(&func.front().front());
    if (failed(abi))
      return failure();

    // The model's own cache argument is the ABI's now.
    llvm::BitVector dropped(func.getNumArguments());
    for (BlockArgument arg : func.getArguments())
      if (isa<KVCacheType>(arg.getType()) && arg != abi->kv) {
        arg.replaceAllUsesWith(abi->kv);
        dropped.set(arg.getArgNumber());
      }
    func.eraseArguments(dropped);
    if (entry)
      return writeLogits(func);
    return success();
  }

  /// The entry point's `return %logits` becomes a copy into the runtime's
  /// flat buffer, viewed as [rows, vocab].
  LogicalResult writeLogits(func::FuncOp func) {
    FailureOr<ABIArguments> abi = ABIArguments::of(&func.front().front());
    if (failed(abi))
      return failure();
    WalkResult result = func.walk([&](func::ReturnOp ret) {
      auto type = dyn_cast<RankedTensorType>(ret.getOperand(0).getType());
      if (!type || type.getRank() != 2 || !type.getElementType().isF32()) {
        ret.emitError("the entry point must return [rows, vocab] f32 logits");
        return WalkResult::interrupt();
      }
      OpBuilder b(ret);
      Location loc = ret.getLoc();
      Value logits = ret.getOperand(0);
      Value rows = b.create<tensor::DimOp>(loc, logits, 0);
      Value dest = b.create<memref::ExpandShapeOp>(
          loc, MemRefType::get(type.getShape(), type.getElementType()),
          abi->logits, ArrayRef<ReassociationIndices>{{0, 1}},
          ArrayRef<OpFoldResult>{rows, b.getIndexAttr(type.getDimSize(1))});
      auto write = b.create<bufferization::MaterializeInDestinationOp>(
          loc, logits, dest);
      write.setRestrict(true);
      write.setWritable(true);
      b.create<func::ReturnOp>(loc);
      ret.erase();
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return failure();
    func.eraseResults(llvm::BitVector(1, true));
    func->setAttr("llvm.emit_c_interface", UnitAttr::get(&getContext()));
    return success();
  }

  /// Calls pass the caller's worker id, count and buffers.
  LogicalResult rewriteCalls(func::FuncOp func) {
    FailureOr<ABIArguments> abi = ABIArguments::of(&func.front().front());
    if (failed(abi))
      return failure();
    WalkResult result = func.walk([&](func::CallOp call) {
      auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
          call, call.getCalleeAttr());
      if (!callee || callee.isExternal())
        return WalkResult::advance();
      if (callee.getSymName() == kEntryPoint) {
        call.emitError("the entry point cannot be called");
        return WalkResult::interrupt();
      }
      SmallVector<Value> operands = {abi->tid, abi->nthreads};
      for (Value operand : call.getOperands())
        if (!isa<KVCacheType>(operand.getType()))
          operands.push_back(operand);
      operands.append({abi->capacity, abi->weights, abi->kv, abi->scratch});
      call->setOperands(operands);
      return WalkResult::advance();
    });
    return failure(result.wasInterrupted());
  }

  /// Records the KV cache's size per position for the runtime.
  LogicalResult setKVBytes(ModuleOp module) {
    MLIRContext *context = &getContext();
    std::optional<int64_t> width;
    WalkResult result = module.walk([&](AttentionOp op) {
      int64_t kvWidth = op.getNumKvHeads() * op.getHeadDim();
      if (width && *width != kvWidth) {
        op.emitError("all attention layers must share one KV cache width");
        return WalkResult::interrupt();
      }
      width = kvWidth;
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return failure();
    int64_t bytes = 0;
    if (width) {
      IntegerAttr layers =
          LLMDialect::NumLayersAttrHelper(context).getAttr(module);
      if (!layers)
        return module.emitError("module needs an llm.num_layers attribute to "
                                "lay out the KV cache");
      bytes = kvBytesPerPosition(layers.getInt(), *width,
                                 kvCacheElementType(module));
    }
    LLMDialect::KvBytesPerPositionAttrHelper(context).setAttr(
        module, Builder(context).getI64IntegerAttr(bytes));
    return success();
  }
};

} // namespace
