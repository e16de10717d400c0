// RUN: llm-opt %s --llm-fuse-qkv --split-input-file | FileCheck %s

// Q, K and V read the same input at the same layer: one projection over a
// parameter that concatenates their sources, then one slice per projection,
// emitted in program order (increasing offsets).

// CHECK-NOT: llm.param
// CHECK: llm.param @[[QKV:wq_fused]] : tensor<96x32xbf16> {layers = 2 : i64, sources = ["layers.{layer}.q_proj.weight", "layers.{layer}.k_proj.weight", "layers.{layer}.v_proj.weight"]}
// CHECK-NOT: llm.param
// CHECK-LABEL: func.func @qkv(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x32xf32>, %[[L:[^:]+]]: index
// CHECK: %[[W:.+]] = llm.weight @[[QKV]][%[[L]]] : tensor<96x32xbf16>
// CHECK: %[[Y:.+]] = llm.linear %[[X]], %[[W]] : (tensor<?x32xf32>, tensor<96x32xbf16>) -> tensor<?x96xf32>
// CHECK-NEXT: %[[Q:.+]] = llm.slice %[[Y]][0] : (tensor<?x96xf32>) -> tensor<?x64xf32>
// CHECK-NEXT: %[[K:.+]] = llm.slice %[[Y]][64] : (tensor<?x96xf32>) -> tensor<?x16xf32>
// CHECK-NEXT: %[[V:.+]] = llm.slice %[[Y]][80] : (tensor<?x96xf32>) -> tensor<?x16xf32>
// CHECK-NOT: llm.linear
// CHECK: return %[[Q]], %[[K]], %[[V]]
llm.param @wq : tensor<64x32xbf16> {layers = 2 : i64, sources = ["layers.{layer}.q_proj.weight"]}
llm.param @wk : tensor<16x32xbf16> {layers = 2 : i64, sources = ["layers.{layer}.k_proj.weight"]}
llm.param @wv : tensor<16x32xbf16> {layers = 2 : i64, sources = ["layers.{layer}.v_proj.weight"]}
func.func @qkv(%x: tensor<?x32xf32>, %layer: index) -> (tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x16xf32>) {
  %wq = llm.weight @wq[%layer] : tensor<64x32xbf16>
  %q = llm.linear %x, %wq : (tensor<?x32xf32>, tensor<64x32xbf16>) -> tensor<?x64xf32>
  %wk = llm.weight @wk[%layer] : tensor<16x32xbf16>
  %k = llm.linear %x, %wk : (tensor<?x32xf32>, tensor<16x32xbf16>) -> tensor<?x16xf32>
  %wv = llm.weight @wv[%layer] : tensor<16x32xbf16>
  %v = llm.linear %x, %wv : (tensor<?x32xf32>, tensor<16x32xbf16>) -> tensor<?x16xf32>
  return %q, %k, %v : tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x16xf32>
}

// -----

// After llm-fold-rmsnorm the siblings share a row scale; the fused
// projection keeps it. f32 parameters carrying a folded `scale` keep it on
// the concatenation.

// CHECK: llm.param @[[QK:wq_fused]] : tensor<48x32xf32> {layers = 2 : i64, scale = "layers.{layer}.input_layernorm.weight", sources = ["layers.{layer}.q_proj.weight", "layers.{layer}.k_proj.weight"]}
// CHECK-LABEL: func.func @scaled(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x32xf32>, %[[L:[^:]+]]: index, %[[S:[^:]+]]: tensor<?xf32>
// CHECK: %[[W:.+]] = llm.weight @[[QK]][%[[L]]] : tensor<48x32xf32>
// CHECK: %[[Y:.+]] = llm.linear %[[X]], %[[W]] scale %[[S]] : (tensor<?x32xf32>, tensor<48x32xf32>, tensor<?xf32>) -> tensor<?x48xf32>
// CHECK-NEXT: %[[Q:.+]] = llm.slice %[[Y]][0] : (tensor<?x48xf32>) -> tensor<?x32xf32>
// CHECK-NEXT: %[[K:.+]] = llm.slice %[[Y]][32] : (tensor<?x48xf32>) -> tensor<?x16xf32>
// CHECK: return %[[Q]], %[[K]]
llm.param @wq : tensor<32x32xf32> {layers = 2 : i64, scale = "layers.{layer}.input_layernorm.weight", sources = ["layers.{layer}.q_proj.weight"]}
llm.param @wk : tensor<16x32xf32> {layers = 2 : i64, scale = "layers.{layer}.input_layernorm.weight", sources = ["layers.{layer}.k_proj.weight"]}
func.func @scaled(%x: tensor<?x32xf32>, %layer: index, %s: tensor<?xf32>) -> (tensor<?x32xf32>, tensor<?x16xf32>) {
  %wq = llm.weight @wq[%layer] : tensor<32x32xf32>
  %q = llm.linear %x, %wq scale %s : (tensor<?x32xf32>, tensor<32x32xf32>, tensor<?xf32>) -> tensor<?x32xf32>
  %wk = llm.weight @wk[%layer] : tensor<16x32xf32>
  %k = llm.linear %x, %wk scale %s : (tensor<?x32xf32>, tensor<16x32xf32>, tensor<?xf32>) -> tensor<?x16xf32>
  return %q, %k : tensor<?x32xf32>, tensor<?x16xf32>
}

