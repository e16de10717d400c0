//===- ConvertLLMToLinalg.cpp - llm functions to llmc's calling convention ===//
//
// Every function f(args) -> results becomes
//   f(tid, nthreads, args..., capacity, weights, kv, scratch, outs...)
// where tensors become memrefs, `!llm.kv_cache` arguments disappear (the
// cache is `kv`), and results are written to the trailing out buffers. The
// entry point `llmc_forward` takes its logits as a flat memref<?xf32>, as
// runtime/abi/ModelABI.h declares.
//
//===----------------------------------------------------------------------===//

#include "codegen/LLMLowering.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "convert-llm-to-linalg"

namespace mlir::llm {
#define GEN_PASS_DEF_CONVERTLLMTOLINALGPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

static constexpr StringLiteral kEntryPoint = "llmc_forward";

namespace {

/// memref type a function argument or result of tensor type becomes.
static Type convertBoundaryType(Type type, bool flat) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor)
    return type;
  if (flat)
    return MemRefType::get({ShapedType::kDynamic}, tensor.getElementType());
  return MemRefType::get(tensor.getShape(), tensor.getElementType());
}

struct FunctionLowering {
  LLMLowering &lowering;
  OpBuilder &b;
  /// Converted functions by name, for rewriting calls.
  llvm::StringMap<func::FuncOp> &converted;

  /// Returns an identity-layout buffer holding `tensor` (copying if its
  /// buffer is a strided view).
  Value contiguous(Location loc, Value tensor) {
    Value buffer = lowering.bufferOf(tensor);
    if (!buffer)
      return {};
    if (cast<MemRefType>(buffer.getType()).getLayout().isIdentity())
      return buffer;
    Value fresh = lowering.allocate(
        loc, lowering.rows.lookup(tensor),
        cast<RankedTensorType>(tensor.getType()).getDimSize(1));
    lowering.copy(loc, buffer, fresh);
    return fresh;
  }

  LogicalResult lowerBlock(Block &block) {
    for (Operation &op : llvm::make_early_inc_range(block)) {
      if (failed(lowerOne(&op)))
        return failure();
    }
    return success();
  }

  LogicalResult lowerOne(Operation *op) {
    Location loc = op->getLoc();
    if (auto call = dyn_cast<func::CallOp>(op))
      return lowerCall(call);
    if (auto loop = dyn_cast<scf::ForOp>(op))
      return lowerFor(loop);
    if (isa<func::ReturnOp, scf::YieldOp>(op))
      return success(); // Handled by the enclosing construct.
    if (isa<LLMDialect>(op->getDialect())) {
      // Scalar operands (layer, start, count) must be the new function's.
      for (OpOperand &operand : op->getOpOperands())
        if (Value mapped = mapping.lookupOrNull(operand.get()))
          operand.set(mapped);
      return lowering.lowerOp(op);
    }
    // Scalar index arithmetic and constants carry over unchanged.
    if (llvm::all_of(op->getResultTypes(),
                     [](Type t) { return !isa<TensorType>(t); }) &&
        op->getNumRegions() == 0 &&
        llvm::all_of(op->getOperandTypes(),
                     [](Type t) { return !isa<TensorType>(t); })) {
      Operation *clone = b.clone(*op, mapping);
      for (auto [from, to] : llvm::zip(op->getResults(), clone->getResults()))
        mapping.map(from, to);
      return success();
    }
    return emitError(loc) << "convert-llm-to-linalg: cannot lower "
                          << op->getName();
  }

  /// Maps scalar operands of `op` to their lowered values.
  Value scalar(Value v) { return mapping.lookupOrDefault(v); }

