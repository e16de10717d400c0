//===- LLMOps.td - llm dialect operations ------------------*- tablegen -*-===//

#ifndef LLM_OPS_TD
#define LLM_OPS_TD

include "dialects/llm/IR/LLMAttrs.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/IR/OpBase.td"

def LLM_Activation : RankedTensorOf<[F32]>;
def LLM_Rows : RankedTensorOf<[F32]>;

//===----------------------------------------------------------------------===//
// Parameters
//===----------------------------------------------------------------------===//

def LLM_ParamOp : LLM_Op<"param", [Symbol]> {
  let summary = "A named weight whose bytes live outside the IR";
  let description = [{
    Declares a weight of type `type` (per layer when `layers` > 0, then it is
    stacked: one tensor of that type per layer). `sources` names the
    checkpoint tensors it is made of, concatenated along dimension 0; the
    placeholder `{layer}` stands for the layer index. When `scale` is set, the
    columns of the matrix are multiplied by that vector when packed (an RMSNorm
    weight folded into the projection that follows it).

    A matrix of element type `i8`, `i6` or `i4` is quantized: symmetric per
    group, each run of `group` columns of a row sharing one scale (the value
    is scale x the integer). Its packed form holds the integers, then the
    scales in f16, [rows / block, cols / group, block] when blocked. i4
    needs a block: byte j of a column's block holds lane j + 8 in its low
    nibble and lane j + block / 2 + 8 in its high nibble. i6 needs a block
    and an interleave n with an even number of column runs (cols / n): the
    low four bits of each integer + 32 are stored as i4's nibbles, and
    after them the top two bits, [rows / block, cols / n / 2, block / 2, n]
    bytes: for column k = n * q + p, the byte at [., q / 2, j, p] holds
    lane j's bits at 2 * (2 * (q % 2)) and lane j + block / 2's at 2 * (2 *
    (q % 2) + 1).

    With `asymmetric` each group also has an offset (the value is scale x
    the integer + offset), chosen when packed from the group's range; the
    offsets are not part of this parameter but of a second one, an f16
    matrix [rows, cols / group] with `offsets_of = [bits, group]`, whose
    values are the offsets of its sources quantized the same way. A
    projection on an asymmetric matrix adds
    `linear(group_sum(x, group), offsets)`.

    With `layer_list` a stacked parameter holds the copies of those layers
    only (ascending; `layers` of them, the i-th for layer `layer_list[i]`):
    a family whose layers are stored in different types (a GGUF Q4_K_M
    file's `ffn_down`, Q4_K in some layers and Q6_K in others) becomes one
    parameter per type, and `llm.weight` still takes the model's layer
    index, which must be one of the list.

    Codegen records where and how the parameter is stored in the
    discardable `llm.layout` attribute (`#llm.packed_layout`).

    ```mlir
    llm.param @wq : tensor<64x96xbf16> {layers = 2 : i64,
        sources = ["model.layers.{layer}.self_attn.q_proj.weight"]}
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       TypeAttrOf<AnyRankedTensor>:$type,
                       I64Attr:$layers,
                       StrArrayAttr:$sources,
                       OptionalAttr<StrAttr>:$scale,
                       OptionalAttr<I64Attr>:$group,
                       UnitAttr:$asymmetric,
                       OptionalAttr<DenseI64ArrayAttr>:$offsets_of,
                       OptionalAttr<DenseI64ArrayAttr>:$layer_list);
  let assemblyFormat = "$sym_name `:` $type attr-dict";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    RankedTensorType getTensorType() {
      return ::llvm::cast<RankedTensorType>(getType());
    }
    /// The packed layout codegen recorded (`llm.layout`), or null.
    PackedLayoutAttr getLayout();
    /// Rows stored together in the packed layout, if blocked.
    std::optional<int64_t> getBlock();
    /// Columns of a row stored together (1 unless interleaved).
    int64_t getInterleave();
    /// Whether the matrix is quantized (i8, i6 or i4 with per-group scales).
    bool isQuantized() { return getGroup().has_value(); }
  }];
}

def LLM_WeightOp : LLM_Op<"weight",
    [Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Reads a parameter (one layer's slice of a stacked one)";
  let arguments = (ins FlatSymbolRefAttr:$param, Optional<Index>:$layer);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$param (`[` $layer^ `]`)? attr-dict `:` type($result)";
  let extraClassDeclaration = [{
    ParamOp getParamOp();
  }];
}

//===----------------------------------------------------------------------===//
// Activation operations
//===----------------------------------------------------------------------===//

def LLM_EmbeddingOp : LLM_Op<"embedding", [Pure]> {
  let summary = "Looks up one row of the table per token id";
  let description = [{
    With `offsets` (an asymmetric quantized table's group offsets, [vocab,
    hidden / group] in f16) each element also gains its group's offset.
  }];
  let arguments = (ins RankedTensorOf<[I32]>:$ids, AnyRankedTensor:$table,
                       Optional<RankedTensorOf<[F16]>>:$offsets);
  let results = (outs LLM_Activation:$result);
  let assemblyFormat = [{
    $ids `,` $table (`offsets` $offsets^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def LLM_RMSNormOp : LLM_Op<"rms_norm", [Pure]> {
  let summary = "x / sqrt(mean(x^2) + eps) * weight, per row";
  let arguments = (ins LLM_Activation:$input, AnyRankedTensor:$weight,
                       F64Attr:$eps);
  let results = (outs LLM_Activation:$result);
  let assemblyFormat = "$input `,` $weight attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def LLM_RMSInvOp : LLM_Op<"rms_inv", [Pure]> {
  let summary = "1 / sqrt(mean(x^2) + eps) of each row";
  let description = [{
    The row scale of an RMSNorm whose weight was folded into the projection
    that follows (see `llm-fold-rmsnorm`).
  }];
  let arguments = (ins LLM_Activation:$input, F64Attr:$eps);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def LLM_LinearOp : LLM_Op<"linear", [Pure, AttrSizedOperandSegments]> {
  let summary = "y = x W^T (W stored [out, in]), rows optionally scaled";
  let description = [{
    `result[m, n] = row_scale[m] * sum_k input[m, k] * weight[n, k]`, with
    f32 accumulation whatever the weight's element type. `row_scale` is
    absent unless an RMSNorm was folded into this projection
    (`llm-fold-rmsnorm`). With `offsets` (the group offsets of an asymmetric
    quantized weight, [out, in / group] in f16) the result also gains
    `sum_g offsets[n, g] * sum_j input[m, g * group + j]`; the target
    strategy either keeps them in the projection's kernel (the 8-bit dot
    product adds them at each group's end) or spells them as
    `linear(group_sum(x), offsets)` added to the projection. The target
    strategy records its tile choice in the discardable
    `llm.lowering_config` attribute (`#llm.lowering_config`).
  }];
  let arguments = (ins LLM_Activation:$input, AnyRankedTensor:$weight,
                       Optional<RankedTensorOf<[F32]>>:$row_scale,
                       Optional<RankedTensorOf<[F16]>>:$offsets);
  let results = (outs LLM_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight (`offsets` $offsets^)? (`scale` $row_scale^)? attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Columns per group of the offsets (0 without them).
    int64_t getOffsetsGroup();
  }];
}

