// RUN: llm-opt %s --llm-distribute-to-gpu --split-input-file | FileCheck %s

// A packed projection: one thread per output element (rows x blocks x
// lanes), numbered with the lane fastest; the reduction stays a loop in the
// thread. The grid covers the whole space in blocks of 256 threads.

#x = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

// CHECK-LABEL: func.func @projection
// CHECK-SAME: (%[[X:.*]]: memref<?x64xf32>, %[[W:.*]]: memref<4x64x32xbf16>, %[[Y:.*]]: memref<?x4x32xf32>)
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
func.func @projection(%x: memref<?x64xf32>, %w: memref<4x64x32xbf16>,
                      %y: memref<?x4x32xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #o],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x64xf32>, memref<4x64x32xbf16>)
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
