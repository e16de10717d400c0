// RUN: llm-opt %s --llm-select-strategy --split-input-file | FileCheck %s

// NEON (128-bit, 32 registers): blocks of 4 registers (16 lanes), 6 rows;
// narrower matrices get one-register blocks. No scalable lanes.

// CHECK-LABEL: llm.param @wide : tensor<96x64xbf16>
// CHECK-SAME: llm.layout = #llm.packed_layout<block = 16>
// CHECK-LABEL: llm.param @narrow : tensor<12x64xbf16>
// CHECK-SAME: llm.layout = #llm.packed_layout<block = 4>
// CHECK-LABEL: func.func @neon(
// CHECK: llm.linear %{{.+}}, %{{.+}} {llm.lowering_config = #llm.lowering_config<tiles = [6, 16, 64]>} : (tensor<?x64xf32>, tensor<96x64xbf16>)
// CHECK: llm.linear %{{.+}}, %{{.+}} {llm.lowering_config = #llm.lowering_config<tiles = [6, 4, 64]>} : (tensor<?x64xf32>, tensor<12x64xbf16>)
// CHECK-NOT: scalable_lanes
module attributes {llm.target = #llm.target<triple = "aarch64-unknown-linux-gnu", cpu = "neoverse-n1", features = "", vector_bits = 128, vector_registers = 32, scalable = false, l1_bytes = 65536, l2_bytes = 1048576>} {
  llm.param @wide : tensor<96x64xbf16> {layers = 0 : i64, sources = ["wide"]}
  llm.param @narrow : tensor<12x64xbf16> {layers = 0 : i64, sources = ["narrow"]}
  func.func @neon(%x: tensor<?x64xf32>) -> (tensor<?x96xf32>, tensor<?x12xf32>) {
    %w = llm.weight @wide : tensor<96x64xbf16>
    %y = llm.linear %x, %w : (tensor<?x64xf32>, tensor<96x64xbf16>) -> tensor<?x96xf32>
    %n = llm.weight @narrow : tensor<12x64xbf16>
    %z = llm.linear %x, %n : (tensor<?x64xf32>, tensor<12x64xbf16>) -> tensor<?x12xf32>
    return %y, %z : tensor<?x96xf32>, tensor<?x12xf32>
  }
}

// -----

// SVE: the packed block stays 16 lanes whatever the hardware's vector length;
// tiles walk it in chunks of 4 x vscale lanes (scalable_lanes = 4), 8 rows.
// Half of the 64 KiB L1 cuts the 4096-deep reduction into steps of 512.

// CHECK-LABEL: llm.param @wide : tensor<96x4096xbf16>
// CHECK-SAME: llm.layout = #llm.packed_layout<block = 16>
// CHECK-LABEL: func.func @sve(
// CHECK: llm.linear %{{.+}}, %{{.+}} {llm.lowering_config = #llm.lowering_config<tiles = [8, 16, 512], scalable_lanes = 4>}
module attributes {llm.target = #llm.target<triple = "aarch64-unknown-linux-gnu", cpu = "neoverse-v1", features = "+sve", vector_bits = 128, vector_registers = 32, scalable = true, l1_bytes = 65536, l2_bytes = 131072>} {
  llm.param @wide : tensor<96x4096xbf16> {layers = 0 : i64, sources = ["wide"]}
  func.func @sve(%x: tensor<?x4096xf32>) -> tensor<?x96xf32> {
    %w = llm.weight @wide : tensor<96x4096xbf16>
    %y = llm.linear %x, %w : (tensor<?x4096xf32>, tensor<96x4096xbf16>) -> tensor<?x96xf32>
    return %y : tensor<?x96xf32>
  }
}

// -----

// Group offsets of an asymmetric matrix: on the 8-bit dot product (+dotprod)
// they stay in the projection (added at each group's end), stored as the
// scales are (the matrix's block); so on smmla (+i8mm).

