// RUN: llm-opt %s --llm-materialize-abi --split-input-file --verify-diagnostics

module {
  // expected-error @+1 {{the entry point must return the logits}}
  func.func @llmc_forward(%x: tensor<?x8xf32>) {
    return
  }
}

// -----

module {
  func.func @llmc_forward(%x: tensor<?x8xbf16>) -> tensor<?x8xbf16> {
    // expected-error @+1 {{the entry point must return [rows, vocab] f32 logits}}
    return %x : tensor<?x8xbf16>
  }
}

// -----

// expected-error @+1 {{module needs an llm.num_layers attribute to lay out the KV cache}}
module {
  func.func @llmc_forward(%q: tensor<?x16xf32>, %cache: !llm.kv_cache, %start: index) -> tensor<?x16xf32> {
    %c0 = arith.constant 0 : index
    %a = llm.attention %q, %q, %q, %cache[%c0] at %start {num_heads = 1 : i64, num_kv_heads = 1 : i64, head_dim = 16 : i64} : (tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, !llm.kv_cache, index, index) -> tensor<?x16xf32>
    return %a : tensor<?x16xf32>
  }
}
