// RUN: llm-opt %s --convert-llm-to-linalg --split-input-file --verify-diagnostics

llm.param @w : tensor<16x16xf32> {layers = 0 : i64, sources = ["w"]}
func.func @llmc_forward(%x: tensor<?x16xf32>) -> tensor<?x16xf32> {
  // expected-error @+1 {{parameter has no place in the weight blob; run llm-plan-weights first}}
  %w = llm.weight @w : tensor<16x16xf32>
  %y = llm.linear %x, %w : (tensor<?x16xf32>, tensor<16x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

func.func @llmc_forward(%q: tensor<?x16xf32>, %cache: !llm.kv_cache, %start: index) -> tensor<?x16xf32> {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{module needs an llm.num_layers attribute to lay out the KV cache}}
  %a = llm.attention %q, %q, %q, %cache[%c0] at %start {num_heads = 1 : i64, num_kv_heads = 1 : i64, head_dim = 16 : i64} : (tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, !llm.kv_cache, index, index) -> tensor<?x16xf32>
  return %a : tensor<?x16xf32>
}

// -----

func.func @llmc_forward(%x: tensor<?x16xf32>) -> tensor<?x16xf32> {
  // expected-error @+1 {{convert-llm-to-linalg: cannot lower tensor.empty}}
  %e = tensor.empty() : tensor<4x16xf32>
  return %x : tensor<?x16xf32>
}
