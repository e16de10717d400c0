// RUN: llm-opt %s --llm-residual-in-place --split-input-file | FileCheck %s

// The layer reads its input (a residual copied into a buffer of its own)
// before it first touches the buffer it returns, and its only caller copies
// the result straight back into the input: the layer writes its output
// over the input and returns it, and the caller's copy goes away.

// CHECK-LABEL: func.func private @layer
// CHECK-SAME: (%[[X:.*]]: memref<?x8xf32>)
// CHECK: %[[H:.*]] = memref.alloc
// CHECK: linalg.copy ins(%[[X]] : memref<?x8xf32>) outs(%[[H]] : memref<?x8xf32>)
// CHECK-NOT: memref.alloc
// CHECK: linalg.copy ins(%[[H]] : memref<?x8xf32>) outs(%[[X]] : memref<?x8xf32>)
// CHECK: linalg.generic {{.*}} outs(%[[X]] : memref<?x8xf32>)
// CHECK: return %[[X]]
// CHECK-LABEL: func.func @forward
// CHECK: func.call @layer
// CHECK-NOT: linalg.copy
// CHECK: scf.yield
func.func private @layer(%x: memref<?x8xf32>) -> memref<?x8xf32> {
  %c0 = arith.constant 0 : index
  %rows = memref.dim %x, %c0 : memref<?x8xf32>
  %h = memref.alloc(%rows) : memref<?x8xf32>
  linalg.copy ins(%x : memref<?x8xf32>) outs(%h : memref<?x8xf32>)
  %out = memref.alloc(%rows) : memref<?x8xf32>
  linalg.copy ins(%h : memref<?x8xf32>) outs(%out : memref<?x8xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%h : memref<?x8xf32>) outs(%out : memref<?x8xf32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  return %out : memref<?x8xf32>
}

func.func @forward(%x: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%h = %x) -> (memref<?x8xf32>) {
    %y = func.call @layer(%h) : (memref<?x8xf32>) -> memref<?x8xf32>
    linalg.copy ins(%y : memref<?x8xf32>) outs(%h : memref<?x8xf32>)
    scf.yield %h : memref<?x8xf32>
  }
  return
}

// -----

// The layer reads its input (through a view) after it first writes the
// buffer it returns: writing the output over the input would change what
// that read sees, so nothing changes.

// CHECK-LABEL: func.func private @late_read
// CHECK: %[[OUT:.*]] = memref.alloc
// CHECK: return %[[OUT]]
// CHECK-LABEL: func.func @caller
// CHECK: linalg.copy
func.func private @late_read(%x: memref<?x8xf32>) -> memref<?x8xf32> {
  %c0 = arith.constant 0 : index
  %rows = memref.dim %x, %c0 : memref<?x8xf32>
  %out = memref.alloc(%rows) : memref<?x8xf32>
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%out : memref<?x8xf32>)
  %half = memref.subview %x[0, 0] [%rows, 4] [1, 1] : memref<?x8xf32> to memref<?x4xf32, strided<[8, 1]>>
  %out_half = memref.subview %out[0, 4] [%rows, 4] [1, 1] : memref<?x8xf32> to memref<?x4xf32, strided<[8, 1], offset: 4>>
  linalg.copy ins(%half : memref<?x4xf32, strided<[8, 1]>>) outs(%out_half : memref<?x4xf32, strided<[8, 1], offset: 4>>)
  return %out : memref<?x8xf32>
}

func.func @caller(%x: memref<?x8xf32>) {
  %y = func.call @late_read(%x) : (memref<?x8xf32>) -> memref<?x8xf32>
  linalg.copy ins(%y : memref<?x8xf32>) outs(%x : memref<?x8xf32>)
  return
}

// -----

// A caller that uses the result for more than the copy back keeps the
// layer as it is.

// CHECK-LABEL: func.func private @used
// CHECK: %[[OUT:.*]] = memref.alloc
// CHECK: return %[[OUT]]
func.func private @used(%x: memref<?x8xf32>) -> memref<?x8xf32> {
  %c0 = arith.constant 0 : index
  %rows = memref.dim %x, %c0 : memref<?x8xf32>
  %out = memref.alloc(%rows) : memref<?x8xf32>
  linalg.copy ins(%x : memref<?x8xf32>) outs(%out : memref<?x8xf32>)
  return %out : memref<?x8xf32>
}

func.func @user(%x: memref<?x8xf32>, %z: memref<?x8xf32>) {
  %y = func.call @used(%x) : (memref<?x8xf32>) -> memref<?x8xf32>
  linalg.copy ins(%y : memref<?x8xf32>) outs(%x : memref<?x8xf32>)
  linalg.copy ins(%y : memref<?x8xf32>) outs(%z : memref<?x8xf32>)
  return
}
