// RUN: llm-opt %s --llm-distribute-to-gpu --split-input-file --verify-diagnostics
// RUN: not llm-opt %s --llm-distribute-to-gpu="threads-per-block=16" 2>&1 | FileCheck %s --check-prefix=FEW
// FEW: threads-per-block must be in [32, 1024]

// Host code of a GPU model must not touch buffers: they are device memory.
func.func @host_load(%a: memref<?xf32>, %i: index) -> f32 {
  // expected-error @+1 {{host code of a GPU target reads or writes a buffer; it must run in a kernel}}
  %v = memref.load %a[%i] : memref<?xf32>
  return %v : f32
}
