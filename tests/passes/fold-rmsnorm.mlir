// RUN: llm-opt %s --llm-fold-rmsnorm --split-input-file | FileCheck %s

// An f32 projection weight only read by projections: the norm's weight
// becomes the `scale` of a new parameter (packed as W diag(g)), the linear
// reads the unnormalized input and multiplies its rows by rms_inv.

// The unscaled originals and the norm's own parameter (its weight now lives
// in `scale`) are erased.
// CHECK-NOT: llm.param
// CHECK: llm.param @[[WQ:[a-z0-9_]+]] : tensor<48x32xf32> {layers = 2 : i64, scale = "layers.{layer}.input_layernorm.weight", sources = ["layers.{layer}.q_proj.weight"]}
// CHECK-NEXT: llm.param @[[WK:[a-z0-9_]+]] : tensor<16x32xf32> {layers = 2 : i64, scale = "layers.{layer}.input_layernorm.weight", sources = ["layers.{layer}.k_proj.weight"]}
// CHECK-NOT: llm.param
// CHECK-LABEL: func.func @f32_weight(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x32xf32>, %[[L:[^:]+]]: index
// CHECK-NOT: llm.rms_norm
// CHECK: %[[INV:.+]] = llm.rms_inv %[[X]] {eps = 1.000000e-05 : f64} : (tensor<?x32xf32>) -> tensor<?xf32>
// CHECK: %[[W0:.+]] = llm.weight @[[WQ]][%[[L]]] : tensor<48x32xf32>
// CHECK: %[[Q:.+]] = llm.linear %[[X]], %[[W0]] scale %[[INV]] : (tensor<?x32xf32>, tensor<48x32xf32>, tensor<?xf32>) -> tensor<?x48xf32>
// CHECK: %[[W1:.+]] = llm.weight @[[WK]][%[[L]]] : tensor<16x32xf32>
// CHECK: %[[K:.+]] = llm.linear %[[X]], %[[W1]] scale %[[INV]] : (tensor<?x32xf32>, tensor<16x32xf32>, tensor<?xf32>) -> tensor<?x16xf32>
// CHECK-NOT: llm.rms_norm
// CHECK: return %[[Q]], %[[K]]
llm.param @attn_norm : tensor<32xf32> {layers = 2 : i64, sources = ["layers.{layer}.input_layernorm.weight"]}
llm.param @wq : tensor<48x32xf32> {layers = 2 : i64, sources = ["layers.{layer}.q_proj.weight"]}
llm.param @wk : tensor<16x32xf32> {layers = 2 : i64, sources = ["layers.{layer}.k_proj.weight"]}
func.func @f32_weight(%x: tensor<?x32xf32>, %layer: index) -> (tensor<?x48xf32>, tensor<?x16xf32>) {
  %g = llm.weight @attn_norm[%layer] : tensor<32xf32>
  %n = llm.rms_norm %x, %g {eps = 1.0e-05 : f64} : (tensor<?x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  %wq = llm.weight @wq[%layer] : tensor<48x32xf32>
  %q = llm.linear %n, %wq : (tensor<?x32xf32>, tensor<48x32xf32>) -> tensor<?x48xf32>
  %wk = llm.weight @wk[%layer] : tensor<16x32xf32>
  %k = llm.linear %n, %wk : (tensor<?x32xf32>, tensor<16x32xf32>) -> tensor<?x16xf32>
  return %q, %k : tensor<?x48xf32>, tensor<?x16xf32>
}

// -----

// bf16 weights would be rounded twice: nothing is folded. The norm stays a
// separate op, the projection still reads its result without a row scale
// and no scaled copy of the parameter is made.

// CHECK: llm.param @attn_norm : tensor<32xf32> {layers = 2 : i64, sources = ["layers.{layer}.input_layernorm.weight"]}
// CHECK-NEXT: llm.param @wq : tensor<48x32xbf16> {layers = 2 : i64, sources = ["layers.{layer}.q_proj.weight"]}
// CHECK-NOT: llm.param
// CHECK-LABEL: func.func @bf16_weight(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x32xf32>, %[[L:[^:]+]]: index
// CHECK-NOT: llm.rms_inv
// CHECK: %[[G:.+]] = llm.weight @attn_norm[%[[L]]] : tensor<32xf32>
// CHECK: %[[N:.+]] = llm.rms_norm %[[X]], %[[G]] {eps = 1.000000e-05 : f64} : (tensor<?x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
// CHECK: %[[W:.+]] = llm.weight @wq[%[[L]]] : tensor<48x32xbf16>
// CHECK: %[[Q:.+]] = llm.linear %[[N]], %[[W]] : (tensor<?x32xf32>, tensor<48x32xbf16>) -> tensor<?x48xf32>
// CHECK-NOT: llm.rms_inv
// CHECK: return %[[Q]]
llm.param @attn_norm : tensor<32xf32> {layers = 2 : i64, sources = ["layers.{layer}.input_layernorm.weight"]}
llm.param @wq : tensor<48x32xbf16> {layers = 2 : i64, sources = ["layers.{layer}.q_proj.weight"]}
func.func @bf16_weight(%x: tensor<?x32xf32>, %layer: index) -> tensor<?x48xf32> {
  %g = llm.weight @attn_norm[%layer] : tensor<32xf32>
  %n = llm.rms_norm %x, %g {eps = 1.0e-05 : f64} : (tensor<?x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  %wq = llm.weight @wq[%layer] : tensor<48x32xbf16>
  %q = llm.linear %n, %wq : (tensor<?x32xf32>, tensor<48x32xbf16>) -> tensor<?x48xf32>
  return %q : tensor<?x48xf32>
}

// -----

// One f32 and one f16 projection read the same norm: folding is all or
// nothing, so the f32 one is not folded either and the norm stays.

// CHECK: llm.param @attn_norm : tensor<32xf32> {layers = 2 : i64, sources = ["layers.{layer}.input_layernorm.weight"]}
// CHECK-NEXT: llm.param @wq : tensor<48x32xf32> {layers = 2 : i64, sources = ["layers.{layer}.q_proj.weight"]}
// CHECK-NEXT: llm.param @wk : tensor<16x32xf16> {layers = 2 : i64, sources = ["layers.{layer}.k_proj.weight"]}
// CHECK-NOT: llm.param
// CHECK-LABEL: func.func @mixed_f32_f16(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x32xf32>, %[[L:[^:]+]]: index
// CHECK-NOT: llm.rms_inv
// CHECK: %[[N:.+]] = llm.rms_norm %[[X]], %{{.+}} {eps = 1.000000e-05 : f64}
// CHECK: %[[WQ:.+]] = llm.weight @wq[%[[L]]] : tensor<48x32xf32>
// CHECK: %[[Q:.+]] = llm.linear %[[N]], %[[WQ]] : (tensor<?x32xf32>, tensor<48x32xf32>) -> tensor<?x48xf32>
// CHECK: %[[WK:.+]] = llm.weight @wk[%[[L]]] : tensor<16x32xf16>
// CHECK: %[[K:.+]] = llm.linear %[[N]], %[[WK]] : (tensor<?x32xf32>, tensor<16x32xf16>) -> tensor<?x16xf32>
// CHECK-NOT: llm.rms_inv
// CHECK: return %[[Q]], %[[K]]
llm.param @attn_norm : tensor<32xf32> {layers = 2 : i64, sources = ["layers.{layer}.input_layernorm.weight"]}
llm.param @wq : tensor<48x32xf32> {layers = 2 : i64, sources = ["layers.{layer}.q_proj.weight"]}
llm.param @wk : tensor<16x32xf16> {layers = 2 : i64, sources = ["layers.{layer}.k_proj.weight"]}
func.func @mixed_f32_f16(%x: tensor<?x32xf32>, %layer: index) -> (tensor<?x48xf32>, tensor<?x16xf32>) {
  %g = llm.weight @attn_norm[%layer] : tensor<32xf32>
  %n = llm.rms_norm %x, %g {eps = 1.0e-05 : f64} : (tensor<?x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  %wq = llm.weight @wq[%layer] : tensor<48x32xf32>
  %q = llm.linear %n, %wq : (tensor<?x32xf32>, tensor<48x32xf32>) -> tensor<?x48xf32>
  %wk = llm.weight @wk[%layer] : tensor<16x32xf16>
  %k = llm.linear %n, %wk : (tensor<?x32xf32>, tensor<16x32xf16>) -> tensor<?x16xf32>
  return %q, %k : tensor<?x48xf32>, tensor<?x16xf32>
}

// -----

// A tied f32 embedding table also feeds llm.embedding, which must keep the
// unscaled values: nothing is folded, no scaled copy is made and the lm_head
// still reads the normalized activation.

// CHECK: llm.param @embed : tensor<64x32xf32> {layers = 0 : i64, sources = ["embed_tokens.weight"]}
// CHECK-NEXT: llm.param @final_norm : tensor<32xf32> {layers = 0 : i64, sources = ["norm.weight"]}
// CHECK-NOT: llm.param
// CHECK-LABEL: func.func @tied_embedding(
// CHECK-SAME: %[[IDS:[^:]+]]: tensor<?xi32>
// CHECK: %[[T:.+]] = llm.weight @embed : tensor<64x32xf32>
// CHECK: %[[X:.+]] = llm.embedding %[[IDS]], %[[T]]
// CHECK-NOT: llm.rms_inv
// CHECK: %[[G:.+]] = llm.weight @final_norm : tensor<32xf32>
// CHECK: %[[N:.+]] = llm.rms_norm %[[X]], %[[G]] {eps = 1.000000e-05 : f64}
// CHECK: %[[H:.+]] = llm.weight @embed : tensor<64x32xf32>
// CHECK: %[[LOGITS:.+]] = llm.linear %[[N]], %[[H]] : (tensor<?x32xf32>, tensor<64x32xf32>) -> tensor<?x64xf32>
// CHECK-NOT: llm.rms_inv
// CHECK: return %[[LOGITS]]
llm.param @embed : tensor<64x32xf32> {layers = 0 : i64, sources = ["embed_tokens.weight"]}
llm.param @final_norm : tensor<32xf32> {layers = 0 : i64, sources = ["norm.weight"]}
func.func @tied_embedding(%ids: tensor<?xi32>) -> tensor<?x64xf32> {
  %t = llm.weight @embed : tensor<64x32xf32>
  %x = llm.embedding %ids, %t : (tensor<?xi32>, tensor<64x32xf32>) -> tensor<?x32xf32>
  %g = llm.weight @final_norm : tensor<32xf32>
  %n = llm.rms_norm %x, %g {eps = 1.0e-05 : f64} : (tensor<?x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  %h = llm.weight @embed : tensor<64x32xf32>
  %logits = llm.linear %n, %h : (tensor<?x32xf32>, tensor<64x32xf32>) -> tensor<?x64xf32>
  return %logits : tensor<?x64xf32>
}

// -----

// An unstacked norm weight cannot scale a per-layer matrix exactly: nothing
// is folded and the norm stays.

// CHECK: llm.param @norm : tensor<32xf32> {layers = 0 : i64, sources = ["norm.weight"]}
// CHECK-NEXT: llm.param @w : tensor<48x32xf32> {layers = 2 : i64, sources = ["layers.{layer}.w"]}
// CHECK-NOT: llm.param
// CHECK-LABEL: func.func @layer_mismatch(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x32xf32>, %[[L:[^:]+]]: index
// CHECK-NOT: llm.rms_inv
// CHECK: %[[G:.+]] = llm.weight @norm : tensor<32xf32>
// CHECK: %[[N:.+]] = llm.rms_norm %[[X]], %[[G]] {eps = 1.000000e-05 : f64}
// CHECK: %[[W:.+]] = llm.weight @w[%[[L]]] : tensor<48x32xf32>
// CHECK: %[[Y:.+]] = llm.linear %[[N]], %[[W]] : (tensor<?x32xf32>, tensor<48x32xf32>) -> tensor<?x48xf32>
// CHECK-NOT: llm.rms_inv
// CHECK: return %[[Y]]
llm.param @norm : tensor<32xf32> {layers = 0 : i64, sources = ["norm.weight"]}
llm.param @w : tensor<48x32xf32> {layers = 2 : i64, sources = ["layers.{layer}.w"]}
func.func @layer_mismatch(%x: tensor<?x32xf32>, %layer: index) -> tensor<?x48xf32> {
  %g = llm.weight @norm : tensor<32xf32>
  %n = llm.rms_norm %x, %g {eps = 1.0e-05 : f64} : (tensor<?x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  %w = llm.weight @w[%layer] : tensor<48x32xf32>
  %y = llm.linear %n, %w : (tensor<?x32xf32>, tensor<48x32xf32>) -> tensor<?x48xf32>
  return %y : tensor<?x48xf32>
}

// -----

// The norm weight and the projection are read at different layer indices:
// g is not the norm of that matrix's layer, nothing is folded.

// CHECK-NOT: scale =
// CHECK-LABEL: func.func @layer_index_mismatch(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x32xf32>, %[[L0:[^:]+]]: index, %[[L1:[^:]+]]: index
// CHECK-NOT: llm.rms_inv
// CHECK: %[[N:.+]] = llm.rms_norm %[[X]], %{{.+}}
// CHECK: %[[W:.+]] = llm.weight @w[%[[L1]]] : tensor<48x32xf32>
// CHECK: %[[Y:.+]] = llm.linear %[[N]], %[[W]] : (tensor<?x32xf32>, tensor<48x32xf32>) -> tensor<?x48xf32>
// CHECK-NOT: llm.rms_inv
// CHECK: return %[[Y]]
llm.param @norm : tensor<32xf32> {layers = 2 : i64, sources = ["layers.{layer}.norm.weight"]}
llm.param @w : tensor<48x32xf32> {layers = 2 : i64, sources = ["layers.{layer}.w"]}
func.func @layer_index_mismatch(%x: tensor<?x32xf32>, %l0: index, %l1: index) -> tensor<?x48xf32> {
  %g = llm.weight @norm[%l0] : tensor<32xf32>
  %n = llm.rms_norm %x, %g {eps = 1.0e-05 : f64} : (tensor<?x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  %w = llm.weight @w[%l1] : tensor<48x32xf32>
  %y = llm.linear %n, %w : (tensor<?x32xf32>, tensor<48x32xf32>) -> tensor<?x48xf32>
  return %y : tensor<?x48xf32>
}

// -----

// The f32 parameter already carries a folded scale: a second one cannot be
// recorded, nothing is folded.

// CHECK: llm.param @w : tensor<48x32xf32> {layers = 0 : i64, scale = "other.weight", sources = ["w"]}
// CHECK-NOT: llm.param
// CHECK-LABEL: func.func @already_scaled(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x32xf32>
// CHECK-NOT: llm.rms_inv
// CHECK: %[[N:.+]] = llm.rms_norm %[[X]], %{{.+}}
// CHECK: %[[W:.+]] = llm.weight @w : tensor<48x32xf32>
// CHECK: %[[Y:.+]] = llm.linear %[[N]], %[[W]] : (tensor<?x32xf32>, tensor<48x32xf32>) -> tensor<?x48xf32>
// CHECK-NOT: llm.rms_inv
// CHECK: return %[[Y]]
llm.param @norm : tensor<32xf32> {layers = 0 : i64, sources = ["norm.weight"]}
llm.param @w : tensor<48x32xf32> {layers = 0 : i64, scale = "other.weight", sources = ["w"]}
func.func @already_scaled(%x: tensor<?x32xf32>) -> tensor<?x48xf32> {
  %g = llm.weight @norm : tensor<32xf32>
  %n = llm.rms_norm %x, %g {eps = 1.0e-05 : f64} : (tensor<?x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  %w = llm.weight @w : tensor<48x32xf32>
  %y = llm.linear %n, %w : (tensor<?x32xf32>, tensor<48x32xf32>) -> tensor<?x48xf32>
  return %y : tensor<?x48xf32>
}

// -----

// The normalized activation is also returned: it must be materialized, so
// nothing is folded.

// CHECK-NOT: scale =
// CHECK-LABEL: func.func @non_linear_user(
// CHECK: %[[N:.+]] = llm.rms_norm
// CHECK: llm.linear %[[N]], %{{.+}} : (tensor<?x32xf32>, tensor<48x32xf32>) -> tensor<?x48xf32>
// CHECK-NOT: llm.rms_inv
// CHECK: return %{{[0-9]+}}, %[[N]]
llm.param @norm : tensor<32xf32> {layers = 0 : i64, sources = ["norm.weight"]}
llm.param @w : tensor<48x32xf32> {layers = 0 : i64, sources = ["w"]}
func.func @non_linear_user(%x: tensor<?x32xf32>) -> (tensor<?x48xf32>, tensor<?x32xf32>) {
  %g = llm.weight @norm : tensor<32xf32>
  %n = llm.rms_norm %x, %g {eps = 1.0e-05 : f64} : (tensor<?x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  %w = llm.weight @w : tensor<48x32xf32>
  %y = llm.linear %n, %w : (tensor<?x32xf32>, tensor<48x32xf32>) -> tensor<?x48xf32>
  return %y, %n : tensor<?x48xf32>, tensor<?x32xf32>
}

// -----

// A norm feeding an elementwise op is left alone.

// CHECK-LABEL: func.func @add_user(
// CHECK: %[[N:.+]] = llm.rms_norm
// CHECK: llm.add %[[N]], %[[N]]
// CHECK-NOT: llm.rms_inv
llm.param @norm : tensor<32xf32> {layers = 0 : i64, sources = ["norm.weight"]}
func.func @add_user(%x: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %g = llm.weight @norm : tensor<32xf32>
  %n = llm.rms_norm %x, %g {eps = 1.0e-05 : f64} : (tensor<?x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  %y = llm.add %n, %n : tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// Codegen attributes do not stop the fold: the new projection carries no
// stale tile choice (the strategy runs after folding).

// CHECK-LABEL: func.func @tiled_linear(
// CHECK: %[[INV:.+]] = llm.rms_inv
// CHECK: llm.linear %{{.+}}, %{{.+}} scale %[[INV]] : (tensor<?x32xf32>, tensor<48x32xf32>, tensor<?xf32>) -> tensor<?x48xf32>
// CHECK-NOT: llm.rms_norm
llm.param @norm : tensor<32xf32> {layers = 0 : i64, sources = ["norm.weight"]}
llm.param @w : tensor<48x32xf32> {layers = 0 : i64, sources = ["w"], llm.layout = #llm.packed_layout<block = 16>}
func.func @tiled_linear(%x: tensor<?x32xf32>) -> tensor<?x48xf32> {
  %g = llm.weight @norm : tensor<32xf32>
  %n = llm.rms_norm %x, %g {eps = 1.0e-05 : f64} : (tensor<?x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  %w = llm.weight @w : tensor<48x32xf32>
  %y = llm.linear %n, %w {llm.lowering_config = #llm.lowering_config<tiles = [4, 16, 32]>} : (tensor<?x32xf32>, tensor<48x32xf32>) -> tensor<?x48xf32>
  return %y : tensor<?x48xf32>
}
