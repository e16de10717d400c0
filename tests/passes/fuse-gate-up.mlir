// RUN: llm-opt %s --llm-fuse-gate-up --split-input-file | FileCheck %s

// mul(silu(linear(x, Wg)), linear(x, Wu)) -> swiglu(linear(x, [Wg; Wu])).

// CHECK-NOT: llm.param
// CHECK: llm.param @[[GU:w_gate_up]] : tensor<128x32xbf16> {layers = 2 : i64, sources = ["layers.{layer}.mlp.gate_proj.weight", "layers.{layer}.mlp.up_proj.weight"]}
// CHECK-NOT: llm.param
// CHECK-LABEL: func.func @swiglu(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x32xf32>, %[[L:[^:]+]]: index
// CHECK: %[[W:.+]] = llm.weight @[[GU]][%[[L]]] : tensor<128x32xbf16>
// CHECK: %[[Y:.+]] = llm.linear %[[X]], %[[W]] : (tensor<?x32xf32>, tensor<128x32xbf16>) -> tensor<?x128xf32>
// CHECK: %[[R:.+]] = llm.swiglu %[[Y]] : (tensor<?x128xf32>) -> tensor<?x64xf32>
// CHECK-NOT: llm.silu
// CHECK-NOT: llm.mul
// CHECK: return %[[R]]
llm.param @w_gate : tensor<64x32xbf16> {layers = 2 : i64, sources = ["layers.{layer}.mlp.gate_proj.weight"]}
llm.param @w_up : tensor<64x32xbf16> {layers = 2 : i64, sources = ["layers.{layer}.mlp.up_proj.weight"]}
func.func @swiglu(%x: tensor<?x32xf32>, %layer: index) -> tensor<?x64xf32> {
  %wg = llm.weight @w_gate[%layer] : tensor<64x32xbf16>
  %g = llm.linear %x, %wg : (tensor<?x32xf32>, tensor<64x32xbf16>) -> tensor<?x64xf32>
  %a = llm.silu %g : tensor<?x64xf32>
  %wu = llm.weight @w_up[%layer] : tensor<64x32xbf16>
  %u = llm.linear %x, %wu : (tensor<?x32xf32>, tensor<64x32xbf16>) -> tensor<?x64xf32>
  %y = llm.mul %a, %u : tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// After llm-fold-rmsnorm (f32 weights carrying the norm as their `scale`)
// gate and up share a row scale: the fused projection keeps it and the
// concatenated parameter keeps the `scale`.

// CHECK: llm.param @[[GU:w_gate_up]] : tensor<128x32xf32> {layers = 0 : i64, scale = "post_attention_layernorm.weight", sources = ["gate", "up"]}
// CHECK-LABEL: func.func @scaled(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x32xf32>, %[[S:[^:]+]]: tensor<?xf32>
// CHECK: %[[W:.+]] = llm.weight @[[GU]] : tensor<128x32xf32>
// CHECK: %[[Y:.+]] = llm.linear %[[X]], %[[W]] scale %[[S]] : (tensor<?x32xf32>, tensor<128x32xf32>, tensor<?xf32>) -> tensor<?x128xf32>
// CHECK: %[[R:.+]] = llm.swiglu %[[Y]] : (tensor<?x128xf32>) -> tensor<?x64xf32>
// CHECK: return %[[R]]
llm.param @w_gate : tensor<64x32xf32> {layers = 0 : i64, scale = "post_attention_layernorm.weight", sources = ["gate"]}
llm.param @w_up : tensor<64x32xf32> {layers = 0 : i64, scale = "post_attention_layernorm.weight", sources = ["up"]}
func.func @scaled(%x: tensor<?x32xf32>, %s: tensor<?xf32>) -> tensor<?x64xf32> {
  %wg = llm.weight @w_gate : tensor<64x32xf32>
  %g = llm.linear %x, %wg scale %s : (tensor<?x32xf32>, tensor<64x32xf32>, tensor<?xf32>) -> tensor<?x64xf32>
  %a = llm.silu %g : tensor<?x64xf32>
  %wu = llm.weight @w_up : tensor<64x32xf32>
  %u = llm.linear %x, %wu scale %s : (tensor<?x32xf32>, tensor<64x32xf32>, tensor<?xf32>) -> tensor<?x64xf32>
  %y = llm.mul %a, %u : tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// Gate and up of different layers are not fused.

// CHECK-NOT: w_gate_up
// CHECK-LABEL: func.func @different_layer(
// CHECK: llm.silu
// CHECK: llm.mul
// CHECK-NOT: llm.swiglu
llm.param @w_gate : tensor<64x32xbf16> {layers = 2 : i64, sources = ["layers.{layer}.mlp.gate_proj.weight"]}
llm.param @w_up : tensor<64x32xbf16> {layers = 2 : i64, sources = ["layers.{layer}.mlp.up_proj.weight"]}
func.func @different_layer(%x: tensor<?x32xf32>, %l0: index, %l1: index) -> tensor<?x64xf32> {
  %wg = llm.weight @w_gate[%l0] : tensor<64x32xbf16>
  %g = llm.linear %x, %wg : (tensor<?x32xf32>, tensor<64x32xbf16>) -> tensor<?x64xf32>
  %a = llm.silu %g : tensor<?x64xf32>
  %wu = llm.weight @w_up[%l1] : tensor<64x32xbf16>
  %u = llm.linear %x, %wu : (tensor<?x32xf32>, tensor<64x32xbf16>) -> tensor<?x64xf32>
  %y = llm.mul %a, %u : tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// Gate and up of different inputs are not fused.

// CHECK-NOT: w_gate_up
// CHECK-LABEL: func.func @different_input(
// CHECK: llm.silu
// CHECK: llm.mul
// CHECK-NOT: llm.swiglu
llm.param @w_gate : tensor<64x32xbf16> {layers = 0 : i64, sources = ["gate"]}
llm.param @w_up : tensor<64x32xbf16> {layers = 0 : i64, sources = ["up"]}
func.func @different_input(%x: tensor<?x32xf32>, %z: tensor<?x32xf32>) -> tensor<?x64xf32> {
  %wg = llm.weight @w_gate : tensor<64x32xbf16>
  %g = llm.linear %x, %wg : (tensor<?x32xf32>, tensor<64x32xbf16>) -> tensor<?x64xf32>
  %a = llm.silu %g : tensor<?x64xf32>
  %wu = llm.weight @w_up : tensor<64x32xbf16>
  %u = llm.linear %z, %wu : (tensor<?x32xf32>, tensor<64x32xbf16>) -> tensor<?x64xf32>
  %y = llm.mul %a, %u : tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// The gate projection is also returned, so it must stay materialized.

// CHECK-NOT: w_gate_up
// CHECK-LABEL: func.func @gate_escapes(
// CHECK: %[[G:.+]] = llm.linear
// CHECK: llm.silu %[[G]]
// CHECK: llm.mul
// CHECK-NOT: llm.swiglu
llm.param @w_gate : tensor<64x32xbf16> {layers = 0 : i64, sources = ["gate"]}
llm.param @w_up : tensor<64x32xbf16> {layers = 0 : i64, sources = ["up"]}
func.func @gate_escapes(%x: tensor<?x32xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %wg = llm.weight @w_gate : tensor<64x32xbf16>
  %g = llm.linear %x, %wg : (tensor<?x32xf32>, tensor<64x32xbf16>) -> tensor<?x64xf32>
  %a = llm.silu %g : tensor<?x64xf32>
  %wu = llm.weight @w_up : tensor<64x32xbf16>
  %u = llm.linear %x, %wu : (tensor<?x32xf32>, tensor<64x32xbf16>) -> tensor<?x64xf32>
  %y = llm.mul %a, %u : tensor<?x64xf32>
  return %y, %g : tensor<?x64xf32>, tensor<?x64xf32>
}

// -----

// The activation has a second user: silu(gate) must stay materialized.

// CHECK-NOT: w_gate_up
// CHECK-LABEL: func.func @silu_escapes(
// CHECK: %[[A:.+]] = llm.silu
// CHECK: llm.mul %[[A]]
// CHECK-NOT: llm.swiglu
llm.param @w_gate : tensor<64x32xbf16> {layers = 0 : i64, sources = ["gate"]}
llm.param @w_up : tensor<64x32xbf16> {layers = 0 : i64, sources = ["up"]}
func.func @silu_escapes(%x: tensor<?x32xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %wg = llm.weight @w_gate : tensor<64x32xbf16>
  %g = llm.linear %x, %wg : (tensor<?x32xf32>, tensor<64x32xbf16>) -> tensor<?x64xf32>
  %a = llm.silu %g : tensor<?x64xf32>
  %wu = llm.weight @w_up : tensor<64x32xbf16>
  %u = llm.linear %x, %wu : (tensor<?x32xf32>, tensor<64x32xbf16>) -> tensor<?x64xf32>
  %y = llm.mul %a, %u : tensor<?x64xf32>
  return %y, %a : tensor<?x64xf32>, tensor<?x64xf32>
}

// -----

// A plain product of two projections (no silu) is not a SwiGLU.

// CHECK-NOT: w_gate_up
// CHECK-LABEL: func.func @no_silu(
// CHECK: llm.mul
// CHECK-NOT: llm.swiglu
llm.param @w_gate : tensor<64x32xbf16> {layers = 0 : i64, sources = ["gate"]}
llm.param @w_up : tensor<64x32xbf16> {layers = 0 : i64, sources = ["up"]}
func.func @no_silu(%x: tensor<?x32xf32>) -> tensor<?x64xf32> {
  %wg = llm.weight @w_gate : tensor<64x32xbf16>
  %g = llm.linear %x, %wg : (tensor<?x32xf32>, tensor<64x32xbf16>) -> tensor<?x64xf32>
  %wu = llm.weight @w_up : tensor<64x32xbf16>
  %u = llm.linear %x, %wu : (tensor<?x32xf32>, tensor<64x32xbf16>) -> tensor<?x64xf32>
  %y = llm.mul %g, %u : tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// Asymmetric quantized gate and up (GGUF's Q4_K): each projection carries
// its group offsets. The matrices fuse, and so do their offsets.

// CHECK-DAG: llm.param @[[GUO:w_gate_offsets_up]] : tensor<128x1xf16> {layers = 0 : i64, offsets_of = array<i64: 4, 32>, sources = ["gate", "up"]}
// CHECK-DAG: llm.param @[[GU:w_gate_up]] : tensor<128x32xi4> {asymmetric, group = 32 : i64, layers = 0 : i64, sources = ["gate", "up"]}
// CHECK-LABEL: func.func @asymmetric(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x32xf32>
// CHECK-DAG: %[[W:.+]] = llm.weight @[[GU]] : tensor<128x32xi4>
// CHECK-DAG: %[[O:.+]] = llm.weight @[[GUO]] : tensor<128x1xf16>
// CHECK: %[[Y:.+]] = llm.linear %[[X]], %[[W]] offsets %[[O]] : (tensor<?x32xf32>, tensor<128x32xi4>, tensor<128x1xf16>) -> tensor<?x128xf32>
// CHECK: %[[R:.+]] = llm.swiglu %[[Y]] : (tensor<?x128xf32>) -> tensor<?x64xf32>
// CHECK: return %[[R]]
llm.param @w_gate_offsets : tensor<64x1xf16> {layers = 0 : i64, offsets_of = array<i64: 4, 32>, sources = ["gate"]}
llm.param @w_gate : tensor<64x32xi4> {asymmetric, group = 32 : i64, layers = 0 : i64, sources = ["gate"]}
llm.param @w_up_offsets : tensor<64x1xf16> {layers = 0 : i64, offsets_of = array<i64: 4, 32>, sources = ["up"]}
llm.param @w_up : tensor<64x32xi4> {asymmetric, group = 32 : i64, layers = 0 : i64, sources = ["up"]}
func.func @asymmetric(%x: tensor<?x32xf32>) -> tensor<?x64xf32> {
  %wg = llm.weight @w_gate : tensor<64x32xi4>
  %og = llm.weight @w_gate_offsets : tensor<64x1xf16>
  %g = llm.linear %x, %wg offsets %og : (tensor<?x32xf32>, tensor<64x32xi4>, tensor<64x1xf16>) -> tensor<?x64xf32>
  %a = llm.silu %g : tensor<?x64xf32>
  %wu = llm.weight @w_up : tensor<64x32xi4>
  %ou = llm.weight @w_up_offsets : tensor<64x1xf16>
  %u = llm.linear %x, %wu offsets %ou : (tensor<?x32xf32>, tensor<64x32xi4>, tensor<64x1xf16>) -> tensor<?x64xf32>
  %y = llm.mul %a, %u : tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// Gate with offsets, up without: nothing fuses.

// CHECK-LABEL: func.func @half_asymmetric(
// CHECK-NOT: llm.swiglu
// CHECK: llm.mul
llm.param @w_gate_offsets : tensor<64x1xf16> {layers = 0 : i64, offsets_of = array<i64: 4, 32>, sources = ["gate"]}
llm.param @w_gate : tensor<64x32xi4> {asymmetric, group = 32 : i64, layers = 0 : i64, sources = ["gate"]}
llm.param @w_up : tensor<64x32xi4> {group = 32 : i64, layers = 0 : i64, sources = ["up"]}
func.func @half_asymmetric(%x: tensor<?x32xf32>) -> tensor<?x64xf32> {
  %wg = llm.weight @w_gate : tensor<64x32xi4>
  %og = llm.weight @w_gate_offsets : tensor<64x1xf16>
  %g = llm.linear %x, %wg offsets %og : (tensor<?x32xf32>, tensor<64x32xi4>, tensor<64x1xf16>) -> tensor<?x64xf32>
  %a = llm.silu %g : tensor<?x64xf32>
  %wu = llm.weight @w_up : tensor<64x32xi4>
  %u = llm.linear %x, %wu : (tensor<?x32xf32>, tensor<64x32xi4>) -> tensor<?x64xf32>
  %y = llm.mul %a, %u : tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// The same gate and up fused in two layer functions (layers whose other
// weights differ in type have their own) read one concatenated parameter.

// CHECK: llm.param @[[GU:w_gate_up]] : tensor<128x32xbf16>
// CHECK-NOT: llm.param
// CHECK-LABEL: func.func @first(
// CHECK: llm.weight @[[GU]][
// CHECK-LABEL: func.func @second(
// CHECK: llm.weight @[[GU]][
llm.param @w_gate : tensor<64x32xbf16> {layers = 2 : i64, sources = ["layers.{layer}.mlp.gate_proj.weight"]}
llm.param @w_up : tensor<64x32xbf16> {layers = 2 : i64, sources = ["layers.{layer}.mlp.up_proj.weight"]}
func.func @first(%x: tensor<?x32xf32>, %layer: index) -> tensor<?x64xf32> {
  %wg = llm.weight @w_gate[%layer] : tensor<64x32xbf16>
  %g = llm.linear %x, %wg : (tensor<?x32xf32>, tensor<64x32xbf16>) -> tensor<?x64xf32>
  %a = llm.silu %g : tensor<?x64xf32>
  %wu = llm.weight @w_up[%layer] : tensor<64x32xbf16>
  %u = llm.linear %x, %wu : (tensor<?x32xf32>, tensor<64x32xbf16>) -> tensor<?x64xf32>
  %y = llm.mul %a, %u : tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
func.func @second(%x: tensor<?x32xf32>, %layer: index) -> tensor<?x64xf32> {
  %wg = llm.weight @w_gate[%layer] : tensor<64x32xbf16>
  %g = llm.linear %x, %wg : (tensor<?x32xf32>, tensor<64x32xbf16>) -> tensor<?x64xf32>
  %a = llm.silu %g : tensor<?x64xf32>
  %wu = llm.weight @w_up[%layer] : tensor<64x32xbf16>
  %u = llm.linear %x, %wu : (tensor<?x32xf32>, tensor<64x32xbf16>) -> tensor<?x64xf32>
  %y = llm.mul %a, %u : tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
