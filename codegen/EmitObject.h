//===- EmitObject.h - LLVM dialect to object code ------------------*- C++ -*-===//

#ifndef LLMC_CODEGEN_EMITOBJECT_H
#define LLMC_CODEGEN_EMITOBJECT_H

#include "dialects/llm/IR/LLMOps.h"
#include "runtime/abi/ModelABI.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <memory>

namespace llvm {
class LLVMContext;
class Module;
} // namespace llvm

namespace mlir::llm {

/// Translates an LLVM-dialect module to LLVM IR for `target`, adds the
/// `llmc_model_info` global and runs LLVM's O3 pipeline.
llvm::Expected<std::unique_ptr<llvm::Module>>
translateAndOptimize(ModuleOp module, TargetAttr target,
                     const LlmcModelInfo &info, llvm::LLVMContext &context);

enum class OutputKind { Object, Assembly };

/// Writes `module` as an object file or assembly for `target`.
llvm::Error emitCode(llvm::Module &module, TargetAttr target, OutputKind kind,
                     llvm::StringRef path);

} // namespace mlir::llm

#endif // LLMC_CODEGEN_EMITOBJECT_H
