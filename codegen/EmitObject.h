//===- EmitObject.h - LLVM dialect to object code ------------------*- C++ -*-===//

#ifndef LLMC_CODEGEN_EMITOBJECT_H
#define LLMC_CODEGEN_EMITOBJECT_H

#include "dialects/llm/IR/LLMOps.h"
#include "runtime/abi/ModelABI.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <optional>
#include <string>

namespace llvm {
class LLVMContext;
class Module;
} // namespace llvm

namespace mlir::llm {

/// What the executable carries besides its code (runtime/abi/ModelABI.h).
struct ExecutableMetadata {
  LlmcModelInfo info = {};
  /// `llmc_build_info`: "key: value" lines.
  std::string buildInfo;
  /// `llmc_generation_defaults`, when the model has them.
  std::optional<LlmcGenerationDefaults> generation;
};

/// Translates an LLVM-dialect module to LLVM IR for `target`, adds the
/// globals of `metadata` and runs LLVM's O3 pipeline.
llvm::Expected<std::unique_ptr<llvm::Module>>
translateAndOptimize(ModuleOp module, TargetAttr target,
                     const ExecutableMetadata &metadata,
                     llvm::LLVMContext &context);

enum class OutputKind { Object, Assembly };

/// Writes `module` as an object file or assembly for `target`.
llvm::Error emitCode(llvm::Module &module, TargetAttr target, OutputKind kind,
                     llvm::StringRef path);

} // namespace mlir::llm

#endif // LLMC_CODEGEN_EMITOBJECT_H
