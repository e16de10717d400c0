// RUN: llm-opt %s --pass-pipeline="builtin.module(func.func(llm-tile-and-vectorize))" --split-input-file --verify-diagnostics | FileCheck %s

// A matmul over weights interleaved by pairs ([blocks, depth / 2, 32, 2])
// and inputs rounded to bf16, on an AVX512-BF16 target: each 2-row tile
// keeps 2 rows x 2 chunks of 16 lanes in registers; per pair of the depth
// it loads each chunk's 32 bf16 weights once (prefetching the next panel's,
// a depth step of 4 pairs on, into the L2), broadcasts each row's input
// pair as one 32-bit word, and adds the dot products with vdpbf16ps.

// CHECK-LABEL: func.func @interleaved(
// CHECK: scf.for
// CHECK: scf.for
// CHECK: %[[W:.+]] = memref.collapse_shape %{{.+}} {{\[}}[0], [1], [2, 3]] : memref<1x4x32x2xbf16, {{.+}}> into memref<1x4x64xbf16
// CHECK-COUNT-4: vector.load {{.+}} : memref<2x1x32xf32, {{.+}}>, vector<16xf32>
// CHECK: scf.for %[[K:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args({{.+}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// CHECK: %[[W0:.+]] = vector.load %[[W]][%{{.+}}, %[[K]], %{{.+}}] : {{.+}}, vector<32xbf16>
// CHECK-NEXT: %[[NEXT0:.+]] = arith.addi %[[K]], %c4 : index
// CHECK-NEXT: memref.prefetch %[[W]][%{{.+}}, %[[NEXT0]], %{{.+}}], read, locality<2>
// CHECK: %[[W1:.+]] = vector.load %[[W]][%{{.+}}, %[[K]], %{{.+}}] : {{.+}}, vector<32xbf16>
// CHECK-NEXT: %[[NEXT1:.+]] = arith.addi %[[K]], %c4 : index
// CHECK-NEXT: memref.prefetch %[[W]][%{{.+}}, %[[NEXT1]], %{{.+}}], read, locality<2>
// CHECK: %[[PAIR:.+]] = vector.load %{{.+}} : memref<2x8xbf16, {{.+}}>, vector<2xbf16>
// CHECK: %[[WORD:.+]] = vector.bitcast %[[PAIR]] : vector<2xbf16> to vector<1xi32>
// CHECK: %[[E:.+]] = vector.extract %[[WORD]][0] : i32 from vector<1xi32>
// CHECK: %[[S:.+]] = vector.splat %[[E]] : vector<16xi32>
// CHECK: %[[X:.+]] = vector.bitcast %[[S]] : vector<16xi32> to vector<32xbf16>
// CHECK: llvm.call_intrinsic "llvm.x86.avx512bf16.dpbf16ps.512"(%{{.+}}, %[[W0]], %[[X]])
// CHECK: llvm.call_intrinsic "llvm.x86.avx512bf16.dpbf16ps.512"(%{{.+}}, %[[W1]], %[[X]])
// CHECK-COUNT-2: llvm.call_intrinsic "llvm.x86.avx512bf16.dpbf16ps.512"
// CHECK: scf.yield
// CHECK-COUNT-4: vector.store
// The remainder rows one at a time, with the same dot products; a single
// row (decode) prefetches each chunk's weights 2 KiB ahead (16 pairs of 32
// lanes x 2 x 2 bytes) into the L1 and, on this Xeon, 8 KiB ahead (64
// pairs) into the L2.
// CHECK: scf.for
// CHECK: vector.load
// CHECK: %[[NEAR:.+]] = arith.addi %{{.+}}, %c16 : index
// CHECK: memref.prefetch %{{.+}}[%{{.+}}, %[[NEAR]], %{{.+}}], read, locality<3>
// CHECK: %[[FAR:.+]] = arith.addi %{{.+}}, %c64 : index
// CHECK: memref.prefetch %{{.+}}[%{{.+}}, %[[FAR]], %{{.+}}], read, locality<2>
// CHECK-COUNT-2: llvm.call_intrinsic "llvm.x86.avx512bf16.dpbf16ps.512"
// CHECK-NOT: linalg.generic
#x = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3 * 2 + d4)>
#w = affine_map<(d0, d1, d2, d3, d4) -> (d1, d3, d2, d4)>
#o = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2)>

