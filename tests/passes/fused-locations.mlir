// RUN: llm-opt %s --llm-fold-rmsnorm --llm-fuse-gate-up --llm-fuse-qkv --split-input-file --mlir-print-debuginfo --mlir-print-local-scope | FileCheck %s

// A fused op (and its fused parameter) is located at all of its sources, so
// diagnostics and kernel names still point at the model's modules.

// CHECK: llm.param @wq_fused {{.*}} loc(fused["q_proj", "k_proj", "v_proj"])
// CHECK-LABEL: func.func @qkv(
// CHECK: llm.weight @wq_fused{{.*}} loc(fused["q_proj", "k_proj", "v_proj"])
// CHECK: llm.linear {{.*}} loc(fused["q_proj", "k_proj", "v_proj"])
// CHECK: llm.slice {{.*}} loc("q_proj")
// CHECK: llm.slice {{.*}} loc("k_proj")
// CHECK: llm.slice {{.*}} loc("v_proj")
llm.param @wq : tensor<32x32xbf16> {layers = 0 : i64, sources = ["q"]} loc("q_proj")
llm.param @wk : tensor<16x32xbf16> {layers = 0 : i64, sources = ["k"]} loc("k_proj")
llm.param @wv : tensor<16x32xbf16> {layers = 0 : i64, sources = ["v"]} loc("v_proj")
func.func @qkv(%x: tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x16xf32>) {
  %wq = llm.weight @wq : tensor<32x32xbf16> loc("q_proj")
  %q = llm.linear %x, %wq : (tensor<?x32xf32>, tensor<32x32xbf16>) -> tensor<?x32xf32> loc("q_proj")
  %wk = llm.weight @wk : tensor<16x32xbf16> loc("k_proj")
  %k = llm.linear %x, %wk : (tensor<?x32xf32>, tensor<16x32xbf16>) -> tensor<?x16xf32> loc("k_proj")
  %wv = llm.weight @wv : tensor<16x32xbf16> loc("v_proj")
  %v = llm.linear %x, %wv : (tensor<?x32xf32>, tensor<16x32xbf16>) -> tensor<?x16xf32> loc("v_proj")
  return %q, %k, %v : tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x16xf32>
}

// -----

// CHECK: llm.param @w_gate_up {{.*}} loc(fused["gate_proj", "up_proj"])
// CHECK-LABEL: func.func @swiglu(
// CHECK: llm.linear {{.*}} loc(fused["gate_proj", "up_proj"])
// CHECK: llm.swiglu {{.*}} loc(fused["act_fn", "mlp"])
llm.param @w_gate : tensor<64x32xbf16> {layers = 0 : i64, sources = ["gate"]} loc("gate_proj")
llm.param @w_up : tensor<64x32xbf16> {layers = 0 : i64, sources = ["up"]} loc("up_proj")
func.func @swiglu(%x: tensor<?x32xf32>) -> tensor<?x64xf32> {
  %wg = llm.weight @w_gate : tensor<64x32xbf16> loc("gate_proj")
  %g = llm.linear %x, %wg : (tensor<?x32xf32>, tensor<64x32xbf16>) -> tensor<?x64xf32> loc("gate_proj")
  %a = llm.silu %g : tensor<?x64xf32> loc("act_fn")
  %wu = llm.weight @w_up : tensor<64x32xbf16> loc("up_proj")
  %u = llm.linear %x, %wu : (tensor<?x32xf32>, tensor<64x32xbf16>) -> tensor<?x64xf32> loc("up_proj")
  %y = llm.mul %a, %u : tensor<?x64xf32> loc("mlp")
  return %y : tensor<?x64xf32>
}

// -----

// CHECK: llm.param @wo{{.*}} scale = "g"{{.*}} loc(fused["norm", "o_proj"])
// CHECK-LABEL: func.func @folded(
// CHECK: llm.rms_inv {{.*}} loc("norm")
// CHECK: llm.linear {{.*}} loc(fused["norm", "o_proj"])
llm.param @g : tensor<32xf32> {layers = 0 : i64, sources = ["g"]} loc("norm")
llm.param @wo : tensor<16x32xf32> {layers = 0 : i64, sources = ["o"]} loc("o_proj")
func.func @folded(%x: tensor<?x32xf32>) -> tensor<?x16xf32> {
  %g = llm.weight @g : tensor<32xf32> loc("norm")
  %n = llm.rms_norm %x, %g {eps = 1.0e-05 : f64} : (tensor<?x32xf32>, tensor<32xf32>) -> tensor<?x32xf32> loc("norm")
  %wo = llm.weight @wo : tensor<16x32xf32> loc("o_proj")
  %o = llm.linear %n, %wo : (tensor<?x32xf32>, tensor<16x32xf32>) -> tensor<?x16xf32> loc("o_proj")
  return %o : tensor<?x16xf32>
}
