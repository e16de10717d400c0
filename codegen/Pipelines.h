//===- Pipelines.h - llmc's pass pipelines -----------------------*- C++ -*-===//

#ifndef LLMC_CODEGEN_PIPELINES_H
#define LLMC_CODEGEN_PIPELINES_H

#include "mlir/Pass/PassManager.h"

namespace mlir::llm {

struct PipelineOptions {
  int64_t maxTokens = 256;
  /// What projections may round their inputs to: auto, f32 or bf16 (see
  /// llm-select-strategy).
  std::string matmulPrecision = "auto";
  /// The kernels run on a GPU (or as the GPU's kernels, emulated): the
  /// linalg ops are fused for fewer launches (llm-fuse-gpu-elementwise).
  bool gpu = false;
};

/// Target-independent llm-level optimization: norm folding and fusion.
void buildLLMOptimizationPipeline(OpPassManager &pm);
/// The target's strategy (tiles and packed layouts, from the module's
/// `llm.target`) and weight placement.
void buildStrategyPipeline(OpPassManager &pm, const PipelineOptions &options);
/// llm -> linalg on planned buffers.
void buildLinalgPipeline(OpPassManager &pm, const PipelineOptions &options);
/// Distribution across workers, tiling and vectorization, lowering to the
/// LLVM dialect: the lowering pipeline of the CPU targets.
/// Without `distribute`, every worker would run all of the code: only for
/// executables that run with one thread.
void buildCPULoweringPipeline(OpPassManager &pm, bool distribute = true);
/// One kernel launch per loop nest, the kernels compiled to PTX in one
/// `gpu.binary`, the host code (addresses and launches) to the LLVM dialect
/// with launches as runtime calls: the lowering pipeline of the GPU targets.
void buildGPULoweringPipeline(OpPassManager &pm);
/// The GPU lowering's kernels run as loops on the CPU (then the CPU
/// pipeline, not distributed: run the executable with --threads 1): tests
/// of the GPU distribution on machines without a GPU.
void buildGPUEmulationPipeline(OpPassManager &pm);

/// Registers every dialect and interface model llmc's pipelines use.
void registerLLMCDialects(DialectRegistry &registry);

/// Registers every pass llmc's pipelines run (its own and upstream's) and
/// its stages as pipelines (llm-optimize, llm-lower-to-linalg,
/// llm-lower-to-llvm, llm-lower-to-gpu): what llm-opt needs to replay them,
/// and what MLIR's --mlir-print-ir-after=PASS needs to parse.
void registerLLMCPasses();

} // namespace mlir::llm

#endif // LLMC_CODEGEN_PIPELINES_H
