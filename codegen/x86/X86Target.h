//===- X86Target.h - The x86-64 target backend -------------------*- C++
//-*-===//

#ifndef LLMC_CODEGEN_X86_X86TARGET_H
#define LLMC_CODEGEN_X86_X86TARGET_H

#include "codegen/Target.h"

namespace mlir::llm {

/// x86-64 with SSE, AVX2 or AVX-512, Linux.
const TargetBackend &getX86Backend();

} // namespace mlir::llm

#endif // LLMC_CODEGEN_X86_X86TARGET_H
