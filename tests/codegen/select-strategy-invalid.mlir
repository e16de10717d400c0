// RUN: llm-opt %s --llm-select-strategy --split-input-file --verify-diagnostics

// expected-error @+1 {{module has no llm.target attribute}}
module {
  llm.param @w : tensor<16x16xf32> {layers = 0 : i64, sources = ["w"]}
}

// -----

// expected-error @+1 {{no llmc backend for target triple 'riscv64-unknown-linux-gnu' (supported: x86_64, aarch64, nvptx64)}}
module attributes {llm.target = #llm.target<triple = "riscv64-unknown-linux-gnu", cpu = "generic", features = "", vector_bits = 128, vector_registers = 32, l1_bytes = 32768, l2_bytes = 524288>} {
  llm.param @w : tensor<16x16xf32> {layers = 0 : i64, sources = ["w"]}
}

// -----

module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "generic", features = "", vector_bits = 256, vector_registers = 16, l1_bytes = 32768, l2_bytes = 524288>} {
  func.func @not_a_weight(%x: tensor<?x16xf32>, %w: tensor<16x16xf32>) -> tensor<?x16xf32> {
    // expected-error @+1 {{weight must come from an llm.weight}}
    %y = llm.linear %x, %w : (tensor<?x16xf32>, tensor<16x16xf32>) -> tensor<?x16xf32>
    return %y : tensor<?x16xf32>
  }
}
