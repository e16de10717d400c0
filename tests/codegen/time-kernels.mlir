// RUN: llm-opt %s --llm-time-kernels | FileCheck %s

// Each call of a kernel (a no_inline function) in a function whose first
// argument is the worker id gets a mark before it: the worker id as i64 and
// the kernel's index, one index per kernel however often it is called. The
// names go into llmc_kernel_names in index order, each ending in a NUL; each
// kernel's group is the module it computes (llm.kernel_module, else its own
// name), and each group's costs come from llm.costs: known, rows are output
// rows, FLOPs per row, bytes per row, bytes per call, FLOPs per pair, bytes
// per pair, the passes of the 8-bit dot product its FLOPs take, 1 when they
// are bf16 dot products (all 0 when llm.costs does not name the group).

// CHECK-DAG: llvm.mlir.global external constant @llmc_kernel_count(3 : i64)
// CHECK-DAG: llvm.mlir.global external constant @llmc_kernel_names("a.b\00c\00a.b.1\00")
// CHECK-DAG: llvm.mlir.global external constant @llmc_kernel_group(dense<[0, 1, 0]> : tensor<3xi64>)
// CHECK-DAG: llvm.mlir.global external constant @llmc_group_count(2 : i64)
// CHECK-DAG: llvm.mlir.global external constant @llmc_group_names("a.b\00c\00")
// CHECK-DAG: llvm.mlir.global external constant @llmc_group_costs(dense<[1, 1, 10, 20, 30, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1]> : tensor<18xi64>)
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
// CHECK: %[[K2:.+]] = arith.constant 2 : i64
// CHECK: call @llmc_profile_mark(%{{.+}}, %[[K2]])
// CHECK-NEXT: call @a.b.1(
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

module attributes {llm.costs = {"a.b" = {bytes_per_call = 30 : i64, bytes_per_row = 20 : i64, flops_per_row = 10 : i64, int8_dot = 1 : i64, rows = "outputs"}, c = {bf16_dot = 1 : i64, flops_per_row = 1 : i64}, d = {flops_per_row = 1 : i64}}} {
func.func private @llmc_barrier()
func.func private @helper(%buf: memref<32xf32>)
func.func private @"a.b"(%tid: index, %nt: index, %buf: memref<32xf32>) attributes {no_inline, llm.kernel_module = "a.b"} {
  return
}
func.func private @"a.b.1"(%tid: index, %nt: index, %buf: memref<32xf32>) attributes {no_inline, llm.kernel_module = "a.b"} {
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
  call @"a.b.1"(%tid, %nt, %buf) : (index, index, memref<32xf32>) -> ()
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
}
