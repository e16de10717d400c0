// RUN: llm-opt %s --llm-emulate-gpu-launches --split-input-file --verify-diagnostics

// A barrier in a loop whose trip count differs between the threads of a
// block (undefined behaviour on a GPU) cannot be split.

func.func @thread_bound(%out: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  // expected-error @below {{a loop bound or branch condition around a barrier differs between threads}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c8, %sy = %c1, %sz = %c1) {
    scf.for %k = %c0 to %tx step %c1 {
      gpu.barrier
    }
    gpu.terminator
  }
  return
}

// -----

// Threads that shuffle need a warp that runs them together.

func.func @shuffle(%out: memref<8xf32>) {
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %one = arith.constant 1.0 : f32
  %i1 = arith.constant 1 : i32
  %i32 = arith.constant 32 : i32
  // expected-error @below {{threads that shuffle cannot be emulated one after another}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c8, %sy = %c1, %sz = %c1) {
    %s, %valid = gpu.shuffle xor %one, %i1, %i32 : f32
    memref.store %s, %out[%tx] : memref<8xf32>
    gpu.terminator
  }
  return
}
