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

} // namespace llm
} // namespace mlir

#endif // LLMC_CODEGEN_NVPTX_NVPTXPASSES_H
