//===- LowerGPULaunches.cpp - Launches as calls into the runtime ----------===//
//
// MLIR's gpu-to-llvm lowering loads the module around every launch; llmc's
// runtime loads it once, so a launch is a call to the runtime's
//
//   void llmc_gpu_launch(int64_t kernel, int64_t gridX, int64_t gridY,
//                        int64_t gridZ, int64_t blockX, int64_t blockY,
//                        int64_t blockZ, int32_t sharedBytes, void **params,
//                        int64_t count);
//
// with `params` the addresses of the kernel's parameters, as cuLaunchKernel
// takes them.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "mlir/Conversion/LLVMCommon/Pattern.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Dialect/LLVMIR/FunctionCallUtils.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::llm {
#define GEN_PASS_DEF_LOWERGPULAUNCHESPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

static constexpr StringLiteral kLaunchFn = "llmc_gpu_launch";

namespace {

class LaunchFuncLowering final
    : public ConvertOpToLLVMPattern<gpu::LaunchFuncOp> {
public:
  LaunchFuncLowering(const LLVMTypeConverter &converter,
                     const llvm::StringMap<int64_t> &kernelIndex)
      : ConvertOpToLLVMPattern(converter), kernelIndex(kernelIndex) {}

  LogicalResult
  matchAndRewrite(gpu::LaunchFuncOp launch, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = launch.getLoc();
    if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty() ||
        launch.hasClusterSize())
      return rewriter.notifyMatchFailure(launch, "async or clustered launch");
    auto func = launch->getParentOfType<LLVM::LLVMFuncOp>();
    if (!func)
      return rewriter.notifyMatchFailure(launch, "host function not lowered");
    auto it = kernelIndex.find(launch.getKernelName().getValue());
    if (it == kernelIndex.end())
      return rewriter.notifyMatchFailure(launch, "unknown kernel");

    MLIRContext *context = rewriter.getContext();
    Type i64 = rewriter.getI64Type(), i32 = rewriter.getI32Type();
    auto ptr = LLVM::LLVMPointerType::get(context);
    SmallVector<Value> params = getTypeConverter()->promoteOperands(
        loc, launch.getKernelOperands(), adaptor.getKernelOperands(), rewriter,
        /*useBarePtrCallConv=*/false);

    // The slots live in the entry block, so a launch inside a loop does not
    // grow the stack.
    SmallVector<Value> slots;
    Value array;
    {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(&func.getBody().front());
      Value one = rewriter.create<LLVM::ConstantOp>(loc, i64, 1);
      Value count = rewriter.create<LLVM::ConstantOp>(
          loc, i64, std::max<int64_t>(params.size(), 1));
      array = rewriter.create<LLVM::AllocaOp>(loc, ptr, ptr, count);
      for (Value param : params)
        slots.push_back(
            rewriter.create<LLVM::AllocaOp>(loc, ptr, param.getType(), one));
    }
    for (auto [i, param] : llvm::enumerate(params)) {
      rewriter.create<LLVM::StoreOp>(loc, param, slots[i]);
      Value entry = rewriter.create<LLVM::GEPOp>(
          loc, ptr, ptr, array, ArrayRef<LLVM::GEPArg>{int32_t(i)});
      rewriter.create<LLVM::StoreOp>(loc, slots[i], entry);
    }

    auto module = launch->getParentOfType<ModuleOp>();
    auto callee = module.lookupSymbol<LLVM::LLVMFuncOp>(kLaunchFn);
    if (!callee) {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(module.getBody());
      callee = rewriter.create<LLVM::LLVMFuncOp>(
          loc, kLaunchFn,
          LLVM::LLVMFunctionType::get(
              LLVM::LLVMVoidType::get(context),
              {i64, i64, i64, i64, i64, i64, i64, i32, ptr, i64}));
    }
    auto constant = [&](Type type, int64_t value) -> Value {
      return rewriter.create<LLVM::ConstantOp>(loc, type, value);
    };
    Value shared = adaptor.getDynamicSharedMemorySize()
                       ? adaptor.getDynamicSharedMemorySize()
                       : constant(i32, 0);
    rewriter.create<LLVM::CallOp>(
        loc, callee,
        ValueRange{constant(i64, it->second), adaptor.getGridSizeX(),
                   adaptor.getGridSizeY(), adaptor.getGridSizeZ(),
                   adaptor.getBlockSizeX(), adaptor.getBlockSizeY(),
                   adaptor.getBlockSizeZ(), shared, array,
                   constant(i64, int64_t(params.size()))});
    rewriter.eraseOp(launch);
    return success();
  }

private:
  const llvm::StringMap<int64_t> &kernelIndex;
};

