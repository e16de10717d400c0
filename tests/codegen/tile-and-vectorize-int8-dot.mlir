// RUN: llm-opt %s --pass-pipeline="builtin.module(func.func(llm-tile-and-vectorize))" --split-input-file | FileCheck %s
// RUN: llm-opt %s --pass-pipeline="builtin.module(func.func(llm-tile-and-vectorize))" --split-input-file | FileCheck %s --check-prefix=FAR

#x = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3 * 8 + d4 * 4 + d5)>
#w = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, d3, d4, d2, d5)>
#s = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, d3, d2)>
#r = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3)>
#o = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2)>

// On x86 VNNI: i8 weights interleaved by 4 columns in groups of 8, inputs
// quantized to i8 with a scale and a sum per row and group. Per group each
// row's integer sums start at -128 times its inputs' sum (the weights are
// made unsigned by flipping their top bit); per 4 columns one load of the
// block's 16 lanes x 4 bytes, one vpdpbusd per row with the row's 4 inputs
// broadcast; at the group's end the sums are converted and added times the
// lanes' scale times the row's. The scales are prefetched 2 groups ahead, as
// the weights are; on Zen 5 the single row (decode) prefetches nothing
// further into the L2 (its prefetchers do).

// CHECK-LABEL: func.func @vnni_i8(
// CHECK-DAG: %[[FLIP:.+]] = arith.constant dense<-128> : vector<64xi8>
// CHECK-DAG: %[[M128:.+]] = arith.constant -128 : i32
// CHECK-NOT: linalg.generic
// CHECK: %[[ACC:.+]]:2 = scf.for %[[KG:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[A0:.+]] = %{{.+}}, %[[A1:.+]] = %{{.+}}) -> (vector<16xf32>, vector<16xf32>) {
// CHECK: %[[SV:.+]] = vector.load {{.+}} : memref<1x2x16xf16, {{.+}}>, vector<16xf16>
// CHECK: %[[SF:.+]] = arith.extf %[[SV]] : vector<16xf16> to vector<16xf32>
// CHECK: %[[XS0:.+]] = memref.load {{.+}}[%{{.+}}, %[[KG]]] : memref<2x2xf32, {{.+}}>
// CHECK: %[[RS0:.+]] = vector.splat %[[XS0]] : vector<16xf32>
// CHECK: %[[SUM0:.+]] = memref.load {{.+}}[%{{.+}}, %[[KG]]] : memref<2x2xi32, {{.+}}>
// CHECK: %[[NEG0:.+]] = arith.muli %[[SUM0]], %[[M128]] : i32
// CHECK: %[[START0:.+]] = vector.splat %[[NEG0]] : vector<16xi32>
// CHECK: %[[AHEAD:.+]] = arith.addi %[[KG]], %c2 : index
// CHECK-NEXT: memref.prefetch %{{.+}}[%{{.+}}, %[[AHEAD]], %{{.+}}], read, locality<3>, data : memref<1x2x16xf16
// CHECK: %[[P:.+]]:2 = scf.for %[[KQ:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[P0:.+]] = %[[START0]], %[[P1:.+]] = %{{.+}}) -> (vector<16xi32>, vector<16xi32>) {
// CHECK: %[[W:.+]] = vector.load {{.+}}[%{{.+}}, %[[KG]], %[[KQ]], %{{.+}}] : memref<1x2x2x64xi8, {{.+}}>, vector<64xi8>
// CHECK: memref.prefetch %{{.+}}[%{{.+}}, %[[AHEAD]], %[[KQ]], %{{.+}}], read, locality<3>, data : memref<1x2x2x64xi8
// CHECK: %[[U:.+]] = arith.xori %[[W]], %[[FLIP]] : vector<64xi8>
// CHECK: %[[X4:.+]] = vector.load {{.+}} : memref<2x16xi8, {{.+}}>, vector<4xi8>
// CHECK: %[[X32:.+]] = vector.bitcast %[[X4]] : vector<4xi8> to vector<1xi32>
// CHECK: %[[XE:.+]] = vector.extract %[[X32]][0] : i32 from vector<1xi32>
// CHECK: %[[XB:.+]] = vector.splat %[[XE]] : vector<16xi32>
// CHECK: %[[UW:.+]] = vector.bitcast %[[U]] : vector<64xi8> to vector<16xi32>
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%[[P0]], %[[UW]], %[[XB]]) : (vector<16xi32>, vector<16xi32>, vector<16xi32>) -> vector<16xi32>
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%[[P1]],
// CHECK: scf.yield
// CHECK: %[[F0:.+]] = arith.sitofp %[[P]]#0 : vector<16xi32> to vector<16xf32>
// CHECK: %[[S0:.+]] = arith.mulf %[[SF]], %[[RS0]] : vector<16xf32>
// CHECK: vector.fma %[[F0]], %[[S0]], %[[A0]] : vector<16xf32>
// FAR-LABEL: func.func @vnni_i8(
// FAR-NOT: locality<2>
module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "znver5", features = "+avx2,+avx512f,+avx512bw,+avx512vl,+avx512vnni", vector_bits = 512, vector_registers = 32, l1_bytes = 49152, l2_bytes = 1048576>} {
func.func @vnni_i8(%x: memref<?x16xi8>, %w: memref<2x2x2x16x4xi8>, %s: memref<2x2x16xf16>, %xs: memref<?x2xf32>, %xsum: memref<?x2xi32>, %y: memref<?x2x16xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #s, #r, #r, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%x, %w, %s, %xs, %xsum : memref<?x16xi8>, memref<2x2x2x16x4xi8>, memref<2x2x16xf16>, memref<?x2xf32>, memref<?x2xi32>) outs(%y : memref<?x2x16xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [2, 16, 16]>} {
  ^bb0(%in: i8, %q: i8, %scale: f16, %rs: f32, %sum: i32, %acc: f32):
    %a = arith.extsi %in : i8 to i32
    %b = arith.extsi %q : i8 to i32
    %p = arith.muli %a, %b : i32
    %pf = arith.sitofp %p : i32 to f32
    %sf = arith.extf %scale : f16 to f32
    %t = arith.mulf %sf, %rs : f32
    %v = arith.mulf %pf, %t : f32
    %r = arith.addf %acc, %v : f32
    linalg.yield %r : f32
  }
  return
}
}

