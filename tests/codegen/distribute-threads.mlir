// RUN: llm-opt %s --llm-distribute-threads=chunks-per-worker=0 --split-input-file | FileCheck %s
// RUN: llm-opt %s --llm-distribute-threads --split-input-file | FileCheck %s --check-prefix=CLAIM
// RUN: llm-opt %s --llm-distribute-threads=chunks-per-worker=3 --split-input-file | FileCheck %s --check-prefix=CLAIM3

// Every worker runs the function; each kernel becomes a loop over this
// worker's chunk, followed by a barrier. With chunks-per-worker=0 every
// kernel's chunk is fixed by the worker id:

#x = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// CHECK: func.func private @llmc_barrier()
// CHECK-LABEL: func.func @kernels(
// CHECK-SAME: %[[TID:[^:]+]]: index, %[[NT:[^:]+]]: index, %[[X:[^:]+]]: memref<?x32xf32>, %[[W:[^:]+]]: memref<4x32x16xbf16>, %[[Y:[^:]+]]: memref<?x4x16xf32>, %[[A:[^:]+]]: memref<?x32xf32>, %[[B:[^:]+]]: memref<?x32xf32>, %[[N:[^:]+]]: index, %[[FLAG:[^:]+]]: memref<1xf32>, %[[SUMS:[^:]+]]: memref<?xf32>

// Packed matmul: split along the 4 weight blocks, ceil(4 / nthreads) each.
// CHECK: %[[C4:.+]] = arith.constant 4 : index
// CHECK: %[[CHUNK:.+]] = arith.ceildivui %[[C4]], %[[NT]] : index
// CHECK: %[[LO:.+]] = affine.apply #{{.+}}()[%[[TID]], %[[CHUNK]]]
// CHECK: %[[START:.+]] = affine.apply #{{.+}}()[%[[LO]], %{{.+}}]
// CHECK: %[[STEP:.+]] = affine.apply #{{.+}}()[%[[NT]], %[[CHUNK]]]
// CHECK: scf.for %[[BLK:.+]] = %[[START]] to %{{.+}} step %[[STEP]] {
// CHECK: %[[SIZE:.+]] = affine.min #{{.+}}(%[[BLK]])[%[[CHUNK]]]
// CHECK: %[[WT:.+]] = memref.subview %[[W]][%[[BLK]], 0, 0] [%[[SIZE]], 32, 16] [1, 1, 1]
// CHECK: %[[YT:.+]] = memref.subview %[[Y]][0, %[[BLK]], 0] [%{{.+}}, %[[SIZE]], 16] [1, 1, 1]
// CHECK: linalg.generic {{.+}} ins(%{{.+}}, %[[WT]] : {{.+}}) outs(%[[YT]] : {{.+}}) attrs =  {llm.lowering_config = #llm.lowering_config<tiles = [4, 16, 32]>}
// CHECK: linalg.yield
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: call @llmc_barrier() : () -> ()

// Elementwise over [?, 32]: split along the static 32 columns.
// CHECK: %[[C32:.+]] = arith.constant 32 : index
// CHECK: %[[CHUNK2:.+]] = arith.ceildivui %[[C32]], %[[NT]] : index
// CHECK: scf.for %[[COL:.+]] = %{{.+}} to %{{.+}} step %{{.+}} {
// CHECK: %[[AT:.+]] = memref.subview %[[A]][0, %[[COL]]]
// CHECK: %[[BT:.+]] = memref.subview %[[B]][0, %[[COL]]]
// CHECK: linalg.generic {{.+}} ins(%[[AT]] : {{.+}}) outs(%[[BT]] : {{.+}})
// CHECK: linalg.yield
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: call @llmc_barrier() : () -> ()

// Row reduction: the only parallel dimension is the (dynamic) rows.
// CHECK: %[[ROWS:.+]] = memref.dim %[[X]], %{{.+}} : memref<?x32xf32>
// CHECK: arith.ceildivui %[[ROWS]], %[[NT]] : index
// CHECK: scf.for %[[R:.+]] = %{{.+}} to %{{.+}} step %{{.+}} {
// CHECK: memref.subview %[[X]][%[[R]], 0]
// CHECK: memref.subview %[[SUMS]][%[[R]]]
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]
// CHECK: linalg.yield
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: call @llmc_barrier() : () -> ()

