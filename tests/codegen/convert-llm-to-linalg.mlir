// RUN: llm-opt %s --convert-llm-to-linalg="max-tokens=8" --split-input-file | FileCheck %s

// One decoder layer (fused QKV over a packed bf16 weight, GQA attention with
// 2 query heads per KV head) called from the entry point in a loop; tied
// embedding as lm_head.

// CHECK-DAG: #[[XMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
// CHECK-DAG: #[[WMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
// CHECK-DAG: #[[OMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// Scratch: per-layer slots (rms 64, linear 2048, attention 1024, add 1024),
// then the entry point's (embedding 1024, layer out 1024, logits 2048).
// KV: 1 layer * (K + V) * 16 floats * 4 bytes per position.
// CHECK-LABEL: module attributes
// CHECK-SAME: llm.kv_bytes_per_position = 128 : i64
// CHECK-SAME: llm.max_tokens = 8 : i64
// CHECK-SAME: llm.scratch_bytes = 8256 : i64
// The parameters are consumed; no llm op survives.
// CHECK-NOT: llm.param
// CHECK-NOT: llm.

// (tid, nthreads, x, layer, start, capacity, weights, kv, scratch, out); the
// kv_cache argument is gone.
// CHECK-LABEL: func.func private @llm_layer(
// CHECK-SAME: %[[TID:[^:]+]]: index, %[[NT:[^:]+]]: index, %[[X:[^:]+]]: memref<?x32xf32>, %[[L:[^:]+]]: index, %[[START:[^:]+]]: index, %[[CAP:[^:]+]]: index, %[[WTS:[^:]+]]: memref<?xi8>, %[[KV:[^:]+]]: memref<?xi8>, %[[SCR:[^:]+]]: memref<?xi8>, %[[OUT:[^:]+]]: memref<?x32xf32>)
// CHECK: %[[ROWS:.+]] = memref.dim %[[X]], %{{.+}} : memref<?x32xf32>
// rms_inv into a scratch vector.
// CHECK: %[[INV:.+]] = memref.view %[[SCR]][%{{.+}}][%[[ROWS]]] : memref<?xi8> to memref<?xf32>
// CHECK: linalg.fill ins(%{{.+}} : f32) outs(%[[INV]] : memref<?xf32>)
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]} ins(%[[X]] : memref<?x32xf32>) outs(%[[INV]] : memref<?xf32>)
// CHECK: math.sqrt
// Packed weight [64/16, 32, 16] at 4224 + layer * 4096.
// CHECK: %[[C4224:.+]] = arith.constant 4224 : index
// CHECK: %[[WSTEP:.+]] = arith.muli %[[L]], %{{.+}}
// CHECK: %[[WOFF:.+]] = arith.addi %[[C4224]], %[[WSTEP]]
// CHECK: %[[W:.+]] = memref.view %[[WTS]][%[[WOFF]]][] : memref<?xi8> to memref<4x32x16xbf16>
// CHECK: %[[Y:.+]] = memref.view %[[SCR]][%{{.+}}][%[[ROWS]]] : memref<?xi8> to memref<?x64xf32>
// CHECK: linalg.fill ins(%{{.+}} : f32) outs(%[[Y]] : memref<?x64xf32>)
// CHECK: %[[YB:.+]] = memref.expand_shape %[[Y]] {{\[}}[0], [1, 2]] output_shape [%[[ROWS]], 4, 16] : memref<?x64xf32> into memref<?x4x16xf32>
// acc += x * w, the bf16 weight widened to f32; nothing else in the body.
// CHECK: linalg.generic {indexing_maps = [#[[XMAP]], #[[WMAP]], #[[OMAP]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[X]], %[[W]] : memref<?x32xf32>, memref<4x32x16xbf16>) outs(%[[YB]] : memref<?x4x16xf32>)
// CHECK-SAME: attrs =  {llm.lowering_config = #llm.lowering_config<tiles = [4, 16, 32]>}
// CHECK: ^bb0(%[[XIN:.+]]: f32, %[[WIN:.+]]: bf16, %[[ACC:.+]]: f32):
// CHECK-NEXT: %[[WF:.+]] = arith.extf %[[WIN]] : bf16 to f32
// CHECK-NEXT: %[[P:.+]] = arith.mulf %[[XIN]], %[[WF]] : f32
// CHECK-NEXT: %[[S:.+]] = arith.addf %[[ACC]], %[[P]] : f32
// CHECK-NEXT: linalg.yield %[[S]]
// Row scale applied afterwards.
// CHECK: linalg.generic {{.+}} ins(%[[INV]] : memref<?xf32>) outs(%[[Y]] : memref<?x64xf32>)
// CHECK: arith.mulf
// Q, K, V are views of the fused output.
// CHECK: %[[Q:.+]] = memref.subview %[[Y]][0, 0] [%[[ROWS]], 32] [1, 1]
// CHECK: %[[K:.+]] = memref.subview %[[Y]][0, 32] [%[[ROWS]], 16] [1, 1]
// CHECK: %[[V:.+]] = memref.subview %[[Y]][0, 48] [%[[ROWS]], 16] [1, 1]
// KV cache of this layer: keys at layer * 2 * capacity * 64, values after.
// CHECK: %[[PLANE:.+]] = arith.muli %[[CAP]], %{{.+}} : index
// CHECK: %[[L2:.+]] = arith.muli %[[L]], %{{.+}} : index
// CHECK: %[[BASE:.+]] = arith.muli %[[L2]], %[[PLANE]] : index
// CHECK: %[[KEYS:.+]] = memref.view %[[KV]][%[[BASE]]][%[[CAP]]] : memref<?xi8> to memref<?x16xf32>
// CHECK: %[[VBASE:.+]] = arith.addi %[[BASE]], %[[PLANE]] : index
// CHECK: %[[VALS:.+]] = memref.view %[[KV]][%[[VBASE]]][%[[CAP]]] : memref<?xi8> to memref<?x16xf32>
// CHECK: %[[KDST:.+]] = memref.subview %[[KEYS]][%[[START]], 0] [%[[ROWS]], 16] [1, 1]
// CHECK: linalg.copy ins(%[[K]] : {{.+}}) outs(%[[KDST]] : {{.+}})
// CHECK: %[[VDST:.+]] = memref.subview %[[VALS]][%[[START]], 0] [%[[ROWS]], 16] [1, 1]
// CHECK: linalg.copy ins(%[[V]] : {{.+}}) outs(%[[VDST]] : {{.+}})
// One forall iteration per (head, row).
// CHECK: %[[A:.+]] = memref.view %[[SCR]][%{{.+}}][%[[ROWS]]] : memref<?xi8> to memref<?x32xf32>
// CHECK: %[[PAIRS:.+]] = arith.muli %[[ROWS]], %{{.+}} : index
// CHECK: scf.forall (%[[IV:.+]]) in (%[[PAIRS]]) {
// CHECK: %[[HEAD:.+]] = arith.divui %[[IV]], %[[ROWS]]
// CHECK: %[[ROW:.+]] = arith.remui %[[IV]], %[[ROWS]]
// CHECK: %[[KVHEAD:.+]] = arith.divui %[[HEAD]], %{{.+}}
// CHECK: vector.transfer_read %[[Q]][%[[ROW]], %{{.+}}], %{{.+}} {in_bounds = [true]} : memref<?x32xf32, strided<[64, 1]>>, vector<16xf32>
// CHECK: arith.constant 2.500000e-01 : f32
// CHECK: scf.for {{.+}} iter_args({{.+}}) -> (f32, f32, vector<16xf32>)
// CHECK: vector.transfer_read %[[KEYS]]
// CHECK: vector.reduction <add>
// CHECK: math.exp
// CHECK: vector.transfer_read %[[VALS]]
// CHECK: vector.fma
// CHECK: vector.transfer_write %{{.+}}, %[[A]][%[[ROW]], %{{.+}}] {in_bounds = [true]} : vector<16xf32>, memref<?x32xf32>
// CHECK: }
// Residual add, then the result is copied to the out argument.
// CHECK: %[[R:.+]] = memref.view %[[SCR]][%{{.+}}][%[[ROWS]]] : memref<?xi8> to memref<?x32xf32>
// CHECK: linalg.generic {{.+}} ins(%[[X]], %[[A]] : memref<?x32xf32>, memref<?x32xf32>) outs(%[[R]] : memref<?x32xf32>)
// CHECK: arith.addf
// CHECK: linalg.copy ins(%[[R]] : memref<?x32xf32>) outs(%[[OUT]] : memref<?x32xf32>)
// CHECK: return

