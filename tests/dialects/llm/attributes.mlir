// RUN: llm-opt %s --split-input-file | llm-opt --split-input-file | FileCheck %s

// Round trip of the codegen attributes in their own syntax. Parameters at
// their default (scalable = false, no GPU) are not printed; the struct
// syntax accepts any order.

// CHECK-LABEL: module attributes
// CHECK-SAME: llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "znver4", features = "+avx2,+avx512f", vector_bits = 512, vector_registers = 32, l1_bytes = 32768, l2_bytes = 1048576>
// CHECK-SAME: llm.weights_bytes = 4096 : i64
module attributes {llm.target = #llm.target<cpu = "znver4", triple = "x86_64-unknown-linux-gnu", features = "+avx2,+avx512f", vector_bits = 512, vector_registers = 32, l1_bytes = 32768, l2_bytes = 1048576, scalable = false>, llm.weights_bytes = 4096 : i64} {
}

// -----

// CHECK-LABEL: module attributes
// CHECK-SAME: #llm.target<triple = "aarch64-unknown-linux-gnu", cpu = "neoverse-v1", features = "+sve", vector_bits = 128, vector_registers = 32, l1_bytes = 65536, l2_bytes = 1048576, scalable = true>
module attributes {llm.target = #llm.target<triple = "aarch64-unknown-linux-gnu", cpu = "neoverse-v1", features = "+sve", vector_bits = 128, vector_registers = 32, l1_bytes = 65536, l2_bytes = 1048576, scalable = true>} {
}

// -----

// Room for a GPU: SMs and shared memory per block.
// CHECK-LABEL: module attributes
// CHECK-SAME: #llm.target<triple = "nvptx64-nvidia-cuda", cpu = "sm_90a", features = "+ptx80", vector_bits = 128, vector_registers = 255, l1_bytes = 262144, l2_bytes = 52428800, sm_count = 132, shared_memory_bytes = 232448>
module attributes {llm.target = #llm.target<triple = "nvptx64-nvidia-cuda", cpu = "sm_90a", features = "+ptx80", vector_bits = 128, vector_registers = 255, l1_bytes = 262144, l2_bytes = 52428800, sm_count = 132, shared_memory_bytes = 232448>} {
}

// -----

// CHECK-LABEL: llm.param @blocked
// CHECK-SAME: llm.layout = #llm.packed_layout<block = 32>
// CHECK-LABEL: llm.param @placed
// CHECK-SAME: llm.layout = #llm.packed_layout<block = 16, offset = 4096, layer_stride = 8192>
// CHECK-LABEL: llm.param @vector
// CHECK-SAME: llm.layout = #llm.packed_layout<offset = 0, layer_stride = 64>
llm.param @blocked : tensor<64x32xbf16> {layers = 0 : i64, sources = ["a"], llm.layout = #llm.packed_layout<block = 32>}
llm.param @placed : tensor<64x32xbf16> {layers = 2 : i64, sources = ["b"], llm.layout = #llm.packed_layout<layer_stride = 8192, block = 16, offset = 4096>}
llm.param @vector : tensor<32xf32> {layers = 0 : i64, sources = ["c"], llm.layout = #llm.packed_layout<offset = 0, layer_stride = 64>}

// -----

// The lowering configuration on llm.linear and on a linalg op.
// CHECK-LABEL: func.func @configs(
// CHECK: llm.linear {{.*}} {llm.lowering_config = #llm.lowering_config<tiles = [6, 32, 512]>}
// CHECK: llm.linear {{.*}} {llm.lowering_config = #llm.lowering_config<tiles = [6, 32, 512], input_bits = 16>}
// CHECK: linalg.generic
// CHECK-SAME: llm.lowering_config = #llm.lowering_config<tiles = [8, 16, 1024], scalable_lanes = 4>
#id = affine_map<(d0) -> (d0)>
func.func @configs(%x: tensor<?x32xf32>, %w: tensor<64x32xbf16>, %a: memref<16xf32>) -> tensor<?x64xf32> {
  %y = llm.linear %x, %w {llm.lowering_config = #llm.lowering_config<tiles = [6, 32, 512]>} : (tensor<?x32xf32>, tensor<64x32xbf16>) -> tensor<?x64xf32>
  %z = llm.linear %x, %w {llm.lowering_config = #llm.lowering_config<tiles = [6, 32, 512], input_bits = 16>} : (tensor<?x32xf32>, tensor<64x32xbf16>) -> tensor<?x64xf32>
  linalg.generic {indexing_maps = [#id], iterator_types = ["parallel"]} outs(%a : memref<16xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [8, 16, 1024], scalable_lanes = 4>} {
  ^bb0(%o: f32):
    linalg.yield %o : f32
  }
  return %y : tensor<?x64xf32>
}
