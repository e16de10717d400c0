//===- Passes.h - Target-independent llm passes ------------------*- C++ -*-===//

#ifndef LLMC_PASSES_PASSES_H
#define LLMC_PASSES_PASSES_H

#include "dialects/llm/IR/LLMOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace mlir::llm {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

/// Patterns of `llm-fold-rmsnorm`.
void populateFoldRMSNormPatterns(RewritePatternSet &patterns);
/// Patterns of `llm-fuse-qkv`.
void populateFuseQKVPatterns(RewritePatternSet &patterns);
/// Patterns of `llm-fuse-gate-up`.
void populateFuseGateUpPatterns(RewritePatternSet &patterns);

/// Creates a parameter that concatenates `parts` along dimension 0 (all with
/// the same stacking, element type, input width and scale), inserted before
/// the first of them and located at the fusion of their locations, or the
/// one an earlier call made of the same parts. Returns null if they are not
/// compatible.
ParamOp concatParams(RewriterBase &rewriter, ArrayRef<ParamOp> parts,
                     StringRef name);

/// Whether concatParams can concatenate `a` and `b`: single-source matrices
/// of the same stacking, element type, input width, scale and quantization.
bool canConcatParams(ParamOp a, ParamOp b);

/// Erases the parameters no `llm.weight` refers to any more.
void eraseUnusedParams(Operation *module);

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

} // namespace mlir::llm

#endif // LLMC_PASSES_PASSES_H