// -----

#x = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d4 * 8 + d5 * 4 + d6)>
#w = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d4, d5, d3, d6)>
#s = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d4, d2, d3)>
#r = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d4)>
#o = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)>

// On AVX2 (no VNNI): 4-bit weights, blocks of 16 lanes as 8 bytes per 4
// columns; one load gives both halves (low nibbles, high nibbles, 0..15),
// multiplied with vpmaddubsw on the inputs' magnitudes and the weights with
// the inputs' signs, then pairs summed with vpmaddwd; every row's sums
// start at -8 times its inputs' sum. 4-bit weights are prefetched 16 KiB
// ahead: 256 groups of 64 bytes here.

// CHECK-LABEL: func.func @avx2_i4(
// CHECK-NOT: linalg.generic
// CHECK: arith.muli %{{.+}}, %c-8_i32 : i32
// CHECK: %[[AHEAD:.+]] = arith.addi %{{.+}}, %c256 : index
// CHECK-NEXT: memref.prefetch %{{.+}}[%{{.+}}, %[[AHEAD]], %{{.+}}, %{{.+}}], read, locality<3>, data : memref<1x2x2x8xf16
// CHECK: scf.for
// CHECK: %[[B:.+]] = vector.load {{.+}} : memref<1x2x2x32xi8, {{.+}}>, vector<32xi8>
// CHECK: memref.prefetch %{{.+}}[%{{.+}}, %[[AHEAD]], %{{.+}}, %{{.+}}]
// CHECK: %[[LO:.+]] = arith.andi %[[B]], %{{.+}} : vector<32xi8>
// CHECK: %[[HI:.+]] = arith.shrui %[[B]], %{{.+}} : vector<32xi8>
// CHECK: llvm.call_intrinsic "llvm.x86.avx2.psign.b"
// CHECK: llvm.call_intrinsic "llvm.x86.avx2.psign.b"(%[[LO]],
// CHECK: llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"
// CHECK: llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"
// CHECK: llvm.call_intrinsic "llvm.x86.avx2.psign.b"(%[[HI]],
// The remainder's single row (decode) also prefetches twice as far ahead
// (512 groups) into the L2, scales and weights; the 2-row tile does not.
// FAR-LABEL: func.func @avx2_i4(
// FAR: arith.addi %{{.+}}, %c256 : index
// FAR-NOT: locality<2>
// FAR: %[[NEAR:.+]] = arith.addi %{{.+}}, %c256 : index
// FAR-NEXT: %[[FAR:.+]] = arith.addi %{{.+}}, %c512 : index
// FAR-NEXT: memref.prefetch %{{.+}}[%{{.+}}, %[[NEAR]], %{{.+}}, %{{.+}}], read, locality<3>, data : memref<1x2x2x8xf16
// FAR-NEXT: memref.prefetch %{{.+}}[%{{.+}}, %[[FAR]], %{{.+}}, %{{.+}}], read, locality<2>, data : memref<1x2x2x8xf16
// FAR: memref.prefetch %{{.+}}[%{{.+}}, %[[NEAR]], %{{.+}}, %{{.+}}], read, locality<3>, data : memref<1x2x2x32xi8
// FAR-NEXT: memref.prefetch %{{.+}}[%{{.+}}, %[[FAR]], %{{.+}}, %{{.+}}], read, locality<2>, data : memref<1x2x2x32xi8
// FAR-LABEL: func.func @sdot_i8(
module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "znver3", features = "+avx2,+fma", vector_bits = 256, vector_registers = 16, l1_bytes = 32768, l2_bytes = 524288>} {
func.func @avx2_i4(%x: memref<?x16xi8>, %w: memref<2x2x2x8x4xi8>, %s: memref<2x2x2x8xf16>, %xs: memref<?x2xf32>, %xsum: memref<?x2xi32>, %y: memref<?x2x2x8xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #s, #r, #r, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%x, %w, %s, %xs, %xsum : memref<?x16xi8>, memref<2x2x2x8x4xi8>, memref<2x2x2x8xf16>, memref<?x2xf32>, memref<?x2xi32>) outs(%y : memref<?x2x2x8xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [2, 16, 16]>} {
  ^bb0(%in: i8, %byte: i8, %scale: f16, %rs: f32, %sum: i32, %acc: f32):
    %h = linalg.index 2 : index
    %c0 = arith.constant 0 : index
    %high = arith.cmpi ne, %h, %c0 : index
    %c4 = arith.constant 4 : i8
    %shifted = arith.shrui %byte, %c4 : i8
    %sel = arith.select %high, %shifted, %byte : i8
    %c15 = arith.constant 15 : i8
    %nib = arith.andi %sel, %c15 : i8
    %c8 = arith.constant 8 : i8
    %q = arith.subi %nib, %c8 : i8
    %a = arith.extsi %in : i8 to i32
    %b = arith.extsi %q : i8 to i32
    %p = arith.muli %a, %b : i32
    %pf = arith.sitofp %p : i32 to f32
    %sf = arith.extf %scale : f16 to f32
    %t = arith.mulf %sf, %rs : f32
    %v = arith.mulf %pf, %t : f32
    %r = arith.addf %acc, %v : f32
    linalg.yield %r : f32
  }
  return
}
}

