// RUN: llm-opt %s --llm-select-strategy --split-input-file | FileCheck %s
// RUN: llm-opt %s --llm-select-strategy=matmul-precision=f32 --split-input-file | FileCheck %s --check-prefix=EXACT

// AVX-512 (512-bit vectors, 32 registers): bf16 weights take 8 rows of 2
// registers (32 f32 lanes) per tile (a widened weight vector serves 8
// rows); matrices narrower than 32 outputs get one-register blocks.

// CHECK-LABEL: llm.param @wide : tensor<96x64xbf16>
// CHECK-SAME: llm.layout = #llm.packed_layout<block = 32>
// CHECK-LABEL: llm.param @narrow : tensor<24x64xbf16>
// CHECK-SAME: llm.layout = #llm.packed_layout<block = 16>
// CHECK-LABEL: llm.param @norm : tensor<64xf32>
// CHECK-NOT: block
// CHECK-SAME: {layers = 2 : i64, sources = ["norm"]}
// CHECK-LABEL: func.func @avx512(
// CHECK: llm.linear %{{.+}}, %{{.+}} {llm.lowering_config = #llm.lowering_config<tiles = [8, 32, 64]>} : (tensor<?x64xf32>, tensor<96x64xbf16>)
// CHECK: llm.linear %{{.+}}, %{{.+}} {llm.lowering_config = #llm.lowering_config<tiles = [8, 16, 64]>} : (tensor<?x64xf32>, tensor<24x64xbf16>)
module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "sapphirerapids", features = "+avx512f", vector_bits = 512, vector_registers = 32, l1_bytes = 49152, l2_bytes = 2097152>} {
  llm.param @wide : tensor<96x64xbf16> {layers = 2 : i64, sources = ["wide"]}
  llm.param @narrow : tensor<24x64xbf16> {layers = 0 : i64, sources = ["narrow"]}
  llm.param @norm : tensor<64xf32> {layers = 2 : i64, sources = ["norm"]}
  func.func @avx512(%x: tensor<?x64xf32>, %layer: index) -> (tensor<?x96xf32>, tensor<?x24xf32>) {
    %w = llm.weight @wide[%layer] : tensor<96x64xbf16>
    %y = llm.linear %x, %w : (tensor<?x64xf32>, tensor<96x64xbf16>) -> tensor<?x96xf32>
    %n = llm.weight @narrow : tensor<24x64xbf16>
    %z = llm.linear %x, %n : (tensor<?x64xf32>, tensor<24x64xbf16>) -> tensor<?x24xf32>
    return %y, %z : tensor<?x96xf32>, tensor<?x24xf32>
  }
}

// -----

// AVX2 (256-bit vectors, 16 registers): 4 rows of 2 registers (16 lanes);
// a matrix narrower than 16 outputs gets 8-row blocks.

// CHECK-LABEL: llm.param @wide : tensor<96x64xf32>
// CHECK-SAME: llm.layout = #llm.packed_layout<block = 16>
// CHECK-LABEL: llm.param @narrow : tensor<12x64xf32>
// CHECK-SAME: llm.layout = #llm.packed_layout<block = 8>
// CHECK-LABEL: func.func @avx2(
// CHECK: llm.linear %{{.+}}, %{{.+}} {llm.lowering_config = #llm.lowering_config<tiles = [4, 16, 64]>} : (tensor<?x64xf32>, tensor<96x64xf32>)
// CHECK: llm.linear %{{.+}}, %{{.+}} {llm.lowering_config = #llm.lowering_config<tiles = [4, 8, 64]>} : (tensor<?x64xf32>, tensor<12x64xf32>)
module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "znver3", features = "+avx2", vector_bits = 256, vector_registers = 16, l1_bytes = 32768, l2_bytes = 524288>} {
  llm.param @wide : tensor<96x64xf32> {layers = 0 : i64, sources = ["wide"]}
  llm.param @narrow : tensor<12x64xf32> {layers = 0 : i64, sources = ["narrow"]}
  func.func @avx2(%x: tensor<?x64xf32>) -> (tensor<?x96xf32>, tensor<?x12xf32>) {
    %w = llm.weight @wide : tensor<96x64xf32>
    %y = llm.linear %x, %w : (tensor<?x64xf32>, tensor<96x64xf32>) -> tensor<?x96xf32>
    %n = llm.weight @narrow : tensor<12x64xf32>
    %z = llm.linear %x, %n : (tensor<?x64xf32>, tensor<12x64xf32>) -> tensor<?x12xf32>
    return %y, %z : tensor<?x96xf32>, tensor<?x12xf32>
  }
}