// -----

// Different layer indices: the weights are different matrices, nothing fuses.

// CHECK-NOT: _fused
// CHECK-LABEL: func.func @different_layer(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x32xf32>, %[[L0:[^:]+]]: index, %[[L1:[^:]+]]: index
// CHECK: %[[WQ:.+]] = llm.weight @wq[%[[L0]]]
// CHECK: llm.linear %[[X]], %[[WQ]]
// CHECK: %[[WK:.+]] = llm.weight @wk[%[[L1]]]
// CHECK: llm.linear %[[X]], %[[WK]]
// CHECK-NOT: llm.slice
llm.param @wq : tensor<32x32xbf16> {layers = 2 : i64, sources = ["layers.{layer}.q_proj.weight"]}
llm.param @wk : tensor<16x32xbf16> {layers = 2 : i64, sources = ["layers.{layer}.k_proj.weight"]}
func.func @different_layer(%x: tensor<?x32xf32>, %l0: index, %l1: index) -> (tensor<?x32xf32>, tensor<?x16xf32>) {
  %wq = llm.weight @wq[%l0] : tensor<32x32xbf16>
  %q = llm.linear %x, %wq : (tensor<?x32xf32>, tensor<32x32xbf16>) -> tensor<?x32xf32>
  %wk = llm.weight @wk[%l1] : tensor<16x32xbf16>
  %k = llm.linear %x, %wk : (tensor<?x32xf32>, tensor<16x32xbf16>) -> tensor<?x16xf32>
  return %q, %k : tensor<?x32xf32>, tensor<?x16xf32>
}

// -----

// Only the siblings at the same layer fuse; the third projection stays.

// CHECK: llm.param @[[QK:wq_fused]] : tensor<48x32xbf16> {layers = 2 : i64, sources = ["layers.{layer}.q_proj.weight", "layers.{layer}.k_proj.weight"]}
// CHECK: llm.param @wv
// CHECK-LABEL: func.func @partial(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x32xf32>, %[[L0:[^:]+]]: index, %[[L1:[^:]+]]: index
// CHECK: %[[W:.+]] = llm.weight @[[QK]][%[[L0]]]
// CHECK: %[[Y:.+]] = llm.linear %[[X]], %[[W]]
// CHECK-NEXT: %[[Q:.+]] = llm.slice %[[Y]][0]
// CHECK-NEXT: %[[K:.+]] = llm.slice %[[Y]][32]
// CHECK: %[[WV:.+]] = llm.weight @wv[%[[L1]]]
// CHECK: %[[V:.+]] = llm.linear %[[X]], %[[WV]]
// CHECK: return %[[Q]], %[[K]], %[[V]]
llm.param @wq : tensor<32x32xbf16> {layers = 2 : i64, sources = ["layers.{layer}.q_proj.weight"]}
llm.param @wk : tensor<16x32xbf16> {layers = 2 : i64, sources = ["layers.{layer}.k_proj.weight"]}
llm.param @wv : tensor<16x32xbf16> {layers = 2 : i64, sources = ["layers.{layer}.v_proj.weight"]}
func.func @partial(%x: tensor<?x32xf32>, %l0: index, %l1: index) -> (tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x16xf32>) {
  %wq = llm.weight @wq[%l0] : tensor<32x32xbf16>
  %q = llm.linear %x, %wq : (tensor<?x32xf32>, tensor<32x32xbf16>) -> tensor<?x32xf32>
  %wk = llm.weight @wk[%l0] : tensor<16x32xbf16>
  %k = llm.linear %x, %wk : (tensor<?x32xf32>, tensor<16x32xbf16>) -> tensor<?x16xf32>
  %wv = llm.weight @wv[%l1] : tensor<16x32xbf16>
  %v = llm.linear %x, %wv : (tensor<?x32xf32>, tensor<16x32xbf16>) -> tensor<?x16xf32>
  return %q, %k, %v : tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x16xf32>
}

