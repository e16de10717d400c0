//===- NVPTXPasses.h - Passes of the NVPTX lowering ---------------*- C++
//-*-===//

#ifndef LLMC_CODEGEN_NVPTX_NVPTXPASSES_H
#define LLMC_CODEGEN_NVPTX_NVPTXPASSES_H

#include <memory>

namespace mlir {
class Pass;
namespace llm {

/// llm-mark-invariant-loads, on a gpu.module in the LLVM dialect: loads of
/// kernel parameters the kernel never writes become invariant loads, which
/// NVPTX emits as ld.global.nc.
std::unique_ptr<Pass> createMarkInvariantLoadsPass();
void registerMarkInvariantLoadsPass();

/// llm-device-position, on the module after llm-distribute-to-gpu: the
/// kernels read the position from the device global `llmc_position` (i64)
/// instead of a parameter, so that a forward call's launches do not change
/// from one position to the next.
std::unique_ptr<Pass> createDevicePositionPass();
void registerDevicePositionPass();

/// llm-gpu-argmax: adds the entry point llmc_argmax, the key of the largest
/// logit computed by GPU launches (warp shuffles where the module's target
/// has warps).
std::unique_ptr<Pass> createGPUArgmaxPass();
void registerGPUArgmaxPass();

/// llm-fuse-gpu-launches, on functions after llm-distribute-to-gpu:
/// neighbouring launches of one block shape that do not touch the same
/// bytes (one writing) become one launch over both grids.
std::unique_ptr<Pass> createFuseGPULaunchesPass();
void registerFuseGPULaunchesPass();

/// llm-sink-zero-fills, on the module after llm-distribute-to-gpu: a zero
/// fill of a function's own scratch slot moves after the slot's last use
/// (where a neighbouring launch can take it in), and the module gets
/// `llm.zero_scratch`: the arena must be zero before the first call.
std::unique_ptr<Pass> createSinkZeroFillsPass();
void registerSinkZeroFillsPass();

/// llm-fuse-gpu-elementwise, on functions of linalg ops on buffers before
/// scratch planning (GPU targets): elementwise producers of a projection's
/// input become its prologue, a residual add after a projection its
/// starting value, an elementwise op whose result is only copied writes the
/// copy's destination.
std::unique_ptr<Pass> createFuseGPUElementwisePass();
void registerFuseGPUElementwisePass();

/// llm-residual-in-place, on the module of linalg ops on buffers before
/// scratch planning: a private function whose returned buffer every caller
/// copies straight back into an argument, which the function reads only
/// before it first touches that buffer, writes its output over the
/// argument instead, and the copies go away.
std::unique_ptr<Pass> createResidualInPlacePass();
void registerResidualInPlacePass();

} // namespace llm
} // namespace mlir

#endif // LLMC_CODEGEN_NVPTX_NVPTXPASSES_H