  LogicalResult lowerCall(func::CallOp call) {
    Location loc = call.getLoc();
    func::FuncOp callee = converted.lookup(call.getCallee());
    if (!callee)
      return call.emitError("callee was not converted");
    SmallVector<Value> args = {lowering.abi.tid, lowering.abi.nthreads};
    for (Value operand : call.getOperands()) {
      if (isa<KVCacheType>(operand.getType()))
        continue;
      if (isa<RankedTensorType>(operand.getType())) {
        Value buffer = contiguous(loc, operand);
        if (!buffer)
          return failure();
        args.push_back(buffer);
      } else {
        args.push_back(scalar(operand));
      }
    }
    args.append({lowering.abi.capacity, lowering.abi.weights, lowering.abi.kv,
                 lowering.abi.scratch});
    // Results have as many rows as the first tensor argument.
    Value rowCount;
    for (Value operand : call.getOperands())
      if (isa<RankedTensorType>(operand.getType()) &&
          (rowCount = lowering.rows.lookup(operand)))
        break;
    if (!rowCount && call.getNumResults())
      return call.emitError("cannot size the results of a call without a "
                            "tensor argument");
    SmallVector<Value> outs;
    for (Value result : call.getResults()) {
      Value out = lowering.allocate(
          loc, rowCount, cast<RankedTensorType>(result.getType()).getDimSize(1));
      outs.push_back(out);
      lowering.define(result, out, rowCount);
    }
    args.append(outs);
    b.create<func::CallOp>(loc, callee, args);
    return success();
  }

  LogicalResult lowerFor(scf::ForOp loop) {
    Location loc = loop.getLoc();
    // Loop-carried tensors live in one buffer each: the init's.
    SmallVector<Value> carried;
    for (auto [init, arg, result] :
         llvm::zip(loop.getInitArgs(), loop.getRegionIterArgs(),
                   loop.getResults())) {
      if (!isa<RankedTensorType>(init.getType()))
        return loop.emitError("only tensors may be loop-carried");
      Value buffer = contiguous(loc, init);
      if (!buffer)
        return failure();
      Value rowCount = lowering.rows.lookup(init);
      lowering.define(arg, buffer, rowCount);
      lowering.define(result, buffer, rowCount);
      carried.push_back(buffer);
    }
    auto newLoop = b.create<scf::ForOp>(loc, scalar(loop.getLowerBound()),
                                        scalar(loop.getUpperBound()),
                                        scalar(loop.getStep()));
    mapping.map(loop.getInductionVar(), newLoop.getInductionVar());
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(newLoop.getBody()->getTerminator());
    if (failed(lowerBlock(*loop.getBody())))
      return failure();
    auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
    for (auto [value, buffer] : llvm::zip(yield.getOperands(), carried)) {
      Value produced = lowering.bufferOf(value);
      if (!produced)
        return failure();
      if (produced != buffer)
        lowering.copy(loc, produced, buffer);
    }
    return success();
  }

  IRMapping mapping;
};

