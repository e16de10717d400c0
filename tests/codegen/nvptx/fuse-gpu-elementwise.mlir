// RUN: llm-opt %s --llm-fuse-gpu-elementwise --split-input-file | FileCheck %s

// RMSNorm before a projection: the scaling (x * rsqrt(ss) * g) and the
// in-place finalization of the sum of squares before it become the
// projection's prologue. The projection reads x, the raw sum of squares
// (per row) and g (per depth); the normalized buffer is gone, the sum of
// squares stays (its fill and reduction are untouched).

#rk = affine_map<(d0, d1) -> (d0, d1)>
#r = affine_map<(d0, d1) -> (d0)>
#k = affine_map<(d0, d1) -> (d1)>
#r1 = affine_map<(d0) -> (d0)>
#x = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
// CHECK-DAG: #[[RK:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
// CHECK-DAG: #[[R:.*]] = affine_map<(d0, d1, d2, d3) -> (d0)>
// CHECK-DAG: #[[K:.*]] = affine_map<(d0, d1, d2, d3) -> (d3)>
// CHECK-LABEL: func.func @rmsnorm_prologue
// CHECK-SAME: (%[[X:.*]]: memref<?x64xf32>, %[[G:.*]]: memref<64xf32>, %[[BLOB:.*]]: memref<?xi8>, %[[Y:.*]]: memref<?x2x32xf32>)
// CHECK: %[[SS:.*]] = memref.alloc
// CHECK: linalg.fill {{.*}} outs(%[[SS]]
// CHECK: linalg.generic {{.*}} ins(%[[X]] : {{.*}}) outs(%[[SS]]
// CHECK-NOT: memref.alloc
// CHECK: %[[WV:.*]] = memref.view %[[BLOB]]
// CHECK: linalg.generic {indexing_maps = [#[[W]], #[[RK]], #[[R]], #[[K]], #{{[a-z0-9]+}}]
// CHECK-SAME: ins(%[[WV]], %[[X]], %[[SS]], %[[G]] :
// CHECK-SAME: outs(%[[Y]] :
// CHECK-SAME: llm.lowering_config
// CHECK-NEXT: ^bb0(%[[WE:.*]]: bf16, %[[XE:.*]]: f32, %[[SE:.*]]: f32, %[[GE:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK-NEXT: %[[MEAN:.*]] = arith.divf %[[SE]]
// CHECK-NEXT: %[[EPS:.*]] = arith.addf %[[MEAN]]
// CHECK-NEXT: %[[RS:.*]] = math.rsqrt %[[EPS]]
// CHECK-NEXT: %[[XR:.*]] = arith.mulf %[[XE]], %[[RS]]
// CHECK-NEXT: %[[XN:.*]] = arith.mulf %[[XR]], %[[GE]]
// CHECK-NEXT: %[[WF:.*]] = arith.extf %[[WE]]
// CHECK-NEXT: %[[P:.*]] = arith.mulf %[[XN]], %[[WF]]
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[ACC]], %[[P]]
// CHECK-NEXT: linalg.yield %[[S]]
// CHECK-NOT: linalg.generic
func.func @rmsnorm_prologue(%x: memref<?x64xf32>, %g: memref<64xf32>,
                            %blob: memref<?xi8>, %y: memref<?x2x32xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-5 : f32
  %rows = memref.dim %x, %c0 : memref<?x64xf32>
  %ss = memref.alloc(%rows) : memref<?xf32>
  linalg.fill ins(%zero : f32) outs(%ss : memref<?xf32>)
  linalg.generic {indexing_maps = [#rk, #r], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x64xf32>) outs(%ss : memref<?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %s = arith.addf %acc, %sq : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#r1], iterator_types = ["parallel"]}
      outs(%ss : memref<?xf32>) {
  ^bb0(%acc: f32):
    %mean = arith.divf %acc, %n : f32
    %plus = arith.addf %mean, %eps : f32
    %rs = math.rsqrt %plus : f32
    linalg.yield %rs : f32
  }
  %xn = memref.alloc(%rows) : memref<?x64xf32>
  linalg.generic {indexing_maps = [#rk, #r, #k, #rk], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss, %g : memref<?x64xf32>, memref<?xf32>, memref<64xf32>)
      outs(%xn : memref<?x64xf32>) {
  ^bb0(%a: f32, %s: f32, %gamma: f32, %out: f32):
    %scaled = arith.mulf %a, %s : f32
    %r = arith.mulf %scaled, %gamma : f32
    linalg.yield %r : f32
  }
  %w = memref.view %blob[%c0][] : memref<?xi8> to memref<2x64x32xbf16>
  linalg.generic {indexing_maps = [#x, #w, #o],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%xn, %w : memref<?x64xf32>, memref<2x64x32xbf16>)
      outs(%y : memref<?x2x32xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [1, 32, 64]>} {
  ^bb0(%a: f32, %b: bf16, %acc: f32):
    %e = arith.extf %b : bf16 to f32
    %m = arith.mulf %a, %e : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// SwiGLU before the down projection and the residual add after it: the
// projection computes silu(gate) * up from the gate/up output as it reads
// it, and starts from a copy of the residual instead of zeros; the add and
// both temporaries are gone, and what read the sum reads the projection's
// output.

#rk = affine_map<(d0, d1) -> (d0, d1)>
#x = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

// CHECK-LABEL: func.func @swiglu_residual
// CHECK-SAME: (%[[GU:.*]]: memref<?x128xf32>, %[[RES:.*]]: memref<?x64xf32>, %[[BLOB:.*]]: memref<?xi8>, %[[OUT:.*]]: memref<?x64xf32>)
// CHECK-DAG: %[[GATE:.*]] = memref.subview %[[GU]][0, 0]
// CHECK-DAG: %[[UP:.*]] = memref.subview %[[GU]][0, 64]
// CHECK: %[[O:.*]] = memref.alloc
// CHECK-NOT: memref.alloc
// CHECK: linalg.copy ins(%[[RES]] : memref<?x64xf32>) outs(%[[O]] : memref<?x64xf32>)
// CHECK: %[[O3:.*]] = memref.expand_shape %[[O]]
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.*}}, %[[GATE]], %[[UP]] :
// CHECK-SAME: outs(%[[O3]] :
// CHECK: math.exp
// CHECK: arith.mulf
// CHECK: linalg.yield
// CHECK-NOT: linalg.generic
// CHECK: linalg.copy ins(%[[O]] : memref<?x64xf32>) outs(%[[OUT]] : memref<?x64xf32>)
func.func @swiglu_residual(%gu: memref<?x128xf32>, %res: memref<?x64xf32>,
                           %blob: memref<?xi8>, %out: memref<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %rows = memref.dim %gu, %c0 : memref<?x128xf32>
  %gate = memref.subview %gu[0, 0] [%rows, 64] [1, 1] : memref<?x128xf32> to memref<?x64xf32, strided<[128, 1]>>
  %up = memref.subview %gu[0, 64] [%rows, 64] [1, 1] : memref<?x128xf32> to memref<?x64xf32, strided<[128, 1], offset: 64>>
  %act = memref.alloc(%rows) : memref<?x64xf32>
  linalg.generic {indexing_maps = [#rk, #rk, #rk], iterator_types = ["parallel", "parallel"]}
      ins(%gate, %up : memref<?x64xf32, strided<[128, 1]>>, memref<?x64xf32, strided<[128, 1], offset: 64>>)
      outs(%act : memref<?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %unused: f32):
    %neg = arith.negf %a : f32
    %e = math.exp %neg : f32
    %d = arith.addf %one, %e : f32
    %silu = arith.divf %a, %d : f32
    %r = arith.mulf %silu, %b : f32
    linalg.yield %r : f32
  }
  %o = memref.alloc(%rows) : memref<?x64xf32>
  linalg.fill ins(%zero : f32) outs(%o : memref<?x64xf32>)
  %o3 = memref.expand_shape %o [[0], [1, 2]] output_shape [%rows, 2, 32] : memref<?x64xf32> into memref<?x2x32xf32>
  %w = memref.view %blob[%c0][] : memref<?xi8> to memref<2x64x32xbf16>
  linalg.generic {indexing_maps = [#x, #w, #o],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%act, %w : memref<?x64xf32>, memref<2x64x32xbf16>)
      outs(%o3 : memref<?x2x32xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [1, 32, 64]>} {
  ^bb0(%a: f32, %b: bf16, %acc: f32):
    %e = arith.extf %b : bf16 to f32
    %m = arith.mulf %a, %e : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  %sum = memref.alloc(%rows) : memref<?x64xf32>
  linalg.generic {indexing_maps = [#rk, #rk, #rk], iterator_types = ["parallel", "parallel"]}
      ins(%res, %o : memref<?x64xf32>, memref<?x64xf32>)
      outs(%sum : memref<?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %unused: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  linalg.copy ins(%sum : memref<?x64xf32>) outs(%out : memref<?x64xf32>)
  return
}

// -----

// RoPE (reading loop indices and its input's partner element) whose result
// is only copied into the KV cache writes the cache itself, where the copy
// was.

#rk = affine_map<(d0, d1) -> (d0, d1)>

// CHECK-LABEL: func.func @rope_into_cache
// CHECK-SAME: (%[[K:.*]]: memref<?x16xf32>, %[[CACHE:.*]]: memref<?x16xf32>, %[[AT:.*]]: index)
// CHECK-NOT: memref.alloc
// CHECK: %[[DEST:.*]] = memref.subview %[[CACHE]][%[[AT]], 0]
// CHECK-NEXT: linalg.generic {{.*}} ins(%[[K]] : memref<?x16xf32>) outs(%[[DEST]] :
// CHECK: linalg.index 1
// CHECK: memref.load %[[K]]
// CHECK-NOT: linalg.copy
func.func @rope_into_cache(%k: memref<?x16xf32>, %cache: memref<?x16xf32>,
                           %at: index) {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %rows = memref.dim %k, %c0 : memref<?x16xf32>
  %rotated = memref.alloc(%rows) : memref<?x16xf32>
  linalg.generic {indexing_maps = [#rk, #rk], iterator_types = ["parallel", "parallel"]}
      ins(%k : memref<?x16xf32>) outs(%rotated : memref<?x16xf32>) {
  ^bb0(%a: f32, %unused: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %shifted = arith.addi %j, %c8 : index
    %partner = arith.remui %shifted, %c16 : index
    %b = memref.load %k[%i, %partner] : memref<?x16xf32>
    %r = arith.subf %a, %b : f32
    linalg.yield %r : f32
  }
  %dest = memref.subview %cache[%at, 0] [%rows, 16] [1, 1] : memref<?x16xf32> to memref<?x16xf32, strided<[16, 1], offset: ?>>
  linalg.copy ins(%rotated : memref<?x16xf32>) outs(%dest : memref<?x16xf32, strided<[16, 1], offset: ?>>)
  return
}

// -----

// Not fused: the producer's input is written between the producer and the
// projection (it would read the new value), and a buffer read by another
// op besides the projection.

#rk = affine_map<(d0, d1) -> (d0, d1)>
#x = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

// CHECK-LABEL: func.func @input_overwritten
// CHECK: %[[T:.*]] = memref.alloc
// CHECK: linalg.generic {{.*}} outs(%[[T]] :
// CHECK: linalg.fill
// CHECK: linalg.generic {{.*}} ins(%[[T]], %{{.*}} :
func.func @input_overwritten(%x: memref<?x64xf32>, %blob: memref<?xi8>,
                             %y: memref<?x2x32xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %rows = memref.dim %x, %c0 : memref<?x64xf32>
  %t = memref.alloc(%rows) : memref<?x64xf32>
  linalg.generic {indexing_maps = [#rk, #rk], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<?x64xf32>) outs(%t : memref<?x64xf32>) {
  ^bb0(%a: f32, %unused: f32):
    %r = arith.mulf %a, %a : f32
    linalg.yield %r : f32
  }
  %sub = memref.subview %x[0, 0] [%rows, 32] [1, 1] : memref<?x64xf32> to memref<?x32xf32, strided<[64, 1]>>
  linalg.fill ins(%zero : f32) outs(%sub : memref<?x32xf32, strided<[64, 1]>>)
  %w = memref.view %blob[%c0][] : memref<?xi8> to memref<2x64x32xbf16>
  linalg.generic {indexing_maps = [#x, #w, #o],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%t, %w : memref<?x64xf32>, memref<2x64x32xbf16>)
      outs(%y : memref<?x2x32xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [1, 32, 64]>} {
  ^bb0(%a: f32, %b: bf16, %acc: f32):
    %e = arith.extf %b : bf16 to f32
    %m = arith.mulf %a, %e : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// CHECK-LABEL: func.func @read_twice
// CHECK: %[[T:.*]] = memref.alloc
// CHECK: linalg.generic {{.*}} outs(%[[T]] :
// CHECK: linalg.generic {{.*}} ins(%[[T]], %{{.*}} :
// CHECK: linalg.copy ins(%[[T]]
func.func @read_twice(%x: memref<?x64xf32>, %blob: memref<?xi8>,
                      %y: memref<?x2x32xf32>, %keep: memref<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %rows = memref.dim %x, %c0 : memref<?x64xf32>
  %t = memref.alloc(%rows) : memref<?x64xf32>
  linalg.generic {indexing_maps = [#rk, #rk], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<?x64xf32>) outs(%t : memref<?x64xf32>) {
  ^bb0(%a: f32, %unused: f32):
    %r = arith.mulf %a, %a : f32
    linalg.yield %r : f32
  }
  %w = memref.view %blob[%c0][] : memref<?xi8> to memref<2x64x32xbf16>
  linalg.generic {indexing_maps = [#x, #w, #o],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%t, %w : memref<?x64xf32>, memref<2x64x32xbf16>)
      outs(%y : memref<?x2x32xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [1, 32, 64]>} {
  ^bb0(%a: f32, %b: bf16, %acc: f32):
    %e = arith.extf %b : bf16 to f32
    %m = arith.mulf %a, %e : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.copy ins(%t : memref<?x64xf32>) outs(%keep : memref<?x64xf32>)
  return
}

// -----

// Not fused: the residual sum is returned (the next call's argument, in the
// same bytes) and an argument is read between the zero fill and the add:
// writing the output from the fill on could overwrite that argument.

#rk = affine_map<(d0, d1) -> (d0, d1)>
#x = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

// CHECK-LABEL: func.func @returned_residual
// CHECK: linalg.fill
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : memref<?x64xf32>, memref<?x64xf32>)
// CHECK: return
func.func @returned_residual(%x: memref<?x64xf32>, %blob: memref<?xi8>) -> memref<?x64xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %rows = memref.dim %x, %c0 : memref<?x64xf32>
  %o = memref.alloc(%rows) : memref<?x64xf32>
  linalg.fill ins(%zero : f32) outs(%o : memref<?x64xf32>)
  %o3 = memref.expand_shape %o [[0], [1, 2]] output_shape [%rows, 2, 32] : memref<?x64xf32> into memref<?x2x32xf32>
  %w = memref.view %blob[%c0][] : memref<?xi8> to memref<2x64x32xbf16>
  linalg.generic {indexing_maps = [#x, #w, #o],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x64xf32>, memref<2x64x32xbf16>)
      outs(%o3 : memref<?x2x32xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [1, 32, 64]>} {
  ^bb0(%a: f32, %b: bf16, %acc: f32):
    %e = arith.extf %b : bf16 to f32
    %m = arith.mulf %a, %e : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  %sum = memref.alloc(%rows) : memref<?x64xf32>
  linalg.generic {indexing_maps = [#rk, #rk, #rk], iterator_types = ["parallel", "parallel"]}
      ins(%x, %o : memref<?x64xf32>, memref<?x64xf32>)
      outs(%sum : memref<?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %unused: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  return %sum : memref<?x64xf32>
}
