// RUN: llm-opt %s --pass-pipeline="builtin.module(func.func(llm-tile-and-vectorize))" --split-input-file | FileCheck %s

#x = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

// A packed bf16 matmul with 4-row tiles: a loop over the 2 weight blocks,
// then a main loop over whole 4-row tiles whose body keeps 4 accumulators in
// registers across the depth loop (one weight vector, one FMA per row), then
// a peeled remainder that handles the last rows one at a time. The main
// loop has two versions: with at least 8 tiles (32 rows) the block's panel
// is first widened to f32 into an aligned stack buffer (the next panel
// prefetched meanwhile) and the tiles read that; with fewer, each tile
// widens the bf16 weights itself.

// CHECK-LABEL: func.func @packed_bf16(
// CHECK-SAME: %[[X:[^:]+]]: memref<?x8xf32>, %[[W:[^:]+]]: memref<2x8x16xbf16>, %[[Y:[^:]+]]: memref<?x2x16xf32>
// CHECK-NOT: linalg.generic
// CHECK-DAG: %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.+]] = arith.constant 1 : index
// CHECK-DAG: %[[C2:.+]] = arith.constant 2 : index
// CHECK-DAG: %[[C4:.+]] = arith.constant 4 : index
// CHECK-DAG: %[[C8:.+]] = arith.constant 8 : index
// CHECK-DAG: %[[C32:.+]] = arith.constant 32 : index
// CHECK: %[[PANEL:.+]] = memref.alloca() {alignment = 64 : i64} : memref<1x8x16xf32>
// CHECK: %[[ROWS:.+]] = memref.dim %[[X]], %[[C0]]
// CHECK: scf.for %[[B:.+]] = %[[C0]] to %[[C2]] step %[[C1]] {
// CHECK: %[[MAIN:.+]] = affine.apply #{{.+}}()[%[[ROWS]]]
// CHECK: %[[WT:.+]] = memref.subview %[[W]][%[[B]], 0, 0] [1, 8, 16] [1, 1, 1] : memref<2x8x16xbf16> to memref<1x8x16xbf16
// CHECK: %[[ENOUGH:.+]] = arith.cmpi sge, %[[MAIN]], %[[C32]]
// CHECK: scf.if %[[ENOUGH]] {
// CHECK: scf.for %[[KW:.+]] = %[[C0]] to %[[C8]] step %[[C1]] {
// CHECK: %[[NEXT:.+]] = arith.addi %[[KW]], %[[C8]]
// CHECK: memref.prefetch %[[WT]][%[[C0]], %[[NEXT]], %[[C0]]], read, locality<3>, data
// CHECK: %[[WN:.+]] = vector.load %[[WT]][%[[C0]], %[[KW]], %[[C0]]] : {{.+}}, vector<16xbf16>
// bf16 is widened as bits: the upper half of an f32.
// CHECK: %[[WI:.+]] = arith.bitcast %[[WN]] : vector<16xbf16> to vector<16xi16>
// CHECK: %[[WE:.+]] = arith.extui %[[WI]] : vector<16xi16> to vector<16xi32>
// CHECK: %[[WS:.+]] = arith.shli %[[WE]], %{{.+}} : vector<16xi32>
// CHECK: %[[WF:.+]] = arith.bitcast %[[WS]] : vector<16xi32> to vector<16xf32>
// CHECK: vector.store %[[WF]], %[[PANEL]][%[[C0]], %[[KW]], %[[C0]]]
// CHECK: }
// CHECK: scf.for %[[M:.+]] = %[[C0]] to %[[MAIN]] step %[[C4]] {
// CHECK: %[[XT:.+]] = memref.subview %[[X]][%[[M]], 0] [4, 8] [1, 1] : memref<?x8xf32> to memref<4x8xf32
// CHECK: %[[YT:.+]] = memref.subview %[[Y]][%[[M]], %[[B]], 0] [4, 1, 16] [1, 1, 1] : memref<?x2x16xf32> to memref<4x1x16xf32
// CHECK-COUNT-4: vector.load %[[YT]]{{.+}} : memref<4x1x16xf32, {{.+}}>, vector<16xf32>
// CHECK: %[[ACC:.+]]:4 = scf.for %[[K:.+]] = %[[C0]] to %[[C8]] step %[[C1]] iter_args(%[[A0:.+]] = %{{.+}}, %[[A1:.+]] = %{{.+}}, %[[A2:.+]] = %{{.+}}, %[[A3:.+]] = %{{.+}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// CHECK: %[[WV:.+]] = vector.load %[[PANEL]][%[[C0]], %[[K]], %[[C0]]] : memref<1x8x16xf32>, vector<16xf32>
// CHECK-NOT: arith.bitcast
// CHECK: %[[X0:.+]] = memref.load %[[XT]][%[[C0]], %[[K]]]
// CHECK: %[[S0:.+]] = vector.splat %[[X0]] : vector<16xf32>
// CHECK: %[[F0:.+]] = vector.fma %[[S0]], %[[WV]], %[[A0]] : vector<16xf32>
// CHECK: %[[X1:.+]] = memref.load %[[XT]][%[[C1]], %[[K]]]
// CHECK: %[[S1:.+]] = vector.splat %[[X1]] : vector<16xf32>
// CHECK: %[[F1:.+]] = vector.fma %[[S1]], %[[WV]], %[[A1]] : vector<16xf32>
// CHECK: %[[F2:.+]] = vector.fma %{{.+}}, %[[WV]], %[[A2]] : vector<16xf32>
// CHECK: %[[F3:.+]] = vector.fma %{{.+}}, %[[WV]], %[[A3]] : vector<16xf32>
// CHECK: scf.yield %[[F0]], %[[F1]], %[[F2]], %[[F3]]
// CHECK: vector.store %[[ACC]]#0, %[[YT]][%[[C0]], %[[C0]], %[[C0]]]
// CHECK: vector.store %[[ACC]]#1, %[[YT]][%[[C1]], %[[C0]], %[[C0]]]
// CHECK: vector.store %[[ACC]]#2, %[[YT]][%[[C2]], %[[C0]], %[[C0]]]
// CHECK: vector.store %[[ACC]]#3, %[[YT]]
// CHECK: } else {
// CHECK: scf.for %{{.+}} = %[[C0]] to %[[MAIN]] step %[[C4]] {
// CHECK-COUNT-4: vector.load {{.+}} : memref<4x1x16xf32, {{.+}}>, vector<16xf32>
// CHECK: scf.for
// CHECK: vector.load %[[WT]][{{.+}}] : memref<1x8x16xbf16, {{.+}}>, vector<16xbf16>
// CHECK: arith.bitcast %{{.+}} : vector<16xi32> to vector<16xf32>
// CHECK-COUNT-4: vector.fma
// CHECK: scf.yield
// CHECK-COUNT-4: vector.store
// Remainder: fewer than 4 rows, one row per iteration. A single row splits
// its depth over 4 accumulator chains (step k into chain k % 4), so that
// its FMAs do not wait on one another, and sums them at the end. Its
// weights are loaded once a step, 16 bf16 as 8 words: the even lanes
// shifted into the high halves, the odd ones masked, each multiplied into
// accumulators of its own, interleaved back before the store.
// CHECK: scf.for %[[MR:.+]] = %[[MAIN]] to %[[ROWS]] step %[[C4]] {
// CHECK: scf.for %[[R:.+]] = %[[C0]] to %{{.+}} step %[[C1]] {
// CHECK: %[[YR:.+]] = memref.subview %{{.+}}[%[[R]], 0, 0] [1, 1, 16] [1, 1, 1] {{.+}} to memref<1x1x16xf32
// CHECK: %[[INIT:.+]] = vector.load %[[YR]]
// CHECK: %[[IE:.+]] = vector.shuffle %[[INIT]], %[[INIT]] [0, 2, 4, 6, 8, 10, 12, 14]
// CHECK: %[[IO:.+]] = vector.shuffle %[[INIT]], %[[INIT]] [1, 3, 5, 7, 9, 11, 13, 15]
// CHECK: %[[RACC:.+]]:8 = scf.for %[[RK:.+]] = %[[C0]] to %[[C8]] step %[[C4]] iter_args(%[[RA:[a-z0-9_]+]] = %[[IE]], %[[RAO:[a-z0-9_]+]] = %[[IO]], %[[RB:[a-z0-9_]+]] = %[[ZERO:[a-z0-9_]+]], {{.+}}) -> (vector<8xf32>,
// Each step prefetches the weights 2 KiB ahead (64 steps of 16 bf16) into
// the L1 and 8 KiB ahead (256 steps) into the L2, past the tile into the
// rest of the stream.
// CHECK: %[[AHEAD:.+]] = arith.addi %[[RK]], %c64
// CHECK: memref.prefetch %{{.+}}[%[[C0]], %[[AHEAD]], %[[C0]]], read, locality<3>, data
// CHECK: %[[FAR:.+]] = arith.addi %[[RK]], %c256
// CHECK: memref.prefetch %{{.+}}[%[[C0]], %[[FAR]], %[[C0]]], read, locality<2>, data
// CHECK: %[[WB:.+]] = vector.load %{{.+}} : memref<1x8x16xbf16, {{.+}}>, vector<16xbf16>
// CHECK: %[[WW:.+]] = vector.bitcast %[[WB]] : vector<16xbf16> to vector<8xi32>
// CHECK: %[[WES:.+]] = arith.shli %[[WW]], %{{.+}} : vector<8xi32>
// CHECK: %[[WE:.+]] = vector.bitcast %[[WES]] : vector<8xi32> to vector<8xf32>
// CHECK: %[[WOM:.+]] = arith.andi %[[WW]], %{{.+}} : vector<8xi32>
// CHECK: %[[WO:.+]] = vector.bitcast %[[WOM]] : vector<8xi32> to vector<8xf32>
// CHECK: vector.fma %{{.+}}, %[[WE]], %[[RA]] : vector<8xf32>
// CHECK: vector.fma %{{.+}}, %[[WO]], %[[RAO]] : vector<8xf32>
// CHECK: vector.fma %{{.+}}, %{{.+}}, %[[RB]] : vector<8xf32>
// CHECK-COUNT-5: vector.fma
// CHECK-NOT: vector.fma
// CHECK: scf.yield
// CHECK: %[[AB:.+]] = arith.addf %[[RACC]]#0, %[[RACC]]#2
// CHECK: %[[CD:.+]] = arith.addf %[[RACC]]#4, %[[RACC]]#6
// CHECK: %[[EVEN:.+]] = arith.addf %[[AB]], %[[CD]]
// CHECK: arith.addf %[[RACC]]#1, %[[RACC]]#3
// CHECK: arith.addf %[[RACC]]#5, %[[RACC]]#7
// CHECK: %[[ODD:.+]] = arith.addf
// CHECK: %[[SUM:.+]] = vector.interleave %[[EVEN]], %[[ODD]] : vector<8xf32> -> vector<16xf32>
// CHECK: vector.store %[[SUM]], %[[YR]]
func.func @packed_bf16(%x: memref<?x8xf32>, %w: memref<2x8x16xbf16>, %y: memref<?x2x16xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x, %w : memref<?x8xf32>, memref<2x8x16xbf16>) outs(%y : memref<?x2x16xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [4, 16, 8]>} {
  ^bb0(%in: f32, %win: bf16, %acc: f32):
    %e = arith.extf %win : bf16 to f32
    %p = arith.mulf %in, %e : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#x = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

// f32 weights need no widening. 6-row tiles (AVX-512 strategy) with 32
// lanes per block.

// CHECK-LABEL: func.func @packed_f32(
// CHECK-NOT: linalg.generic
// CHECK: scf.for
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %[[C6:[^ ]+]] {
// CHECK: %{{.+}}:6 = scf.for {{.+}} -> (vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>) {
// CHECK: vector.load {{.+}} : memref<1x4x32xf32, {{.+}}>, vector<32xf32>
// CHECK-NOT: arith.bitcast
// CHECK-COUNT-6: vector.fma
// CHECK: scf.yield
// CHECK-COUNT-6: vector.store
func.func @packed_f32(%x: memref<?x4xf32>, %w: memref<3x4x32xf32>, %y: memref<?x3x32xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x, %w : memref<?x4xf32>, memref<3x4x32xf32>) outs(%y : memref<?x3x32xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [6, 32, 4]>} {
  ^bb0(%in: f32, %win: f32, %acc: f32):
    %p = arith.mulf %in, %win : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#x = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

// Vector-length agnostic tiles (SVE): the 16-lane block is walked in chunks
// of 4 x vscale lanes under a mask, each chunk with its own depth loop.

// CHECK-LABEL: func.func @packed_scalable(
// CHECK: %[[VSCALE:.+]] = vector.vscale
// CHECK: %[[STEP:.+]] = arith.muli %[[VSCALE]], %{{.+}} : index
// CHECK: scf.for %[[LANE:.+]] = %{{.+}} to %{{.+}} step %[[STEP]] {
// CHECK: %[[MASK:.+]] = vector.create_mask %{{.+}} : vector<[4]xi1>
// CHECK: vector.maskedload %{{.+}}[%{{.+}}, %{{.+}}, %[[LANE]]], %[[MASK]], %{{.+}} : memref<2x1x16xf32, {{.+}}>, vector<[4]xi1>, vector<[4]xf32> into vector<[4]xf32>
// CHECK: scf.for {{.+}} -> (vector<[4]xf32>, vector<[4]xf32>) {
// CHECK: vector.maskedload {{.+}} : memref<1x8x16xbf16, {{.+}}>, vector<[4]xi1>, vector<[4]xbf16> into vector<[4]xbf16>
// CHECK: arith.bitcast %{{.+}} : vector<[4]xi32> to vector<[4]xf32>
// CHECK-COUNT-2: vector.fma {{.+}} : vector<[4]xf32>
// CHECK: scf.yield
// CHECK-COUNT-2: vector.maskedstore
func.func @packed_scalable(%x: memref<?x8xf32>, %w: memref<2x8x16xbf16>, %y: memref<?x2x16xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x, %w : memref<?x8xf32>, memref<2x8x16xbf16>) outs(%y : memref<?x2x16xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [2, 16, 8], scalable_lanes = 4>} {
  ^bb0(%in: f32, %win: bf16, %acc: f32):
    %e = arith.extf %win : bf16 to f32
    %p = arith.mulf %in, %e : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Linalg ops without llm.lowering_config are not touched.

// CHECK-LABEL: func.func @untagged(
// CHECK: linalg.generic
// CHECK-NOT: vector.
func.func @untagged(%a: memref<?x8xf32>, %b: memref<?x8xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%a : memref<?x8xf32>) outs(%b : memref<?x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#x = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3 * 8 + d4)>
#w = affine_map<(d0, d1, d2, d3, d4) -> (d1, d3, d4, d2)>
#s = affine_map<(d0, d1, d2, d3, d4) -> (d1, d3, d2)>
#o = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2)>

// A quantized matmul: i8 weights in groups of 8 columns with one f16 scale
// per group and lane. Per group the scales are widened once; the group's
// i8 columns are converted to f32 and multiplied with the broadcast inputs
// into per-group sums, which are scaled into the row accumulators once at
// the group's end. Tiles of 2 rows and a depth step of 16 (two groups).

// CHECK-LABEL: func.func @quantized_i8(
// CHECK-SAME: %[[X:[^:]+]]: memref<?x32xf32>, %[[W:[^:]+]]: memref<2x4x8x16xi8>, %[[S:[^:]+]]: memref<2x4x16xf16>, %[[Y:[^:]+]]: memref<?x2x16xf32>
// CHECK-NOT: linalg.generic
// CHECK: %[[WT:.+]] = memref.subview %[[W]][%{{.+}}, %{{.+}}, 0, 0] [1, 2, 8, 16] [1, 1, 1, 1] : memref<2x4x8x16xi8> to memref<1x2x8x16xi8
// CHECK: %[[ST:.+]] = memref.subview %[[S]][%{{.+}}, %{{.+}}, 0] [1, 2, 16] [1, 1, 1] : memref<2x4x16xf16> to memref<1x2x16xf16
// CHECK: %[[ACC:.+]]:2 = scf.for %[[KG:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[A0:.+]] = %{{.+}}, %[[A1:.+]] = %{{.+}}) -> (vector<16xf32>, vector<16xf32>) {
// CHECK: %[[SV:.+]] = vector.load %[[ST]][%{{.+}}, %[[KG]], %{{.+}}] : memref<1x2x16xf16, {{.+}}>, vector<16xf16>
// CHECK: %[[SF:.+]] = arith.extf %[[SV]] : vector<16xf16> to vector<16xf32>
// CHECK: %[[P:.+]]:2 = scf.for %[[KI:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[P0:.+]] = %[[Z:.+]], %[[P1:.+]] = %[[Z]]) -> (vector<16xf32>, vector<16xf32>) {
// CHECK: %[[Q:.+]] = vector.load %[[WT]][%{{.+}}, %[[KG]], %[[KI]], %{{.+}}] : memref<1x2x8x16xi8, {{.+}}>, vector<16xi8>
// CHECK: %[[QF:.+]] = arith.sitofp %[[Q]] : vector<16xi8> to vector<16xf32>
// CHECK: vector.fma %{{.+}}, %[[QF]], %[[P0]] : vector<16xf32>
// CHECK: vector.fma %{{.+}}, %[[QF]], %[[P1]] : vector<16xf32>
// CHECK: scf.yield
// CHECK: %[[N0:.+]] = vector.fma %[[P]]#0, %[[SF]], %[[A0]] : vector<16xf32>
// CHECK: %[[N1:.+]] = vector.fma %[[P]]#1, %[[SF]], %[[A1]] : vector<16xf32>
// CHECK: scf.yield %[[N0]], %[[N1]]
func.func @quantized_i8(%x: memref<?x32xf32>, %w: memref<2x4x8x16xi8>, %s: memref<2x4x16xf16>, %y: memref<?x2x16xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #s, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%x, %w, %s : memref<?x32xf32>, memref<2x4x8x16xi8>, memref<2x4x16xf16>) outs(%y : memref<?x2x16xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [2, 16, 16]>} {
  ^bb0(%in: f32, %q: i8, %scale: f16, %acc: f32):
    %qf = arith.sitofp %q : i8 to f32
    %sf = arith.extf %scale : f16 to f32
    %wv = arith.mulf %qf, %sf : f32
    %p = arith.mulf %in, %wv : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return
}

// -----

#x = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d4 * 8 + d5)>
#w = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, d4, d5, d3)>
#s = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, d4, d2, d3)>
#o = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>

// A 4-bit matmul: blocks of 32 lanes stored as 16 bytes per column, lane j
// in the low nibble of byte j and lane 16 + j in its high nibble, offset by
// 8. With 8 row tiles or more (16 rows) the panel is first dequantized into
// an f32 buffer of both halves' 32 lanes (integer times its group's scale)
// and the tiles multiply that, the output's halves collapsed to 32 lanes.
// Fewer rows: one byte load per column gives both halves (and, shift), each
// widened and multiplied into its own per-group sums.

// CHECK-LABEL: func.func @nibbles(
// CHECK-NOT: linalg.generic
// CHECK: %[[PANEL:.+]] = memref.alloca() {alignment = 64 : i64} : memref<1x16x32xf32>
// CHECK: scf.if
// CHECK: %[[S0:.+]] = arith.extf {{.+}} : vector<16xf16> to vector<16xf32>
// CHECK: %[[S1:.+]] = arith.extf {{.+}} : vector<16xf16> to vector<16xf32>
// CHECK: %[[PB:.+]] = vector.load {{.+}} : memref<1x2x8x16xi8, {{.+}}>, vector<16xi8>
// CHECK: %[[PL:.+]] = arith.andi %[[PB]]
// CHECK: %[[PL8:.+]] = arith.subi %[[PL]]
// CHECK: %[[PH:.+]] = arith.shrui %[[PB]]
// CHECK: %[[PH8:.+]] = arith.subi %[[PH]]
// CHECK: %[[PLF:.+]] = arith.sitofp %[[PL8]] : vector<16xi8> to vector<16xf32>
// CHECK: %[[PLS:.+]] = arith.mulf %[[PLF]], %[[S0]]
// CHECK: vector.store %[[PLS]], %[[PANEL]][%{{.+}}, %{{.+}}, %c0]
// CHECK: %[[PHF:.+]] = arith.sitofp %[[PH8]] : vector<16xi8> to vector<16xf32>
// CHECK: %[[PHS:.+]] = arith.mulf %[[PHF]], %[[S1]]
// CHECK: vector.store %[[PHS]], %[[PANEL]][%{{.+}}, %{{.+}}, %c16]
// CHECK: memref.collapse_shape %{{.+}} {{\[}}[0], [1], [2, 3]] : memref<2x1x2x16xf32, {{.+}}> into memref<2x1x32xf32
// CHECK: vector.load %[[PANEL]]{{.+}} : memref<1x16x32xf32>, vector<32xf32>
// CHECK-COUNT-2: vector.fma {{.+}} : vector<32xf32>
// CHECK: } else {
// CHECK: scf.for
// CHECK: arith.extf {{.+}} : vector<16xf16> to vector<16xf32>
// CHECK: arith.extf {{.+}} : vector<16xf16> to vector<16xf32>
// CHECK: %[[B:.+]] = vector.load {{.+}} : memref<1x2x8x16xi8, {{.+}}>, vector<16xi8>
// CHECK: %[[LO:.+]] = arith.andi %[[B]], %{{.+}} : vector<16xi8>
// CHECK: %[[L8:.+]] = arith.subi %[[LO]], %{{.+}} : vector<16xi8>
// CHECK: %[[HI:.+]] = arith.shrui %[[B]], %{{.+}} : vector<16xi8>
// CHECK: %[[H8:.+]] = arith.subi %[[HI]], %{{.+}} : vector<16xi8>
// CHECK: arith.sitofp %[[L8]] : vector<16xi8> to vector<16xf32>
// CHECK: vector.fma
// CHECK: arith.sitofp %[[H8]] : vector<16xi8> to vector<16xf32>
// CHECK: vector.fma
func.func @nibbles(%x: memref<?x32xf32>, %w: memref<2x4x8x16xi8>, %s: memref<2x4x2x16xf16>, %y: memref<?x2x2x16xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #s, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%x, %w, %s : memref<?x32xf32>, memref<2x4x8x16xi8>, memref<2x4x2x16xf16>) outs(%y : memref<?x2x2x16xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [2, 32, 16]>} {
  ^bb0(%in: f32, %byte: i8, %scale: f16, %acc: f32):
    %h = linalg.index 2 : index
    %c0 = arith.constant 0 : index
    %high = arith.cmpi ne, %h, %c0 : index
    %c4 = arith.constant 4 : i8
    %shifted = arith.shrui %byte, %c4 : i8
    %picked = arith.select %high, %shifted, %byte : i8
    %c15 = arith.constant 15 : i8
    %nibble = arith.andi %picked, %c15 : i8
    %c8 = arith.constant 8 : i8
    %q = arith.subi %nibble, %c8 : i8
    %qf = arith.sitofp %q : i8 to f32
    %sf = arith.extf %scale : f16 to f32
    %wv = arith.mulf %qf, %sf : f32
    %p = arith.mulf %in, %wv : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return
}

// -----

#x = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

// With the target's L2 known, the rows go in chunks whose inputs fit in half
// of it (2048 bytes / 2 over rows of 8 f32: 32 rows, a multiple of the
// 4-row tile), outside the blocks: a chunk's inputs stay in the L2 while
// every weight block walks them.

// CHECK-LABEL: func.func @row_chunks(
// CHECK-SAME: %[[X:[^:]+]]: memref<?x8xf32>
// CHECK-DAG: %[[C32:.+]] = arith.constant 32 : index
// CHECK: %[[ROWS:.+]] = memref.dim %[[X]]
// CHECK: scf.for %[[CHUNK:.+]] = %{{.+}} to %[[ROWS]] step %[[C32]] {
// CHECK: memref.subview %[[X]][%[[CHUNK]], 0] [%{{.+}}, 8] [1, 1]
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} {
// CHECK: vector.fma
module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "generic", features = "", vector_bits = 512, vector_registers = 32, l1_bytes = 1024, l2_bytes = 2048>} {
func.func @row_chunks(%x: memref<?x8xf32>, %w: memref<2x8x16xbf16>, %y: memref<?x2x16xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x, %w : memref<?x8xf32>, memref<2x8x16xbf16>) outs(%y : memref<?x2x16xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [4, 16, 8]>} {
  ^bb0(%in: f32, %win: bf16, %acc: f32):
    %e = arith.extf %win : bf16 to f32
    %p = arith.mulf %in, %e : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
}

// -----

#x = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

// Input rows so long (64 f32: 256 bytes) that half of the L2 (1024 bytes)
// holds 4 rows, one tile: the depth is chunked too, halved while fewer than
// 16 tiles fit and the half is still a multiple of the depth step (8): 8
// columns, 32 rows per chunk. The depth chunks run inside the row chunks
// and outside the blocks. Only with 8 tiles of rows or more (32): fewer
// (decode) walk each block's whole depth in one stream.

// CHECK-LABEL: func.func @depth_chunks(
// CHECK-SAME: %[[X:[^:]+]]: memref<?x64xf32>
// CHECK-DAG: %[[C32:.+]] = arith.constant 32 : index
// CHECK-DAG: %[[C64:.+]] = arith.constant 64 : index
// CHECK-DAG: %[[C8:.+]] = arith.constant 8 : index
// CHECK: %[[M:.+]] = memref.dim %[[X]]
// CHECK: %[[MANY:.+]] = arith.cmpi sge, %[[M]], %[[C32]]
// CHECK: scf.if %[[MANY]] {
// CHECK: %[[ROWS:.+]] = memref.dim %[[X]]
// CHECK: scf.for %[[CHUNK:.+]] = %{{.+}} to %[[ROWS]] step %[[C32]] {
// CHECK: scf.for %[[K:.+]] = %{{.+}} to %[[C64]] step %[[C8]] {
// CHECK: memref.subview %[[X]][%[[CHUNK]], %[[K]]] [%{{.+}}, 8] [1, 1]
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} {
// CHECK: vector.fma
// CHECK: } else {
// CHECK-NOT: step %[[C8]] {
// CHECK: memref.subview %[[X]][%{{.+}}, 0] [%{{.+}}, 64] [1, 1]
// CHECK: vector.fma
module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "generic", features = "", vector_bits = 512, vector_registers = 32, l1_bytes = 1024, l2_bytes = 2048>} {
func.func @depth_chunks(%x: memref<?x64xf32>, %w: memref<2x64x16xbf16>, %y: memref<?x2x16xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x, %w : memref<?x64xf32>, memref<2x64x16xbf16>) outs(%y : memref<?x2x16xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [4, 16, 8]>} {
  ^bb0(%in: f32, %win: bf16, %acc: f32):
    %e = arith.extf %win : bf16 to f32
    %p = arith.mulf %in, %e : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
}

// -----

#x = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

// A row chunk (64 rows: half of the 8 KiB L2 over rows of 16 f32) whose
// tiles get a widened panel also gets its inputs packed, once, before the
// loop over the weight blocks: with 8 whole 8-row tiles or more, each tile's
// 8 rows are transposed (loads of 16 columns, three rounds of shuffles, each
// result two columns of 8 rows) into a [tiles, depth, 8] view of the
// function's 1 MiB stack buffer for packed inputs, and the widened version's
// tile reads its rows side by side ([column, row]). That version runs only
// if the buffer was filled; the other reads the inputs as they are.

// CHECK-LABEL: func.func @packed_inputs(
// CHECK-SAME: %[[X:[^:]+]]: memref<?x16xf32>
// CHECK-DAG: %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.+]] = arith.constant 1 : index
// CHECK-DAG: %[[C2:.+]] = arith.constant 2 : index
// CHECK-DAG: %[[C8:.+]] = arith.constant 8 : index
// CHECK-DAG: %[[C14:.+]] = arith.constant 14 : index
// CHECK-DAG: %[[C64:.+]] = arith.constant 64 : index
// CHECK: %[[PANEL:.+]] = memref.alloca() {alignment = 64 : i64} : memref<1x16x16xf32>
// CHECK: %[[BYTES:.+]] = memref.alloca() {alignment = 64 : i64} : memref<1048576xi8>
// CHECK: %[[PACKED:.+]] = memref.view %[[BYTES]][%[[C0]]][] : memref<1048576xi8> to memref<8x16x8xf32>
// CHECK: scf.for %[[CHUNK:.+]] = %[[C0]] to %{{.+}} step %[[C64]] {
// CHECK: %[[ROWS:.+]] = affine.min
// CHECK: %[[XC:.+]] = memref.subview %[[X]][%[[CHUNK]], 0] [%[[ROWS]], 16] [1, 1]
// CHECK: %[[TILES:.+]] = arith.divui %[[ROWS]], %[[C8]]
// CHECK: %[[ENOUGH:.+]] = arith.cmpi sge, %[[TILES]], %[[C8]]
// CHECK: scf.if %[[ENOUGH]] {
// CHECK: scf.for %[[T:.+]] = %[[C0]] to %[[TILES]] step %[[C1]] {
// CHECK: %[[FIRST:.+]] = arith.muli %[[T]], %[[C8]]
// CHECK: %[[R0:.+]] = vector.load %[[XC]][%[[FIRST]], %[[C0]]] : {{.+}}, vector<16xf32>
// CHECK: %[[R1:.+]] = vector.load %[[XC]]
// CHECK-COUNT-6: vector.load %[[XC]]
// CHECK: %[[A:.+]] = vector.shuffle %[[R0]], %[[R1]] [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23]
// CHECK: vector.shuffle %[[R0]], %[[R1]] [8, 24, 9, 25
// CHECK-COUNT-6: vector.shuffle
// CHECK: %[[B:.+]] = vector.shuffle %[[A]], %{{.+}} [0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23]
// CHECK-COUNT-7: vector.shuffle
// CHECK: %[[P0:.+]] = vector.shuffle %[[B]], %{{.+}} [0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23]
// CHECK: %[[P1:.+]] = vector.shuffle %[[B]], %{{.+}} [8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31]
// CHECK-COUNT-6: vector.shuffle
// CHECK: vector.store %[[P0]], %[[PACKED]][%[[T]], %[[C0]], %[[C0]]]
// CHECK: vector.store %[[P1]], %[[PACKED]][%[[T]], %[[C2]], %[[C0]]]
// CHECK-COUNT-5: vector.store {{.+}}, %[[PACKED]][%[[T]], %{{.+}}, %[[C0]]]
// CHECK: vector.store {{.+}}, %[[PACKED]][%[[T]], %[[C14]], %[[C0]]]
// CHECK: scf.for %[[B:.+]] = %[[C0]] to %{{.+}} step %[[C1]] {
// CHECK: %[[MANY:.+]] = arith.cmpi sge
// CHECK: %[[BOTH:.+]] = arith.andi %[[MANY]], %[[ENOUGH]]
// CHECK: scf.if %[[BOTH]] {
// CHECK: vector.store {{.+}}, %[[PANEL]]
// CHECK: scf.for %[[M:.+]] = %[[C0]] to %{{.+}} step %[[C8]] {
// CHECK: %[[TILE:.+]] = arith.divui %[[M]], %[[C8]]
// CHECK: %[[XT:.+]] = memref.subview %[[PACKED]][%[[TILE]], 0, 0] [1, 16, 8] [1, 1, 1] : memref<8x16x8xf32> to memref<16x8xf32
// CHECK: scf.for %[[K:.+]] = %[[C0]] to
// CHECK: vector.load %[[PANEL]][%[[C0]], %[[K]], %[[C0]]]
// CHECK: memref.load %[[XT]][%[[K]], %[[C0]]]
// CHECK: memref.load %[[XT]][%[[K]], %[[C1]]]
// CHECK: } else {
// CHECK: memref.subview %[[XC]]
// CHECK-NOT: %[[PACKED]]
// CHECK: return
module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "generic", features = "", vector_bits = 512, vector_registers = 32, l1_bytes = 16384, l2_bytes = 8192>} {
func.func @packed_inputs(%x: memref<?x16xf32>, %w: memref<2x16x16xbf16>, %y: memref<?x2x16xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x, %w : memref<?x16xf32>, memref<2x16x16xbf16>) outs(%y : memref<?x2x16xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [8, 16, 16]>} {
  ^bb0(%in: f32, %win: bf16, %acc: f32):
    %e = arith.extf %win : bf16 to f32
    %p = arith.mulf %in, %e : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
}

// -----

#x = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

// f32 weights get the many-rows version only with their inputs packed: the
// tiles then read the weights in place (no panel copied), each prefetching
// the next panel (16 depth steps on) into the L2, every 64-byte line of it
// (two per row of 32 lanes).

// CHECK-LABEL: func.func @packed_inputs_f32(
// CHECK-SAME: %[[W:[^:]+]]: memref<2x16x32xf32>
// CHECK-DAG: %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG: %[[C16:.+]] = arith.constant 16 : index
// CHECK-NOT: memref.alloca() {alignment = 64 : i64} : memref<1x16x32xf32>
// CHECK: %[[PACKED:.+]] = memref.view
// CHECK: scf.if %[[ENOUGH:.+]] {
// CHECK: vector.shuffle
// CHECK: %[[WT:.+]] = memref.subview %[[W]]
// CHECK: scf.if
// CHECK: memref.subview %[[PACKED]]
// CHECK: scf.for %[[K:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(
// CHECK-NEXT: %[[NEXT:.+]] = arith.addi %[[K]], %[[C16]]
// CHECK-NEXT: memref.prefetch %[[WT]][%[[C0]], %[[NEXT]], %[[C0]]], read, locality<2>
// CHECK-NEXT: %[[NEXT2:.+]] = arith.addi %[[K]], %[[C16]]
// CHECK-NEXT: memref.prefetch %[[WT]][%[[C0]], %[[NEXT2]], %[[C16]]], read, locality<2>
// CHECK: vector.load %[[WT]][%{{.+}}, %[[K]], %{{.+}}] : {{.+}}, vector<32xf32>
// CHECK: } else {
// CHECK-NOT: %[[PACKED]]
// CHECK: return
module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "generic", features = "", vector_bits = 512, vector_registers = 32, l1_bytes = 16384, l2_bytes = 8192>} {
func.func @packed_inputs_f32(%x: memref<?x16xf32>, %w: memref<2x16x32xf32>, %y: memref<?x2x32xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x, %w : memref<?x16xf32>, memref<2x16x32xf32>) outs(%y : memref<?x2x32xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [8, 32, 16]>} {
  ^bb0(%in: f32, %win: f32, %acc: f32):
    %p = arith.mulf %in, %win : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
}
