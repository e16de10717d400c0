// RUN: llm-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(llm-fuse-gpu-launches))' | FileCheck %s

// Two launches that write disjoint rows of the scratch arena (views at
// bytes 0 and 4096, each at most max_tokens = 16 rows of 64 floats) become
// one launch over both grids: blocks below the first grid run the first
// body, the others the second with their block index shifted. The third
// reads what the second wrote and stays a launch of its own.

// CHECK-LABEL: func.func @fills
// CHECK-SAME: (%{{.*}}: index, %{{.*}}: index, %[[ROWS:.*]]: index, %{{.*}}: index, %{{.*}}: memref<?xi8>, %{{.*}}: memref<?xi8>, %[[SCRATCH:.*]]: memref<?xi8>)
// CHECK: %[[A:.*]] = memref.view %[[SCRATCH]][%c0{{.*}}][%[[ROWS]]]
// CHECK: %[[B:.*]] = memref.view %[[SCRATCH]][%c4096{{.*}}][%[[ROWS]]]
// CHECK: %[[GRID:.*]] = arith.addi %[[G1:.*]], %[[G2:.*]] : index
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[GRID]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) threads
// CHECK: %[[FIRST:.*]] = arith.cmpi ult, %[[BX]], %[[G1]]
// CHECK: scf.if %[[FIRST]] {
// CHECK: memref.store %{{.*}}, %[[A]][%[[BX]], %{{.*}}]
// CHECK: } else {
// CHECK: %[[SHIFTED:.*]] = arith.subi %[[BX]], %[[G1]]
// CHECK: memref.store %{{.*}}, %[[B]][%[[SHIFTED]], %{{.*}}]
// CHECK: gpu.terminator
// CHECK: gpu.launch
// CHECK: memref.load %[[B]]
// CHECK-NOT: gpu.launch
module attributes {llm.max_tokens = 16 : i64} {
func.func @fills(%tid: index, %n: index, %rows: index, %cap: index,
                 %weights: memref<?xi8>, %kv: memref<?xi8>, %scratch: memref<?xi8>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c4096 = arith.constant 4096 : index
  %c8192 = arith.constant 8192 : index
  %zero = arith.constant 0.0 : f32
  %a = memref.view %scratch[%c0][%rows] : memref<?xi8> to memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    memref.store %zero, %a[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  %g2 = arith.addi %rows, %c1 : index
  %b = memref.view %scratch[%c4096][%rows] : memref<?xi8> to memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %g2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %inside = arith.cmpi ult, %bx, %rows : index
    scf.if %inside {
      memref.store %zero, %b[%bx, %tx] : memref<?x64xf32>
    }
    gpu.terminator
  }
  %c = memref.view %scratch[%c8192][%rows] : memref<?xi8> to memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %v = memref.load %b[%bx, %tx] : memref<?x64xf32>
    memref.store %v, %c[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  return
}
}

// -----

// Views at bytes 0 and 2048 of 16 rows of 64 floats overlap: not merged.
// The KV cache and the arena are distinct buffers whatever their offsets.

// CHECK-LABEL: func.func @overlapping
// CHECK: gpu.launch
// CHECK-NOT: scf.if
// CHECK: gpu.terminator
// CHECK: gpu.launch
// CHECK: scf.if
// CHECK: } else {
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
module attributes {llm.max_tokens = 16 : i64} {
func.func @overlapping(%tid: index, %n: index, %rows: index, %pos: index, %cap: index,
                       %weights: memref<?xi8>, %kv: memref<?xi8>, %scratch: memref<?xi8>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c2048 = arith.constant 2048 : index
  %zero = arith.constant 0.0 : f32
  %a = memref.view %scratch[%c0][%rows] : memref<?xi8> to memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    memref.store %zero, %a[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  %b = memref.view %scratch[%c2048][%rows] : memref<?xi8> to memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    memref.store %zero, %b[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  %k = memref.view %kv[%pos][%rows] : memref<?xi8> to memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    memref.store %zero, %k[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  return
}
}

// -----

// An argument (a layer's input) may be a slot of the caller's or what an
// earlier call of this function returned, but none of the slots the
// function places and does not return (every allocation has its own slot):
// a launch reading the argument merges with one writing the slot at 0, not
// with one writing the returned slot at 4096 (before or after it).

// CHECK-LABEL: func.func @argument
// CHECK-SAME: (%{{.*}}: index, %{{.*}}: index, %[[X:.*]]: memref<?x64xf32>, %{{.*}}: index, %{{.*}}: index, %{{.*}}: memref<?xi8>, %{{.*}}: memref<?xi8>, %[[SCRATCH:.*]]: memref<?xi8>)
// CHECK: %[[OWN:.*]] = memref.view %[[SCRATCH]][%c0{{.*}}][%{{.*}}]
// CHECK: %[[OUT:.*]] = memref.view %[[SCRATCH]][%c4096{{.*}}][%{{.*}}]
// CHECK: %[[C:.*]] = memref.view %[[SCRATCH]][%c8192{{.*}}][%{{.*}}]
// CHECK: gpu.launch
// CHECK: scf.if
// CHECK: memref.store %{{.*}}, %[[OWN]]
// CHECK: } else {
// CHECK: memref.load %[[X]]
// CHECK: memref.store %{{.*}}, %[[C]]
// CHECK: gpu.terminator
// CHECK: gpu.launch
// CHECK-NOT: scf.if
// CHECK: memref.store %{{.*}}, %[[OUT]]
// CHECK: gpu.terminator
// CHECK: gpu.launch
// CHECK-NOT: scf.if
// CHECK: memref.load %[[X]]
// CHECK: gpu.terminator
// CHECK: return %[[OUT]]
module attributes {llm.max_tokens = 16 : i64} {
func.func @argument(%tid: index, %n: index, %x: memref<?x64xf32>, %rows: index, %cap: index,
                    %weights: memref<?xi8>, %kv: memref<?xi8>, %scratch: memref<?xi8>) -> memref<?x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c4096 = arith.constant 4096 : index
  %c8192 = arith.constant 8192 : index
  %c12288 = arith.constant 12288 : index
  %zero = arith.constant 0.0 : f32
  %own = memref.view %scratch[%c0][%rows] : memref<?xi8> to memref<?x64xf32>
  %out = memref.view %scratch[%c4096][%rows] : memref<?xi8> to memref<?x64xf32>
  %c = memref.view %scratch[%c8192][%rows] : memref<?xi8> to memref<?x64xf32>
  %d = memref.view %scratch[%c12288][%rows] : memref<?xi8> to memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    memref.store %zero, %own[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %v = memref.load %x[%bx, %tx] : memref<?x64xf32>
    memref.store %v, %c[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    memref.store %zero, %out[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %v = memref.load %x[%bx, %tx] : memref<?x64xf32>
    memref.store %v, %d[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  return %out : memref<?x64xf32>
}
}

// -----

// Launches with workgroup memory (tiled projections) merge too: its
// accesses are the block's own, not another launch's. A block runs one of
// the two bodies, so the second body's buffer of the same type reuses the
// first's (the merged kernel needs no more shared memory than either); a
// buffer of another type is added.

// CHECK-LABEL: func.func @workgroup
// CHECK: gpu.launch
// CHECK-SAME: workgroup(%[[T:.*]] : memref<64xf32, #gpu.address_space<workgroup>>, %[[U:.*]] : memref<16xf32, #gpu.address_space<workgroup>>)
// CHECK: scf.if
// CHECK: memref.store %{{.*}}, %[[T]][
// CHECK: } else {
// CHECK: memref.store %{{.*}}, %[[T]][
// CHECK: memref.store %{{.*}}, %[[U]][
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
module attributes {llm.max_tokens = 16 : i64} {
func.func @workgroup(%tid: index, %n: index, %rows: index, %cap: index,
                     %weights: memref<?xi8>, %kv: memref<?xi8>, %scratch: memref<?xi8>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c4096 = arith.constant 4096 : index
  %a = memref.view %scratch[%c0][%rows] : memref<?xi8> to memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1)
             workgroup(%t : memref<64xf32, #gpu.address_space<workgroup>>) {
    %v = memref.load %a[%bx, %tx] : memref<?x64xf32>
    memref.store %v, %t[%tx] : memref<64xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %w = memref.load %t[%c0] : memref<64xf32, #gpu.address_space<workgroup>>
    memref.store %w, %a[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  %b = memref.view %scratch[%c4096][%rows] : memref<?xi8> to memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1)
             workgroup(%t : memref<64xf32, #gpu.address_space<workgroup>>,
                       %u : memref<16xf32, #gpu.address_space<workgroup>>) {
    %v = memref.load %b[%bx, %tx] : memref<?x64xf32>
    memref.store %v, %t[%tx] : memref<64xf32, #gpu.address_space<workgroup>>
    memref.store %v, %u[%c0] : memref<16xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %w = memref.load %t[%c0] : memref<64xf32, #gpu.address_space<workgroup>>
    memref.store %w, %b[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  return
}
}

// -----

// A layer's keys and values in the cache: views at a symbolic shift s and
// s + n * 128, the first n rows of 32 floats (128 bytes) long, so the
// second starts where the first ends: the writes are disjoint and the two
// launches merge. A view at s + n * 64 may overlap the first and does not.

// CHECK-LABEL: func.func @cache
// CHECK: gpu.launch
// CHECK: scf.if
// CHECK: memref.store %{{.*}}, %[[K:.*]][
// CHECK: } else {
// CHECK: memref.store %{{.*}}, %[[V:.*]][
// CHECK: gpu.terminator
// CHECK: gpu.launch
// CHECK-NOT: scf.if
// CHECK: gpu.terminator
module attributes {llm.max_tokens = 16 : i64} {
func.func @cache(%tid: index, %n: index, %rows: index, %cap: index,
                 %weights: memref<?xi8>, %kv: memref<?xi8>, %scratch: memref<?xi8>,
                 %layer: index) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %c128 = arith.constant 128 : index
  %zero = arith.constant 0.0 : f32
  %size = arith.muli %cap, %c128 : index
  %s = arith.muli %layer, %size : index
  %keys = memref.view %kv[%s][%cap] : memref<?xi8> to memref<?x32xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    memref.store %zero, %keys[%bx, %tx] : memref<?x32xf32>
    gpu.terminator
  }
  %after = arith.addi %s, %size : index
  %values = memref.view %kv[%after][%cap] : memref<?xi8> to memref<?x32xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    memref.store %zero, %values[%bx, %tx] : memref<?x32xf32>
    gpu.terminator
  }
  %half = arith.muli %cap, %c64 : index
  %inside = arith.addi %after, %half : index
  %more = memref.view %kv[%inside][%cap] : memref<?xi8> to memref<?x32xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    memref.store %zero, %more[%bx, %tx] : memref<?x32xf32>
    gpu.terminator
  }
  return
}
}
