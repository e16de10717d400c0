// RUN: llm-opt %s --llm-x86-strategy --split-input-file --verify-diagnostics

// expected-error @+1 {{module has no llm.target attribute}}
module {
  llm.param @w : tensor<16x16xf32> {layers = 0 : i64, sources = ["w"]}
}

// -----

// expected-error @+1 {{llm.target needs triple, cpu, features, vector_bits, vector_registers, l1_bytes and l2_bytes}}
module attributes {llm.target = {triple = "x86_64-unknown-linux-gnu", cpu = "generic", features = "", vector_bits = 256 : i64}} {
  llm.param @w : tensor<16x16xf32> {layers = 0 : i64, sources = ["w"]}
}

// -----

module attributes {llm.target = {triple = "x86_64-unknown-linux-gnu", cpu = "generic", features = "", vector_bits = 256 : i64, vector_registers = 16 : i64, l1_bytes = 32768 : i64, l2_bytes = 524288 : i64}} {
  func.func @not_a_weight(%x: tensor<?x16xf32>, %w: tensor<16x16xf32>) -> tensor<?x16xf32> {
    // expected-error @+1 {{weight must come from an llm.weight}}
    %y = llm.linear %x, %w : (tensor<?x16xf32>, tensor<16x16xf32>) -> tensor<?x16xf32>
    return %y : tensor<?x16xf32>
  }
}
