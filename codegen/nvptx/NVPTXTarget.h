//===- NVPTXTarget.h - The NVPTX (NVIDIA GPU) target backend -----*- C++
//-*-===//

#ifndef LLMC_CODEGEN_NVPTX_NVPTXTARGET_H
#define LLMC_CODEGEN_NVPTX_NVPTXTARGET_H

#include "codegen/Target.h"

namespace mlir::llm {

/// NVIDIA GPUs from sm_80 on (default sm_90a, Hopper): kernels as PTX run
/// through the CUDA driver by an x86-64 Linux host program.
const TargetBackend &getNVPTXBackend();

/// Whether `target` runs its kernels on an NVIDIA GPU, where warps exist;
/// false for a CPU target, which runs them one thread after another (the
/// --emulate-gpu builds).
bool hasWarps(TargetAttr target);

} // namespace mlir::llm

#endif // LLMC_CODEGEN_NVPTX_NVPTXTARGET_H