// forall: this worker's contiguous range [tid * c, min(tid * c + c, n)).
// CHECK-NOT: scf.forall
// CHECK: %[[CNT:.+]] = arith.subi %[[N]], %[[ZERO:.+]] : index
// CHECK: %[[ONE:.+]] = arith.constant 1 : index
// CHECK: %[[FC:.+]] = arith.ceildivui %[[CNT]], %[[NT]] : index
// CHECK: %[[MUL:.+]] = arith.muli %[[TID]], %[[FC]] : index
// CHECK: %[[FLO:.+]] = arith.minui %[[MUL]], %[[CNT]] : index
// CHECK: %[[END:.+]] = arith.addi %[[FLO]], %[[FC]] : index
// CHECK: %[[FHI:.+]] = arith.minui %[[END]], %[[CNT]] : index
// CHECK: %[[FROM:.+]] = arith.addi %[[ZERO]], %[[FLO]] : index
// CHECK: %[[TO:.+]] = arith.addi %[[ZERO]], %[[FHI]] : index
// CHECK: scf.for %[[I:.+]] = %[[FROM]] to %[[TO]] step %[[ONE]] {
// CHECK: %[[V:.+]] = memref.load %[[A]][%[[I]], %{{.+}}]
// CHECK: memref.store %[[V]], %[[B]][%[[I]], %{{.+}}]
// CHECK-NEXT: }
// CHECK-NEXT: call @llmc_barrier() : () -> ()

// A lone write runs on worker 0.
// CHECK: %[[IS0:.+]] = arith.cmpi eq, %[[TID]], %{{.+}} : index
// CHECK: scf.if %[[IS0]] {
// CHECK: memref.store %{{.+}}, %[[FLAG]]
// CHECK-NEXT: }
// CHECK-NEXT: call @llmc_barrier() : () -> ()
// CHECK-NEXT: return
// By default matmuls and foralls are cut into 8 chunks per worker that the
// workers claim from the runtime's counter until it passes the end; the
// other kernels keep their fixed chunk.
// CLAIM: func.func private @llmc_next_chunk() -> i64
// CLAIM: func.func private @llmc_barrier()
// CLAIM-LABEL: func.func @kernels(
// CLAIM-SAME: %[[TID:[^:]+]]: index, %[[NT:[^:]+]]: index, %[[X:[^:]+]]: memref<?x32xf32>, %[[W:[^:]+]]: memref<4x32x16xbf16>, %[[Y:[^:]+]]: memref<?x4x16xf32>, %[[A:[^:]+]]: memref<?x32xf32>, %[[B:[^:]+]]: memref<?x32xf32>, %[[N:[^:]+]]: index
// CLAIM: %[[C4:.+]] = arith.constant 4 : index
// CLAIM: %[[C8:.+]] = arith.constant 8 : index
// CLAIM: %[[CHUNKS:.+]] = arith.muli %[[NT]], %[[C8]] : index
// CLAIM: %[[GRAIN:.+]] = arith.ceildivui %[[C4]], %[[CHUNKS]] : index
// CLAIM: scf.while : () -> index {
// CLAIM-NEXT: %[[CLAIMED:.+]] = func.call @llmc_next_chunk() : () -> i64
// CLAIM-NEXT: %[[IDX:.+]] = arith.index_cast %[[CLAIMED]] : i64 to index
// CLAIM-NEXT: %[[OFF:.+]] = arith.muli %[[IDX]], %[[GRAIN]] : index
// CLAIM-NEXT: %[[BLK0:.+]] = arith.addi %{{.+}}, %[[OFF]] : index
// CLAIM-NEXT: %[[MORE:.+]] = arith.cmpi ult, %[[BLK0]], %{{.+}} : index
// CLAIM-NEXT: scf.condition(%[[MORE]]) %[[BLK0]] : index
// CLAIM-NEXT: } do {
// CLAIM-NEXT: ^bb0(%[[BLK:.+]]: index):
// CLAIM: %[[SIZE:.+]] = affine.min #{{.+}}(%[[BLK]])[%[[GRAIN]]]
// CLAIM: memref.subview %[[W]][%[[BLK]], 0, 0] [%[[SIZE]], 32, 16] [1, 1, 1]
// CLAIM: memref.subview %[[Y]][0, %[[BLK]], 0] [%{{.+}}, %[[SIZE]], 16] [1, 1, 1]
// CLAIM: linalg.generic
// CLAIM: scf.yield
// CLAIM-NEXT: }
// CLAIM-NEXT: call @llmc_barrier() : () -> ()
// The elementwise kernel: a fixed chunk per worker.
// CLAIM-NOT: llmc_next_chunk
// CLAIM: arith.ceildivui %{{.+}}, %[[NT]] : index
// CLAIM: scf.for
// CLAIM: call @llmc_barrier() : () -> ()
// CLAIM-NOT: llmc_next_chunk
// CLAIM: call @llmc_barrier() : () -> ()
// forall: claimed chunks of ceil(n / (8 nthreads)) iterations, each a loop
// up to min(start + grain, n).
// CLAIM: %[[FCNT:.+]] = arith.subi %[[N]], %[[FZERO:.+]] : index
// CLAIM: %[[F8:.+]] = arith.muli %[[NT]], %{{.+}} : index
// CLAIM: %[[FGRAIN:.+]] = arith.ceildivui %[[FCNT]], %[[F8]] : index
// CLAIM: scf.while : () -> index {
// CLAIM-NEXT: func.call @llmc_next_chunk() : () -> i64
// CLAIM-NEXT: %[[FIDX:.+]] = arith.index_cast
// CLAIM-NEXT: %[[FOFF:.+]] = arith.muli %[[FIDX]], %[[FGRAIN]] : index
// CLAIM-NEXT: %[[FSTART:.+]] = arith.addi %[[FZERO]], %[[FOFF]] : index
// CLAIM-NEXT: %[[FMORE:.+]] = arith.cmpi ult, %[[FSTART]], %[[N]] : index
// CLAIM-NEXT: scf.condition(%[[FMORE]]) %[[FSTART]] : index
// CLAIM-NEXT: } do {
// CLAIM-NEXT: ^bb0(%[[FS:.+]]: index):
// CLAIM-NEXT: %[[FE:.+]] = arith.addi %[[FS]], %[[FGRAIN]] : index
// CLAIM-NEXT: %[[FEND:.+]] = arith.minui %[[FE]], %[[N]] : index
// CLAIM-NEXT: scf.for %[[I:.+]] = %[[FS]] to %[[FEND]] step %{{.+}} {
// CLAIM: %[[V:.+]] = memref.load %[[A]][%[[I]], %{{.+}}]
// CLAIM-NEXT: memref.store %[[V]], %[[B]][%[[I]], %{{.+}}]
// CLAIM-NEXT: }
// CLAIM-NEXT: scf.yield
// CLAIM-NEXT: }
// CLAIM-NEXT: call @llmc_barrier() : () -> ()
// CLAIM: scf.if
// CLAIM-NEXT: memref.store
// CLAIM-NEXT: }
// CLAIM-NEXT: call @llmc_barrier() : () -> ()
// CLAIM-NEXT: return

