// RUN: llm-opt %s --llm-distribute-to-gpu --split-input-file | FileCheck %s

// A projection with a short reduction (48, under the 48 that threads would
// share): one thread per output element (rows x blocks x lanes), numbered
// with the lane fastest; the reduction stays a loop in the thread. The grid
// covers the whole space in blocks of 256 threads.

#x = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

// CHECK-LABEL: func.func @projection
// CHECK-SAME: (%[[X:.*]]: memref<?x48xf32>, %[[W:.*]]: memref<4x48x32xbf16>, %[[Y:.*]]: memref<?x4x32xf32>)
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK: %[[GRID:.*]] = arith.ceildivui %[[TOTAL:.*]], %[[C256]]
// CHECK: %[[BLOCKS:.*]] = arith.maxui %[[GRID]], %{{.*}}
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[BLOCKS]], %{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C256]], %{{.*}})
// CHECK: %[[BASE:.*]] = arith.muli %[[BX]], %[[C256]]
// CHECK: %[[ID:.*]] = arith.addi %[[BASE]], %[[TX]]
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[ID]], %[[TOTAL]]
// CHECK: scf.if %[[IN]] {
// CHECK: arith.remui %[[ID]], %{{.*}}
// CHECK: scf.for
// CHECK: memref.load %[[W]]
// CHECK: memref.store {{.*}}, %[[Y]]
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
func.func @projection(%x: memref<?x48xf32>, %w: memref<4x48x32xbf16>,
                      %y: memref<?x4x32xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #o],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x48xf32>, memref<4x48x32xbf16>)
      outs(%y : memref<?x4x32xf32>) {
  ^bb0(%a: f32, %b: bf16, %acc: f32):
    %e = arith.extf %b : bf16 to f32
    %m = arith.mulf %a, %e : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// RMSNorm's sum of squares over 2048 columns, on a GPU: the columns of a row
// are split over a multiple of 32 threads (the row count chosen at run time
// against 132 x 1024 threads, at most 2048 / 8 = 256 splits), the split
// numbered fastest so that a warp shares one row; each thread sums a strided
// part, the warp sums with shuffles (xor 1 to 16) and its first thread adds
// to the row's sum atomically.

module attributes {llm.target = #llm.target<triple = "nvptx64-nvidia-cuda", cpu = "sm_90a", features = "+ptx80", vector_bits = 128, vector_registers = 255, l1_bytes = 262144, l2_bytes = 52428800, sm_count = 132, shared_memory_bytes = 232448>} {
// CHECK-LABEL: func.func @sum_of_squares
// CHECK-SAME: (%[[X:.*]]: memref<?x2048xf32>, %[[SUM:.*]]: memref<?xf32>)
// CHECK: %[[ROWS:.*]] = memref.dim %[[X]]
// CHECK: %[[WANT:.*]] = arith.ceildivui %c135168, %[[ROWS]]
// CHECK: %[[AT_LEAST:.*]] = arith.maxui %[[WANT]], %c1
// CHECK: %[[CAPPED:.*]] = arith.minui %[[AT_LEAST]], %{{.*}}
// CHECK: %[[WARPS:.*]] = arith.ceildivui %[[CAPPED]], %c32
// CHECK: %[[SPLITS:.*]] = arith.muli %[[WARPS]], %c32
// CHECK: gpu.launch
// CHECK: %[[SPLIT:.*]] = arith.remui %[[ID:.*]], %[[SPLITS]]
// CHECK: %[[POINT:.*]] = arith.divui %[[ID]], %[[SPLITS]]
// CHECK: %[[ROW:.*]] = arith.remui %[[POINT]], %[[ROWS]]
// CHECK: %[[PART:.*]] = scf.for %[[C:.*]] = %[[SPLIT]] to %c2048{{.*}} step %[[SPLITS]] iter_args(%[[ACC:.*]] = %{{.*}}) -> (f32)
// CHECK: %[[V:.*]] = memref.load %[[X]][%[[ROW]], %[[C]]]
// CHECK: %[[SQ:.*]] = arith.mulf %[[V]], %[[V]]
// CHECK: arith.addf %[[ACC]], %[[SQ]]
// CHECK: gpu.shuffle  xor %[[PART]], %c1_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c4_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c8_i32, %c32_i32 : f32
// CHECK: %[[SHUFFLED:.*]], %{{.*}} = gpu.shuffle  xor %{{.*}}, %c16_i32, %c32_i32 : f32
// CHECK: %[[TOTAL:.*]] = arith.addf %{{.*}}, %[[SHUFFLED]]
// CHECK: %[[LANE:.*]] = arith.remui %[[SPLIT]], %c32
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[LANE]], %c0
// CHECK: scf.if %[[FIRST]] {
// CHECK: memref.atomic_rmw addf %[[TOTAL]], %[[SUM]][%[[ROW]]]
// CHECK-NOT: linalg.generic
func.func @sum_of_squares(%x: memref<?x2048xf32>, %sum: memref<?xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                   affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x2048xf32>) outs(%sum : memref<?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.mulf %a, %a : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}
}

// -----

// The same reduction emulated on the CPU: every thread adds its part
// atomically, without shuffles.

module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "x86-64", features = "", vector_bits = 256, vector_registers = 16, l1_bytes = 32768, l2_bytes = 524288, sm_count = 132>} {
// CHECK-LABEL: func.func @sum_of_squares_emulated
// CHECK: gpu.launch
// CHECK: scf.for
// CHECK-NOT: gpu.shuffle
// CHECK: memref.atomic_rmw addf
// CHECK: gpu.terminator
func.func @sum_of_squares_emulated(%x: memref<?x2048xf32>, %sum: memref<?xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                   affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x2048xf32>) outs(%sum : memref<?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.mulf %a, %a : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}
}