// -----

#x = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3 * 8 + d4 * 4 + d5)>
#w = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, d3, d4, d2, d5)>
#s = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, d3, d2)>
#r = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3)>
#o = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2)>

// On AArch64 with +dotprod: sdot on signed weights as stored, no offset.

// CHECK-LABEL: func.func @sdot_i8(
// CHECK-NOT: arith.xori
// CHECK-NOT: arith.muli %{{.+}}, %c-128_i32
// CHECK: llvm.call_intrinsic "llvm.aarch64.neon.sdot.v4i32.v16i8"({{.+}}) : (vector<4xi32>, vector<16xi8>, vector<16xi8>) -> vector<4xi32>
module attributes {llm.target = #llm.target<triple = "aarch64-unknown-linux-gnu", cpu = "cortex-a76", features = "+neon,+dotprod", vector_bits = 128, vector_registers = 32, l1_bytes = 65536, l2_bytes = 524288>} {
func.func @sdot_i8(%x: memref<?x16xi8>, %w: memref<2x2x2x8x4xi8>, %s: memref<2x2x8xf16>, %xs: memref<?x2xf32>, %xsum: memref<?x2xi32>, %y: memref<?x2x8xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #s, #r, #r, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%x, %w, %s, %xs, %xsum : memref<?x16xi8>, memref<2x2x2x8x4xi8>, memref<2x2x8xf16>, memref<?x2xf32>, memref<?x2xi32>) outs(%y : memref<?x2x8xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [2, 8, 16]>} {
  ^bb0(%in: i8, %q: i8, %scale: f16, %rs: f32, %sum: i32, %acc: f32):
    %a = arith.extsi %in : i8 to i32
    %b = arith.extsi %q : i8 to i32
    %p = arith.muli %a, %b : i32
    %pf = arith.sitofp %p : i32 to f32
    %sf = arith.extf %scale : f16 to f32
    %t = arith.mulf %sf, %rs : f32
    %v = arith.mulf %pf, %t : f32
    %r = arith.addf %acc, %v : f32
    linalg.yield %r : f32
  }
  return
}
}