// CHECK-LABEL: llm.param @w_offsets : tensor<32x2xf16>
// CHECK-SAME: llm.layout = #llm.packed_layout<block = 8>
// CHECK-LABEL: llm.param @w : tensor<32x64xi4>
// CHECK-SAME: llm.layout = #llm.packed_layout<block = 8, interleave = 4>
// CHECK-LABEL: func.func @offsets_dotprod(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x64xf32>
// CHECK: llm.linear %[[X]], %{{.+}} offsets %{{.+}} {llm.lowering_config = #llm.lowering_config<tiles = [{{.+}}], input_bits = 16>}
// CHECK-NOT: llm.group_sum
module attributes {llm.target = #llm.target<triple = "aarch64-unknown-linux-gnu", cpu = "cortex-a76", features = "+dotprod", vector_bits = 128, vector_registers = 32, scalable = false, l1_bytes = 65536, l2_bytes = 1048576>} {
  llm.param @w_offsets : tensor<32x2xf16> {layers = 0 : i64, offsets_of = array<i64: 4, 32>, sources = ["w"]}
  llm.param @w : tensor<32x64xi4> {asymmetric, group = 32 : i64, layers = 0 : i64, sources = ["w"]}
  func.func @offsets_dotprod(%x: tensor<?x64xf32>) -> tensor<?x32xf32> {
    %w = llm.weight @w : tensor<32x64xi4>
    %o = llm.weight @w_offsets : tensor<32x2xf16>
    %y = llm.linear %x, %w offsets %o : (tensor<?x64xf32>, tensor<32x64xi4>, tensor<32x2xf16>) -> tensor<?x32xf32>
    return %y : tensor<?x32xf32>
  }
}

// -----

// CHECK-LABEL: llm.param @w : tensor<32x64xi4>
// CHECK-SAME: llm.layout = #llm.packed_layout<block = 8, interleave = 8>
// CHECK-LABEL: func.func @offsets_i8mm(
// CHECK: llm.linear %{{.+}}, %{{.+}} offsets %{{.+}} {llm.lowering_config = #llm.lowering_config<tiles = [{{.+}}], input_bits = 16>}
// CHECK-NOT: llm.group_sum
module attributes {llm.target = #llm.target<triple = "aarch64-unknown-linux-gnu", cpu = "cortex-a76", features = "+dotprod,+i8mm", vector_bits = 128, vector_registers = 32, scalable = false, l1_bytes = 65536, l2_bytes = 1048576>} {
  llm.param @w_offsets : tensor<32x2xf16> {layers = 0 : i64, offsets_of = array<i64: 4, 32>, sources = ["w"]}
  llm.param @w : tensor<32x64xi4> {asymmetric, group = 32 : i64, layers = 0 : i64, sources = ["w"]}
  func.func @offsets_i8mm(%x: tensor<?x64xf32>) -> tensor<?x32xf32> {
    %w = llm.weight @w : tensor<32x64xi4>
    %o = llm.weight @w_offsets : tensor<32x2xf16>
    %y = llm.linear %x, %w offsets %o : (tensor<?x64xf32>, tensor<32x64xi4>, tensor<32x2xf16>) -> tensor<?x32xf32>
    return %y : tensor<?x32xf32>
  }
}

// -----

// Without an 8-bit dot product (plain NEON) the offsets become a projection
// of the input's group sums, added to the result.

// CHECK-LABEL: func.func @offsets_neon(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x64xf32>
// CHECK: %[[S:.+]] = llm.group_sum %[[X]] {group = 32 : i64} : (tensor<?x64xf32>) -> tensor<?x2xf32>
// CHECK: %[[Z:.+]] = llm.linear %[[S]], %{{.+}} {llm.lowering_config = {{.+}}} : (tensor<?x2xf32>, tensor<32x2xf16>) -> tensor<?x32xf32>
// CHECK: %[[Y:.+]] = llm.linear %[[X]], %{{.+}} {llm.lowering_config = {{.+}}} : (tensor<?x64xf32>, tensor<32x64xi4>) -> tensor<?x32xf32>
// CHECK: %[[A:.+]] = llm.add %[[Y]], %[[Z]]
// CHECK: return %[[A]]
module attributes {llm.target = #llm.target<triple = "aarch64-unknown-linux-gnu", cpu = "neoverse-n1", features = "", vector_bits = 128, vector_registers = 32, scalable = false, l1_bytes = 65536, l2_bytes = 1048576>} {
  llm.param @w_offsets : tensor<32x2xf16> {layers = 0 : i64, offsets_of = array<i64: 4, 32>, sources = ["w"]}
  llm.param @w : tensor<32x64xi4> {asymmetric, group = 32 : i64, layers = 0 : i64, sources = ["w"]}
  func.func @offsets_neon(%x: tensor<?x64xf32>) -> tensor<?x32xf32> {
    %w = llm.weight @w : tensor<32x64xi4>
    %o = llm.weight @w_offsets : tensor<32x2xf16>
    %y = llm.linear %x, %w offsets %o : (tensor<?x64xf32>, tensor<32x64xi4>, tensor<32x2xf16>) -> tensor<?x32xf32>
    return %y : tensor<?x32xf32>
  }
}
