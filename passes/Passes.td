//===- Passes.td - Target-independent llm passes -----------*- tablegen -*-===//

#ifndef LLMC_PASSES_TD
#define LLMC_PASSES_TD

include "mlir/Pass/PassBase.td"

def FoldRMSNormPass : Pass<"llm-fold-rmsnorm", "ModuleOp"> {
  let summary = "Fold an RMSNorm's weight into the projections that read it";
  let description = [{
    `linear(rms_norm(x, g), W)` equals `rms_inv(x)[m] * linear(x, W diag(g))`.
    The normalized activation is never materialized: the projection reads `x`
    and multiplies each output row by `rms_inv(x)`; `g` becomes the `scale`
    of a new parameter packed as `W diag(g)`. Applies when every user of the
    norm is an `llm.linear` over an f32 parameter used only by projections:
    a bf16/f16 product would be rounded a second time (moving the logits by
    ~1e-3 relative) and a tied embedding table must keep its values.
  }];
  let dependentDialects = ["::mlir::llm::LLMDialect"];
}

def FuseQKVPass : Pass<"llm-fuse-qkv", "ModuleOp"> {
  let summary = "Fuse projections that read the same input into one";
  let description = [{
    Sibling `llm.linear` ops with the same input, the same row scale and
    compatible parameters (same layer stacking, input width, element type and
    folded scale) become one projection over a parameter that concatenates
    their weights, followed by `llm.slice` ops. Q, K and V become a single
    pass over the input and the weights.
  }];
  let dependentDialects = ["::mlir::llm::LLMDialect"];
}

def FuseGateUpPass : Pass<"llm-fuse-gate-up", "ModuleOp"> {
  let summary = "Fuse the SwiGLU gate and up projections with their epilogue";
  let description = [{
    `mul(silu(linear(x, Wg)), linear(x, Wu))` becomes
    `swiglu(linear(x, [Wg; Wu]))`: one projection over concatenated weights
    and an elementwise epilogue that never writes the two halves separately.
  }];
  let dependentDialects = ["::mlir::llm::LLMDialect"];
}

#endif // LLMC_PASSES_TD