// -----

// A parameter read by two projections keeps the block it already has (a tied
// embedding shares one packed layout), and both linears use it.

// CHECK-LABEL: llm.param @shared : tensor<64x64xbf16>
// CHECK-SAME: llm.layout = #llm.packed_layout<block = 8>
// CHECK-LABEL: func.func @existing_block(
// CHECK: llm.linear %{{.+}}, %{{.+}} {llm.lowering_config = #llm.lowering_config<tiles = [4, 8, 64]>}
// CHECK: llm.linear %{{.+}}, %{{.+}} {llm.lowering_config = #llm.lowering_config<tiles = [4, 8, 64]>}
module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "znver3", features = "+avx2", vector_bits = 256, vector_registers = 16, l1_bytes = 32768, l2_bytes = 524288>} {
  llm.param @shared : tensor<64x64xbf16> {layers = 0 : i64, sources = ["shared"], llm.layout = #llm.packed_layout<block = 8>}
  func.func @existing_block(%x: tensor<?x64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
    %w = llm.weight @shared : tensor<64x64xbf16>
    %y = llm.linear %x, %w : (tensor<?x64xf32>, tensor<64x64xbf16>) -> tensor<?x64xf32>
    %w2 = llm.weight @shared : tensor<64x64xbf16>
    %z = llm.linear %y, %w2 : (tensor<?x64xf32>, tensor<64x64xbf16>) -> tensor<?x64xf32>
    return %y, %z : tensor<?x64xf32>, tensor<?x64xf32>
  }
}

// -----

// Zen 5 (AVX512-BF16): bf16 weights are interleaved by pairs for vdpbf16ps
// by default, f32 ones are not. Float weights take tiles of 8 rows (16
// accumulators; a power of two, so that a prefill packs its inputs). The
// depth step keeps a tile's weight panel and
// bf16 input rows in half of the L1 (2048 deep: 256, since 8 x 2 + 32 x 2
// bytes per column of depth fit 307 times in 24 KiB).

// CHECK-LABEL: llm.param @deep : tensor<96x2048xbf16>
// CHECK-SAME: llm.layout = #llm.packed_layout<block = 32, interleave = 2>
// CHECK-LABEL: llm.param @exact : tensor<96x64xf32>
// CHECK-SAME: llm.layout = #llm.packed_layout<block = 32>
// CHECK-LABEL: func.func @zen5(
// CHECK: llm.linear {{.+}}#llm.lowering_config<tiles = [8, 32, 256]>
// CHECK: llm.linear {{.+}}#llm.lowering_config<tiles = [8, 32, 64]>
// EXACT-NOT: interleave
module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "znver5", features = "+avx512bf16,+avx512f,+avx512vl", vector_bits = 512, vector_registers = 32, l1_bytes = 49152, l2_bytes = 1048576>} {
  llm.param @deep : tensor<96x2048xbf16> {layers = 0 : i64, sources = ["deep"]}
  llm.param @exact : tensor<96x64xf32> {layers = 0 : i64, sources = ["exact"]}
  func.func @zen5(%x: tensor<?x2048xf32>, %x2: tensor<?x64xf32>) -> (tensor<?x96xf32>, tensor<?x96xf32>) {
    %w = llm.weight @deep : tensor<96x2048xbf16>
    %y = llm.linear %x, %w : (tensor<?x2048xf32>, tensor<96x2048xbf16>) -> tensor<?x96xf32>
    %e = llm.weight @exact : tensor<96x64xf32>
    %z = llm.linear %x2, %e : (tensor<?x64xf32>, tensor<96x64xf32>) -> tensor<?x96xf32>
    return %y, %z : tensor<?x96xf32>, tensor<?x96xf32>
  }
}
