// RUN: llm-opt %s --split-input-file --verify-diagnostics

// expected-error @+1 {{vector_bits must be a power of two >= 32, got 100}}
module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "generic", features = "", vector_bits = 100, vector_registers = 16, l1_bytes = 32768, l2_bytes = 524288>} {
}

// -----

// expected-error @+1 {{vector_registers, l1_bytes and l2_bytes must be positive}}
module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "generic", features = "", vector_bits = 256, vector_registers = 16, l1_bytes = 0, l2_bytes = 524288>} {
}

// -----

// expected-error @+1 {{target needs a triple}}
module attributes {llm.target = #llm.target<triple = "", cpu = "generic", features = "", vector_bits = 256, vector_registers = 16, l1_bytes = 32768, l2_bytes = 524288>} {
}

// -----

// expected-error @+1 {{struct is missing required parameter: l2_bytes}}
module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "generic", features = "", vector_bits = 256, vector_registers = 16, l1_bytes = 32768>} {
}

// -----

// expected-error @+1 {{'llm.target' must be a #llm.target}}
module attributes {llm.target = {triple = "x86_64-unknown-linux-gnu"}} {
}

// -----

module {
  // expected-error @+1 {{'llm.target' belongs on a module}}
  func.func @f() attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "generic", features = "", vector_bits = 256, vector_registers = 16, l1_bytes = 32768, l2_bytes = 524288>} {
    return
  }
}

// -----

// expected-error @+1 {{'llm.weights_bytes' must be a non-negative i64}}
module attributes {llm.weights_bytes = -4 : i64} {
}

// -----

// expected-error @+1 {{unknown llm attribute 'llm.tiles'}}
module attributes {llm.tiles = 4 : i64} {
}

// -----

// expected-error @+1 {{block must be positive}}
llm.param @w : tensor<4x8xf32> {layers = 0 : i64, sources = ["w"], llm.layout = #llm.packed_layout<block = 0>}

// -----

// expected-error @+1 {{interleave must be > 1 and needs a block}}
llm.param @w : tensor<4x8xbf16> {layers = 0 : i64, sources = ["w"], llm.layout = #llm.packed_layout<interleave = 2>}

// -----

// expected-error @+1 {{the interleave must divide the columns}}
llm.param @w : tensor<4x7xbf16> {layers = 0 : i64, sources = ["w"], llm.layout = #llm.packed_layout<block = 4, interleave = 2>}

// -----

// expected-error @+1 {{the interleave must divide the quantization group}}
llm.param @w : tensor<4x24xi8> {layers = 0 : i64, sources = ["w"], group = 6 : i64, llm.layout = #llm.packed_layout<block = 4, interleave = 4>}

// -----

func.func @input_bits(%x: tensor<?x32xf32>, %w: tensor<48x32xbf16>) -> tensor<?x48xf32> {
  // expected-error @+1 {{input_bits must be 8 or 16}}
  %y = llm.linear %x, %w {llm.lowering_config = #llm.lowering_config<tiles = [6, 32, 32], input_bits = 12>} : (tensor<?x32xf32>, tensor<48x32xbf16>) -> tensor<?x48xf32>
  return %y : tensor<?x48xf32>
}

// -----

// expected-error @+1 {{offset and layer_stride go together}}
llm.param @w : tensor<4x8xf32> {layers = 0 : i64, sources = ["w"], llm.layout = #llm.packed_layout<offset = 0>}

// -----

func.func @layout_on_linear(%x: tensor<?x32xf32>, %w: tensor<48x32xbf16>) -> tensor<?x48xf32> {
  // expected-error @+1 {{'llm.layout' belongs on an llm.param}}
  %0 = llm.linear %x, %w {llm.layout = #llm.packed_layout<block = 16>} : (tensor<?x32xf32>, tensor<48x32xbf16>) -> tensor<?x48xf32>
  return %0 : tensor<?x48xf32>
}

// -----

func.func @tiles_size(%x: tensor<?x32xf32>, %w: tensor<48x32xbf16>) -> tensor<?x48xf32> {
  // expected-error @+1 {{tiles must be [rows, block, depth], all positive}}
  %0 = llm.linear %x, %w {llm.lowering_config = #llm.lowering_config<tiles = [4, 16]>} : (tensor<?x32xf32>, tensor<48x32xbf16>) -> tensor<?x48xf32>
  return %0 : tensor<?x48xf32>
}

// -----

func.func @tiles_positive(%x: tensor<?x32xf32>, %w: tensor<48x32xbf16>) -> tensor<?x48xf32> {
  // expected-error @+1 {{tiles must be [rows, block, depth], all positive}}
  %0 = llm.linear %x, %w {llm.lowering_config = #llm.lowering_config<tiles = [4, 0, 32]>} : (tensor<?x32xf32>, tensor<48x32xbf16>) -> tensor<?x48xf32>
  return %0 : tensor<?x48xf32>
}

// -----

func.func @lanes_divide_block(%x: tensor<?x32xf32>, %w: tensor<48x32xbf16>) -> tensor<?x48xf32> {
  // expected-error @+1 {{scalable_lanes must be positive and divide the block}}
  %0 = llm.linear %x, %w {llm.lowering_config = #llm.lowering_config<tiles = [4, 16, 32], scalable_lanes = 5>} : (tensor<?x32xf32>, tensor<48x32xbf16>) -> tensor<?x48xf32>
  return %0 : tensor<?x48xf32>
}

// -----

func.func @config_on_other_llm_op(%x: tensor<?x32xf32>) -> tensor<?x32xf32> {
  // expected-error @+1 {{'llm.lowering_config' belongs on an llm.linear or the op it lowers to}}
  %0 = llm.silu %x {llm.lowering_config = #llm.lowering_config<tiles = [4, 16, 32]>} : tensor<?x32xf32>
  return %0 : tensor<?x32xf32>
}

// -----

// expected-error @+1 {{'llm.kv_cache_type' must be f32 or bf16}}
module attributes {llm.kv_cache_type = f16} {
}

// -----

func.func @kv_type_on_func() attributes {llm.kv_cache_type = bf16} {
  // expected-error @-1 {{'llm.kv_cache_type' belongs on a module}}
  return
}
