// RUN: llm-opt %s --convert-llm-to-linalg --split-input-file | FileCheck %s

// With AVX-512 (32 registers of 16 lanes) the 4 query heads that share a
// KV head (head_dim 16: one register of accumulator each) are one group.
// The forall runs one iteration per (group, tile of up to 16 rows). A tile
// of 2 or more rows (prefill) keeps its 64 (row, head) lines' outputs,
// maxima, sums, corrections and weights in stack buffers (an alloca scope)
// and walks the positions 64 at a time: it prefetches every line of the
// next step's keys (16 per block) and values (16 per block); scores a row
// at a time (its 16 accumulators, 4 heads x 4 blocks, are half of the
// registers), 16 FMAs per head dimension on four key vectors; masks the
// row's positions past its end, and folds each line's 64 scores into its
// softmax (maxima without NaN checks); then adds each row's 4 heads'
// weighted values, 4 FMAs per value vector, 64 positions unrolled in a
// whole step. A single row (decode) scans with its
// heads' states in registers: each block first prefetches every line of
// the keys and values two blocks ahead, then reads each key vector once for
// the 4 heads' scores (4 FMAs per key read).
// CHECK-LABEL: func.func @grouped(
// CHECK: %[[ROWS:.+]] = memref.dim
// CHECK: %[[TILES:.+]] = arith.ceildivui %[[ROWS]], %c16{{(_[0-9]+)?}} : index
// CHECK: %[[SINGLE:.+]] = arith.cmpi eq, %[[ROWS]], %c1{{(_[0-9]+)?}} : index
// CHECK: %[[PERGROUPS:.+]] = arith.ceildivui %arg1, %c1{{(_[0-9]+)?}} : index
// CHECK: %[[WANTED:.+]] = arith.minui %c16{{(_[0-9]+)?}}, %[[PERGROUPS]] : index
// CHECK: %[[ATLEAST:.+]] = arith.maxui %[[WANTED]], %c1{{(_[0-9]+)?}} : index
// CHECK: %[[SPLITS:.+]] = arith.select %[[SINGLE]], %[[ATLEAST]], %c1{{(_[0-9]+)?}} : index
// CHECK: %[[PARTIALS:.+]] = memref.alloc() : memref<64x18xf32>
// CHECK: %[[PERGROUP:.+]] = arith.muli %[[TILES]], %[[SPLITS]] : index
// CHECK: %[[ITERS:.+]] = arith.muli %[[PERGROUP]], %c1{{(_[0-9]+)?}} : index
// CHECK: scf.forall (%{{.+}}) in (%[[ITERS]]) {
// CHECK: %[[FIRST:.+]] = arith.muli %{{.+}}, %c16{{(_[0-9]+)?}} : index
// CHECK: %[[LEFT:.+]] = arith.subi %[[ROWS]], %[[FIRST]] : index
// CHECK: %[[TROWS:.+]] = arith.minui %c16{{(_[0-9]+)?}}, %[[LEFT]] : index
// CHECK: %[[SEVERAL:.+]] = arith.cmpi uge, %[[TROWS]], %c2{{(_[0-9]+)?}} : index
// CHECK: scf.if %[[SEVERAL]] {
// CHECK-NEXT: memref.alloca_scope {
// CHECK-NEXT: memref.alloca() {alignment = 64 : i64} : memref<64x16xf32>
// CHECK-COUNT-3: memref.alloca() : memref<64xf32>
// CHECK-NEXT: %[[WEIGHTS:.+]] = memref.alloca() {alignment = 64 : i64} : memref<64x64xf32>
// CHECK: scf.for %[[P0:.+]] = %{{.+}} to %{{.+}} step %c64{{(_[0-9]+)?}} {
// CHECK-COUNT-4: memref.prefetch %{{.+}} : memref<1x?x16x16xf32>
// CHECK-COUNT-16: memref.prefetch %{{.+}} : memref<1x?x16xf32>
// CHECK-COUNT-4: memref.prefetch %{{.+}} : memref<1x?x16x16xf32>
// CHECK-COUNT-16: memref.prefetch %{{.+}} : memref<1x?x16xf32>
// CHECK-COUNT-4: memref.prefetch %{{.+}} : memref<1x?x16x16xf32>
// CHECK-COUNT-16: memref.prefetch %{{.+}} : memref<1x?x16xf32>
// CHECK-COUNT-4: memref.prefetch %{{.+}} : memref<1x?x16x16xf32>
// CHECK-COUNT-16: memref.prefetch %{{.+}} : memref<1x?x16xf32>
// CHECK-NOT: memref.prefetch
// CHECK: scf.for %{{.+}} = %{{.+}} to %[[TROWS]] step %c1{{(_[0-9]+)?}} {
// CHECK-COUNT-4: vector.transfer_read {{.+}} : memref<1x?x16x16xf32>, vector<16xf32>
// CHECK-NOT: vector.transfer_read
// CHECK-COUNT-16: vector.fma
// CHECK-COUNT-4: vector.transfer_read {{.+}} : memref<1x?x16x16xf32>, vector<16xf32>
// CHECK-NOT: vector.transfer_read
// CHECK-COUNT-16: vector.fma
// CHECK: %[[VISIBLE:.+]] = arith.cmpi ult, %{{.+}}, %{{.+}} : vector<64xindex>
// CHECK: arith.select %[[VISIBLE]], %{{.+}}, %{{.+}} : vector<64xi1>, vector<64xf32>
// CHECK: vector.reduction <maxnumf>, %{{.+}} fastmath<nnan> : vector<64xf32> into f32
// CHECK: math.exp %{{.+}} : f32
// CHECK: math.exp %{{.+}} : vector<64xf32>
// CHECK: vector.reduction <add>, %{{.+}} fastmath<reassoc> : vector<64xf32> into f32
// CHECK: vector.transfer_write %{{.+}}, %[[WEIGHTS]]
// CHECK: scf.for %{{.+}} = %{{.+}} to %[[TROWS]] step %c1{{(_[0-9]+)?}} {
// CHECK: scf.if %{{.+}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// CHECK: vector.transfer_read {{.+}} : memref<1x?x16xf32>, vector<16xf32>
// CHECK-NOT: vector.transfer_read
// CHECK-COUNT-4: vector.fma
// CHECK: } else {
// The single row's scan.
// CHECK: } else {
// CHECK: scf.for %[[S0:[^ ]+]] = {{.+}} -> (f32, f32, vector<16xf32>, f32, f32, vector<16xf32>, f32, f32, vector<16xf32>, f32, f32, vector<16xf32>)
// CHECK: %[[AHEAD:.+]] = arith.addi %[[S0]], %c32{{(_[0-9]+)?}} : index
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
// One part: the 4 heads' outputs normalized; several: their states into
// the partials, which a second loop over the 4 heads combines.
// CHECK: scf.if
// CHECK-COUNT-4: vector.transfer_write {{.+}} : vector<16xf32>, memref<?x64xf32>
// CHECK: } else {
// CHECK-COUNT-4: vector.transfer_write {{.+}}, %[[PARTIALS]]
// CHECK: %[[COMBINED:.+]] = arith.select %{{.+}}, %c4{{(_[0-9]+)?}}, %c0{{(_[0-9]+)?}} : index
// CHECK: scf.forall (%{{.+}}) in (%[[COMBINED]]) {
// CHECK: scf.for %{{.+}} = %{{.+}} to %[[SPLITS]]
// CHECK: arith.maximumf
// CHECK: scf.for %{{.+}} = %{{.+}} to %[[SPLITS]]
// CHECK: math.exp
// CHECK: vector.fma
module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "znver5", features = "+avx512f", vector_bits = 512, vector_registers = 32, l1_bytes = 49152, l2_bytes = 1048576>} {
  func.func @grouped(%tid: index, %nt: index, %q: tensor<?x64xf32>, %k: tensor<?x16xf32>, %v: tensor<?x16xf32>, %layer: index, %start: index, %cap: index, %wts: memref<?xi8>, %kv: !llm.kv_cache, %scr: memref<?xi8>) -> tensor<?x64xf32> {
    %a = llm.attention %q, %k, %v, %kv[%layer] at %start {num_heads = 4 : i64, num_kv_heads = 1 : i64, head_dim = 16 : i64} : (tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x16xf32>, !llm.kv_cache, index, index) -> tensor<?x64xf32>
    return %a : tensor<?x64xf32>
  }
}

// -----

// A bf16 cache (llm.kv_cache_type): the append rounds, the scan widens each
// block's key rows and each position's values; a 64-byte line holds two
// rows of a key block, so 8 key prefetches per block, and one line per
// value row.
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
// CHECK-COUNT-8: memref.prefetch %[[KEYS]]
// CHECK-COUNT-16: memref.prefetch %[[VALUES]]
// CHECK-COUNT-8: memref.prefetch %[[KEYS]]
// CHECK-COUNT-16: memref.prefetch %[[VALUES]]
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