/// Adds a constant byte-string global named `name`.
void addBytes(OpBuilder &builder, Location loc, StringRef name,
              StringRef bytes) {
  auto type = LLVM::LLVMArrayType::get(builder.getI8Type(), bytes.size());
  builder.create<LLVM::GlobalOp>(loc, type, /*isConstant=*/true,
                                 LLVM::Linkage::External, name,
                                 builder.getStringAttr(bytes));
}

class LowerGPULaunchesPass final
    : public llm::impl::LowerGPULaunchesPassBase<LowerGPULaunchesPass> {
public:
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::BinaryOp> binaries(module.getOps<gpu::BinaryOp>());
    if (binaries.empty())
      return;
    if (binaries.size() != 1) {
      module.emitError("expected the kernels in one gpu.binary");
      return signalPassFailure();
    }
    gpu::BinaryOp binary = binaries.front();
    auto objects = binary.getObjects();
    auto object = objects.size() == 1 ? dyn_cast<gpu::ObjectAttr>(objects[0])
                                      : gpu::ObjectAttr();
    if (!object || object.getFormat() != gpu::CompilationTarget::Assembly) {
      binary.emitError("expected one PTX object");
      return signalPassFailure();
    }
    StringRef ptx = object.getObject().getValue();

    // Kernel indices in order of first launch.
    llvm::StringMap<int64_t> kernelIndex;
    std::string names;
    // For --profile: each kernel's model module, from its launch.
    SmallVector<std::string> kernelNames, kernelGroups;
    module.walk([&](gpu::LaunchFuncOp launch) {
      StringRef name = launch.getKernelName().getValue();
      if (!kernelIndex.try_emplace(name, int64_t(kernelIndex.size())).second)
        return;
      names += name.str() + '\0';
      kernelNames.push_back(name.str());
      std::string group = kernelNameOf(launch.getLoc());
      kernelGroups.push_back(group.empty() ? name.str() : group);
    });
    if (!kernelNames.empty())
      addKernelProfileTables(module, kernelNames, kernelGroups);

    LLVMTypeConverter converter(&getContext());
    RewritePatternSet patterns(&getContext());
    patterns.add<LaunchFuncLowering>(converter, kernelIndex);
    ConversionTarget target(getContext());
    target.addLegalDialect<LLVM::LLVMDialect>();
    target.addIllegalOp<gpu::LaunchFuncOp>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      return signalPassFailure();

    OpBuilder builder(module.getBodyRegion());
    builder.setInsertionPointToEnd(module.getBody());
    std::string text = ptx.str();
    if (text.empty() || text.back() != '\0')
      text += '\0';
    addBytes(builder, binary.getLoc(), "llmc_gpu_ptx", text);
    addBytes(builder, binary.getLoc(), "llmc_gpu_kernel_names", names);
    builder.create<LLVM::GlobalOp>(
        binary.getLoc(), builder.getI64Type(), /*isConstant=*/true,
        LLVM::Linkage::External, "llmc_gpu_kernel_count",
        builder.getI64IntegerAttr(int64_t(kernelIndex.size())));
    binary.erase();
    module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  }
};

} // namespace
