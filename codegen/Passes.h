//===- Passes.h - llmc code generation passes --------------------*- C++ -*-===//

#ifndef LLMC_CODEGEN_PASSES_H
#define LLMC_CODEGEN_PASSES_H

#include "dialects/llm/IR/LLMOps.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::llm {

#define GEN_PASS_DECL
#include "codegen/Passes.h.inc"

/// The runtime's barrier.
constexpr StringLiteral kBarrierFn = "llmc_barrier";
/// The runtime's work counter: 0, 1, 2, ... across all workers, back to 0 at
/// each barrier.
constexpr StringLiteral kNextChunkFn = "llmc_next_chunk";

/// Appends the model module names `loc` refers to (its name locations,
/// through fused and call-site locations), in order.
void collectModuleNames(Location loc, llvm::SetVector<StringRef> &names);

/// The name llm-outline-kernels gives a kernel at `loc`: its module, or for
/// several modules their common dotted prefix followed by the rest of each
/// in braces (`a.b.{c,d.e}`). Empty when `loc` names no module.
std::string kernelNameOf(Location loc);

/// Adds the tables the runtime's --profile reads (runtime/Profile.cpp) to
/// `module`: the kernels by index with their names, and the group (model
/// module) of each with that group's costs from the module's llm.costs.
/// `kernelCallers` (empty: all 0) numbers the function each kernel was
/// outlined from: a module in several layer functions has its kernels in
/// each, and its calls are those of all of them.
void addKernelProfileTables(ModuleOp module, ArrayRef<std::string> kernelNames,
                            ArrayRef<std::string> kernelGroups,
                            ArrayRef<int64_t> kernelCallers = {});

/// Bytes one layer's copy of `param` takes in the blob (padded to whole
/// blocks, not aligned).
int64_t paramLayerBytes(ParamOp param);

/// Where a quantized parameter's f16 scales start within one layer's copy
/// (after its i8 values, padded to whole blocks).
int64_t paramScalesOffset(ParamOp param);

/// Where an i6 parameter's top two bits start within one layer's copy
/// (after the nibbles of its low four bits, padded to whole blocks).
int64_t paramCrumbsOffset(ParamOp param);

#define GEN_PASS_REGISTRATION
#include "codegen/Passes.h.inc"

} // namespace mlir::llm

#endif // LLMC_CODEGEN_PASSES_H
