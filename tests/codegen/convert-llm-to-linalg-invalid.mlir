// RUN: llm-opt %s --convert-llm-to-linalg --split-input-file --verify-diagnostics

llm.param @w : tensor<16x16xf32> {layers = 0 : i64, sources = ["w"]}
func.func @unplaced(%tid: index, %nt: index, %x: tensor<?x16xf32>, %cap: index, %wts: memref<?xi8>, %kv: !llm.kv_cache, %scr: memref<?xi8>) -> tensor<?x16xf32> {
  // expected-error @+2 {{parameter has no place in the weight blob; run llm-plan-weights first}}
  // expected-error @+1 {{failed to legalize operation 'llm.weight'}}
  %w = llm.weight @w : tensor<16x16xf32>
  %y = llm.linear %x, %w : (tensor<?x16xf32>, tensor<16x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

llm.param @w : tensor<16x16xf32> {layers = 0 : i64, sources = ["w"], llm.layout = #llm.packed_layout<offset = 0, layer_stride = 1024>}
func.func @no_abi(%x: tensor<?x16xf32>) -> tensor<?x16xf32> {
  // expected-error @+2 {{the enclosing function does not have llmc's calling convention; run llm-materialize-abi first}}
  // expected-error @+1 {{failed to legalize operation 'llm.weight'}}
  %w = llm.weight @w : tensor<16x16xf32>
  %y = llm.linear %x, %w : (tensor<?x16xf32>, tensor<16x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

func.func @unknown_tensor_op(%tid: index, %nt: index, %x: tensor<?x16xf32>, %cap: index, %wts: memref<?xi8>, %kv: !llm.kv_cache, %scr: memref<?xi8>) -> tensor<?x16xf32> {
  // expected-error @+1 {{failed to legalize operation 'tensor.empty'}}
  %e = tensor.empty() : tensor<4x16xf32>
  return %x : tensor<?x16xf32>
}