// -----

// 16-bit inputs (input_bits = 16), 4-bit weights on VNNI: each input is
// two signed 8-bit limbs, x = 256 h + l, stored [row, group, limb, column].
// One pass over the group runs both limbs on their own sums (the weights
// loaded and split into nibbles once): the high limb's start at zero, the
// low limb's at -8 times the inputs' sum; at the group's end the high sums
// are shifted left by 8 onto the low ones, then converted and scaled once.

// CHECK-LABEL: func.func @vnni_i4_16bit(
// CHECK-DAG: %[[EIGHT:.+]] = arith.constant dense<8> : vector<16xi32>
// CHECK-DAG: %[[ZERO:.+]] = arith.constant dense<0> : vector<16xi32>
// CHECK: %[[SUM0:.+]] = memref.load {{.+}} : memref<2x2xi32, {{.+}}>
// CHECK: %[[NEG0:.+]] = arith.muli %[[SUM0]], %c-8_i32 : i32
// CHECK: %[[C0:.+]] = vector.splat %[[NEG0]] : vector<16xi32>
// CHECK: %[[SUM1:.+]] = memref.load {{.+}} : memref<2x2xi32, {{.+}}>
// CHECK: %[[NEG1:.+]] = arith.muli %[[SUM1]], %c-8_i32 : i32
// CHECK: %[[C1:.+]] = vector.splat %[[NEG1]] : vector<16xi32>
// CHECK: %[[P:.+]]:8 = scf.for %[[KQ:.+]] = {{.+}} iter_args({{.+}} = %[[ZERO]], {{.+}} = %[[ZERO]], {{.+}} = %[[ZERO]], {{.+}} = %[[ZERO]], {{.+}} = %[[C0]], {{.+}} = %[[C1]], {{.+}} = %[[C0]], {{.+}} = %[[C1]])
// CHECK-COUNT-1: vector.load {{.+}} : memref<1x2x2x64xi8, {{.+}}>, vector<64xi8>
// CHECK: arith.andi
// CHECK: arith.shrui
// CHECK: vector.load %{{.+}}[%c0, %{{.+}}, %c0, %{{.+}}] : memref<2x2x2x8xi8, {{.+}}>, vector<4xi8>
// CHECK-COUNT-2: llvm.x86.avx512.vpdpbusd.512
// CHECK: vector.load %{{.+}}[%c1, %{{.+}}, %c0, %{{.+}}] : memref<2x2x2x8xi8, {{.+}}>, vector<4xi8>
// CHECK-COUNT-2: llvm.x86.avx512.vpdpbusd.512
// CHECK: vector.load %{{.+}}[%c0, %{{.+}}, %c1, %{{.+}}] : memref<2x2x2x8xi8, {{.+}}>, vector<4xi8>
// CHECK-COUNT-2: llvm.x86.avx512.vpdpbusd.512
// CHECK: vector.load %{{.+}}[%c1, %{{.+}}, %c1, %{{.+}}] : memref<2x2x2x8xi8, {{.+}}>, vector<4xi8>
// CHECK-COUNT-2: llvm.x86.avx512.vpdpbusd.512
// CHECK-NOT: vector.load
// CHECK: scf.yield
// CHECK: %[[H0:.+]] = arith.shli %[[P]]#0, %[[EIGHT]] : vector<16xi32>
// CHECK: %[[S0:.+]] = arith.addi %[[H0]], %[[P]]#4 : vector<16xi32>
// CHECK: arith.shli %[[P]]#3, %[[EIGHT]]
// CHECK: arith.sitofp %[[S0]] : vector<16xi32> to vector<16xf32>
// CHECK-NOT: arith.muli
// CHECK: scf.yield
#x = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d4, d7, d5 * 4 + d6)>
#w = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d4, d5, d3, d6)>
#s = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d4, d2, d3)>
#r = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d4)>
#o = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3)>
module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "znver5", features = "+avx2,+avx512f,+avx512bw,+avx512vl,+avx512vnni", vector_bits = 512, vector_registers = 32, l1_bytes = 49152, l2_bytes = 1048576>} {
func.func @vnni_i4_16bit(%x: memref<?x2x2x8xi8>, %w: memref<2x2x2x16x4xi8>, %s: memref<2x2x2x16xf16>, %xs: memref<?x2xf32>, %xsum: memref<?x2xi32>, %y: memref<?x2x2x16xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #s, #r, #r, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "reduction"]} ins(%x, %w, %s, %xs, %xsum : memref<?x2x2x8xi8>, memref<2x2x2x16x4xi8>, memref<2x2x2x16xf16>, memref<?x2xf32>, memref<?x2xi32>) outs(%y : memref<?x2x2x16xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [2, 32, 16], input_bits = 16>} {
  ^bb0(%in: i8, %byte: i8, %scale: f16, %rs: f32, %sum: i32, %acc: f32):
    %h = linalg.index 2 : index
    %c0 = arith.constant 0 : index
    %high = arith.cmpi ne, %h, %c0 : index
    %c4 = arith.constant 4 : i8
    %shifted = arith.shrui %byte, %c4 : i8
    %sel = arith.select %high, %shifted, %byte : i8
    %c15 = arith.constant 15 : i8
    %nib = arith.andi %sel, %c15 : i8
    %c8 = arith.constant 8 : i8
    %q = arith.subi %nib, %c8 : i8
    %a = arith.extsi %in : i8 to i32
    %b = arith.extsi %q : i8 to i32
    %p = arith.muli %a, %b : i32
    %sf = arith.extf %scale : f16 to f32
    %t = arith.mulf %sf, %rs : f32
    %l = linalg.index 7 : index
    %first = arith.cmpi eq, %l, %c0 : index
    %c256 = arith.constant 256.0 : f32
    %c1 = arith.constant 1.0 : f32
    %limb = arith.select %first, %c256, %c1 : f32
    %tl = arith.mulf %t, %limb : f32
    %pf = arith.sitofp %p : i32 to f32
    %v = arith.mulf %pf, %tl : f32
    %r = arith.addf %acc, %v : f32
    linalg.yield %r : f32
  }
  return
}
}

