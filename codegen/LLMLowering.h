//===- LLMLowering.h - State shared by the llm -> linalg lowering -*- C++ -*-===//
//
// `convert-llm-to-linalg` walks each function once, in order, and maps every
// tensor value to a buffer: a view of the scratch arena, of the weight blob,
// or of a function argument. This header holds that mapping and the emitters
// for the individual llm ops (LowerLLMOps.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_CODEGEN_LLMLOWERING_H
#define LLMC_CODEGEN_LLMLOWERING_H

#include "codegen/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"

namespace mlir::llm {

/// The values every lowered function receives from llmc's calling convention.
struct ABIValues {
  Value tid, nthreads, capacity, weights, kv, scratch;
};

class LLMLowering {
public:
  LLMLowering(ModuleOp module, int64_t maxTokens)
      : module(module), b(module.getContext()), maxTokens(maxTokens) {}

  /// Emits the buffer computation of `op` at the builder's insertion point.
  LogicalResult lowerOp(Operation *op);

  ModuleOp module;
  OpBuilder b;
  int64_t maxTokens;
  /// Bytes of the scratch arena handed out so far (all functions).
  int64_t arenaBytes = 0;
  ABIValues abi;
  /// Tensor value -> buffer, and its (dynamic) number of rows.
  llvm::DenseMap<Value, Value> buffers;
  llvm::DenseMap<Value, Value> rows;
  /// Bytes of KV cache one position takes (all layers), set by attention.
  int64_t kvBytesPerPosition = 0;

  Value index(Location loc, int64_t value);
  /// A fresh [rows, cols] f32 buffer in the arena (cols = 0: a vector).
  Value allocate(Location loc, Value rowCount, int64_t cols);
  /// Buffer of `tensor`; emits an error if it has none yet.
  Value bufferOf(Value tensor);
  /// Maps `tensor` to `buffer` with `rowCount` rows.
  void define(Value tensor, Value buffer, Value rowCount);
  /// Copies `from` into `to` with a linalg.copy.
  void copy(Location loc, Value from, Value to);

private:
  LogicalResult lowerWeight(WeightOp op);
  LogicalResult lowerEmbedding(EmbeddingOp op);
  LogicalResult lowerRMSInv(RMSInvOp op);
  LogicalResult lowerRMSNorm(RMSNormOp op);
  LogicalResult lowerLinear(LinearOp op);
  LogicalResult lowerRoPE(RoPEOp op);
  LogicalResult lowerAttention(AttentionOp op);
  LogicalResult lowerElementwise(Operation *op);
  LogicalResult lowerSwiGLU(SwiGLUOp op);

  /// Emits `1 / sqrt(mean(x^2) + eps)` per row of `x` into a new vector.
  Value emitRMSInv(Location loc, Value x, Value rowCount, double eps);
  /// A constant global holding `values` as f64, created once per name.
  Value constantTable(Location loc, StringRef name, ArrayRef<double> values);
};

} // namespace mlir::llm

#endif // LLMC_CODEGEN_LLMLOWERING_H
