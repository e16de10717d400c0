//===- ConvertLLMToLinalg.cpp - llm on tensors to linalg on buffers -------===//
//
// A dialect conversion: tensors become memrefs (LLMToLinalgTypeConverter),
// every llm op is rewritten by its pattern (LLMToLinalgPatterns.cpp,
// LowerAttention.cpp), functions, calls and returns by the upstream
// structural patterns, and the layer loop's carried tensors live in one
// buffer each. New buffers are `memref.alloc`s for llm-plan-scratch. Runs
// after llm-materialize-abi, whose calling convention the patterns read.
//
//===----------------------------------------------------------------------===//

#include "codegen/LLMToLinalg.h"
#include "codegen/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "convert-llm-to-linalg"

namespace mlir::llm {
#define GEN_PASS_DEF_CONVERTLLMTOLINALGPASS
#define GEN_PASS_DEF_ERASEPARAMSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

/// A new `type` buffer (an identity layout) holding a copy of `from`, sized
/// like it.
static Value copyToNewBuffer(OpBuilder &b, Location loc, Value from,
                             MemRefType type) {
  SmallVector<Value> sizes;
  for (int64_t dim = 0; dim < type.getRank(); ++dim)
    if (type.isDynamicDim(dim))
      sizes.push_back(b.create<memref::DimOp>(loc, from, dim));
  Value fresh = b.create<memref::AllocOp>(loc, type, sizes);
  b.create<linalg::CopyOp>(loc, from, fresh);
  return fresh;
}

LLMToLinalgTypeConverter::LLMToLinalgTypeConverter() {
  addConversion([](Type type) { return type; });
  addConversion([](RankedTensorType type) -> Type {
    return MemRefType::get(type.getShape(), type.getElementType());
  });
  addConversion([](KVCacheType type) -> Type {
    return MemRefType::get({ShapedType::kDynamic},
                           IntegerType::get(type.getContext(), 8));
  });
  // A strided view where an identity-layout buffer is expected.
  addTargetMaterialization([](OpBuilder &b, MemRefType type, ValueRange inputs,
                              Location loc) -> std::optional<Value> {
    if (inputs.size() != 1)
      return std::nullopt;
    auto from = dyn_cast<MemRefType>(inputs[0].getType());
    if (!from || from.getShape() != type.getShape() ||
        from.getElementType() != type.getElementType())
      return std::nullopt;
    return copyToNewBuffer(b, loc, inputs[0], type);
  });
}

namespace {

/// A loop carrying tensors carries one buffer per tensor: the init's when
/// nothing else reads it, a copy otherwise. The body's results are copied
/// into it (see YieldLowering), so a call inside the loop never writes the
/// buffer it reads.
struct ForLowering : OpConversionPattern<scf::ForOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(scf::ForOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    SmallVector<Value> carried;
    for (auto [init, buffer] :
         llvm::zip(op.getInitArgs(), adaptor.getInitArgs())) {
      if (!isa<MemRefType>(buffer.getType()))
        return rewriter.notifyMatchFailure(op, "carries a non-tensor");
      if (!init.hasOneUse())
        buffer = copyToNewBuffer(rewriter, loc, buffer,
                                 cast<MemRefType>(buffer.getType()));
      carried.push_back(buffer);
    }
    auto loop = rewriter.create<scf::ForOp>(loc, adaptor.getLowerBound(),
                                            adaptor.getUpperBound(),
                                            adaptor.getStep(), carried);
    rewriter.eraseBlock(loop.getBody());
    rewriter.inlineRegionBefore(op.getRegion(), loop.getRegion(),
                                loop.getRegion().end());
    if (failed(rewriter.convertRegionTypes(&loop.getRegion(),
                                           *getTypeConverter())))
      return failure();
    rewriter.replaceOp(op, loop.getResults());
    return success();
  }
};

/// Copies the iteration's results into the loop's carried buffers.
struct YieldLowering : OpConversionPattern<scf::YieldOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(scf::YieldOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto loop = dyn_cast<scf::ForOp>(op->getParentOp());
    if (!loop)
      return rewriter.notifyMatchFailure(op, "not in an scf.for");
    ValueRange carried = loop.getRegionIterArgs();
    for (auto [value, buffer] : llvm::zip(adaptor.getOperands(), carried))
      if (value != buffer)
        rewriter.create<linalg::CopyOp>(op.getLoc(), value, buffer);
    rewriter.replaceOpWithNewOp<scf::YieldOp>(op, carried);
    return success();
  }
};

struct DimLowering : OpConversionPattern<tensor::DimOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(tensor::DimOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<memref::DimOp>(op, adaptor.getSource(),
                                               adaptor.getIndex());
    return success();
  }
};

/// The entry point's logits, copied into the runtime's buffer.
struct MaterializeLowering
    : OpConversionPattern<bufferization::MaterializeInDestinationOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(bufferization::MaterializeInDestinationOp op,
                  OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!isa<MemRefType>(adaptor.getDest().getType()))
      return rewriter.notifyMatchFailure(op, "destination is not a buffer");
    rewriter.create<linalg::CopyOp>(op.getLoc(), adaptor.getSource(),
                                    adaptor.getDest());
    rewriter.eraseOp(op);
    return success();
  }
};

struct ConvertLLMToLinalgPass
    : llm::impl::ConvertLLMToLinalgPassBase<ConvertLLMToLinalgPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *context = &getContext();
    LLMToLinalgTypeConverter converter;
    ConversionTarget target(*context);
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, memref::MemRefDialect,
                           scf::SCFDialect, vector::VectorDialect>();
    target.addIllegalDialect<LLMDialect>();
    // The parameters are read (by the weight pattern) until the end.
    target.addLegalOp<ParamOp>();
    // Tensors must all become buffers.
    target.addIllegalDialect<tensor::TensorDialect>();
    target.addIllegalOp<bufferization::MaterializeInDestinationOp>();
    RewritePatternSet patterns(context);
    populateLLMToLinalgConversionPatterns(patterns);
    populateLLMStructuralConversionPatterns(converter, patterns, target);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      return signalPassFailure();
  }
};

struct EraseParamsPass : llm::impl::EraseParamsPassBase<EraseParamsPass> {
  void runOnOperation() override {
    for (ParamOp param :
         llvm::make_early_inc_range(getOperation().getOps<ParamOp>()))
      param.erase();
  }
};

} // namespace

void mlir::llm::populateLLMStructuralConversionPatterns(
    TypeConverter &converter, RewritePatternSet &patterns,
    ConversionTarget &target) {
  populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns,
                                                                 converter);
  populateCallOpTypeConversionPattern(patterns, converter);
  populateReturnOpTypeConversionPattern(patterns, converter);
  patterns.add<ForLowering, YieldLowering, DimLowering, MaterializeLowering>(
      converter, patterns.getContext());
  target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp op) {
    return converter.isSignatureLegal(op.getFunctionType()) &&
           converter.isLegal(&op.getBody());
  });
  target.addDynamicallyLegalOp<func::CallOp, func::ReturnOp, scf::ForOp,
                               scf::YieldOp>(
      [&](Operation *op) { return converter.isLegal(op); });
}
