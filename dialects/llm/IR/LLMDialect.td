//===- LLMDialect.td - The llm dialect ---------------------*- tablegen -*-===//
//
// Transformer-level operations. Activations are ranked tensors whose leading
// dimension (tokens) is dynamic; weights are named parameters (`llm.param`)
// whose bytes never enter the IR.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_DIALECT_TD
#define LLM_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def LLM_Dialect : Dialect {
  let name = "llm";
  let cppNamespace = "::mlir::llm";
  let summary = "Transformer-level operations for ahead-of-time LLM compilation";
  let description = [{
    The `llm` dialect describes a decoder-only transformer at the level of its
    building blocks: embedding lookup, RMSNorm, linear projections, RoPE,
    grouped-query attention with a KV cache, and the SwiGLU MLP. Weights are
    referenced through `llm.param` symbols; the packed bytes live outside the
    IR and are only touched when the weight file is written.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
  // Attributes other dialects' ops carry: the contracts between the passes
  // (read and written through the generated helpers, never by string).
  let discardableAttrs = (ins
    // On the module: the target, set once by the driver.
    "::mlir::llm::TargetAttr":$target,
    // On the module: layers of the model (sizes the KV cache).
    "::mlir::IntegerAttr":$num_layers,
    // On the module: the KV cache's element type, f32 (when absent) or bf16
    // (half the bytes the attention streams), set by the driver.
    "::mlir::TypeAttr":$kv_cache_type,
    // On llm.linear and the matmul it lowers to: the strategy's tiles.
    "::mlir::llm::LoweringConfigAttr":$lowering_config,
    // On llm.param: its packed layout and place in the weight file.
    "::mlir::llm::PackedLayoutAttr":$layout,
    // On the module, set by the lowering: what the runtime must provide.
    "::mlir::IntegerAttr":$weights_bytes,
    "::mlir::IntegerAttr":$scratch_bytes,
    "::mlir::IntegerAttr":$kv_bytes_per_position,
    "::mlir::IntegerAttr":$max_tokens,
    // On the module (llm-sink-zero-fills): forward() expects the scratch
    // arena all zero before its first call, and leaves it so.
    "::mlir::UnitAttr":$zero_scratch,
    // On a gpu.launch (llm-distribute-to-gpu, until llm-sink-zero-fills):
    // it sets its whole buffer to zero bits.
    "::mlir::UnitAttr":$zero_fill,
    // On the module: what each kernel's ops cost (llm-estimate-costs), a
    // dictionary from kernel name to a dictionary of i64 fields.
    "::mlir::DictionaryAttr":$costs,
    // On a kernel function (llm-outline-kernels): the module(s) it computes,
    // shared by a module's second, third, ... kernel.
    "::mlir::StringAttr":$kernel_module
  );
}

class LLM_Type<string name, string typeMnemonic>
    : TypeDef<LLM_Dialect, name> {
  let mnemonic = typeMnemonic;
}

def LLM_KVCacheType : LLM_Type<"KVCache", "kv_cache"> {
  let summary = "Handle to the key/value cache of all layers";
  let description = [{
    An opaque handle to the runtime-owned key/value cache. `llm.attention`
    appends to it and reads from it; its layout is chosen by the lowering.
  }];
}

class LLM_Op<string mnemonic, list<Trait> traits = []>
    : Op<LLM_Dialect, mnemonic, traits>;

#endif // LLM_DIALECT_TD
