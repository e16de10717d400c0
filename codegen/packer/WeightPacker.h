//===- WeightPacker.h - Write the packed weight file ------------*- C++ -*-===//
//
// Turns a checkpoint's tensors, read through the tensor-source interface, into
// the weight file of a planned module. Its own library: it knows the llm
// dialect's parameters and the runtime's file header, not any checkpoint
// format.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_CODEGEN_PACKER_WEIGHTPACKER_H
#define LLMC_CODEGEN_PACKER_WEIGHTPACKER_H

#include "frontend/TensorSource.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"

#include <cstdint>

namespace mlir::llm {

/// Writes the weight file (runtime/abi/ModelABI.h's LlmcWeightsHeader, then
/// the blob, then the tokenizer image if not empty) for a module whose
/// parameters carry offsets (llm-plan-weights). Each parameter is gathered from
/// its source tensors in `tensors`, scaled by its folded norm, converted and
/// laid out in its blocked form. `progress`, when set, is called with the bytes
/// written so far and the total after each parameter layer. Returns the
/// fingerprint the executable must carry.
using PackProgress = llvm::function_ref<void(int64_t written, int64_t total)>;
llvm::Expected<uint64_t> packWeights(ModuleOp module,
                                     const llmc::TensorSource &tensors,
                                     llvm::StringRef tokenizerImage,
                                     llvm::StringRef path,
                                     PackProgress progress = nullptr);

} // namespace mlir::llm

#endif // LLMC_CODEGEN_PACKER_WEIGHTPACKER_H
