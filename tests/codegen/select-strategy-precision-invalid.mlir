// RUN: llm-opt %s --llm-select-strategy=matmul-precision=bf16 --split-input-file --verify-diagnostics
// RUN: not llm-opt %s --llm-select-strategy=matmul-precision=fp8 --split-input-file 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// UNKNOWN: matmul precision 'fp8' is not one of auto, f32, bf16

// bf16 inputs need a bf16 dot product: an AVX2 CPU has none.
// expected-error @+1 {{matmul precision bf16 needs a bf16 dot-product instruction, which CPU 'znver3' (x86_64) does not have (x86: AVX512-BF16, e.g. --mcpu=znver4)}}
module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "znver3", features = "+avx2,+fma", vector_bits = 256, vector_registers = 16, l1_bytes = 32768, l2_bytes = 524288>} {
  llm.param @w : tensor<16x16xbf16> {layers = 0 : i64, sources = ["w"]}
}
