// RUN: llm-opt %s --llm-time-kernels | FileCheck %s

// Each call of a kernel (a no_inline function) in a function whose first
// argument is the worker id gets a mark before it: the worker id as i64 and
// the kernel's index, one index per kernel however often it is called. The
// names go into llmc_kernel_names in index order, each ending in a NUL.

// CHECK-DAG: llvm.mlir.global external constant @llmc_kernel_names("a.b\00c\00")
// CHECK-DAG: llvm.mlir.global external constant @llmc_kernel_count(2 : i64) {addr_space = 0 : i32} : i64
// CHECK-DAG: func.func private @llmc_profile_mark(i64, i64)

// CHECK-LABEL: func.func @forward(
// CHECK-SAME: %[[TID:[^:]+]]: index
// CHECK: %[[T0:.+]] = arith.index_cast %[[TID]] : index to i64
// CHECK: %[[K0:.+]] = arith.constant 0 : i64
// CHECK: call @llmc_profile_mark(%[[T0]], %[[K0]])
// CHECK-NEXT: call @a.b(
// CHECK-NEXT: call @llmc_barrier()
// CHECK: %[[K1:.+]] = arith.constant 1 : i64
// CHECK: call @llmc_profile_mark(%{{.+}}, %[[K1]])
// CHECK-NEXT: call @c(
// CHECK: %[[K0B:.+]] = arith.constant 0 : i64
// CHECK: call @llmc_profile_mark(%{{.+}}, %[[K0B]])
// CHECK-NEXT: call @a.b(
// CHECK-NOT: llmc_profile_mark
// CHECK: return

// A function without a worker id (the argmax of an emulated GPU model, say)
// is left alone, and so are calls of functions that are not kernels.
// CHECK-LABEL: func.func @no_tid(
// CHECK-NOT: llmc_profile_mark
// CHECK: return

func.func private @llmc_barrier()
func.func private @helper(%buf: memref<32xf32>)
func.func private @"a.b"(%tid: index, %nt: index, %buf: memref<32xf32>) attributes {no_inline} {
  return
}
func.func private @c(%tid: index, %nt: index, %buf: memref<32xf32>) attributes {no_inline} {
  return
}
func.func @forward(%tid: index, %nt: index, %buf: memref<32xf32>) {
  call @"a.b"(%tid, %nt, %buf) : (index, index, memref<32xf32>) -> ()
  call @llmc_barrier() : () -> ()
  call @c(%tid, %nt, %buf) : (index, index, memref<32xf32>) -> ()
  call @llmc_barrier() : () -> ()
  call @"a.b"(%tid, %nt, %buf) : (index, index, memref<32xf32>) -> ()
  call @llmc_barrier() : () -> ()
  call @helper(%buf) : (memref<32xf32>) -> ()
  return
}
func.func @no_tid(%buf: memref<32xf32>, %tid: index) {
  call @"a.b"(%tid, %tid, %buf) : (index, index, memref<32xf32>) -> ()
  return
}