// -----

// A table in a global is read inside the kernel, not through a host address.

memref.global "private" constant @table : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>

// CHECK-LABEL: func.func @lookup
// CHECK-NOT: memref.get_global
// CHECK: gpu.launch
// CHECK-NEXT: memref.get_global @table
func.func @lookup(%out: memref<?x4xf32>) {
  %t = memref.get_global @table : memref<4xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%t : memref<4xf32>) outs(%out : memref<?x4xf32>) {
  ^bb0(%a: f32, %b: f32):
    linalg.yield %a : f32
  }
  return
}

// -----

// The attention forall: one thread per iteration.

// CHECK-LABEL: func.func @forall
// CHECK: gpu.launch
// CHECK: scf.if
// CHECK: memref.store
// CHECK-NOT: scf.forall
func.func @forall(%n: index, %out: memref<?xf32>) {
  %c = arith.constant 1.0 : f32
  scf.forall (%i) in (%n) {
    memref.store %c, %out[%i] : memref<?xf32>
  }
  return
}

// -----

// A packed projection of the strategy (with its lowering_config) whose bf16
// weights are a view of the blob: one thread per (row, block, 8-lane group,
// depth split): 2 blocks x 4 groups per row, the split chosen at run time
// from the target's SM count (132 x 1024 threads), capped at depth / 8 and
// rounded up to the 8 splits a warp of 4 groups holds; weights loaded as
// 16-byte vectors at consecutive depths across the threads, four loads
// before their sums, then the rest one by one; the warp's partial sums
// summed by butterfly shuffles over the split bits (xor 4, 8, 16) and each
// of the 8 lanes added to the output atomically by one thread of the eight.

#x = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