// The option sets the number of chunks per worker.
// CLAIM3-LABEL: func.func @kernels(
// CLAIM3: %[[C3:.+]] = arith.constant 3 : index
// CLAIM3: arith.muli %{{.+}}, %[[C3]] : index
// CLAIM3: scf.while
func.func @kernels(%tid: index, %nthreads: index, %x: memref<?x32xf32>, %w: memref<4x32x16xbf16>, %y: memref<?x4x16xf32>, %a: memref<?x32xf32>, %b: memref<?x32xf32>, %n: index, %flag: memref<1xf32>, %sums: memref<?xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x, %w : memref<?x32xf32>, memref<4x32x16xbf16>) outs(%y : memref<?x4x16xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [4, 16, 32]>} {
  ^bb0(%in: f32, %win: bf16, %acc: f32):
    %e = arith.extf %win : bf16 to f32
    %p = arith.mulf %in, %e : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%a : memref<?x32xf32>) outs(%b : memref<?x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%x : memref<?x32xf32>) outs(%sums : memref<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %sq = arith.mulf %in, %in : f32
    %s = arith.addf %out, %sq : f32
    linalg.yield %s : f32
  }
  scf.forall (%i) in (%n) {
    %c0 = arith.constant 0 : index
    %v = memref.load %a[%i, %c0] : memref<?x32xf32>
    memref.store %v, %b[%i, %c0] : memref<?x32xf32>
  }
  %c0 = arith.constant 0 : index
  %cst = arith.constant 1.0 : f32
  memref.store %cst, %flag[%c0] : memref<1xf32>
  return
}

// -----

// Kernels inside a loop that every worker executes are distributed in place;
// calls are left alone (the callee distributes its own kernels) and the
// barrier already declared is reused.

// CHECK: func.func private @llmc_barrier()
// CHECK-NOT: func.func private @llmc_barrier
// CHECK-LABEL: func.func @in_loop(
// CHECK-SAME: %[[TID:[^:]+]]: index, %[[NT:[^:]+]]: index, %[[A:[^:]+]]: memref<?x8xf32>, %[[B:[^:]+]]: memref<?x8xf32>
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} {
// CHECK-NEXT: func.call @callee(%[[TID]], %[[NT]])
// CHECK-NOT: scf.if
// CHECK: arith.ceildivui %{{.+}}, %[[NT]]
// CHECK: scf.for
// CHECK: linalg.copy
// CHECK-NEXT: }
// CHECK-NEXT: call @llmc_barrier() : () -> ()
// CHECK-NEXT: }
// CHECK-NEXT: return
func.func private @llmc_barrier()
func.func private @callee(index, index)
func.func @in_loop(%tid: index, %nthreads: index, %a: memref<?x8xf32>, %b: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  scf.for %l = %c0 to %c3 step %c1 {
    func.call @callee(%tid, %nthreads) : (index, index) -> ()
    linalg.copy ins(%a : memref<?x8xf32>) outs(%b : memref<?x8xf32>)
  }
  return
}
