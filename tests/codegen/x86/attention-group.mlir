// RUN: llm-opt %s --convert-llm-to-linalg --split-input-file | FileCheck %s

// With AVX-512 (32 registers of 16 lanes) the 4 query heads that share a
// KV head (head_dim 16: one register of accumulator each) are one
// iteration: the forall runs rows x 1 iterations, reads each block of keys
// once per head dimension for the 4 heads' scores (4 FMAs per key read),
// and writes the 4 heads' outputs. Each block first prefetches every line
// of the keys and values two blocks (32 positions) ahead: 16 lines of keys
// (one per head dimension), 16 of values (one per position).
// CHECK-LABEL: func.func @grouped(
// CHECK: %[[ROWS:.+]] = memref.dim
// CHECK: %[[PAIRS:.+]] = arith.muli %[[ROWS]], %[[ONE:.+]] : index
// CHECK: scf.forall (%{{.+}}) in (%[[PAIRS]]) {
// CHECK: scf.for %[[P0:[^ ]+]] = {{.+}} -> (f32, f32, vector<16xf32>, f32, f32, vector<16xf32>, f32, f32, vector<16xf32>, f32, f32, vector<16xf32>)
// CHECK: %[[AHEAD:.+]] = arith.addi %[[P0]], %c32{{(_[0-9]+)?}} : index
// CHECK: %[[ABLOCK:.+]] = arith.divui %[[AHEAD]], %c16{{(_[0-9]+)?}} : index
// CHECK: memref.prefetch %{{.+}}[%{{.+}}, %[[ABLOCK]], %c0{{(_[0-9]+)?}}, %c0{{(_[0-9]+)?}}], read, locality<3>, data : memref<1x?x16x16xf32>
// CHECK-COUNT-15: memref.prefetch %{{.+}}[%{{.+}}, %[[ABLOCK]], %c{{[0-9_]+}}, %c0{{(_[0-9]+)?}}], read, locality<3>, data : memref<1x?x16x16xf32>
// CHECK-COUNT-16: memref.prefetch %{{.+}}, read, locality<3>, data : memref<1x?x16xf32>
// CHECK-NOT: memref.prefetch
// CHECK: vector.transfer_read {{.+}} : memref<1x?x16x16xf32>, vector<16xf32>
// CHECK-NOT: vector.transfer_read
// CHECK-COUNT-4: vector.fma
// CHECK: vector.transfer_read {{.+}} : memref<1x?x16x16xf32>, vector<16xf32>
// CHECK-NOT: vector.transfer_read
// CHECK-COUNT-4: vector.fma
// CHECK: scf.yield
// CHECK-COUNT-4: vector.transfer_write
module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "znver5", features = "+avx512f", vector_bits = 512, vector_registers = 32, l1_bytes = 49152, l2_bytes = 1048576>} {
  func.func @grouped(%tid: index, %nt: index, %q: tensor<?x64xf32>, %k: tensor<?x16xf32>, %v: tensor<?x16xf32>, %layer: index, %start: index, %cap: index, %wts: memref<?xi8>, %kv: !llm.kv_cache, %scr: memref<?xi8>) -> tensor<?x64xf32> {
    %a = llm.attention %q, %k, %v, %kv[%layer] at %start {num_heads = 4 : i64, num_kv_heads = 1 : i64, head_dim = 16 : i64} : (tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x16xf32>, !llm.kv_cache, index, index) -> tensor<?x64xf32>
    return %a : tensor<?x64xf32>
  }
}

// -----

// A bf16 cache (llm.kv_cache_type): the append rounds, the scan widens each
// block's key rows and each position's values; a 64-byte line holds two
// rows of a key block, so 8 key prefetches, and one line per value row.
// CHECK-LABEL: func.func @grouped_bf16(
// CHECK: %[[KEYS:.+]] = memref.view {{.+}} to memref<1x?x16x16xbf16>
// CHECK: %[[VALUES:.+]] = memref.view {{.+}} to memref<1x?x16xbf16>
// CHECK: arith.truncf {{.+}} : vector<16xf32> to vector<16xbf16>
// CHECK: vector.transfer_write {{.+}}, %[[VALUES]]
// CHECK: arith.truncf {{.+}} : f32 to bf16
// CHECK: memref.store {{.+}}, %[[KEYS]]
// CHECK: scf.forall
// CHECK: scf.for
// CHECK-COUNT-8: memref.prefetch %[[KEYS]]
// CHECK-COUNT-16: memref.prefetch %[[VALUES]]
// CHECK-NOT: memref.prefetch
// CHECK: vector.transfer_read %[[KEYS]]{{.+}} : memref<1x?x16x16xbf16>, vector<16xbf16>
// CHECK-NEXT: arith.extf {{.+}} : vector<16xbf16> to vector<16xf32>
// CHECK: vector.transfer_read %[[VALUES]]{{.+}} : memref<1x?x16xbf16>, vector<16xbf16>
// CHECK-NEXT: arith.extf {{.+}} : vector<16xbf16> to vector<16xf32>
module attributes {llm.kv_cache_type = bf16, llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "znver5", features = "+avx512f", vector_bits = 512, vector_registers = 32, l1_bytes = 49152, l2_bytes = 1048576>} {
  func.func @grouped_bf16(%tid: index, %nt: index, %q: tensor<?x64xf32>, %k: tensor<?x16xf32>, %v: tensor<?x16xf32>, %layer: index, %start: index, %cap: index, %wts: memref<?xi8>, %kv: !llm.kv_cache, %scr: memref<?xi8>) -> tensor<?x64xf32> {
    %a = llm.attention %q, %k, %v, %kv[%layer] at %start {num_heads = 4 : i64, num_kv_heads = 1 : i64, head_dim = 16 : i64} : (tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x16xf32>, !llm.kv_cache, index, index) -> tensor<?x64xf32>
    return %a : tensor<?x64xf32>
  }
}
