//===- AArch64Target.h - The AArch64 target backend --------------*- C++
//-*-===//

#ifndef LLMC_CODEGEN_AARCH64_AARCH64TARGET_H
#define LLMC_CODEGEN_AARCH64_AARCH64TARGET_H

#include "codegen/Target.h"

namespace mlir::llm {

/// AArch64 with NEON, or SVE as vector-length agnostic code; Linux,
/// cross-linked statically from other hosts.
const TargetBackend &getAArch64Backend();

} // namespace mlir::llm

#endif // LLMC_CODEGEN_AARCH64_AARCH64TARGET_H
