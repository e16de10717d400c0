//===- Pipelines.cpp - llmc's pass pipelines -------------------------------===//

#include "codegen/Pipelines.h"
#include "codegen/Passes.h"
#include "codegen/nvptx/NVPTXPasses.h"
#include "passes/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Affine/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Arith/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/TilingInterfaceImpl.h"
#include "mlir/Dialect/MemRef/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Vector/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::llm;

void mlir::llm::buildLLMOptimizationPipeline(OpPassManager &pm) {
  pm.addPass(createFoldRMSNormPass());
  pm.addPass(createFuseGateUpPass());
  pm.addPass(createFuseQKVPass());
  pm.addPass(createCanonicalizerPass());
}

void mlir::llm::buildStrategyPipeline(OpPassManager &pm,
                                      const PipelineOptions &options) {
  SelectStrategyPassOptions strategy;
  strategy.matmulPrecision = options.matmulPrecision;
  pm.addPass(createSelectStrategyPass(strategy));
  pm.addPass(createPlanWeightsPass());
  pm.addPass(createEstimateCostsPass());
}

void mlir::llm::buildLinalgPipeline(OpPassManager &pm,
                                    const PipelineOptions &options) {
  pm.addPass(createMaterializeABIPass());
  pm.addPass(createConvertLLMToLinalgPass());
  if (options.gpu) {
    pm.addNestedPass<func::FuncOp>(createFuseGPUElementwisePass());
    pm.addPass(createResidualInPlacePass());
  }
  PlanScratchPassOptions scratch;
  scratch.maxTokens = options.maxTokens;
  pm.addPass(createPlanScratchPass(scratch));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

/// Loops, memrefs, vectors and arithmetic on buffers to the LLVM dialect;
/// `beforeReconcile` adds passes that need the rest converted first.
static void addLoweringToLLVM(
    OpPassManager &pm,
    function_ref<void(OpPassManager &)> beforeReconcile = nullptr) {
  pm.addPass(createLowerAffinePass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(arith::createArithExpandOpsPass());
  pm.addPass(createConvertSCFToCFPass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  if (beforeReconcile)
    beforeReconcile(pm);
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void mlir::llm::buildCPULoweringPipeline(OpPassManager &pm, bool distribute) {
  pm.addPass(createEraseParamsPass());
  if (distribute)
    pm.addPass(createDistributeToThreadsPass());
  pm.addPass(createOutlineKernelsPass());
  pm.addPass(createTimeKernelsPass());
  pm.addNestedPass<func::FuncOp>(createTileAndVectorizePass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createExpandExpPass());
  pm.addPass(createConvertVectorToSCFPass());
  addLoweringToLLVM(pm);
}

void mlir::llm::buildGPULoweringPipeline(OpPassManager &pm) {
  pm.addPass(createEraseParamsPass());
  pm.addNestedPass<func::FuncOp>(createDistributeToGPUPass());
  pm.addPass(createDevicePositionPass());
  pm.addPass(createSinkZeroFillsPass());
  pm.addNestedPass<func::FuncOp>(createFuseGPULaunchesPass());
  pm.addPass(createGPUArgmaxPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Constants and dims into the kernels: fewer parameters, and index math
  // by constants that LLVM strength-reduces (a division by a parameter is a
  // 64-bit division on the GPU).
  pm.addPass(createGpuLauchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createGatherGPUKernelsPass());

  // The kernels: math without libdevice, then NVVM and PTX.
  OpPassManager &device = pm.nest<gpu::GPUModuleOp>();
  device.addPass(createExpandGPUMathPass());
  device.addPass(createConvertVectorToSCFPass());
  device.addPass(createLowerAffinePass());
  device.addPass(memref::createExpandStridedMetadataPass());
  device.addPass(createLowerAffinePass());
  device.addPass(arith::createArithExpandOpsPass());
  device.addPass(createCanonicalizerPass());
  device.addPass(createConvertSCFToCFPass());
  device.addPass(createConvertVectorToLLVMPass());
  device.addPass(createConvertGpuOpsToNVVMOps());
  // What the NVVM lowering has no libdevice function for (fma).
  device.addPass(createConvertMathToLLVMPass());
  device.addPass(createLibdeviceToIntrinsicsPass());
  device.addPass(createReconcileUnrealizedCastsPass());
  device.addPass(createMarkInvariantLoadsPass());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = "isa";
  pm.addPass(createGpuModuleToBinaryPass(binary));

  // The host: address arithmetic, and launches as runtime calls once the
  // rest is in the LLVM dialect.
  addLoweringToLLVM(pm, [](OpPassManager &host) {
    host.addPass(createLowerGPULaunchesPass());
  });
}

void mlir::llm::buildGPUEmulationPipeline(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createDistributeToGPUPass());
  pm.addPass(createSinkZeroFillsPass());
  pm.addNestedPass<func::FuncOp>(createFuseGPULaunchesPass());
  pm.addPass(createGPUArgmaxPass());
  pm.addNestedPass<func::FuncOp>(createEmulateGPULaunchesPass());
  buildCPULoweringPipeline(pm, /*distribute=*/false);
}

void mlir::llm::registerLLMCDialects(DialectRegistry &registry) {
  registry.insert<LLMDialect, affine::AffineDialect, arith::ArithDialect,
                  bufferization::BufferizationDialect, func::FuncDialect,
                  gpu::GPUDialect, linalg::LinalgDialect, LLVM::LLVMDialect,
                  math::MathDialect, memref::MemRefDialect, NVVM::NVVMDialect,
                  scf::SCFDialect, tensor::TensorDialect,
                  vector::VectorDialect>();
  // gpu-module-to-binary translates the kernels to LLVM IR and serializes
  // them with the NVPTX backend.
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
  linalg::registerTilingInterfaceExternalModels(registry);
  affine::registerValueBoundsOpInterfaceExternalModels(registry);
  arith::registerValueBoundsOpInterfaceExternalModels(registry);
  linalg::registerValueBoundsOpInterfaceExternalModels(registry);
  memref::registerValueBoundsOpInterfaceExternalModels(registry);
  scf::registerValueBoundsOpInterfaceExternalModels(registry);
  vector::registerValueBoundsOpInterfaceExternalModels(registry);
}

void mlir::llm::registerLLMCPasses() {
  // llmc's own passes.
  registerLLMPasses();
  registerLLMCodegenPasses();
  registerMarkInvariantLoadsPass();
  registerDevicePositionPass();
  registerGPUArgmaxPass();
  registerFuseGPULaunchesPass();
  registerSinkZeroFillsPass();
  registerResidualInPlacePass();
  registerFuseGPUElementwisePass();
  // The upstream passes the pipelines run (canonicalize, lower-affine,
  // convert-*-to-llvm, expand-strided-metadata, arith-expand,
  // convert-linalg-to-loops, gpu-kernel-outlining, gpu-module-to-binary...).
  registerTransformsPasses();
  registerConversionPasses();
  memref::registerMemRefPasses();
  arith::registerArithPasses();
  registerLinalgPasses();
  registerGPUPasses();

  // llmc's stages, each from the last one's output (--emit, --dump-stages)
  // with default options; --dump-stages writes the exact pipelines.
  PassPipelineRegistration<>(
      "llm-optimize",
      "Stage 1, from imported llm IR (--emit=import) to planned llm IR "
      "(--emit=llm): folding, fusion, the target's strategy, weight "
      "placement",
      [](OpPassManager &pm) {
        buildLLMOptimizationPipeline(pm);
        buildStrategyPipeline(pm, PipelineOptions());
      });
  PassPipelineRegistration<>(
      "llm-lower-to-linalg",
      "Stage 2, from planned llm IR (--emit=llm) to linalg on planned "
      "buffers (--emit=linalg)",
      [](OpPassManager &pm) { buildLinalgPipeline(pm, PipelineOptions()); });
  PassPipelineRegistration<>(
      "llm-lower-to-llvm",
      "Stage 3 of a CPU target, from linalg (--emit=linalg) to the LLVM "
      "dialect: distribution, tiling, vectorization",
      [](OpPassManager &pm) { buildCPULoweringPipeline(pm); });
  PassPipelineRegistration<>(
      "llm-lower-to-gpu",
      "Stage 3 of a GPU target, from linalg (--emit=linalg) to PTX kernels "
      "and LLVM host code",
      [](OpPassManager &pm) { buildGPULoweringPipeline(pm); });
}
