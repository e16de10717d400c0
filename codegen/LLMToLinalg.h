//===- LLMToLinalg.h - Lowering llm ops to linalg on buffers -----*- C++
//-*-===//
//
// The lowering runs as three passes:
//   llm-materialize-abi    gives every function llmc's calling convention
//                          (still on tensors);
//   convert-llm-to-linalg  one conversion pattern per llm op, tensors become
//                          memrefs, every new buffer a `memref.alloc`;
//   llm-plan-scratch       places every alloc in the scratch arena.
// This header holds what they share: the calling convention and the
// conversion pattern sets.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_CODEGEN_LLMTOLINALG_H
#define LLMC_CODEGEN_LLMTOLINALG_H

#include "dialects/llm/IR/LLMOps.h"

#include "mlir/Transforms/DialectConversion.h"

namespace mlir {
class FunctionOpInterface;
} // namespace mlir

namespace mlir::llm {

/// The function the runtime calls (runtime/abi/ModelABI.h).
constexpr StringLiteral kEntryPoint = "llmc_forward";

/// Most tokens one forward call may take: scratch slots of this many rows
/// of the widest activation stay far from overflowing 64-bit sizes.
constexpr int64_t kMaxTokensLimit = int64_t(1) << 20;

/// llmc's calling convention, set up by llm-materialize-abi: every function
/// takes
///   (tid, nthreads, model arguments..., capacity, weights, kv, scratch)
/// and the entry point also `logits`, a flat memref<?xf32> the runtime owns,
/// instead of returning them. `tid`/`nthreads` are the SPMD worker id and
/// count, `capacity` the KV cache's positions, `weights` the packed weight
/// blob, `kv` the cache (`!llm.kv_cache` until it is converted to bytes),
/// `scratch` the activation arena.
struct ABIArguments {
  Value tid, nthreads, capacity, weights, kv, scratch;
  /// Only for the entry point.
  Value logits;

  /// Number of trailing ABI arguments of `func`.
  static unsigned numTrailing(FunctionOpInterface func);
  /// The arguments of the function enclosing `op`; emits an error on `op`
  /// when the function does not have llmc's calling convention.
  static FailureOr<ABIArguments> of(Operation *op);
};

/// The element type of the KV cache of the module `op` is (in): the module's
/// `llm.kv_cache_type`, f32 when absent.
Type kvCacheElementType(Operation *op);

/// Bytes of KV cache one position takes: keys and values of every layer, in
/// `elementType` (the layout the attention lowering reads and writes).
int64_t kvBytesPerPosition(int64_t numLayers, int64_t kvWidth,
                           Type elementType);

/// Bytes a buffer of `type` may take: identity layout, integer or float
/// elements, a dynamic leading dimension counting `maxTokens` rows (the
/// scratch planner's bound); nothing otherwise.
std::optional<int64_t> boundedBufferBytes(MemRefType type, int64_t maxTokens);

/// Tensors become identity-layout memrefs of the same shape, `!llm.kv_cache`
/// the cache's bytes (memref<?xi8>). A strided view passed where such a
/// memref is expected (a call argument, a loop-carried value) is copied into
/// a fresh buffer.
class LLMToLinalgTypeConverter : public TypeConverter {
public:
  LLMToLinalgTypeConverter();
};

/// One pattern per llm op. They take their operands as whatever buffers the
/// producers made (possibly strided views), so they are built without a type
/// converter, and allocate their results with `memref.alloc`.
void populateLLMToLinalgConversionPatterns(RewritePatternSet &patterns);

/// The attention pattern (LowerAttention.cpp).
void populateLLMAttentionToLinalgConversionPatterns(
    RewritePatternSet &patterns);

/// Functions, calls, returns, the layer loop's carried tensors and the entry
/// point's logits, converted with `converter`.
void populateLLMStructuralConversionPatterns(TypeConverter &converter,
                                             RewritePatternSet &patterns,
                                             ConversionTarget &target);

} // namespace mlir::llm

#endif // LLMC_CODEGEN_LLMTOLINALG_H
