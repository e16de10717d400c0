// RUN: llm-opt %s | llm-opt | FileCheck %s
// RUN: llm-opt %s --mlir-print-op-generic | llm-opt | FileCheck %s

// Round trip of every llm op and of the !llm.kv_cache type.

// CHECK-LABEL: llm.param @plain : tensor<64x32xbf16>
// CHECK-SAME: layers = 0 : i64
// CHECK-SAME: sources = ["model.embed_tokens.weight"]
llm.param @plain : tensor<64x32xbf16> {layers = 0 : i64, sources = ["model.embed_tokens.weight"]}

// CHECK-LABEL: llm.param @planned : tensor<48x32xf32>
// CHECK-SAME: layers = 2 : i64
// CHECK-SAME: llm.layout = #llm.packed_layout<block = 16, offset = 4096, layer_stride = 6144>
// CHECK-SAME: scale = "model.layers.{layer}.input_layernorm.weight"
// CHECK-SAME: sources = ["model.layers.{layer}.self_attn.q_proj.weight", "model.layers.{layer}.self_attn.k_proj.weight"]
llm.param @planned : tensor<48x32xf32> {layers = 2 : i64, llm.layout = #llm.packed_layout<block = 16, offset = 4096, layer_stride = 6144>, scale = "model.layers.{layer}.input_layernorm.weight", sources = ["model.layers.{layer}.self_attn.q_proj.weight", "model.layers.{layer}.self_attn.k_proj.weight"]}

// CHECK-LABEL: llm.param @asymmetric : tensor<48x64xi4>
// CHECK-SAME: asymmetric, group = 32 : i64
// CHECK-LABEL: llm.param @asymmetric_offsets : tensor<48x2xf16>
// CHECK-SAME: offsets_of = array<i64: 4, 32>
llm.param @asymmetric : tensor<48x64xi4> {asymmetric, group = 32 : i64, layers = 0 : i64, sources = ["w"]}
llm.param @asymmetric_offsets : tensor<48x2xf16> {layers = 0 : i64, offsets_of = array<i64: 4, 32>, sources = ["w"]}

// CHECK-LABEL: llm.param @norm : tensor<32xf16>
llm.param @norm : tensor<32xf16> {layers = 2 : i64, sources = ["model.layers.{layer}.input_layernorm.weight"]}

// CHECK-LABEL: func.func @weights(
// CHECK-SAME: %[[LAYER:.+]]: index
// CHECK: llm.weight @plain : tensor<64x32xbf16>
// CHECK: llm.weight @planned[%[[LAYER]]] : tensor<48x32xf32>
// CHECK: llm.weight @norm[%[[LAYER]]] : tensor<32xf16>
func.func @weights(%layer: index) -> (tensor<64x32xbf16>, tensor<48x32xf32>, tensor<32xf16>) {
  %0 = llm.weight @plain : tensor<64x32xbf16>
  %1 = llm.weight @planned[%layer] : tensor<48x32xf32>
  %2 = llm.weight @norm[%layer] : tensor<32xf16>
  return %0, %1, %2 : tensor<64x32xbf16>, tensor<48x32xf32>, tensor<32xf16>
}

// CHECK-LABEL: func.func @embedding(
// CHECK-SAME: %[[IDS:.+]]: tensor<?xi32>, %[[TABLE:.+]]: tensor<64x32xbf16>
// CHECK: llm.embedding %[[IDS]], %[[TABLE]] : (tensor<?xi32>, tensor<64x32xbf16>) -> tensor<?x32xf32>
func.func @embedding(%ids: tensor<?xi32>, %table: tensor<64x32xbf16>) -> tensor<?x32xf32> {
  %0 = llm.embedding %ids, %table : (tensor<?xi32>, tensor<64x32xbf16>) -> tensor<?x32xf32>
  return %0 : tensor<?x32xf32>
}

// CHECK-LABEL: func.func @offsets(
// CHECK-SAME: %[[IDS:[^:]+]]: tensor<?xi32>, %[[TABLE:[^:]+]]: tensor<64x32xi8>, %[[O:[^:]+]]: tensor<64x1xf16>, %[[X:[^:]+]]: tensor<?x32xf32>
// CHECK: llm.embedding %[[IDS]], %[[TABLE]] offsets %[[O]] : (tensor<?xi32>, tensor<64x32xi8>, tensor<64x1xf16>) -> tensor<?x32xf32>
// CHECK: llm.linear %[[X]], %[[TABLE]] offsets %[[O]] : (tensor<?x32xf32>, tensor<64x32xi8>, tensor<64x1xf16>) -> tensor<?x64xf32>
func.func @offsets(%ids: tensor<?xi32>, %table: tensor<64x32xi8>, %o: tensor<64x1xf16>, %x: tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x64xf32>) {
  %0 = llm.embedding %ids, %table offsets %o : (tensor<?xi32>, tensor<64x32xi8>, tensor<64x1xf16>) -> tensor<?x32xf32>
  %1 = llm.linear %x, %table offsets %o : (tensor<?x32xf32>, tensor<64x32xi8>, tensor<64x1xf16>) -> tensor<?x64xf32>
  return %0, %1 : tensor<?x32xf32>, tensor<?x64xf32>
}

// CHECK-LABEL: func.func @norms(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x32xf32>, %[[G:.+]]: tensor<32xf16>
// CHECK: llm.rms_norm %[[X]], %[[G]] {eps = 1.000000e-05 : f64} : (tensor<?x32xf32>, tensor<32xf16>) -> tensor<?x32xf32>
// CHECK: llm.rms_inv %[[X]] {eps = 5.000000e-01 : f64} : (tensor<?x32xf32>) -> tensor<?xf32>
func.func @norms(%x: tensor<?x32xf32>, %g: tensor<32xf16>) -> (tensor<?x32xf32>, tensor<?xf32>) {
  %0 = llm.rms_norm %x, %g {eps = 1.0e-05 : f64} : (tensor<?x32xf32>, tensor<32xf16>) -> tensor<?x32xf32>
  %1 = llm.rms_inv %x {eps = 0.5 : f64} : (tensor<?x32xf32>) -> tensor<?xf32>
  return %0, %1 : tensor<?x32xf32>, tensor<?xf32>
}

// CHECK-LABEL: func.func @linears(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x32xf32>, %[[W:[^:]+]]: tensor<48x32xbf16>, %[[S:[^:]+]]: tensor<?xf32>
// CHECK: llm.linear %[[X]], %[[W]] : (tensor<?x32xf32>, tensor<48x32xbf16>) -> tensor<?x48xf32>
// CHECK: llm.linear %[[X]], %[[W]] scale %[[S]] : (tensor<?x32xf32>, tensor<48x32xbf16>, tensor<?xf32>) -> tensor<?x48xf32>
// CHECK: llm.linear %[[X]], %[[W]] {llm.lowering_config = #llm.lowering_config<tiles = [4, 16, 32]>} : (tensor<?x32xf32>, tensor<48x32xbf16>) -> tensor<?x48xf32>
// CHECK: llm.linear %[[X]], %[[W]] scale %[[S]] {llm.lowering_config = #llm.lowering_config<tiles = [4, 16, 32]>} : (tensor<?x32xf32>, tensor<48x32xbf16>, tensor<?xf32>) -> tensor<?x48xf32>
func.func @linears(%x: tensor<?x32xf32>, %w: tensor<48x32xbf16>, %s: tensor<?xf32>) -> (tensor<?x48xf32>, tensor<?x48xf32>, tensor<?x48xf32>, tensor<?x48xf32>) {
  %0 = llm.linear %x, %w : (tensor<?x32xf32>, tensor<48x32xbf16>) -> tensor<?x48xf32>
  %1 = llm.linear %x, %w scale %s : (tensor<?x32xf32>, tensor<48x32xbf16>, tensor<?xf32>) -> tensor<?x48xf32>
  %2 = llm.linear %x, %w {llm.lowering_config = #llm.lowering_config<tiles = [4, 16, 32]>} : (tensor<?x32xf32>, tensor<48x32xbf16>) -> tensor<?x48xf32>
  %3 = llm.linear %x, %w scale %s {llm.lowering_config = #llm.lowering_config<tiles = [4, 16, 32]>} : (tensor<?x32xf32>, tensor<48x32xbf16>, tensor<?xf32>) -> tensor<?x48xf32>
  return %0, %1, %2, %3 : tensor<?x48xf32>, tensor<?x48xf32>, tensor<?x48xf32>, tensor<?x48xf32>
}

// CHECK-LABEL: func.func @slices(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x48xf32>, %[[N:.+]]: index
// CHECK: llm.slice %[[X]][0] : (tensor<?x48xf32>) -> tensor<?x32xf32>
// CHECK: llm.slice %[[X]][32] : (tensor<?x48xf32>) -> tensor<?x16xf32>
// CHECK: llm.last_rows %[[X]], %[[N]] : (tensor<?x48xf32>, index) -> tensor<?x48xf32>
func.func @slices(%x: tensor<?x48xf32>, %n: index) -> (tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x48xf32>) {
  %0 = llm.slice %x[0] : (tensor<?x48xf32>) -> tensor<?x32xf32>
  %1 = llm.slice %x[32] : (tensor<?x48xf32>) -> tensor<?x16xf32>
  %2 = llm.last_rows %x, %n : (tensor<?x48xf32>, index) -> tensor<?x48xf32>
  return %0, %1, %2 : tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x48xf32>
}

// CHECK-LABEL: func.func @group_sums(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x64xf32>
// CHECK: llm.group_sum %[[X]] {group = 32 : i64} : (tensor<?x64xf32>) -> tensor<?x2xf32>
func.func @group_sums(%x: tensor<?x64xf32>) -> tensor<?x2xf32> {
  %0 = llm.group_sum %x {group = 32 : i64} : (tensor<?x64xf32>) -> tensor<?x2xf32>
  return %0 : tensor<?x2xf32>
}

// CHECK-LABEL: func.func @rope(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x64xf32>, %[[START:.+]]: index
// CHECK: llm.rope %[[X]], %[[START]] {head_dim = 16 : i64, theta = 1.000000e+04 : f64} : (tensor<?x64xf32>, index) -> tensor<?x64xf32>
// CHECK: llm.rope %[[X]], %[[START]] {head_dim = 32 : i64, high_freq_factor = 4.000000e+00 : f64, low_freq_factor = 1.000000e+00 : f64, original_max_positions = 8192 : i64, scaling_factor = 8.000000e+00 : f64, theta = 5.000000e+05 : f64} : (tensor<?x64xf32>, index) -> tensor<?x64xf32>
func.func @rope(%x: tensor<?x64xf32>, %start: index) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %0 = llm.rope %x, %start {head_dim = 16 : i64, theta = 10000.0 : f64} : (tensor<?x64xf32>, index) -> tensor<?x64xf32>
  %1 = llm.rope %x, %start {head_dim = 32 : i64, theta = 500000.0 : f64, scaling_factor = 8.0 : f64, low_freq_factor = 1.0 : f64, high_freq_factor = 4.0 : f64, original_max_positions = 8192 : i64} : (tensor<?x64xf32>, index) -> tensor<?x64xf32>
  return %0, %1 : tensor<?x64xf32>, tensor<?x64xf32>
}

// CHECK-LABEL: func.func @attention(
// CHECK-SAME: %[[Q:[^:]+]]: tensor<?x64xf32>, %[[K:[^:]+]]: tensor<?x32xf32>, %[[V:[^:]+]]: tensor<?x32xf32>, %[[CACHE:[^:]+]]: !llm.kv_cache, %[[LAYER:[^:]+]]: index, %[[START:[^:]+]]: index
// CHECK: llm.attention %[[Q]], %[[K]], %[[V]], %[[CACHE]][%[[LAYER]]] at %[[START]] {head_dim = 16 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64} : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, !llm.kv_cache, index, index) -> tensor<?x64xf32>
func.func @attention(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %cache: !llm.kv_cache, %layer: index, %start: index) -> tensor<?x64xf32> {
  %0 = llm.attention %q, %k, %v, %cache[%layer] at %start {num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64} : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, !llm.kv_cache, index, index) -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// CHECK-LABEL: func.func @elementwise(
// CHECK-SAME: %[[A:[^:]+]]: tensor<?x32xf32>, %[[B:[^:]+]]: tensor<?x32xf32>, %[[GU:[^:]+]]: tensor<?x64xf32>
// CHECK: %[[SUM:.+]] = llm.add %[[A]], %[[B]] : tensor<?x32xf32>
// CHECK: %[[ACT:.+]] = llm.silu %[[SUM]] : tensor<?x32xf32>
// CHECK: %[[PROD:.+]] = llm.mul %[[ACT]], %[[B]] : tensor<?x32xf32>
// CHECK: llm.swiglu %[[GU]] : (tensor<?x64xf32>) -> tensor<?x32xf32>
func.func @elementwise(%a: tensor<?x32xf32>, %b: tensor<?x32xf32>, %gu: tensor<?x64xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>) {
  %0 = llm.add %a, %b : tensor<?x32xf32>
  %1 = llm.silu %0 : tensor<?x32xf32>
  %2 = llm.mul %1, %b : tensor<?x32xf32>
  %3 = llm.swiglu %gu : (tensor<?x64xf32>) -> tensor<?x32xf32>
  return %2, %3 : tensor<?x32xf32>, tensor<?x32xf32>
}

// CHECK-LABEL: func.func private @cache_type(!llm.kv_cache) -> !llm.kv_cache
func.func private @cache_type(!llm.kv_cache) -> !llm.kv_cache