module attributes {llm.target = #llm.target<triple = "nvptx64-nvidia-cuda", cpu = "sm_90a", features = "+ptx80", vector_bits = 128, vector_registers = 255, l1_bytes = 262144, l2_bytes = 52428800, sm_count = 132, shared_memory_bytes = 232448>} {
// CHECK-LABEL: func.func @packed
// CHECK: %[[ROWS:.*]] = memref.dim
// CHECK: %[[WORK:.*]] = arith.muli %[[ROWS]], %c8
// CHECK: %[[TARGET:.*]] = arith.constant 135168 : index
// CHECK: %[[WANT:.*]] = arith.ceildivui %[[TARGET]], %[[WORK]]
// CHECK: %[[ATLEAST:.*]] = arith.maxui %[[WANT]], %c1
// CHECK: %[[CAP:.*]] = arith.constant 8 : index
// CHECK: %[[CAPPED:.*]] = arith.minui %[[ATLEAST]], %[[CAP]]
// CHECK: %[[WARPS:.*]] = arith.ceildivui %[[CAPPED]], %c8
// CHECK: %[[SPLITS:.*]] = arith.muli %[[WARPS]], %c8
// CHECK: gpu.launch
// CHECK: %[[VIEW:.*]] = memref.view %{{.*}}[%{{.*}}][%{{.*}}] : memref<?xi8> to memref<?xvector<8xbf16>>
// CHECK: %[[STRIDE:.*]] = arith.muli %[[SPLITS]], %c4
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[STRIDE]] iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK-COUNT-4: memref.load %[[VIEW]]
// CHECK-COUNT-32: vector.extract
// CHECK: scf.for %{{.*}} = %{{.*}} to %c64{{.*}} step %[[SPLITS]] iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK: memref.load %[[VIEW]]
// CHECK-COUNT-8: vector.extract
// CHECK: gpu.shuffle  xor %{{.*}}, %c4_i32, %c32_i32 : f32
// CHECK-NEXT: arith.addf
// CHECK: gpu.shuffle  xor %{{.*}}, %c8_i32, %c32_i32 : f32
// CHECK-NEXT: arith.addf
// CHECK: gpu.shuffle  xor %{{.*}}, %c16_i32, %c32_i32 : f32
// CHECK-COUNT-21: gpu.shuffle  xor
// CHECK-NOT: gpu.shuffle
// CHECK: arith.remui %{{.*}}, %c8
// CHECK-COUNT-8: memref.atomic_rmw addf
// CHECK-NOT: memref.atomic_rmw
// CHECK-NOT: linalg.generic
func.func @packed(%x: memref<?x64xf32>, %blob: memref<?xi8>, %y: memref<?x2x32xf32>) {
  %c128 = arith.constant 128 : index
  %w = memref.view %blob[%c128][] : memref<?xi8> to memref<2x64x32xbf16>
  linalg.generic {indexing_maps = [#x, #w, #o],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x64xf32>, memref<2x64x32xbf16>)
      outs(%y : memref<?x2x32xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [1, 32, 64]>} {
  ^bb0(%a: f32, %b: bf16, %acc: f32):
    %e = arith.extf %b : bf16 to f32
    %m = arith.mulf %a, %e : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}
}

// -----

// The same projection for a CPU target (the --emulate-gpu build, whose
// threads run one after another): no shuffles, every thread adds its 8
// lanes atomically.

#x = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

module attributes {llm.target = #llm.target<triple = "x86_64-unknown-linux-gnu", cpu = "x86-64", features = "", vector_bits = 256, vector_registers = 16, l1_bytes = 32768, l2_bytes = 524288, sm_count = 132>} {
// CHECK-LABEL: func.func @emulated
// CHECK: gpu.launch
// CHECK-NOT: gpu.shuffle
// CHECK-COUNT-8: memref.atomic_rmw addf
// CHECK-NOT: memref.atomic_rmw
// CHECK: gpu.terminator
func.func @emulated(%x: memref<?x64xf32>, %blob: memref<?xi8>, %y: memref<?x2x32xf32>) {
  %c128 = arith.constant 128 : index
  %w = memref.view %blob[%c128][] : memref<?xi8> to memref<2x64x32xbf16>
  linalg.generic {indexing_maps = [#x, #w, #o],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x64xf32>, memref<2x64x32xbf16>)
      outs(%y : memref<?x2x32xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [1, 32, 64]>} {
  ^bb0(%a: f32, %b: bf16, %acc: f32):
    %e = arith.extf %b : bf16 to f32
    %m = arith.mulf %a, %e : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}
}

// -----

// A projection with an RMSNorm prologue (llm-fuse-gpu-elementwise). One
// launch holds two forms, chosen at run time from the row count (the grid
// too). From 16 rows on (prefill), the tiled form: a block of 256 threads
// computes 64 rows x 2 weight blocks, staging each step of 32 depths in
// shared memory (the activations transposed with a column of padding, the
// widened weights from 16-byte loads), a barrier, then each thread's 4 x 4
// piece, a barrier, and the sums added onto the output. The row's scale is
// computed once per thread, outside the depth steps. For fewer rows
// (decode), the streaming form: the row's scale (rsqrt of its sum of
// squares) is computed once per thread before the depth loop, the
// normalized activation x * scale * g once per loaded depth (four in the
// unrolled loop), and only the product with the weight once per lane.

#w = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
#rk = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#r = affine_map<(d0, d1, d2, d3) -> (d0)>
#k = affine_map<(d0, d1, d2, d3) -> (d3)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

module attributes {llm.target = #llm.target<triple = "nvptx64-nvidia-cuda", cpu = "sm_90a", features = "+ptx80", vector_bits = 128, vector_registers = 255, l1_bytes = 262144, l2_bytes = 52428800, sm_count = 132, shared_memory_bytes = 232448>} {
// CHECK-LABEL: func.func @prologue
// CHECK-SAME: (%[[X:.*]]: memref<?x64xf32>, %[[SS:.*]]: memref<?xf32>, %[[G:.*]]: memref<64xf32>, %{{.*}}: memref<?xi8>, %[[Y:.*]]: memref<?x2x32xf32>)
// CHECK: %[[ROWS:.*]] = memref.dim %[[Y]], %c0
// CHECK: %[[TILED:.*]] = arith.cmpi uge, %[[ROWS]], %c16
// CHECK: %[[GRID:.*]] = arith.select %[[TILED]]
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[GRID]], {{.*}} workgroup(%[[A:.*]] : memref<32x65xf32, #gpu.address_space<workgroup>>, %[[B:.*]] : memref<32x64xf32, #gpu.address_space<workgroup>>)
// CHECK: scf.if %[[TILED]] {
// CHECK: memref.load %[[SS]]
// CHECK: math.rsqrt
// CHECK: scf.for
// CHECK-NOT: math.rsqrt
// CHECK-COUNT-8: memref.store %{{.*}}, %[[A]][
// CHECK: memref.load %{{.*}} : memref<?xvector<8xbf16>>
// CHECK-COUNT-8: memref.store %{{.*}}, %[[B]][
// CHECK: gpu.barrier
// CHECK: scf.for
// CHECK-COUNT-4: memref.load %[[A]][
// CHECK-COUNT-4: memref.load %[[B]][
// CHECK-COUNT-16: arith.mulf
// CHECK: gpu.barrier
// CHECK-COUNT-16: memref.store %{{.*}}, %[[Y]][
// CHECK: } else {
// CHECK: %[[S:.*]] = memref.load %[[SS]][%[[ROW:.*]]] : memref<?xf32>
// CHECK: %[[RS:.*]] = math.rsqrt
// CHECK-NOT: math.rsqrt
// CHECK: scf.for
// CHECK-COUNT-4: memref.load %[[X]][%[[ROW]], %{{.*}}]
// CHECK-COUNT-4: arith.mulf %{{.*}}, %[[RS]] : f32
// CHECK: scf.for
// CHECK: memref.load %[[X]]
// CHECK: arith.mulf %{{.*}}, %[[RS]] : f32
// CHECK-NOT: arith.mulf %{{.*}}, %[[RS]] : f32
// CHECK-COUNT-8: memref.atomic_rmw addf
func.func @prologue(%x: memref<?x64xf32>, %ss: memref<?xf32>, %g: memref<64xf32>,
                    %blob: memref<?xi8>, %y: memref<?x2x32xf32>) {
  %c0 = arith.constant 0 : index
  %n = arith.constant 64.0 : f32
  %w = memref.view %blob[%c0][] : memref<?xi8> to memref<2x64x32xbf16>
  linalg.generic {indexing_maps = [#w, #rk, #r, #k, #o],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%w, %x, %ss, %g : memref<2x64x32xbf16>, memref<?x64xf32>, memref<?xf32>, memref<64xf32>)
      outs(%y : memref<?x2x32xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [1, 32, 64]>} {
  ^bb0(%b: bf16, %a: f32, %s: f32, %gamma: f32, %acc: f32):
    %mean = arith.divf %s, %n : f32
    %rs = math.rsqrt %mean : f32
    %scaled = arith.mulf %a, %rs : f32
    %xn = arith.mulf %scaled, %gamma : f32
    %e = arith.extf %b : bf16 to f32
    %m = arith.mulf %xn, %e : f32
    %sum = arith.addf %acc, %m : f32
    linalg.yield %sum : f32
  }
  return
}
}

// -----

// The sum of squares an RMSNorm prologue reads, written only by its zero
// fill and its reduction and read by nothing else, is computed in the
// projection's launch: no fill and no reduction launch. In the streaming
// form a warp's 32 threads share one row: each sums every 32nd square from
// its lane on, a butterfly of shuffles (xor 1 to 16) gives all of them the
// row's sum. In the tiled form the 4 threads that stage a row share it the
// same way (xor 1 and 2).

#w = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
#rk = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#r = affine_map<(d0, d1, d2, d3) -> (d0)>
#k = affine_map<(d0, d1, d2, d3) -> (d3)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#rk2 = affine_map<(d0, d1) -> (d0, d1)>
#r2 = affine_map<(d0, d1) -> (d0)>

module attributes {llm.target = #llm.target<triple = "nvptx64-nvidia-cuda", cpu = "sm_90a", features = "+ptx80", vector_bits = 128, vector_registers = 255, l1_bytes = 262144, l2_bytes = 52428800, sm_count = 132, shared_memory_bytes = 232448>} {
// CHECK-LABEL: func.func @inlined_norm
// CHECK-SAME: (%[[X:.*]]: memref<?x64xf32>, %[[SS:.*]]: memref<?xf32>
// CHECK-NOT: linalg.fill
// CHECK: gpu.launch
// CHECK-NOT: gpu.launch
// CHECK: scf.if
// CHECK: %[[STAGED:.*]] = scf.for %{{.*}} = %{{.*}} to %c64{{.*}} step %c4{{.*}} iter_args
// CHECK: memref.load %[[X]]
// CHECK: gpu.shuffle xor %[[STAGED]], %c1_i32
// CHECK: gpu.shuffle xor %{{.*}}, %c2_i32
// CHECK-NOT: gpu.shuffle xor %{{.*}}, %c4_i32
// CHECK: math.rsqrt
// CHECK: } else {
// CHECK: %[[OWN:.*]] = scf.for %{{.*}} = %{{.*}} to %c64{{.*}} step %c32{{.*}} iter_args
// CHECK: memref.load %[[X]]
// CHECK: gpu.shuffle xor %[[OWN]], %c1_i32
// CHECK-COUNT-4: gpu.shuffle xor
// CHECK: math.rsqrt
// CHECK-NOT: memref.load %[[SS]]
// CHECK-NOT: memref.store {{.*}}, %[[SS]]
// CHECK-NOT: memref.atomic_rmw addf {{.*}}, %[[SS]]
// CHECK: return
func.func @inlined_norm(%x: memref<?x64xf32>, %ss: memref<?xf32>, %g: memref<64xf32>,
                        %blob: memref<?xi8>, %y: memref<?x2x32xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 64.0 : f32
  linalg.fill ins(%zero : f32) outs(%ss : memref<?xf32>)
  linalg.generic {indexing_maps = [#rk2, #r2], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x64xf32>) outs(%ss : memref<?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  }
  %w = memref.view %blob[%c0][] : memref<?xi8> to memref<2x64x32xbf16>
  linalg.generic {indexing_maps = [#w, #rk, #r, #k, #o],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%w, %x, %ss, %g : memref<2x64x32xbf16>, memref<?x64xf32>, memref<?xf32>, memref<64xf32>)
      outs(%y : memref<?x2x32xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [1, 32, 64]>} {
  ^bb0(%b: bf16, %a: f32, %s: f32, %gamma: f32, %acc: f32):
    %mean = arith.divf %s, %n : f32
    %rs = math.rsqrt %mean : f32
    %scaled = arith.mulf %a, %rs : f32
    %xn = arith.mulf %scaled, %gamma : f32
    %e = arith.extf %b : bf16 to f32
    %m = arith.mulf %xn, %e : f32
    %sum = arith.addf %acc, %m : f32
    linalg.yield %sum : f32
  }
  return
}
}
