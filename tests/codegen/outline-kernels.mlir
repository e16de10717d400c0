// RUN: llm-opt %s --llm-outline-kernels --split-input-file | FileCheck %s

// A kernel is named after its module; the chunk arithmetic only it uses moves
// with it, constants are cloned in, and the caller's arguments lead.

// CHECK-LABEL: func.func @name_loc(
// CHECK-SAME: %[[TID:[^:]+]]: index, %[[NT:[^:]+]]: index, %[[BUF:[^:]+]]: memref<?x32xf32>
// CHECK-NOT: arith.ceildivui
// CHECK: call @"model.layers.{layer}.mlp.down_proj"(%[[TID]], %[[NT]], %[[BUF]]) : (index, index, memref<?x32xf32>) -> ()
// CHECK-NEXT: call @llmc_barrier() : () -> ()
// CHECK-NEXT: return

// CHECK: func.func private @"model.layers.{layer}.mlp.down_proj"(%[[T:[^:]+]]: index, %[[N:[^:]+]]: index, %[[B:[^:]+]]: memref<?x32xf32>) attributes {llm.kernel_module = "model.layers.{layer}.mlp.down_proj", llvm.linkage = #llvm.linkage<internal>, no_inline} {
// CHECK-DAG: %[[C32:.+]] = arith.constant 32 : index
// CHECK-DAG: %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG: %[[TWO:.+]] = arith.constant 2.000000e+00 : f32
// CHECK: %[[CHUNK:.+]] = arith.ceildivui %[[C32]], %[[N]] : index
// CHECK: %[[LO:.+]] = arith.muli %[[T]], %[[CHUNK]] : index
// CHECK: scf.for %[[I:.+]] = %[[LO]] to %[[C32]] step %[[CHUNK]] {
// CHECK: memref.load %[[B]][%[[C0]], %[[I]]]
// CHECK: arith.mulf %{{.+}}, %[[TWO]] : f32
// CHECK: memref.store
// CHECK: }
// CHECK-NEXT: return
// CHECK-NEXT: }

func.func private @llmc_barrier()
func.func @name_loc(%tid: index, %nt: index, %buf: memref<?x32xf32>) {
  %c0 = arith.constant 0 : index
  %c32 = arith.constant 32 : index
  %two = arith.constant 2.0 : f32
  %chunk = arith.ceildivui %c32, %nt : index
  %lo = arith.muli %tid, %chunk : index
  scf.for %i = %lo to %c32 step %chunk {
    %v = memref.load %buf[%c0, %i] : memref<?x32xf32>
    %w = arith.mulf %v, %two : f32
    memref.store %w, %buf[%c0, %i] : memref<?x32xf32>
  } loc("model.layers.{layer}.mlp.down_proj")
  call @llmc_barrier() : () -> ()
  return
}

// -----

// A fused location: the common prefix, then each module's rest in braces.

// CHECK-LABEL: func.func @fused_loc(
// CHECK: call @"model.layers.{layer}.self_attn.{q_proj,k_proj,v_proj}"(
// CHECK: call @"model.layers.{layer}.{input_layernorm,mlp.gate_proj}"(
// CHECK: func.func private @"model.layers.{layer}.self_attn.{q_proj,k_proj,v_proj}"(
// CHECK: func.func private @"model.layers.{layer}.{input_layernorm,mlp.gate_proj}"(

func.func private @llmc_barrier()
func.func @fused_loc(%tid: index, %nt: index, %buf: memref<32xf32>) {
  %c32 = arith.constant 32 : index
  %zero = arith.constant 0.0 : f32
  scf.for %i = %tid to %c32 step %nt {
    memref.store %zero, %buf[%i] : memref<32xf32>
  } loc(fused["model.layers.{layer}.self_attn.q_proj", "model.layers.{layer}.self_attn.k_proj", "model.layers.{layer}.self_attn.v_proj"])
  call @llmc_barrier() : () -> ()
  scf.for %i = %tid to %c32 step %nt {
    memref.store %zero, %buf[%i] : memref<32xf32>
  } loc(fused["model.layers.{layer}.input_layernorm", "model.layers.{layer}.mlp.gate_proj"])
  call @llmc_barrier() : () -> ()
  return
}

// -----

// Several kernels of one module are numbered; a kernel without a module
// location is named after its caller.

