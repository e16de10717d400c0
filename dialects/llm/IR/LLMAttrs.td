//===- LLMAttrs.td - llm dialect attributes ----------------*- tablegen -*-===//
//
// The codegen decisions ride on these attributes, never on the ops that
// describe the model: the target (chosen once by the driver), the lowering
// configuration a target strategy picks for each projection, and the packed
// layout of each parameter in the weight file.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_ATTRS_TD
#define LLM_ATTRS_TD

include "dialects/llm/IR/LLMDialect.td"
include "mlir/IR/AttrTypeBase.td"

class LLM_Attr<string name, string attrMnemonic>
    : AttrDef<LLM_Dialect, name> {
  let mnemonic = attrMnemonic;
}

def LLM_TargetAttr : LLM_Attr<"Target", "target"> {
  let summary = "The machine the generated code is for";
  let description = [{
    Resolved once by the driver from `--target`, `--mcpu` and `--mattr` and
    stored on the module as `llm.target`. Strategy passes read the numbers;
    only the target registry reads the triple.

    - `vector_bits`: widest vector register the code should use (with
      `scalable`, the minimum: the hardware may be wider);
    - `vector_registers`: architectural vector registers;
    - `l1_bytes`, `l2_bytes`: per-core data caches;
    - `scalable`: vector-length agnostic code (AArch64 SVE);
    - `sm_count`, `shared_memory_bytes`: for GPU targets, 0 otherwise.

    ```mlir
    #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "znver4",
                features = "+avx2,+avx512f", vector_bits = 512,
                vector_registers = 32, l1_bytes = 32768, l2_bytes = 1048576>
    ```
  }];
  let parameters = (ins
    StringRefParameter<"target triple">:$triple,
    StringRefParameter<"LLVM CPU name">:$cpu,
    StringRefParameter<"LLVM feature string">:$features,
    "int64_t":$vector_bits,
    "int64_t":$vector_registers,
    "int64_t":$l1_bytes,
    "int64_t":$l2_bytes,
    DefaultValuedParameter<"bool", "false">:$scalable,
    DefaultValuedParameter<"int64_t", "0">:$sm_count,
    DefaultValuedParameter<"int64_t", "0">:$shared_memory_bytes
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def LLM_LoweringConfigAttr : LLM_Attr<"LoweringConfig", "lowering_config"> {
  let summary = "A target strategy's tiles for one projection";
  let description = [{
    `tiles = [rows, block, depth]`: the register tile has `rows` input rows
    and computes one packed block of `block` output columns, walking the
    reduction in steps of `depth`. With `scalable_lanes = n` the block is
    processed in chunks of `n * vscale` lanes (vector-length agnostic code).
    With `input_bits = 8` or `16` a quantized projection quantizes its input
    rows per group at run time and multiplies on the 8-bit dot product; 16
    bits are two 8-bit halves (high, then low), each multiplied in turn.
    Set on `llm.linear` by the strategy and carried onto the matmul it lowers
    to, under the name `llm.lowering_config`.

    ```mlir
    #llm.lowering_config<tiles = [6, 32, 512]>
    #llm.lowering_config<tiles = [8, 16, 2048], scalable_lanes = 4>
    #llm.lowering_config<tiles = [6, 32, 1024], input_bits = 16>
    ```
  }];
  let parameters = (ins
    ArrayRefParameter<"int64_t", "rows, block, depth">:$tiles,
    OptionalParameter<"std::optional<int64_t>">:$scalable_lanes,
    OptionalParameter<"std::optional<int64_t>">:$input_bits
  );
  // Two optional `, key = value` entries: a declarative format would commit
  // to the first one on the comma.
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    int64_t getRows() const { return getTiles()[0]; }
    int64_t getBlock() const { return getTiles()[1]; }
    int64_t getDepthStep() const { return getTiles()[2]; }
  }];
}

def LLM_PackedLayoutAttr : LLM_Attr<"PackedLayout", "packed_layout"> {
  let summary = "Where and how a parameter is stored in the weight file";
  let description = [{
    On an `llm.param`, under the name `llm.layout`. `block` (chosen by the
    target strategy) groups the rows of a matrix in blocks of that many,
    stored block-major as [rows / block, cols, block], the last block padded;
    `offset` (bytes from the start of the weight blob) and `layer_stride`
    (bytes between two layers' copies) are assigned by `llm-plan-weights`.

    `interleave = n` (with a block, n dividing cols) keeps n consecutive
    columns of a row together: [rows / block, cols / n, block, n], the
    operand layout of a dot-product instruction that sums n products per
    lane (x86 `vdpbf16ps`: pairs of bf16). A projection over such a weight
    rounds its input to the weight's type and multiplies on that
    instruction.

    ```mlir
    #llm.packed_layout<block = 32>
    #llm.packed_layout<block = 32, interleave = 2>
    #llm.packed_layout<block = 32, offset = 4096, layer_stride = 8192>
    #llm.packed_layout<offset = 0, layer_stride = 64>
    ```
  }];
  let parameters = (ins
    OptionalParameter<"std::optional<int64_t>">:$block,
    OptionalParameter<"std::optional<int64_t>">:$interleave,
    OptionalParameter<"std::optional<int64_t>">:$offset,
    OptionalParameter<"std::optional<int64_t>">:$layer_stride
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Whether llm-plan-weights has placed the parameter.
    bool isPlaced() const { return getOffset() && getLayerStride(); }
  }];
}

#endif // LLM_ATTRS_TD