// -----

// Projections of different inputs are not siblings.

// CHECK-NOT: _fused
// CHECK-LABEL: func.func @different_input(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x32xf32>, %[[Z:[^:]+]]: tensor<?x32xf32>
// CHECK: llm.linear %[[X]], %{{.+}} : (tensor<?x32xf32>, tensor<32x32xbf16>)
// CHECK: llm.linear %[[Z]], %{{.+}} : (tensor<?x32xf32>, tensor<16x32xbf16>)
// CHECK-NOT: llm.slice
llm.param @wq : tensor<32x32xbf16> {layers = 0 : i64, sources = ["q_proj.weight"]}
llm.param @wk : tensor<16x32xbf16> {layers = 0 : i64, sources = ["k_proj.weight"]}
func.func @different_input(%x: tensor<?x32xf32>, %z: tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x16xf32>) {
  %wq = llm.weight @wq : tensor<32x32xbf16>
  %q = llm.linear %x, %wq : (tensor<?x32xf32>, tensor<32x32xbf16>) -> tensor<?x32xf32>
  %wk = llm.weight @wk : tensor<16x32xbf16>
  %k = llm.linear %z, %wk : (tensor<?x32xf32>, tensor<16x32xbf16>) -> tensor<?x16xf32>
  return %q, %k : tensor<?x32xf32>, tensor<?x16xf32>
}

// -----

// Different element types cannot share one packed matrix.

// CHECK-NOT: _fused
// CHECK-LABEL: func.func @different_dtype(
// CHECK: llm.linear %{{.+}}, %{{.+}} : (tensor<?x32xf32>, tensor<32x32xbf16>)
// CHECK: llm.linear %{{.+}}, %{{.+}} : (tensor<?x32xf32>, tensor<16x32xf32>)
// CHECK-NOT: llm.slice
llm.param @wq : tensor<32x32xbf16> {layers = 0 : i64, sources = ["q_proj.weight"]}
llm.param @wk : tensor<16x32xf32> {layers = 0 : i64, sources = ["k_proj.weight"]}
func.func @different_dtype(%x: tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x16xf32>) {
  %wq = llm.weight @wq : tensor<32x32xbf16>
  %q = llm.linear %x, %wq : (tensor<?x32xf32>, tensor<32x32xbf16>) -> tensor<?x32xf32>
  %wk = llm.weight @wk : tensor<16x32xf32>
  %k = llm.linear %x, %wk : (tensor<?x32xf32>, tensor<16x32xf32>) -> tensor<?x16xf32>
  return %q, %k : tensor<?x32xf32>, tensor<?x16xf32>
}

// -----

// Only one of the siblings has a row scale: their products differ.

// CHECK-NOT: _fused
// CHECK-LABEL: func.func @different_row_scale(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x32xf32>, %[[S:[^:]+]]: tensor<?xf32>
// CHECK: llm.linear %[[X]], %{{.+}} scale %[[S]] : (tensor<?x32xf32>, tensor<32x32xbf16>, tensor<?xf32>) -> tensor<?x32xf32>
// CHECK: llm.linear %[[X]], %{{.+}} : (tensor<?x32xf32>, tensor<16x32xbf16>) -> tensor<?x16xf32>
// CHECK-NOT: llm.slice
llm.param @wq : tensor<32x32xbf16> {layers = 0 : i64, sources = ["q_proj.weight"]}
llm.param @wk : tensor<16x32xbf16> {layers = 0 : i64, sources = ["k_proj.weight"]}
func.func @different_row_scale(%x: tensor<?x32xf32>, %s: tensor<?xf32>) -> (tensor<?x32xf32>, tensor<?x16xf32>) {
  %wq = llm.weight @wq : tensor<32x32xbf16>
  %q = llm.linear %x, %wq scale %s : (tensor<?x32xf32>, tensor<32x32xbf16>, tensor<?xf32>) -> tensor<?x32xf32>
  %wk = llm.weight @wk : tensor<16x32xbf16>
  %k = llm.linear %x, %wk : (tensor<?x32xf32>, tensor<16x32xbf16>) -> tensor<?x16xf32>
  return %q, %k : tensor<?x32xf32>, tensor<?x16xf32>
}

