//===- GatherGPUKernels.cpp - One GPU module for all kernels --------------===//

#include "codegen/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::llm {
#define GEN_PASS_DEF_GATHERGPUKERNELSPASS
#define GEN_PASS_DEF_EXPANDGPUMATHPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

/// The name of the one GPU module.
static constexpr StringLiteral kKernelModule = "llmc_kernels";

namespace {

class GatherGPUKernelsPass final
    : public llm::impl::GatherGPUKernelsPassBase<GatherGPUKernelsPass> {
public:
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *context = &getContext();
    TargetAttr target = LLMDialect::TargetAttrHelper(context).getAttr(module);
    if (!target) {
      module.emitError("llm-gather-gpu-kernels needs the module's llm.target");
      return signalPassFailure();
    }
    SmallVector<gpu::GPUModuleOp> outlined(module.getOps<gpu::GPUModuleOp>());
    if (outlined.empty())
      return;

    OpBuilder builder(context);
    builder.setInsertionPoint(outlined.front());
    auto nvvmTarget = NVVM::NVVMTargetAttr::get(
        context, /*optLevel=*/3, "nvptx64-nvidia-cuda", target.getCpu(),
        target.getFeatures());
    auto kernels = builder.create<gpu::GPUModuleOp>(
        module.getLoc(), kKernelModule, builder.getArrayAttr({nvvmTarget}));
    SymbolTable kernelSymbols(kernels);

    // Kernel (module, function) -> its name in the merged module.
    DenseMap<std::pair<StringAttr, StringAttr>, StringAttr> renamed;
    for (gpu::GPUModuleOp source : outlined) {
      for (Operation &op :
           llvm::make_early_inc_range(source.getBody()->getOperations())) {
        auto symbol = dyn_cast<SymbolOpInterface>(op);
        if (!symbol)
          continue;
        if (auto func = dyn_cast<gpu::GPUFuncOp>(op); func && func.isKernel()) {
          StringAttr oldName = func.getNameAttr();
          op.moveBefore(kernels.getBody()->getTerminator());
          // The module's name is unique in the host module and so here.
          func.setName(source.getName());
          kernelSymbols.insert(&op);
          renamed[{source.getNameAttr(), oldName}] = func.getNameAttr();
          continue;
        }
        // A global or helper the kernels share: one copy (the outlining
        // cloned the same host symbol into every module that uses it).
        if (!kernelSymbols.lookup(symbol.getNameAttr())) {
          op.moveBefore(kernels.getBody()->getTerminator());
          kernelSymbols.insert(&op);
        }
      }
    }

    WalkResult result = module.walk([&](gpu::LaunchFuncOp launch) {
      auto it =
          renamed.find({launch.getKernelModuleName(), launch.getKernelName()});
      if (it == renamed.end()) {
        launch.emitError("launch of a kernel that was not outlined");
        return WalkResult::interrupt();
      }
      launch.setKernelAttr(SymbolRefAttr::get(
          kernels.getNameAttr(), {FlatSymbolRefAttr::get(it->second)}));
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    for (gpu::GPUModuleOp source : outlined)
      source.erase();
    // Globals that only kernels read now live in the kernel module.
    SymbolTableCollection symbols;
    SymbolUserMap users(symbols, module);
    for (auto global :
         llvm::make_early_inc_range(module.getOps<memref::GlobalOp>()))
      if (users.useEmpty(global))
        global.erase();
  }
};

class ExpandGPUMathPass final
    : public llm::impl::ExpandGPUMathPassBase<ExpandGPUMathPass> {
public:
  void runOnOperation() override {
    // exp, sin, cos, tanh, log, erf, ... as f32 polynomials; what remains
    // (sqrt, floor, fma, absf) is left to the LLVM intrinsics.
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns);
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

namespace mlir::llm {
#define GEN_PASS_DEF_LIBDEVICETOINTRINSICSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::llm

namespace {

/// The libdevice functions convert-gpu-to-nvvm calls for math ops with an
/// instruction of their own, and the LLVM intrinsic for each.
struct LibdeviceIntrinsic {
  StringLiteral function, intrinsic;
};
const LibdeviceIntrinsic kLibdeviceIntrinsics[] = {
    {"__nv_sqrtf", "llvm.sqrt.f32"},
    {"__nv_sqrt", "llvm.sqrt.f64"},
    {"__nv_floorf", "llvm.floor.f32"},
    {"__nv_floor", "llvm.floor.f64"},
    {"__nv_ceilf", "llvm.ceil.f32"},
    {"__nv_ceil", "llvm.ceil.f64"},
    {"__nv_fabsf", "llvm.fabs.f32"},
    {"__nv_fabs", "llvm.fabs.f64"},
    {"__nv_fmaf", "llvm.fma.f32"},
    {"__nv_fma", "llvm.fma.f64"},
    {"__nv_truncf", "llvm.trunc.f32"},
    {"__nv_trunc", "llvm.trunc.f64"},
    {"__nv_rintf", "llvm.roundeven.f32"},
    {"__nv_rint", "llvm.roundeven.f64"},
    {"__nv_copysignf", "llvm.copysign.f32"},
    {"__nv_copysign", "llvm.copysign.f64"},
    {"__nv_fminf", "llvm.minnum.f32"},
    {"__nv_fmaxf", "llvm.maxnum.f32"},
};

class LibdeviceToIntrinsicsPass final
    : public llm::impl::LibdeviceToIntrinsicsPassBase<
          LibdeviceToIntrinsicsPass> {
public:
  void runOnOperation() override {
    gpu::GPUModuleOp module = getOperation();
    WalkResult result = module.walk([&](LLVM::CallOp call) {
      std::optional<StringRef> callee = call.getCallee();
      if (!callee || !callee->starts_with("__nv_"))
        return WalkResult::advance();
      const LibdeviceIntrinsic *match = nullptr;
      for (const LibdeviceIntrinsic &entry : kLibdeviceIntrinsics)
        if (entry.function == *callee)
          match = &entry;
      if (!match) {
        call.emitError() << "'" << *callee
                         << "' is in CUDA's libdevice, which llmc does not "
                            "link: expand this math op before the GPU "
                            "lowering";
        return WalkResult::interrupt();
      }
      OpBuilder builder(call);
      auto replacement = builder.create<LLVM::CallIntrinsicOp>(
          call.getLoc(), call.getResultTypes(), match->intrinsic,
          call.getArgOperands());
      call->replaceAllUsesWith(replacement->getResults());
      call.erase();
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    for (auto func :
         llvm::make_early_inc_range(module.getOps<LLVM::LLVMFuncOp>()))
      if (func.isExternal() && func.getName().starts_with("__nv_") &&
          SymbolTable::symbolKnownUseEmpty(func, module))
        func.erase();
  }
};

} // namespace
