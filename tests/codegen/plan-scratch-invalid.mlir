// RUN: llm-opt %s --llm-plan-scratch --split-input-file --verify-diagnostics

func.func @static(%tid: index, %nt: index, %cap: index, %wts: memref<?xi8>, %kv: memref<?xi8>, %scr: memref<?xi8>) {
  // expected-error @+1 {{llm-plan-scratch: only [rows] or [rows, N] f32, bf16, i8 or i32 activation buffers and static f32 ones can be placed, got 'memref<4x4xf16>'}}
  %a = memref.alloc() : memref<4x4xf16>
  return
}

// -----

func.func @no_abi(%rows: index) {
  // expected-error @+1 {{the enclosing function does not have llmc's calling convention; run llm-materialize-abi first}}
  %a = memref.alloc(%rows) : memref<?x4xf32>
  return
}
