// RUN: llm-opt %s --llm-plan-scratch="max-tokens=8" --split-input-file | FileCheck %s

// Each activation buffer gets its own slot of 8 rows in the arena, in
// program order across functions, 64-byte aligned: [?x10] takes 8 * 10 * 4
// = 320 bytes, [?] takes 32 -> 64, [?x16] 512.
// CHECK-LABEL: module attributes {llm.max_tokens = 8 : i64, llm.scratch_bytes = 896 : i64}
// CHECK-LABEL: func.func @first(
// CHECK-SAME: %[[ROWS:[^:]+]]: index, %{{[^:]+}}: index, %{{[^:]+}}: memref<?xi8>, %{{[^:]+}}: memref<?xi8>, %[[SCR:[^:]+]]: memref<?xi8>)
// CHECK: %[[C0:.+]] = arith.constant 0 : index
// CHECK: memref.view %[[SCR]][%[[C0]]][%[[ROWS]]] : memref<?xi8> to memref<?x10xf32>
// CHECK: %[[C320:.+]] = arith.constant 320 : index
// CHECK: memref.view %[[SCR]][%[[C320]]][%[[ROWS]]] : memref<?xi8> to memref<?xf32>
// CHECK-NOT: memref.alloc
// CHECK-LABEL: func.func @second(
// CHECK: %[[C384:.+]] = arith.constant 384 : index
// CHECK: memref.view %{{.+}}[%[[C384]]][%{{.+}}] : memref<?xi8> to memref<?x16xf32>
module {
  func.func @first(%tid: index, %rows: index, %cap: index, %wts: memref<?xi8>, %kv: memref<?xi8>, %scr: memref<?xi8>) {
    %a = memref.alloc(%rows) : memref<?x10xf32>
    %b = memref.alloc(%rows) : memref<?xf32>
    return
  }
  func.func @second(%tid: index, %nt: index, %rows: index, %cap: index, %wts: memref<?xi8>, %kv: memref<?xi8>, %scr: memref<?xi8>) {
    %a = memref.alloc(%rows) : memref<?x16xf32>
    return
  }
}

// -----

// A static f32 buffer (attention's per-split states) takes its own bytes,
// not max-tokens rows: [32x18] is 2304 bytes, then [?x4] 8 * 4 * 4 = 128.
// CHECK-LABEL: module attributes {llm.max_tokens = 8 : i64, llm.scratch_bytes = 2432 : i64}
// CHECK-LABEL: func.func @static(
// CHECK: %[[C0:.+]] = arith.constant 0 : index
// CHECK: memref.view %{{.+}}[%[[C0]]][] : memref<?xi8> to memref<32x18xf32>
// CHECK: %[[C2304:.+]] = arith.constant 2304 : index
// CHECK: memref.view %{{.+}}[%[[C2304]]][%{{.+}}] : memref<?xi8> to memref<?x4xf32>
module {
  func.func @static(%tid: index, %rows: index, %cap: index, %wts: memref<?xi8>, %kv: memref<?xi8>, %scr: memref<?xi8>) {
    %a = memref.alloc() : memref<32x18xf32>
    %b = memref.alloc(%rows) : memref<?x4xf32>
    return
  }
}
