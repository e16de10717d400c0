// RUN: not llm-opt %s --split-input-file --llm-distribute-threads 2>&1 | FileCheck %s

// Diagnostics point at the model module an op was imported from (the
// frontend locates every op at its Hugging Face module), for pass errors and
// verifier errors alike.

// CHECK: error: loc("model.layers.{layer}.self_attn"): llm-distribute-threads: only 1-D forall loops without outputs are supported
func.func @attention(%tid: index, %nt: index, %buf: memref<4x4xf32>) {
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  scf.forall (%i, %j) in (%c4, %c4) {
    memref.store %zero, %buf[%i, %j] : memref<4x4xf32>
  } loc("model.layers.{layer}.self_attn")
  return
}

// -----

// CHECK: error: loc("model.layers.{layer}.mlp.down_proj"): 'llm.linear' op weight has 16 input columns but the input has 32
func.func @down_proj(%tid: index, %nt: index, %x: tensor<?x32xf32>, %w: tensor<48x16xbf16>) -> tensor<?x48xf32> {
  %0 = llm.linear %x, %w : (tensor<?x32xf32>, tensor<48x16xbf16>) -> tensor<?x48xf32> loc("model.layers.{layer}.mlp.down_proj")
  return %0 : tensor<?x48xf32>
}