// -----

// Codegen attributes do not stop fusion: the fused projection is a new op
// without the old tile choice or layout (the strategy runs after fusion).

// CHECK: llm.param @wq_fused : tensor<48x32xbf16>
// CHECK-NOT: llm.layout
// CHECK-LABEL: func.func @tiled(
// CHECK: llm.linear %{{.+}}, %{{.+}} : (tensor<?x32xf32>, tensor<48x32xbf16>) -> tensor<?x48xf32>
// CHECK-COUNT-2: llm.slice
llm.param @wq : tensor<32x32xbf16> {layers = 0 : i64, sources = ["q_proj.weight"], llm.layout = #llm.packed_layout<block = 16>}
llm.param @wk : tensor<16x32xbf16> {layers = 0 : i64, sources = ["k_proj.weight"], llm.layout = #llm.packed_layout<block = 16>}
func.func @tiled(%x: tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x16xf32>) {
  %wq = llm.weight @wq : tensor<32x32xbf16>
  %q = llm.linear %x, %wq {llm.lowering_config = #llm.lowering_config<tiles = [4, 16, 32]>} : (tensor<?x32xf32>, tensor<32x32xbf16>) -> tensor<?x32xf32>
  %wk = llm.weight @wk : tensor<16x32xbf16>
  %k = llm.linear %x, %wk {llm.lowering_config = #llm.lowering_config<tiles = [4, 16, 32]>} : (tensor<?x32xf32>, tensor<16x32xbf16>) -> tensor<?x16xf32>
  return %q, %k : tensor<?x32xf32>, tensor<?x16xf32>
}

// -----

// Siblings of different element types (a Q4_K_M file: q and k in 4 bits, v
// in 8): the compatible ones fuse, the other stays apart.

// CHECK: llm.param @wq_fused : tensor<48x32xi4> {asymmetric, group = 32 : i64, layers = 0 : i64, sources = ["q_proj.weight", "k_proj.weight"]}
// CHECK-LABEL: func.func @mixed_types(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x32xf32>
// CHECK: llm.linear %[[X]], %{{.+}} : (tensor<?x32xf32>, tensor<48x32xi4>) -> tensor<?x48xf32>
// CHECK-COUNT-2: llm.slice
// CHECK: llm.linear %[[X]], %{{.+}} : (tensor<?x32xf32>, tensor<16x32xi8>) -> tensor<?x16xf32>
llm.param @wq : tensor<32x32xi4> {asymmetric, group = 32 : i64, layers = 0 : i64, sources = ["q_proj.weight"]}
llm.param @wk : tensor<16x32xi4> {asymmetric, group = 32 : i64, layers = 0 : i64, sources = ["k_proj.weight"]}
llm.param @wv : tensor<16x32xi8> {group = 32 : i64, layers = 0 : i64, sources = ["v_proj.weight"]}
func.func @mixed_types(%x: tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x16xf32>) {
  %wq = llm.weight @wq : tensor<32x32xi4>
  %q = llm.linear %x, %wq : (tensor<?x32xf32>, tensor<32x32xi4>) -> tensor<?x32xf32>
  %wk = llm.weight @wk : tensor<16x32xi4>
  %k = llm.linear %x, %wk : (tensor<?x32xf32>, tensor<16x32xi4>) -> tensor<?x16xf32>
  %wv = llm.weight @wv : tensor<16x32xi8>
  %v = llm.linear %x, %wv : (tensor<?x32xf32>, tensor<16x32xi8>) -> tensor<?x16xf32>
  return %q, %k, %v : tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x16xf32>
}