// The entry point takes its logits flat and keeps a C interface.
// CHECK-LABEL: func.func @llmc_forward(
// CHECK-SAME: %[[TID:[^:]+]]: index, %[[NT:[^:]+]]: index, %[[IDS:[^:]+]]: memref<?xi32>, %[[START:[^:]+]]: index, %[[COUNT:[^:]+]]: index, %[[CAP:[^:]+]]: index, %[[WTS:[^:]+]]: memref<?xi8>, %[[KV:[^:]+]]: memref<?xi8>, %[[SCR:[^:]+]]: memref<?xi8>, %[[LOGITS:[^:]+]]: memref<?xf32>)
// CHECK-SAME: attributes {llvm.emit_c_interface}
// CHECK: %[[TABLE:.+]] = memref.view %[[WTS]][%{{.+}}][] : memref<?xi8> to memref<4x32x16xbf16>
// CHECK: %[[ROWS:.+]] = memref.dim %[[IDS]], %{{.+}} : memref<?xi32>
// CHECK: %[[H:.+]] = memref.view %[[SCR]][%{{.+}}][%[[ROWS]]] : memref<?xi8> to memref<?x32xf32>
// The embedding reads the blocked table: [id / 16, col, id % 16].
// CHECK: linalg.generic {{.+}} ins(%[[IDS]] : memref<?xi32>) outs(%[[H]] : memref<?x32xf32>)
// CHECK: arith.divui
// CHECK: arith.remui
// CHECK: memref.load %[[TABLE]]
// CHECK: arith.extf
// CHECK: scf.for %[[LAYER:.+]] = %{{.+}} to %{{.+}} step
// CHECK: %[[LOUT:.+]] = memref.view %[[SCR]][%{{.+}}][%[[ROWS]]] : memref<?xi8> to memref<?x32xf32>
// CHECK: func.call @llm_layer(%[[TID]], %[[NT]], %[[H]], %[[LAYER]], %[[START]], %[[CAP]], %[[WTS]], %[[KV]], %[[SCR]], %[[LOUT]])
// CHECK: linalg.copy ins(%[[LOUT]] : memref<?x32xf32>) outs(%[[H]] : memref<?x32xf32>)
// CHECK: }
// last_rows: the view of the final `count` rows.
// CHECK: %[[FIRST:.+]] = arith.subi %[[ROWS]], %[[COUNT]] : index
// CHECK: %[[LAST:.+]] = memref.subview %[[H]][%[[FIRST]], 0] [%[[COUNT]], 32] [1, 1]
// CHECK: %[[HEAD:.+]] = memref.view %[[WTS]][%{{.+}}][] : memref<?xi8> to memref<4x32x16xbf16>
// CHECK: %[[Y:.+]] = memref.view %[[SCR]][%{{.+}}][%[[COUNT]]] : memref<?xi8> to memref<?x64xf32>
// CHECK: %[[YB:.+]] = memref.expand_shape %[[Y]]
// CHECK: linalg.generic {indexing_maps = [#[[XMAP]], #[[WMAP]], #[[OMAP]]]
// CHECK-SAME: ins(%[[LAST]], %[[HEAD]] : {{.+}}) outs(%[[YB]] : memref<?x4x16xf32>) attrs =  {llm.lowering_config = #llm.lowering_config<tiles = [4, 16, 32]>}
// CHECK: %[[FLAT:.+]] = memref.expand_shape %[[LOGITS]] {{\[}}[0, 1]] output_shape [%[[COUNT]], 64] : memref<?xf32> into memref<?x64xf32>
// CHECK: linalg.copy ins(%[[Y]] : memref<?x64xf32>) outs(%[[FLAT]] : memref<?x64xf32>)
module attributes {llm.num_layers = 1 : i64} {
  llm.param @embed : tensor<64x32xbf16> {layers = 0 : i64, sources = ["embed"], llm.layout = #llm.packed_layout<block = 16, offset = 0, layer_stride = 4096>}
  llm.param @wqkv : tensor<64x32xbf16> {layers = 1 : i64, sources = ["q", "k", "v"], llm.layout = #llm.packed_layout<block = 16, offset = 4224, layer_stride = 4096>}
  func.func private @llm_layer(%x: tensor<?x32xf32>, %layer: index, %start: index, %cache: !llm.kv_cache) -> tensor<?x32xf32> {
    %inv = llm.rms_inv %x {eps = 1.0e-05 : f64} : (tensor<?x32xf32>) -> tensor<?xf32>
    %w = llm.weight @wqkv[%layer] : tensor<64x32xbf16>
    %y = llm.linear %x, %w scale %inv {llm.lowering_config = #llm.lowering_config<tiles = [4, 16, 32]>} : (tensor<?x32xf32>, tensor<64x32xbf16>, tensor<?xf32>) -> tensor<?x64xf32>
    %q = llm.slice %y[0] : (tensor<?x64xf32>) -> tensor<?x32xf32>
    %k = llm.slice %y[32] : (tensor<?x64xf32>) -> tensor<?x16xf32>
    %v = llm.slice %y[48] : (tensor<?x64xf32>) -> tensor<?x16xf32>
    %a = llm.attention %q, %k, %v, %cache[%layer] at %start {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 16 : i64} : (tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x16xf32>, !llm.kv_cache, index, index) -> tensor<?x32xf32>
    %r = llm.add %x, %a : tensor<?x32xf32>
    return %r : tensor<?x32xf32>
  }
  func.func @llmc_forward(%ids: tensor<?xi32>, %start: index, %count: index, %cache: !llm.kv_cache) -> tensor<?x64xf32> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %t = llm.weight @embed : tensor<64x32xbf16>
    %x = llm.embedding %ids, %t : (tensor<?xi32>, tensor<64x32xbf16>) -> tensor<?x32xf32>
    %h = scf.for %l = %c0 to %c1 step %c1 iter_args(%acc = %x) -> (tensor<?x32xf32>) {
      %o = func.call @llm_layer(%acc, %l, %start, %cache) : (tensor<?x32xf32>, index, index, !llm.kv_cache) -> tensor<?x32xf32>
      scf.yield %o : tensor<?x32xf32>
    }
    %last = llm.last_rows %h, %count : (tensor<?x32xf32>, index) -> tensor<?x32xf32>
    %t2 = llm.weight @embed : tensor<64x32xbf16>
    %logits = llm.linear %last, %t2 {llm.lowering_config = #llm.lowering_config<tiles = [4, 16, 32]>} : (tensor<?x32xf32>, tensor<64x32xbf16>) -> tensor<?x64xf32>
    return %logits : tensor<?x64xf32>
  }
}

// -----

// Unblocked weights: a plain (m, n, k) matmul; rms_norm, rope (with a
// constant table of inverse frequencies) and swiglu over two column views.
// Scratch: rms 64 + norm 1024 + rope 1024 + linear 768 + swiglu 384.

// CHECK-DAG: #[[A:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[B:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[C:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: module attributes
// CHECK-SAME: llm.kv_bytes_per_position = 0 : i64
// CHECK-SAME: llm.max_tokens = 8 : i64
// CHECK-SAME: llm.scratch_bytes = 3264 : i64
// CHECK: memref.global "private" constant @[[FREQ:__llm_rope_inv_freq_16_[0-9]+]] : memref<8xf64> = dense<[1.000000e+00, 0.31622776601683794, 1.000000e-01, {{.+}}, 3.1622776601683794E-4]>
// CHECK-LABEL: func.func @llmc_forward(
// CHECK-SAME: %{{[^:]+}}: index, %{{[^:]+}}: index, %[[X:[^:]+]]: memref<?x32xf32>, %[[START:[^:]+]]: index, %{{[^:]+}}: index, %[[WTS:[^:]+]]: memref<?xi8>, %{{[^:]+}}: memref<?xi8>, %[[SCR:[^:]+]]: memref<?xi8>, %[[OUT:[^:]+]]: memref<?xf32>)
// CHECK: %[[G:.+]] = memref.view %[[WTS]][%{{.+}}][] : memref<?xi8> to memref<32xbf16>
// CHECK: %[[INV:.+]] = memref.view %[[SCR]]{{.+}} to memref<?xf32>
// CHECK: %[[N:.+]] = memref.view %[[SCR]]{{.+}} to memref<?x32xf32>
// CHECK: linalg.generic {{.+}} ins(%[[X]], %[[INV]], %[[G]] : memref<?x32xf32>, memref<?xf32>, memref<32xbf16>) outs(%[[N]] : memref<?x32xf32>)
// CHECK: %[[TABLE:.+]] = memref.get_global @[[FREQ]] : memref<8xf64>
// CHECK: %[[R:.+]] = memref.view %[[SCR]]{{.+}} to memref<?x32xf32>
// CHECK: linalg.generic {{.+}} ins(%[[N]] : memref<?x32xf32>) outs(%[[R]] : memref<?x32xf32>)
// CHECK: memref.load %[[TABLE]]
// CHECK: math.cos
// CHECK: math.sin
// CHECK: memref.load %[[N]]
// CHECK: %[[W:.+]] = memref.view %[[WTS]][%{{.+}}][] : memref<?xi8> to memref<24x32xf32>
// CHECK: %[[Y:.+]] = memref.view %[[SCR]]{{.+}} to memref<?x24xf32>
// CHECK: linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[C]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[R]], %[[W]] : memref<?x32xf32>, memref<24x32xf32>) outs(%[[Y]] : memref<?x24xf32>) {
// CHECK-NOT: llm.lowering_config
// CHECK: %[[GATE:.+]] = memref.subview %[[Y]][0, 0] [%{{.+}}, 12] [1, 1]
// CHECK: %[[UP:.+]] = memref.subview %[[Y]][0, 12] [%{{.+}}, 12] [1, 1]
// CHECK: %[[S:.+]] = memref.view %[[SCR]]{{.+}} to memref<?x12xf32>
// CHECK: linalg.generic {{.+}} ins(%[[GATE]], %[[UP]] : {{.+}}) outs(%[[S]] : memref<?x12xf32>)
// CHECK: math.exp
// CHECK: %[[FLAT:.+]] = memref.expand_shape %[[OUT]]
// CHECK: linalg.copy ins(%[[S]] : memref<?x12xf32>) outs(%[[FLAT]] : memref<?x12xf32>)
module attributes {llm.num_layers = 1 : i64} {
  llm.param @norm : tensor<32xbf16> {layers = 0 : i64, sources = ["norm"], llm.layout = #llm.packed_layout<offset = 0, layer_stride = 64>}
  llm.param @w : tensor<24x32xf32> {layers = 0 : i64, sources = ["w"], llm.layout = #llm.packed_layout<offset = 64, layer_stride = 3072>}
  func.func @llmc_forward(%x: tensor<?x32xf32>, %start: index) -> tensor<?x12xf32> {
    %g = llm.weight @norm : tensor<32xbf16>
    %n = llm.rms_norm %x, %g {eps = 1.0e-05 : f64} : (tensor<?x32xf32>, tensor<32xbf16>) -> tensor<?x32xf32>
    %r = llm.rope %n, %start {head_dim = 16 : i64, theta = 10000.0 : f64} : (tensor<?x32xf32>, index) -> tensor<?x32xf32>
    %w = llm.weight @w : tensor<24x32xf32>
    %y = llm.linear %r, %w : (tensor<?x32xf32>, tensor<24x32xf32>) -> tensor<?x24xf32>
    %s = llm.swiglu %y : (tensor<?x24xf32>) -> tensor<?x12xf32>
    return %s : tensor<?x12xf32>
  }
}
