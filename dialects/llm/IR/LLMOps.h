//===- LLMOps.h - llm dialect ------------------------------------*- C++ -*-===//

#ifndef LLMC_DIALECTS_LLM_IR_LLMOPS_H
#define LLMC_DIALECTS_LLM_IR_LLMOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

// The attribute classes come first: the dialect's discardable attribute
// helpers name them.
#define GET_ATTRDEF_CLASSES
#include "dialects/llm/IR/LLMAttrs.h.inc"

#include "dialects/llm/IR/LLMDialect.h.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/llm/IR/LLMTypes.h.inc"

#define GET_OP_CLASSES
#include "dialects/llm/IR/LLMOps.h.inc"

#endif // LLMC_DIALECTS_LLM_IR_LLMOPS_H
