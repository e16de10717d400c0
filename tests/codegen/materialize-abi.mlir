// RUN: llm-opt %s --llm-materialize-abi --split-input-file | FileCheck %s

// Every function gets (tid, nthreads) in front and (capacity, weights, kv,
// scratch) at the end; the model's cache argument moves to the ABI's place,
// calls pass the caller's, and the entry point writes its logits into the
// runtime's flat buffer instead of returning them.

// 2 layers * (K + V) * 4 KV heads * 8 * 4 bytes.
// CHECK-LABEL: module attributes
// CHECK-SAME: llm.kv_bytes_per_position = 512 : i64
// CHECK-LABEL: func.func private @layer(
// CHECK-SAME: %[[TID:[^:]+]]: index, %[[NT:[^:]+]]: index, %[[X:[^:]+]]: tensor<?x32xf32>, %[[L:[^:]+]]: index, %[[START:[^:]+]]: index, %[[CAP:[^:]+]]: index, %[[W:[^:]+]]: memref<?xi8>, %[[KV:[^:]+]]: !llm.kv_cache, %[[SCR:[^:]+]]: memref<?xi8>) -> tensor<?x32xf32>
// CHECK: llm.attention %{{.+}}, %{{.+}}, %{{.+}}, %[[KV]][%[[L]]] at %[[START]]
// CHECK-LABEL: func.func @llmc_forward(
// CHECK-SAME: %[[TID2:[^:]+]]: index, %[[NT2:[^:]+]]: index, %[[IDS:[^:]+]]: tensor<?xi32>, %[[START2:[^:]+]]: index, %{{[^:]+}}: tensor<?x32xf32>, %[[CAP2:[^:]+]]: index, %[[W2:[^:]+]]: memref<?xi8>, %[[KV2:[^:]+]]: !llm.kv_cache, %[[SCR2:[^:]+]]: memref<?xi8>, %[[LOGITS:[^:]+]]: memref<?xf32>)
// CHECK-SAME: attributes {llvm.emit_c_interface}
// CHECK: %[[H:.+]] = call @layer(%[[TID2]], %[[NT2]], %{{.+}}, %{{.+}}, %[[START2]], %[[CAP2]], %[[W2]], %[[KV2]], %[[SCR2]])
// CHECK: %[[ROWS:.+]] = tensor.dim %[[H]], %{{.+}} : tensor<?x32xf32>
// CHECK: %[[VIEW:.+]] = memref.expand_shape %[[LOGITS]] {{\[}}[0, 1]] output_shape [%[[ROWS]], 32] : memref<?xf32> into memref<?x32xf32>
// CHECK: bufferization.materialize_in_destination %[[H]] in restrict writable %[[VIEW]]
// CHECK-NEXT: return{{$}}
module attributes {llm.num_layers = 2 : i64} {
  func.func private @layer(%x: tensor<?x32xf32>, %layer: index, %start: index, %cache: !llm.kv_cache) -> tensor<?x32xf32> {
    %a = llm.attention %x, %x, %x, %cache[%layer] at %start {num_heads = 4 : i64, num_kv_heads = 4 : i64, head_dim = 8 : i64} : (tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>, !llm.kv_cache, index, index) -> tensor<?x32xf32>
    return %a : tensor<?x32xf32>
  }
  func.func @llmc_forward(%ids: tensor<?xi32>, %start: index, %cache: !llm.kv_cache, %x: tensor<?x32xf32>) -> tensor<?x32xf32> {
    %c0 = arith.constant 0 : index
    %h = func.call @layer(%x, %c0, %start, %cache) : (tensor<?x32xf32>, index, index, !llm.kv_cache) -> tensor<?x32xf32>
    return %h : tensor<?x32xf32>
  }
}

// -----

// Without attention the cache takes no bytes; external functions are left
// alone.
// CHECK-LABEL: module attributes {llm.kv_bytes_per_position = 0 : i64}
// CHECK: func.func private @external(tensor<?x8xf32>) -> tensor<?x8xf32>
// CHECK-LABEL: func.func @llmc_forward(
// CHECK-SAME: index, %{{.+}}: index, %{{.+}}: tensor<?x8xf32>, %{{.+}}: index, %{{.+}}: memref<?xi8>, %{{.+}}: !llm.kv_cache, %{{.+}}: memref<?xi8>, %{{.+}}: memref<?xf32>)
module {
  func.func private @external(tensor<?x8xf32>) -> tensor<?x8xf32>
  func.func @llmc_forward(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
    return %x : tensor<?x8xf32>
  }
}
