// RUN: llm-opt %s --llm-emulate-gpu-launches --split-input-file | FileCheck %s

// A block's threads exchange values through workgroup memory across a
// barrier: the emulation runs the blocks one after another and, in each,
// all threads up to the barrier, then all threads after it. The workgroup
// buffer is one host buffer; a value loaded before the barrier and used
// after it is kept per thread.

// CHECK-LABEL: func.func @exchange
// CHECK-SAME: (%[[IN:.*]]: memref<64xf32>, %[[OUT:.*]]: memref<64xf32>)
// CHECK: %[[TILE:.*]] = memref.alloc() : memref<32xf32>
// CHECK: %[[KEPT:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: scf.for %[[BX:.*]] = %{{.*}} to %c2
// CHECK: scf.for %[[TX:.*]] = %{{.*}} to %c32
// CHECK: %[[V:.*]] = memref.load %[[IN]]
// CHECK: memref.store %[[V]], %[[KEPT]]
// CHECK: memref.store %[[V]], %[[TILE]][%[[TX]]]
// CHECK-NOT: gpu.barrier
// CHECK: scf.for %[[TX2:.*]] = %{{.*}} to %c32
// CHECK: %[[J:.*]] = arith.subi %c31{{.*}}, %[[TX2]]
// CHECK: %[[W:.*]] = memref.load %[[TILE]][%[[J]]]
// CHECK: %[[MINE:.*]] = memref.load %[[KEPT]]
// CHECK: arith.addf %[[W]], %[[MINE]]
// CHECK: memref.store {{.*}}, %[[OUT]]
// CHECK: memref.dealloc %[[TILE]]
// CHECK: memref.dealloc %[[KEPT]]
// CHECK-NOT: gpu.launch
func.func @exchange(%in: memref<64xf32>, %out: memref<64xf32>) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1)
             workgroup(%tile : memref<32xf32, #gpu.address_space<workgroup>>) {
    %base = arith.muli %bx, %c32 : index
    %i = arith.addi %base, %tx : index
    %v = memref.load %in[%i] : memref<64xf32>
    memref.store %v, %tile[%tx] : memref<32xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %c31 = arith.constant 31 : index
    %j = arith.subi %c31, %tx : index
    %w = memref.load %tile[%j] : memref<32xf32, #gpu.address_space<workgroup>>
    %s = arith.addf %w, %v : f32
    memref.store %s, %out[%i] : memref<64xf32>
    gpu.terminator
  }
  return
}

// -----

// Barriers inside a loop that every thread of the block runs alike (a
// tiled projection's depth steps) and a branch on a block-wide condition:
// the loop and the branch run at block level, with the threads split at
// the barriers inside; the loop's partial sums live in a per-thread buffer,
// stored before the loop (the initial value) and at the end of each
// iteration, and read after it.

// CHECK-LABEL: func.func @steps
// CHECK: %[[ACC:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[GRID:.*]] step
// CHECK: scf.if %{{.*}} {
// CHECK: scf.for %[[T0:.*]] =
// CHECK: memref.store %cst, %[[ACC]]
// CHECK: scf.for %[[K:.*]] = %c0{{.*}} to %c4 step %c1
// CHECK: scf.for
// CHECK: memref.store {{.*}} : memref<8xf32>
// CHECK: scf.for
// CHECK: memref.load %[[ACC]]
// CHECK: arith.addf
// CHECK: scf.for
// CHECK: memref.store %{{.*}}, %[[ACC]]
// CHECK: scf.for
// CHECK: memref.load %[[ACC]]
// CHECK: memref.store
func.func @steps(%in: memref<4x8xf32>, %out: memref<8xf32>, %on: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c8, %sy = %c1, %sz = %c1)
             workgroup(%tile : memref<8xf32, #gpu.address_space<workgroup>>) {
    scf.if %on {
      %sum = scf.for %k = %c0 to %c4 step %c1 iter_args(%acc = %zero) -> (f32) {
        %v = memref.load %in[%k, %tx] : memref<4x8xf32>
        memref.store %v, %tile[%tx] : memref<8xf32, #gpu.address_space<workgroup>>
        gpu.barrier
        %c7 = arith.constant 7 : index
        %j = arith.subi %c7, %tx : index
        %w = memref.load %tile[%j] : memref<8xf32, #gpu.address_space<workgroup>>
        %next = arith.addf %acc, %w : f32
        gpu.barrier
        scf.yield %next : f32
      }
      memref.store %sum, %out[%tx] : memref<8xf32>
    }
    gpu.terminator
  }
  return
}