// -----

// On AArch64 with +i8mm: 2 x 8 by 8 x 2 products (smmla), the weights
// interleaved by 8. Rows go in pairs, an odd last row paired with itself
// (its inputs loaded once); lanes in pairs. Each accumulator is a pair of
// rows times a pair of lanes, [r0 c0, r0 c1, r1 c0, r1 c1]: 4-bit weights
// as stored (0..15) with -8 times the inputs' sums taken off, 16-bit inputs
// in both limbs in one pass (the high sums shifted onto the low ones), then
// scaled by [s c0, s c1, s c0, s c1] x [x r0, x r0, x r1, x r1]. The f32
// pairs are stored back a row's two lanes at a time; row 2's pair stores
// row 2 only.

// CHECK-LABEL: func.func @smmla_i4_16bit(
// CHECK-DAG: %[[EIGHT:.+]] = arith.constant dense<8> : vector<4xi32>
// CHECK-DAG: %[[ZERO:.+]] = arith.constant dense<0> : vector<4xi32>
// CHECK: %[[ACC:.+]]:8 = scf.for
// CHECK: %[[SV:.+]] = vector.load {{.+}} : memref<1x2x2x4xf16, {{.+}}>, vector<2xf16>
// CHECK: %[[SF:.+]] = arith.extf %[[SV]] : vector<2xf16> to vector<2xf32>
// CHECK: %[[S01:.+]] = vector.shuffle %[[SF]], %[[SF]] [0, 1, 0, 1]
// CHECK: %[[XS0:.+]] = vector.splat %{{.+}} : vector<2xf32>
// CHECK: %[[XS1:.+]] = vector.splat %{{.+}} : vector<2xf32>
// CHECK: %[[RS:.+]] = vector.shuffle %[[XS0]], %[[XS1]] [0, 1, 2, 3]
// CHECK: %[[P:.+]]:16 = scf.for %{{.+}} iter_args(%[[H0:[a-z0-9_]+]] = %[[ZERO]],
// CHECK-COUNT-2: vector.load {{.+}} : memref<1x2x2x32xi8, {{.+}}>, vector<16xi8>
// CHECK: %[[X0:.+]] = vector.load %{{.+}}[%c0, %{{.+}}, %c0, %{{.+}}] : memref<3x2x2x16xi8, {{.+}}>, vector<8xi8>
// CHECK: %[[X1:.+]] = vector.load %{{.+}}[%c1, %{{.+}}, %c0, %{{.+}}] : memref<3x2x2x16xi8, {{.+}}>, vector<8xi8>
// CHECK: %[[A:.+]] = vector.shuffle %[[X0]], %[[X1]] [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
// CHECK: llvm.call_intrinsic "llvm.aarch64.neon.smmla.v4i32.v16i8"(%[[H0]], %[[A]], %{{.+}})
// CHECK-COUNT-3: llvm.aarch64.neon.smmla
// CHECK: %[[X2:.+]] = vector.load %{{.+}}[%c2, %{{.+}}, %c0, %{{.+}}] : memref<3x2x2x16xi8, {{.+}}>, vector<8xi8>
// CHECK-NEXT: vector.shuffle %[[X2]], %[[X2]]
// CHECK-COUNT-4: llvm.aarch64.neon.smmla
// CHECK: vector.load %{{.+}}[%c0, %{{.+}}, %c1, %{{.+}}] : memref<3x2x2x16xi8, {{.+}}>, vector<8xi8>
// CHECK-COUNT-4: llvm.aarch64.neon.smmla
// CHECK: vector.load %{{.+}}[%c2, %{{.+}}, %c1, %{{.+}}] : memref<3x2x2x16xi8, {{.+}}>, vector<8xi8>
// CHECK-COUNT-4: llvm.aarch64.neon.smmla
// CHECK-NOT: llvm.aarch64.neon.smmla
// CHECK: scf.yield
// CHECK: %[[HS:.+]] = arith.shli %[[P]]#0, %[[EIGHT]] : vector<4xi32>
// CHECK: %[[S:.+]] = arith.addi %[[HS]], %[[P]]#8 : vector<4xi32>
// CHECK: %[[F:.+]] = arith.sitofp %[[S]] : vector<4xi32> to vector<4xf32>
// CHECK: %[[SC:.+]] = arith.mulf %[[S01]], %[[RS]] : vector<4xf32>
// CHECK: vector.fma %[[F]], %[[SC]], %{{.+}} : vector<4xf32>
// CHECK: scf.yield
// CHECK: %[[R0:.+]] = vector.extract_strided_slice %[[ACC]]#0 {offsets = [0], sizes = [2], strides = [1]}
// CHECK: vector.store %[[R0]], %{{.+}}[%c0, %c0, %c0, %c0]
// CHECK: %[[R1:.+]] = vector.extract_strided_slice %[[ACC]]#0 {offsets = [2], sizes = [2], strides = [1]}
// CHECK: vector.store %[[R1]], %{{.+}}[%c1, %c0, %c0, %c0]
// CHECK: vector.extract_strided_slice %[[ACC]]#2 {offsets = [0], sizes = [2], strides = [1]}
// CHECK-NEXT: vector.store %{{.+}}, %{{.+}}[%c2, %c0, %c0, %c0]
// CHECK-NEXT: vector.extract_strided_slice %[[ACC]]#3 {offsets = [0]
#x = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d4, d7, d5 * 8 + d6)>
#w = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d4, d5, d3, d6)>
#s = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d4, d2, d3)>
#r = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d4)>
#o = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3)>
module attributes {llm.target = #llm.target<triple = "aarch64-unknown-linux-gnu", cpu = "cortex-a76", features = "+neon,+dotprod,+i8mm", vector_bits = 128, vector_registers = 32, l1_bytes = 65536, l2_bytes = 524288>} {
func.func @smmla_i4_16bit(%x: memref<?x2x2x16xi8>, %w: memref<2x2x2x4x8xi8>, %s: memref<2x2x2x4xf16>, %xs: memref<?x2xf32>, %xsum: memref<?x2xi32>, %y: memref<?x2x2x4xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #s, #r, #r, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "reduction"]} ins(%x, %w, %s, %xs, %xsum : memref<?x2x2x16xi8>, memref<2x2x2x4x8xi8>, memref<2x2x2x4xf16>, memref<?x2xf32>, memref<?x2xi32>) outs(%y : memref<?x2x2x4xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [3, 8, 32], input_bits = 16>} {
  ^bb0(%in: i8, %byte: i8, %scale: f16, %rs: f32, %sum: i32, %acc: f32):
    %h = linalg.index 2 : index
    %c0 = arith.constant 0 : index
    %high = arith.cmpi ne, %h, %c0 : index
    %c4 = arith.constant 4 : i8
    %shifted = arith.shrui %byte, %c4 : i8
    %sel = arith.select %high, %shifted, %byte : i8
    %c15 = arith.constant 15 : i8
    %nib = arith.andi %sel, %c15 : i8
    %c8 = arith.constant 8 : i8
    %q = arith.subi %nib, %c8 : i8
    %a = arith.extsi %in : i8 to i32
    %b = arith.extsi %q : i8 to i32
    %p = arith.muli %a, %b : i32
    %sf = arith.extf %scale : f16 to f32
    %t = arith.mulf %sf, %rs : f32
    %l = linalg.index 7 : index
    %first = arith.cmpi eq, %l, %c0 : index
    %c256 = arith.constant 256.0 : f32
    %c1 = arith.constant 1.0 : f32
    %limb = arith.select %first, %c256, %c1 : f32
    %tl = arith.mulf %t, %limb : f32
    %pf = arith.sitofp %p : i32 to f32
    %v = arith.mulf %pf, %tl : f32
    %r = arith.addf %acc, %v : f32
    linalg.yield %r : f32
  }
  return
}
}