struct ConvertLLMToLinalgPass
    : llm::impl::ConvertLLMToLinalgPassBase<ConvertLLMToLinalgPass> {
  using ConvertLLMToLinalgPassBase::ConvertLLMToLinalgPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (maxTokens <= 0) {
      module.emitError("max-tokens must be positive");
      return signalPassFailure();
    }
    LLMLowering lowering(module, maxTokens);
    OpBuilder &b = lowering.b;
    SmallVector<func::FuncOp> functions(module.getOps<func::FuncOp>());

    // Declare all converted functions first so calls can refer to them.
    llvm::StringMap<func::FuncOp> converted;
    IndexType indexType = b.getIndexType();
    auto bytes = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
    for (func::FuncOp func : functions) {
      if (func.isExternal())
        continue;
      bool entry = func.getSymName() == kEntryPoint;
      SmallVector<Type> inputs = {indexType, indexType};
      for (Type type : func.getArgumentTypes())
        if (!isa<KVCacheType>(type))
          inputs.push_back(convertBoundaryType(type, /*flat=*/false));
      inputs.append({indexType, bytes, bytes, bytes});
      for (Type type : func.getResultTypes())
        inputs.push_back(convertBoundaryType(type, entry));
      b.setInsertionPoint(func);
      auto newFunc = b.create<func::FuncOp>(
          func.getLoc(), (func.getSymName() + ".lowered").str(),
          b.getFunctionType(inputs, {}));
      if (entry)
        newFunc->setAttr("llvm.emit_c_interface", b.getUnitAttr());
      else
        newFunc.setPrivate();
      converted[func.getSymName()] = newFunc;
    }

    for (func::FuncOp func : functions) {
      if (func.isExternal())
        continue;
      func::FuncOp newFunc = converted[func.getSymName()];
      Block *entryBlock = newFunc.addEntryBlock();
      b.setInsertionPointToStart(entryBlock);
      unsigned next = 2;
      lowering.abi.tid = entryBlock->getArgument(0);
      lowering.abi.nthreads = entryBlock->getArgument(1);
      SmallVector<std::pair<Value, Value>> tensorArgs;
      FunctionLowering fl{lowering, b, converted, {}};
      for (BlockArgument arg : func.getArguments()) {
        if (isa<KVCacheType>(arg.getType()))
          continue;
        Value newArg = entryBlock->getArgument(next++);
        if (isa<RankedTensorType>(arg.getType()))
          tensorArgs.push_back({arg, newArg});
        else
          fl.mapping.map(arg, newArg);
      }
      lowering.abi.capacity = entryBlock->getArgument(next++);
      lowering.abi.weights = entryBlock->getArgument(next++);
      lowering.abi.kv = entryBlock->getArgument(next++);
      lowering.abi.scratch = entryBlock->getArgument(next++);
      for (auto [arg, newArg] : tensorArgs) {
        Value rowCount = b.create<arith::ConstantIndexOp>(func.getLoc(), 0);
        rowCount = b.create<memref::DimOp>(func.getLoc(), newArg, rowCount);
        lowering.define(arg, newArg, rowCount);
      }
      auto ret = b.create<func::ReturnOp>(func.getLoc());
      b.setInsertionPoint(ret);
      if (failed(lowerFunction(fl, func, newFunc, next)))
        return signalPassFailure();
    }
    for (func::FuncOp func : functions) {
      if (func.isExternal())
        continue;
      StringRef name = func.getSymName();
      func::FuncOp newFunc = converted[name];
      func.erase();
      newFunc.setSymName(name);
    }
    // Calls refer to the temporary names; point them at the final ones.
    module.walk([&](func::CallOp call) {
      StringRef callee = call.getCallee();
      if (callee.consume_back(".lowered"))
        call.setCallee(callee);
    });
    // The code now addresses weights by offset; the parameters are consumed.
    for (ParamOp param : llvm::make_early_inc_range(module.getOps<ParamOp>()))
      param.erase();
    MLIRContext *context = &getContext();
    LLMDialect::ScratchBytesAttrHelper(context).setAttr(
        module, b.getI64IntegerAttr(lowering.arenaBytes));
    LLMDialect::KvBytesPerPositionAttrHelper(context).setAttr(
        module, b.getI64IntegerAttr(lowering.kvBytesPerPosition));
    LLMDialect::MaxTokensAttrHelper(context).setAttr(
        module, b.getI64IntegerAttr(maxTokens));
  }

  LogicalResult lowerFunction(FunctionLowering &fl, func::FuncOp func,
                              func::FuncOp newFunc, unsigned firstOut) {
    Block &body = func.getBody().front();
    if (failed(fl.lowerBlock(body)))
      return failure();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    Location loc = ret.getLoc();
    bool entry = func.getSymName() == kEntryPoint;
    for (auto [i, value] : llvm::enumerate(ret.getOperands())) {
      Value produced = fl.lowering.bufferOf(value);
      if (!produced)
        return failure();
      Value out = newFunc.getArgument(firstOut + i);
      if (entry) {
        int64_t cols = cast<RankedTensorType>(value.getType()).getDimSize(1);
        out = fl.b.create<memref::ExpandShapeOp>(
            loc,
            MemRefType::get({ShapedType::kDynamic, cols}, fl.b.getF32Type()),
            out, ArrayRef<ReassociationIndices>{{0, 1}},
            ArrayRef<OpFoldResult>{fl.lowering.rows.lookup(value),
                                   fl.b.getIndexAttr(cols)});
      }
      fl.lowering.copy(loc, produced, out);
    }
    return success();
  }
};

} // namespace