def LLM_GroupSumOp : LLM_Op<"group_sum", [Pure]> {
  let summary = "Sums of each run of `group` columns of every row";
  let description = [{
    `result[m, g] = sum_j input[m, g * group + j]`: what a projection on an
    asymmetric quantized matrix multiplies its group offsets by.
  }];
  let arguments = (ins LLM_Activation:$input, I64Attr:$group);
  let results = (outs LLM_Activation:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def LLM_SliceOp : LLM_Op<"slice", [Pure]> {
  let summary = "Columns [offset, offset + size) of every row";
  let arguments = (ins LLM_Activation:$input, I64Attr:$offset);
  let results = (outs LLM_Activation:$result);
  let assemblyFormat = "$input `[` $offset `]` attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def LLM_LastRowsOp : LLM_Op<"last_rows", [Pure]> {
  let summary = "The last `count` rows";
  let arguments = (ins LLM_Activation:$input, Index:$count);
  let results = (outs LLM_Activation:$result);
  let assemblyFormat = "$input `,` $count attr-dict `:` functional-type(operands, results)";
}

def LLM_RoPEOp : LLM_Op<"rope", [Pure]> {
  let summary = "Rotary position embedding, rotate-half pairing";
  let description = [{
    Row `m` is at absolute position `start + m`. Each head of `head_dim`
    pairs dimension `i` with `i + head_dim / 2` and rotates it by
    `position * inv_freq[i]`, `inv_freq[i] = theta^(-2i / head_dim)`, with
    llama3 frequency scaling when `scaling_factor` is set, or each
    frequency divided by its entry of `freq_factors` (head_dim / 2 positive
    divisors, as a GGUF file's `rope_freqs` gives them).
  }];
  let arguments = (ins LLM_Activation:$input, Index:$start, I64Attr:$head_dim,
                       F64Attr:$theta,
                       OptionalAttr<F64Attr>:$scaling_factor,
                       OptionalAttr<F64Attr>:$low_freq_factor,
                       OptionalAttr<F64Attr>:$high_freq_factor,
                       OptionalAttr<I64Attr>:$original_max_positions,
                       OptionalAttr<DenseF64ArrayAttr>:$freq_factors);
  let results = (outs LLM_Activation:$result);
  let assemblyFormat = "$input `,` $start attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The rotation frequency of each of the head_dim / 2 pairs, computed in
    /// double precision.
    SmallVector<double> getInverseFrequencies();
  }];
}

def LLM_AttentionOp : LLM_Op<"attention"> {
  let summary = "Causal grouped-query attention over the KV cache";
  let description = [{
    Appends the rows of `key` and `value` to layer `layer` of the cache at
    positions `[start, start + rows)`, then lets query row `m` (position
    `start + m`) attend to cache positions `[0, start + m]`. Query head `h`
    reads KV head `h / (num_heads / num_kv_heads)`. Scores are scaled by
    1/sqrt(head_dim).
  }];
  let arguments = (ins LLM_Activation:$query, LLM_Activation:$key,
                       LLM_Activation:$value,
                       Arg<LLM_KVCacheType, "", [MemRead, MemWrite]>:$cache,
                       Index:$layer, Index:$start,
                       I64Attr:$num_heads, I64Attr:$num_kv_heads,
                       I64Attr:$head_dim);
  let results = (outs LLM_Activation:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $cache `[` $layer `]` `at` $start attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

class LLM_ElementwiseBinaryOp<string mnemonic, string what>
    : LLM_Op<mnemonic, [Pure, SameOperandsAndResultType]> {
  let summary = what;
  let arguments = (ins LLM_Activation:$lhs, LLM_Activation:$rhs);
  let results = (outs LLM_Activation:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def LLM_AddOp : LLM_ElementwiseBinaryOp<"add", "Elementwise sum">;
def LLM_MulOp : LLM_ElementwiseBinaryOp<"mul", "Elementwise product">;

def LLM_SiLUOp : LLM_Op<"silu", [Pure, SameOperandsAndResultType]> {
  let summary = "x * sigmoid(x)";
  let arguments = (ins LLM_Activation:$input);
  let results = (outs LLM_Activation:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def LLM_SwiGLUOp : LLM_Op<"swiglu", [Pure]> {
  let summary = "silu(x[:, :n]) * x[:, n:] for an input of 2n columns";
  let description = [{
    The epilogue of a fused gate+up projection whose output holds the gate
    columns followed by the up columns.
  }];
  let arguments = (ins LLM_Activation:$input);
  let results = (outs LLM_Activation:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

#endif // LLM_OPS_TD