module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "sapphirerapids", features = "+avx512bf16,+avx512f,+avx512vl", vector_bits = 512, vector_registers = 32, l1_bytes = 49152, l2_bytes = 2097152>} {
func.func @interleaved(%x: memref<?x8xbf16>, %w: memref<2x4x32x2xbf16>, %y: memref<?x2x32xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%x, %w : memref<?x8xbf16>, memref<2x4x32x2xbf16>) outs(%y : memref<?x2x32xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [2, 32, 8]>} {
  ^bb0(%in: bf16, %win: bf16, %acc: f32):
    %a = arith.extf %in : bf16 to f32
    %e = arith.extf %win : bf16 to f32
    %p = arith.mulf %a, %e : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
}

// -----

// The same on Zen 5: the single row prefetches 2 KiB ahead into the L1 and
// nothing further (its L2 prefetchers keep up alone).

// CHECK-LABEL: func.func @interleaved_zen5(
// CHECK: %[[NEAR:.+]] = arith.addi %{{.+}}, %c16 : index
// CHECK: memref.prefetch %{{.+}}[%{{.+}}, %[[NEAR]], %{{.+}}], read, locality<3>
// CHECK-NOT: locality<2>
// CHECK: return
#x = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3 * 2 + d4)>
#w = affine_map<(d0, d1, d2, d3, d4) -> (d1, d3, d2, d4)>
#o = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2)>

module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "znver5", features = "+avx512bf16,+avx512f,+avx512vl", vector_bits = 512, vector_registers = 32, l1_bytes = 49152, l2_bytes = 1048576>} {
func.func @interleaved_zen5(%x: memref<?x8xbf16>, %w: memref<2x4x32x2xbf16>, %y: memref<?x2x32xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%x, %w : memref<?x8xbf16>, memref<2x4x32x2xbf16>) outs(%y : memref<?x2x32xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [2, 32, 8]>} {
  ^bb0(%in: bf16, %win: bf16, %acc: f32):
    %a = arith.extf %in : bf16 to f32
    %e = arith.extf %win : bf16 to f32
    %p = arith.mulf %a, %e : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
}

// -----

#x = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3 * 2 + d4)>
#w = affine_map<(d0, d1, d2, d3, d4) -> (d1, d3, d2, d4)>
#o = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2)>

// 8-row tiles in a row chunk of 64 rows (half of the 8 KiB L2 over rows of
// 32 bf16) read their input pairs packed: with 8 whole tiles or more, each
// tile's 8 rows of pairs are loaded 16 words at a time (32 bf16 as 16 f32),
// transposed with three rounds of shuffles, and stored into a [tiles,
// pairs, 8] view of the kernel's 1 MiB stack buffer; in that version of the
// row loop, each row's pair is the 32-bit word at [pair, row] of its tile,
// broadcast to the dot products. The other version reads the rows.

// CHECK-LABEL: func.func @packed_pairs(
// CHECK-DAG: %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.+]] = arith.constant 1 : index
// CHECK-DAG: %[[C8:.+]] = arith.constant 8 : index
// CHECK-DAG: %[[C14:.+]] = arith.constant 14 : index
// CHECK: %[[BYTES:.+]] = memref.alloca() {alignment = 64 : i64} : memref<1048576xi8>
// CHECK: %[[PACKED:.+]] = memref.view %[[BYTES]][%[[C0]]][] : memref<1048576xi8> to memref<8x16x8xf32>
// CHECK: %[[XC:.+]] = memref.subview %{{.+}}[%{{.+}}, 0] [%{{.+}}, 32] [1, 1] : memref<?x32xbf16> to memref<?x32xbf16
// CHECK: %[[TILES:.+]] = arith.divui %{{.+}}, %[[C8]]
// CHECK: %[[ENOUGH:.+]] = arith.cmpi sge, %[[TILES]], %[[C8]]
// CHECK: scf.if %[[ENOUGH]] {
// CHECK: scf.for %[[T:.+]] = %[[C0]] to %[[TILES]] step %[[C1]] {
// CHECK: %[[R0:.+]] = vector.load %[[XC]]{{.+}} vector<32xbf16>
// CHECK: %[[W0:.+]] = vector.bitcast %[[R0]] : vector<32xbf16> to vector<16xf32>
// CHECK-COUNT-7: vector.load %[[XC]]
// CHECK-COUNT-24: vector.shuffle
// CHECK: vector.store %{{.+}}, %[[PACKED]][%[[T]], %[[C0]], %[[C0]]]
// CHECK-COUNT-6: vector.store %{{.+}}, %[[PACKED]][%[[T]]
// CHECK: vector.store %{{.+}}, %[[PACKED]][%[[T]], %[[C14]], %[[C0]]]
// CHECK: scf.for
// CHECK: scf.if %[[ENOUGH]] {
// CHECK: scf.for %[[M:.+]] = %[[C0]] to %{{.+}} step %[[C8]] {
// CHECK: %[[TILE:.+]] = arith.divui %[[M]], %[[C8]]
// CHECK: %[[XT:.+]] = memref.subview %[[PACKED]][%[[TILE]], 0, 0] [1, 16, 8] [1, 1, 1] : memref<8x16x8xf32> to memref<16x8xf32
// CHECK: scf.for %[[K:.+]] = %[[C0]] to
// CHECK: %[[F:.+]] = memref.load %[[XT]][%[[K]], %[[C0]]]
// CHECK: %[[I:.+]] = arith.bitcast %[[F]] : f32 to i32
// CHECK: %[[S:.+]] = vector.splat %[[I]] : vector<16xi32>
// CHECK: %[[X:.+]] = vector.bitcast %[[S]] : vector<16xi32> to vector<32xbf16>
// CHECK: llvm.call_intrinsic "llvm.x86.avx512bf16.dpbf16ps.512"(%{{.+}}, %{{.+}}, %[[X]])
// CHECK: memref.load %[[XT]][%[[K]], %[[C1]]]
// CHECK-COUNT-7: llvm.call_intrinsic "llvm.x86.avx512bf16.dpbf16ps.512"
// CHECK: } else {
// CHECK: scf.for
// CHECK: vector.load %{{.+}} : memref<8x32xbf16, {{.+}}>, vector<2xbf16>
// CHECK: llvm.call_intrinsic "llvm.x86.avx512bf16.dpbf16ps.512"
module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "znver5", features = "+avx512bf16,+avx512f,+avx512vl", vector_bits = 512, vector_registers = 32, l1_bytes = 49152, l2_bytes = 8192>} {
func.func @packed_pairs(%x: memref<?x32xbf16>, %w: memref<2x16x16x2xbf16>, %y: memref<?x2x16xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%x, %w : memref<?x32xbf16>, memref<2x16x16x2xbf16>) outs(%y : memref<?x2x16xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [8, 16, 32]>} {
  ^bb0(%in: bf16, %win: bf16, %acc: f32):
    %a = arith.extf %in : bf16 to f32
    %e = arith.extf %win : bf16 to f32
    %p = arith.mulf %a, %e : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
}

// -----

#x = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3 * 2 + d4)>
#w = affine_map<(d0, d1, d2, d3, d4) -> (d1, d3, d2, d4)>
#o = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2)>

// Input rows so long (256 bf16, 512 bytes) that half of the 64 KiB L2
// holds 64 of them, fewer than 16 tiles of 8: with at least 8 tiles' rows,
// the depth is chunked too (128 columns: 64 pairs), so that a chunk of 128
// rows fits and packs its pairs ([16, 64, 8] words); fewer rows (decode)
// keep the whole depth in 64-row chunks.

// CHECK-LABEL: func.func @pair_depth_chunks(
// CHECK-SAME: %[[X:[^:]+]]: memref<?x256xbf16>
// CHECK-DAG: %[[C64:.+]] = arith.constant 64 : index
// CHECK-DAG: %[[C128:.+]] = arith.constant 128 : index
// CHECK: %[[PACKED:.+]] = memref.view %{{.+}}[%{{.+}}][] : memref<1048576xi8> to memref<16x64x8xf32>
// CHECK: %[[MANY:.+]] = arith.cmpi sge, %{{.+}}, %[[C64]]
// CHECK: scf.if %[[MANY]] {
// CHECK: scf.for %[[ROWS:.+]] = %{{.+}} to %{{.+}} step %[[C128]] {
// CHECK: scf.for %[[PAIRS:.+]] = %{{.+}} to %[[C128]] step %[[C64]] {
// CHECK: memref.subview %[[X]][%[[ROWS]], %{{.+}}] [%{{.+}}, 128] [1, 1]
// CHECK: vector.store %{{.+}}, %[[PACKED]]
// CHECK: llvm.call_intrinsic "llvm.x86.avx512bf16.dpbf16ps.512"
// CHECK: } else {
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %[[C64]] {
// CHECK: memref.subview %[[X]][%{{.+}}, 0] [%{{.+}}, 256] [1, 1]
// CHECK: llvm.call_intrinsic "llvm.x86.avx512bf16.dpbf16ps.512"
// CHECK: return
module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "znver5", features = "+avx512bf16,+avx512f,+avx512vl", vector_bits = 512, vector_registers = 32, l1_bytes = 49152, l2_bytes = 65536>} {
func.func @pair_depth_chunks(%x: memref<?x256xbf16>, %w: memref<2x128x16x2xbf16>, %y: memref<?x2x16xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%x, %w : memref<?x256xbf16>, memref<2x128x16x2xbf16>) outs(%y : memref<?x2x16xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [8, 16, 64]>} {
  ^bb0(%in: bf16, %win: bf16, %acc: f32):
    %a = arith.extf %in : bf16 to f32
    %e = arith.extf %win : bf16 to f32
    %p = arith.mulf %a, %e : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
}

// -----

#x = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3 * 2 + d4)>
#w = affine_map<(d0, d1, d2, d3, d4) -> (d1, d3, d2, d4)>
#o = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2)>

// A target without a bf16 dot product (here: no target at all) cannot
// lower an interleaved matmul.

func.func @no_target(%x: memref<?x8xbf16>, %w: memref<2x4x32x2xbf16>, %y: memref<?x2x32xf32>) {
  // expected-error @+1 {{llm-tile-and-vectorize: an interleaved matmul needs the module's llm.target}}
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%x, %w : memref<?x8xbf16>, memref<2x4x32x2xbf16>) outs(%y : memref<?x2x32xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [1, 32, 8]>} {
  ^bb0(%in: bf16, %win: bf16, %acc: f32):
    %a = arith.extf %in : bf16 to f32
    %e = arith.extf %win : bf16 to f32
    %p = arith.mulf %a, %e : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
