// RUN: llm-opt %s --split-input-file --llm-sink-zero-fills | FileCheck %s

// The function opens with a zero fill of its own slot (bytes 0 to 16 x 64 x
// 4 of the arena), which a projection accumulates into and a second launch
// reads last: the fill moves after that reader, before the launch that
// follows (which llm-fuse-gpu-launches can then merge with it), and the
// module records that the arena must start zero. The mark goes away.

// CHECK-LABEL: module attributes
// CHECK-SAME: llm.zero_scratch
// CHECK-LABEL: func.func @layer
// CHECK-SAME: %[[SCRATCH:[^:]*]]: memref<?xi8>)
// CHECK: %[[ACC:.*]] = memref.view %[[SCRATCH]][%c0{{.*}}]
// CHECK: gpu.launch
// CHECK: memref.atomic_rmw addf %{{.*}}, %[[ACC]]
// CHECK: gpu.launch
// CHECK: memref.load %[[ACC]]
// CHECK: gpu.launch
// CHECK-NOT: llm.zero_fill
// CHECK: memref.store %cst, %[[ACC]]
// CHECK: gpu.launch
// CHECK-NOT: memref.store %cst
// CHECK: return
module attributes {llm.max_tokens = 16 : i64} {
func.func @layer(%tid: index, %n: index, %rows: index, %cap: index,
                 %weights: memref<?xi8>, %kv: memref<?xi8>, %scratch: memref<?xi8>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c4096 = arith.constant 4096 : index
  %c8192 = arith.constant 8192 : index
  %cst = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %acc = memref.view %scratch[%c0][%rows] : memref<?xi8> to memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %unused = memref.load %acc[%bx, %tx] : memref<?x64xf32>
    memref.store %cst, %acc[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  } {llm.zero_fill}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %r = memref.atomic_rmw addf %one, %acc[%bx, %tx] : (f32, memref<?x64xf32>) -> f32
    gpu.terminator
  }
  %out = memref.view %scratch[%c4096][%rows] : memref<?xi8> to memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %v = memref.load %acc[%bx, %tx] : memref<?x64xf32>
    memref.store %v, %out[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  %next = memref.view %scratch[%c8192][%rows] : memref<?xi8> to memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %v = memref.load %out[%bx, %tx] : memref<?x64xf32>
    memref.store %v, %next[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  return
}
}

// -----

// What keeps a fill where it is: a slot another view overlaps (bytes 0 and
// 2048 of 16 rows of 64 floats); a fill after another launch (which it
// joins in place); no launch after the last reader; a slot the function
// returns (its caller reads it after the call). Nothing moves and the
// module needs no zero arena.

// CHECK-LABEL: module attributes
// CHECK-NOT: llm.zero_scratch
// CHECK-LABEL: func.func @overlapping
// CHECK: gpu.launch
// CHECK: memref.store %cst
// CHECK: gpu.launch
// CHECK: memref.load
// CHECK: gpu.launch
// CHECK-LABEL: func.func @not_first
// CHECK: gpu.launch
// CHECK: gpu.launch
// CHECK: memref.store %cst
// CHECK: gpu.launch
// CHECK: memref.load
// CHECK: gpu.launch
// CHECK-LABEL: func.func @last
// CHECK: gpu.launch
// CHECK: memref.store %cst
// CHECK: gpu.launch
// CHECK: memref.load
// CHECK-LABEL: func.func @returned
// CHECK: gpu.launch
// CHECK: memref.store %cst
// CHECK: gpu.launch
// CHECK: memref.load
// CHECK: gpu.launch
module attributes {llm.max_tokens = 16 : i64} {
func.func @overlapping(%tid: index, %n: index, %rows: index, %cap: index,
                       %weights: memref<?xi8>, %kv: memref<?xi8>, %scratch: memref<?xi8>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c2048 = arith.constant 2048 : index
  %cst = arith.constant 0.0 : f32
  %acc = memref.view %scratch[%c0][%rows] : memref<?xi8> to memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    memref.store %cst, %acc[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  } {llm.zero_fill}
  %other = memref.view %scratch[%c2048][%rows] : memref<?xi8> to memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %v = memref.load %acc[%bx, %tx] : memref<?x64xf32>
    memref.store %v, %other[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    gpu.terminator
  }
  return
}

func.func @not_first(%tid: index, %n: index, %rows: index, %cap: index,
                     %weights: memref<?xi8>, %kv: memref<?xi8>, %scratch: memref<?xi8>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c4096 = arith.constant 4096 : index
  %cst = arith.constant 0.0 : f32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    gpu.terminator
  }
  %acc = memref.view %scratch[%c0][%rows] : memref<?xi8> to memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    memref.store %cst, %acc[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  } {llm.zero_fill}
  %out = memref.view %scratch[%c4096][%rows] : memref<?xi8> to memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %v = memref.load %acc[%bx, %tx] : memref<?x64xf32>
    memref.store %v, %out[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    gpu.terminator
  }
  return
}

func.func @last(%tid: index, %n: index, %rows: index, %cap: index,
                %weights: memref<?xi8>, %kv: memref<?xi8>, %scratch: memref<?xi8>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c4096 = arith.constant 4096 : index
  %cst = arith.constant 0.0 : f32
  %acc = memref.view %scratch[%c0][%rows] : memref<?xi8> to memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    memref.store %cst, %acc[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  } {llm.zero_fill}
  %out = memref.view %scratch[%c4096][%rows] : memref<?xi8> to memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %v = memref.load %acc[%bx, %tx] : memref<?x64xf32>
    memref.store %v, %out[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  return
}

func.func @returned(%tid: index, %n: index, %rows: index, %cap: index,
                    %weights: memref<?xi8>, %kv: memref<?xi8>, %scratch: memref<?xi8>)
    -> memref<?x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c4096 = arith.constant 4096 : index
  %cst = arith.constant 0.0 : f32
  %acc = memref.view %scratch[%c0][%rows] : memref<?xi8> to memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    memref.store %cst, %acc[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  } {llm.zero_fill}
  %out = memref.view %scratch[%c4096][%rows] : memref<?xi8> to memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %v = memref.load %acc[%bx, %tx] : memref<?x64xf32>
    memref.store %v, %out[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    gpu.terminator
  }
  return %acc : memref<?x64xf32>
}
}
