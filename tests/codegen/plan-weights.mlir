// RUN: llm-opt %s --llm-plan-weights --split-input-file | FileCheck %s

// Parameters are laid out in order. Each layer's copy is padded to whole
// blocks and rounded up to 64 bytes (`layer_stride`); a stacked parameter
// takes layers * layer_stride bytes.

// CHECK-LABEL: module attributes {llm.weights_bytes = 71680 : i64}
// 300 rows in blocks of 32 -> 320 rows: 320 * 96 * 2 = 61440 bytes.
// CHECK: llm.param @embed : tensor<300x96xbf16>
// CHECK-SAME: offset = 0, layer_stride = 61440>
// 96 * 4 = 384 bytes, two layers.
// CHECK: llm.param @norm : tensor<96xf32>
// CHECK-SAME: offset = 61440, layer_stride = 384>
// 40 rows in blocks of 16 -> 48 rows: 48 * 24 * 4 = 4608 bytes, two layers.
// CHECK: llm.param @w : tensor<40x24xf32>
// CHECK-SAME: offset = 62208, layer_stride = 4608>
// 3 * 2 = 6 bytes, aligned to 64.
// CHECK: llm.param @tiny : tensor<3xf16>
// CHECK-SAME: offset = 71424, layer_stride = 64>
// 5 * 3 * 2 = 30 bytes -> 64 per layer, three layers.
// CHECK: llm.param @small : tensor<5x3xbf16>
// CHECK-SAME: offset = 71488, layer_stride = 64>
module {
  llm.param @embed : tensor<300x96xbf16> {layers = 0 : i64, sources = ["embed"], llm.layout = #llm.packed_layout<block = 32>}
  llm.param @norm : tensor<96xf32> {layers = 2 : i64, sources = ["layers.{layer}.norm"]}
  llm.param @w : tensor<40x24xf32> {layers = 2 : i64, sources = ["layers.{layer}.w"], llm.layout = #llm.packed_layout<block = 16>}
  llm.param @tiny : tensor<3xf16> {layers = 0 : i64, sources = ["tiny"]}
  llm.param @small : tensor<5x3xbf16> {layers = 3 : i64, sources = ["layers.{layer}.small"]}
}

// -----

// Without blocks the matrix is not padded; a block that divides the rows
// adds nothing.

// CHECK-LABEL: module attributes {llm.weights_bytes = 8640 : i64}
// 64 * 32 * 2 = 4096 bytes.
// CHECK: llm.param @a : tensor<64x32xbf16>
// CHECK-SAME: offset = 0, layer_stride = 4096>
// 10 * 10 * 4 = 400 bytes -> 448.
// CHECK: llm.param @b : tensor<10x10xf32>
// CHECK-SAME: offset = 8192, layer_stride = 448>
module {
  llm.param @a : tensor<64x32xbf16> {layers = 2 : i64, sources = ["layers.{layer}.a"], llm.layout = #llm.packed_layout<block = 16>}
  llm.param @b : tensor<10x10xf32> {layers = 0 : i64, sources = ["b"]}
}

// -----

// An empty module needs no weights.
// CHECK-LABEL: module attributes {llm.weights_bytes = 0 : i64}
module {
}