// -----

// 6-bit weights (GGUF's Q6_K kept as it is), 16-bit inputs on VNNI: the
// low four bits of each integer + 32 are nibbles as in 4 bits, the top two
// a last input c[b, kg, kq / 2, j, p], one byte for two steps of 4 columns
// (bits 0-1 and 2-3 the first step's halves, 4-5 and 6-7 the second's).
// The two steps go together (here the whole group of 8): one load of the
// top bits (prefetched as the nibbles are), each half's moved to bits 4-5
// and or'ed into its nibbles; the low limb's sums start at -32 times the
// inputs' sum.

// CHECK-LABEL: func.func @vnni_i6_16bit(
// CHECK-DAG: %[[TOP:.+]] = arith.constant dense<48> : vector<64xi8>
// CHECK: %[[SUM0:.+]] = memref.load {{.+}} : memref<2x2xi32, {{.+}}>
// CHECK: arith.muli %[[SUM0]], %c-32_i32 : i32
// CHECK: %[[C:.+]] = vector.load %{{.+}}[%c0, %{{.+}}, %c0, %c0] : memref<1x2x1x64xi8, {{.+}}>, vector<64xi8>
// CHECK-NEXT: memref.prefetch {{.+}} : memref<1x2x1x64xi8
// CHECK: vector.load {{.+}} : memref<1x2x2x64xi8, {{.+}}>, vector<64xi8>
// CHECK: %[[LO:.+]] = arith.andi
// CHECK: %[[HI:.+]] = arith.shrui
// CHECK: %[[C0S:.+]] = arith.shli %[[C]], %{{.+}} : vector<64xi8>
// CHECK: %[[C0M:.+]] = arith.andi %[[C0S]], %[[TOP]] : vector<64xi8>
// CHECK: arith.ori %[[LO]], %[[C0M]] : vector<64xi8>
// CHECK: %[[C1S:.+]] = arith.shli %[[C]], %{{.+}} : vector<64xi8>
// CHECK: %[[C1M:.+]] = arith.andi %[[C1S]], %[[TOP]] : vector<64xi8>
// CHECK: arith.ori %[[HI]], %[[C1M]] : vector<64xi8>
// CHECK-COUNT-8: llvm.x86.avx512.vpdpbusd.512
// CHECK: vector.load {{.+}} : memref<1x2x2x64xi8, {{.+}}>, vector<64xi8>
// CHECK: %[[LO2:.+]] = arith.andi
// CHECK: %[[HI2:.+]] = arith.shrui
// CHECK: %[[C2M:.+]] = arith.andi %[[C]], %[[TOP]] : vector<64xi8>
// CHECK: arith.ori %[[LO2]], %[[C2M]] : vector<64xi8>
// CHECK: %[[C3S:.+]] = arith.shrui %[[C]], %{{.+}} : vector<64xi8>
// CHECK: %[[C3M:.+]] = arith.andi %[[C3S]], %[[TOP]] : vector<64xi8>
// CHECK: arith.ori %[[HI2]], %[[C3M]] : vector<64xi8>
// CHECK-COUNT-8: llvm.x86.avx512.vpdpbusd.512
// CHECK-NOT: vector.load
// CHECK: scf.yield
#x = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d4, d7, d5 * 4 + d6)>
#w = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d4, d5, d3, d6)>
#s = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d4, d2, d3)>
#r = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d4)>
#c = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d4, d5 floordiv 2, d3, d6)>
#o = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3)>
module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "znver5", features = "+avx2,+avx512f,+avx512bw,+avx512vl,+avx512vnni", vector_bits = 512, vector_registers = 32, l1_bytes = 49152, l2_bytes = 1048576>} {
func.func @vnni_i6_16bit(%x: memref<?x2x2x8xi8>, %w: memref<2x2x2x16x4xi8>, %s: memref<2x2x2x16xf16>, %xs: memref<?x2xf32>, %xsum: memref<?x2xi32>, %top: memref<2x2x1x16x4xi8>, %y: memref<?x2x2x16xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #s, #r, #r, #c, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "reduction"]} ins(%x, %w, %s, %xs, %xsum, %top : memref<?x2x2x8xi8>, memref<2x2x2x16x4xi8>, memref<2x2x2x16xf16>, memref<?x2xf32>, memref<?x2xi32>, memref<2x2x1x16x4xi8>) outs(%y : memref<?x2x2x16xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [2, 32, 16], input_bits = 16>} {
  ^bb0(%in: i8, %byte: i8, %scale: f16, %rs: f32, %sum: i32, %crumbs: i8, %acc: f32):
    %h = linalg.index 2 : index
    %c0 = arith.constant 0 : index
    %high = arith.cmpi ne, %h, %c0 : index
    %c4 = arith.constant 4 : i8
    %shifted = arith.shrui %byte, %c4 : i8
    %sel = arith.select %high, %shifted, %byte : i8
    %c15 = arith.constant 15 : i8
    %nib = arith.andi %sel, %c15 : i8
    %kq = linalg.index 5 : index
    %i2 = arith.constant 2 : index
    %odd = arith.remui %kq, %i2 : index
    %odd2 = arith.muli %odd, %i2 : index
    %slot = arith.addi %odd2, %h : index
    %bit = arith.muli %slot, %i2 : index
    %at = arith.index_cast %bit : index to i8
    %moved = arith.shrui %crumbs, %at : i8
    %c3 = arith.constant 3 : i8
    %two = arith.andi %moved, %c3 : i8
    %up = arith.shli %two, %c4 : i8
    %u = arith.ori %nib, %up : i8
    %c32 = arith.constant 32 : i8
    %q = arith.subi %u, %c32 : i8
    %a = arith.extsi %in : i8 to i32
    %b = arith.extsi %q : i8 to i32
    %p = arith.muli %a, %b : i32
    %sf = arith.extf %scale : f16 to f32
    %t = arith.mulf %sf, %rs : f32
    %l = linalg.index 7 : index
    %first = arith.cmpi eq, %l, %c0 : index
    %c256 = arith.constant 256.0 : f32
    %c1 = arith.constant 1.0 : f32
    %limb = arith.select %first, %c256, %c1 : f32
    %tl = arith.mulf %t, %limb : f32
    %pf = arith.sitofp %p : i32 to f32
    %v = arith.mulf %pf, %tl : f32
    %r = arith.addf %acc, %v : f32
    linalg.yield %r : f32
  }
  return
}
}