// CHECK-LABEL: func.func @duplicates(
// CHECK: call @"model.layers.{layer}.input_layernorm"(
// CHECK-NEXT: call @llmc_barrier()
// CHECK-NEXT: call @"model.layers.{layer}.input_layernorm.1"(
// CHECK-NEXT: call @llmc_barrier()
// CHECK-NEXT: call @"model.layers.{layer}.input_layernorm.2"(
// CHECK-NEXT: call @llmc_barrier()
// CHECK-NEXT: call @duplicates.kernel(
// CHECK-NEXT: call @llmc_barrier()
// CHECK-NEXT: call @duplicates.kernel.1(
// CHECK-NEXT: call @llmc_barrier()
// CHECK: func.func private @"model.layers.{layer}.input_layernorm"(
// CHECK: func.func private @"model.layers.{layer}.input_layernorm.1"(
// CHECK: func.func private @"model.layers.{layer}.input_layernorm.2"(
// CHECK: func.func private @duplicates.kernel(
// CHECK: func.func private @duplicates.kernel.1(

func.func private @llmc_barrier()
func.func @duplicates(%tid: index, %nt: index, %buf: memref<32xf32>) {
  %c32 = arith.constant 32 : index
  %zero = arith.constant 0.0 : f32
  scf.for %i = %tid to %c32 step %nt {
    memref.store %zero, %buf[%i] : memref<32xf32>
  } loc("model.layers.{layer}.input_layernorm")
  call @llmc_barrier() : () -> ()
  scf.for %i = %tid to %c32 step %nt {
    memref.store %zero, %buf[%i] : memref<32xf32>
  } loc("model.layers.{layer}.input_layernorm")
  call @llmc_barrier() : () -> ()
  scf.for %i = %tid to %c32 step %nt {
    memref.store %zero, %buf[%i] : memref<32xf32>
  } loc("model.layers.{layer}.input_layernorm")
  call @llmc_barrier() : () -> ()
  scf.for %i = %tid to %c32 step %nt {
    memref.store %zero, %buf[%i] : memref<32xf32>
  } loc(unknown)
  call @llmc_barrier() : () -> ()
  scf.for %i = %tid to %c32 step %nt {
    memref.store %zero, %buf[%i] : memref<32xf32>
  }
  call @llmc_barrier() : () -> ()
  return
}

// -----

// Work on worker 0 only (an scf.if guard) is a kernel too. A value another
// kernel also uses stays in the caller and is passed; the constant it is
// computed from is not.

// CHECK-LABEL: func.func @shared_values(
// CHECK-SAME: %[[TID:[^:]+]]: index, %[[NT:[^:]+]]: index, %[[BUF:[^:]+]]: memref<32xf32>
// CHECK: %[[CHUNK:.+]] = arith.ceildivui %{{.+}}, %[[NT]] : index
// CHECK-NEXT: call @model.embed_tokens(%[[TID]], %[[BUF]], %[[CHUNK]])
// CHECK-NEXT: call @llmc_barrier()
// CHECK-NEXT: call @lm_head(%[[TID]], %[[BUF]], %[[CHUNK]])
// CHECK-NEXT: call @llmc_barrier()

// CHECK: func.func private @model.embed_tokens(%{{[^:]+}}: index, %{{[^:]+}}: memref<32xf32>, %{{[^:]+}}: index) attributes {llm.kernel_module = "model.embed_tokens", llvm.linkage = #llvm.linkage<internal>, no_inline} {
// CHECK: arith.constant 0 : index
// CHECK: arith.cmpi eq
// CHECK: scf.if
// CHECK: func.func private @lm_head(
// CHECK: arith.constant 32 : index
// CHECK: scf.for

func.func private @llmc_barrier()
func.func @shared_values(%tid: index, %nt: index, %buf: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c32 = arith.constant 32 : index
  %zero = arith.constant 0.0 : f32
  %chunk = arith.ceildivui %c32, %nt : index
  %first = arith.cmpi eq, %tid, %c0 : index
  scf.if %first {
    memref.store %zero, %buf[%chunk] : memref<32xf32>
  } loc("model.embed_tokens")
  call @llmc_barrier() : () -> ()
  scf.for %i = %tid to %c32 step %chunk {
    memref.store %zero, %buf[%i] : memref<32xf32>
  } loc("lm_head")
  call @llmc_barrier() : () -> ()
  return
}
