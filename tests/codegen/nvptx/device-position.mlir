// RUN: llm-opt %s --llm-device-position --split-input-file --verify-diagnostics | FileCheck %s

// The position (the entry point's fourth argument, passed on to @layer)
// reaches the kernels through the device global llmc_position: the view of
// the KV cache at the position and the position's arithmetic move into the
// kernel, which no longer captures anything computed from it on the host.

// CHECK: memref.global "public" @llmc_position : memref<1xi64> = uninitialized {alignment = 8 : i64}
// CHECK-LABEL: func.func private @layer
// CHECK-SAME: (%{{.*}}: index, %{{.*}}: index, %[[POS:.*]]: index, %[[KV:.*]]: memref<?xf32>)
// CHECK: gpu.launch
// CHECK: %[[GLOBAL:.*]] = memref.get_global @llmc_position : memref<1xi64>
// CHECK: %[[LOADED:.*]] = memref.load %[[GLOBAL]][%{{.*}}] : memref<1xi64>
// CHECK: %[[P:.*]] = arith.index_cast %[[LOADED]] : i64 to index
// CHECK: %[[NEXT:.*]] = arith.addi %[[P]], %{{.*}} : index
// CHECK: %[[VIEW:.*]] = memref.subview %[[KV]][%[[NEXT]]] [4] [1]
// CHECK: memref.store %{{.*}}, %[[VIEW]]
// CHECK: gpu.terminator
module {
  func.func private @layer(%tid: index, %n: index, %pos: index, %kv: memref<?xf32>) {
    %c1 = arith.constant 1 : index
    %next = arith.addi %pos, %c1 : index
    %view = memref.subview %kv[%next] [4] [1] : memref<?xf32> to memref<4xf32, strided<[1], offset: ?>>
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
      %f = arith.constant 1.0 : f32
      memref.store %f, %view[%tx] : memref<4xf32, strided<[1], offset: ?>>
      gpu.terminator
    }
    return
  }
  func.func @llmc_forward(%tid: index, %n: index, %tokens: memref<?xi32>, %pos: index, %kv: memref<?xf32>) {
    func.call @layer(%tid, %n, %pos, %kv) : (index, index, index, memref<?xf32>) -> ()
    return
  }
}

// -----

// A grid that depends on the position would change from one decode step to
// the next.
module {
  func.func @llmc_forward(%tid: index, %n: index, %tokens: memref<?xi32>, %pos: index) {
    %c1 = arith.constant 1 : index
    // expected-error @+1 {{a GPU launch whose grid depends on the position cannot be replayed from a CUDA graph}}
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %pos, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
      gpu.terminator
    }
    return
  }
}

// -----

// Host code may only pass the position on.
module {
  func.func @llmc_forward(%tid: index, %n: index, %tokens: memref<?xi32>, %pos: index) {
    %c0 = arith.constant 0 : index
    %t = arith.index_cast %pos : index to i32
    // expected-error @+1 {{host code of a GPU target computes with the position; only kernels may}}
    memref.store %t, %tokens[%c0] : memref<?xi32>
    return
  }
}
