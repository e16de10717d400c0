// RUN: llm-opt %s --convert-llm-to-linalg --split-input-file | FileCheck %s
// RUN: llm-opt %s --convert-llm-to-linalg --llm-erase-params --split-input-file | FileCheck %s --check-prefix=ERASED

// One case per conversion pattern. Functions already have llmc's calling
// convention (llm-materialize-abi): (tid, nthreads, args..., capacity,
// weights, kv, scratch). New buffers are memref.allocs (llm-plan-scratch
// places them).

// A stacked parameter is a view of the weight blob at offset + layer *
// layer_stride; the parameters stay (the weight file is packed from
// them, also from linalg IR) until llm-erase-params.
// CHECK: llm.param @w : tensor<48x32xf32> {{{.*}}llm.layout = #llm.packed_layout<offset = 4096, layer_stride = 6144>
// ERASED-NOT: llm.param
// CHECK-LABEL: func.func @weight_layered(
// CHECK-SAME: %[[L:[^:]+]]: index, %{{[^:]+}}: index, %[[W:[^:]+]]: memref<?xi8>, %[[KV:[^:]+]]: memref<?xi8>, %{{[^:]+}}: memref<?xi8>) -> memref<48x32xf32>
// CHECK: %[[OFF:.+]] = arith.constant 4096 : index
// CHECK: %[[STRIDE:.+]] = arith.constant 6144 : index
// CHECK: %[[STEP:.+]] = arith.muli %[[L]], %[[STRIDE]]
// CHECK: %[[AT:.+]] = arith.addi %[[OFF]], %[[STEP]]
// CHECK: %[[V:.+]] = memref.view %[[W]][%[[AT]]][] : memref<?xi8> to memref<48x32xf32>
// CHECK: return %[[V]]
llm.param @w : tensor<48x32xf32> {layers = 2 : i64, sources = ["w"], llm.layout = #llm.packed_layout<offset = 4096, layer_stride = 6144>}
func.func @weight_layered(%tid: index, %nt: index, %layer: index, %cap: index, %wts: memref<?xi8>, %kv: !llm.kv_cache, %scr: memref<?xi8>) -> tensor<48x32xf32> {
  %w = llm.weight @w[%layer] : tensor<48x32xf32>
  return %w : tensor<48x32xf32>
}

// -----

// A parameter holding some layers only (layer_list): layer L's copy is the
// number of listed layers before L, one compare and add each (the last
// listed layer is never before a listed one).
// CHECK-LABEL: func.func @weight_layer_list(
// CHECK-SAME: %[[L:[^:]+]]: index, %{{[^:]+}}: index, %[[W:[^:]+]]: memref<?xi8>
// CHECK: %[[STRIDE:.+]] = arith.constant 6144 : index
// CHECK: %[[C1:.+]] = arith.constant 1 : index
// CHECK: %[[A:.+]] = arith.cmpi ugt, %[[L]], %{{.+}} : index
// CHECK: %[[SA:.+]] = arith.select %[[A]], %[[C1]]
// CHECK: %[[C4:.+]] = arith.constant 4 : index
// CHECK: %[[B:.+]] = arith.cmpi ugt, %[[L]], %[[C4]] : index
// CHECK: %[[SB:.+]] = arith.select %[[B]], %[[C1]]
// CHECK: %[[COPY:.+]] = arith.addi %{{.+}}, %[[SB]]
// CHECK-NOT: arith.cmpi
// CHECK: arith.muli %[[COPY]], %[[STRIDE]]
// CHECK: memref.view %[[W]]
llm.param @w : tensor<48x32xf32> {layers = 3 : i64, layer_list = array<i64: 1, 4, 6>, sources = ["w"], llm.layout = #llm.packed_layout<offset = 4096, layer_stride = 6144>}
func.func @weight_layer_list(%tid: index, %nt: index, %layer: index, %cap: index, %wts: memref<?xi8>, %kv: !llm.kv_cache, %scr: memref<?xi8>) -> tensor<48x32xf32> {
  %w = llm.weight @w[%layer] : tensor<48x32xf32>
  return %w : tensor<48x32xf32>
}

// -----

// Embedding from a blocked table (shared with a tied lm_head): row id is
// block id / 16, lane id % 16; the bf16 element is widened.
// CHECK-LABEL: func.func @embedding(
// CHECK-SAME: %[[IDS:[^:]+]]: memref<?xi32>
// CHECK: %[[TABLE:.+]] = memref.view {{.+}} to memref<4x32x16xbf16>
// CHECK: %[[ROWS:.+]] = memref.dim %[[IDS]], %{{.+}} : memref<?xi32>
// CHECK: %[[OUT:.+]] = memref.alloc(%[[ROWS]]) : memref<?x32xf32>
// CHECK: linalg.generic {{.+}} ins(%[[IDS]] : memref<?xi32>) outs(%[[OUT]] : memref<?x32xf32>)
// CHECK: arith.index_cast
// CHECK: arith.divui
// CHECK: arith.remui
// CHECK: memref.load %[[TABLE]]
// CHECK: arith.extf {{.+}} : bf16 to f32
// CHECK: return %[[OUT]]
llm.param @embed : tensor<64x32xbf16> {layers = 0 : i64, sources = ["embed"], llm.layout = #llm.packed_layout<block = 16, offset = 0, layer_stride = 4096>}
func.func @embedding(%tid: index, %nt: index, %ids: tensor<?xi32>, %cap: index, %wts: memref<?xi8>, %kv: !llm.kv_cache, %scr: memref<?xi8>) -> tensor<?x32xf32> {
  %t = llm.weight @embed : tensor<64x32xbf16>
  %x = llm.embedding %ids, %t : (tensor<?xi32>, tensor<64x32xbf16>) -> tensor<?x32xf32>
  return %x : tensor<?x32xf32>
}

// -----

// 1 / sqrt(sum(x^2) / 32 + eps) per row.
// CHECK-LABEL: func.func @rms_inv(
// CHECK-SAME: %[[X:[^:]+]]: memref<?x32xf32>
// CHECK: %[[ROWS:.+]] = memref.dim %[[X]], %{{.+}}
// CHECK: %[[INV:.+]] = memref.alloc(%[[ROWS]]) : memref<?xf32>
// CHECK: linalg.fill ins(%{{.+}} : f32) outs(%[[INV]] : memref<?xf32>)
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]} ins(%[[X]] : memref<?x32xf32>) outs(%[[INV]] : memref<?xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: linalg.generic {{.+}} outs(%[[INV]] : memref<?xf32>)
// CHECK: arith.constant 3.200000e+01 : f32
// CHECK: arith.constant 9.99999974E-6 : f32
// CHECK: math.sqrt
// CHECK: return %[[INV]]
func.func @rms_inv(%tid: index, %nt: index, %x: tensor<?x32xf32>, %cap: index, %wts: memref<?xi8>, %kv: !llm.kv_cache, %scr: memref<?xi8>) -> tensor<?xf32> {
  %inv = llm.rms_inv %x {eps = 1.0e-05 : f64} : (tensor<?x32xf32>) -> tensor<?xf32>
  return %inv : tensor<?xf32>
}

// -----

// Sums of each group of 32 columns: x viewed as [rows, 2, 32], reduced over
// the last loop.
// CHECK-LABEL: func.func @group_sum(
// CHECK-SAME: %[[X:[^:]+]]: memref<?x64xf32>
// CHECK: %[[ROWS:.+]] = memref.dim %[[X]], %{{.+}}
// CHECK: %[[OUT:.+]] = memref.alloc(%[[ROWS]]) : memref<?x2xf32>
// CHECK: linalg.fill ins(%{{.+}} : f32) outs(%[[OUT]] : memref<?x2xf32>)
// CHECK: %[[G:.+]] = memref.expand_shape %[[X]] {{\[\[}}0], [1, 2]] output_shape [%[[ROWS]], 2, 32] : memref<?x64xf32> into memref<?x2x32xf32>
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[G]] : memref<?x2x32xf32>) outs(%[[OUT]] : memref<?x2xf32>)
// CHECK: arith.addf
// CHECK: return %[[OUT]]
func.func @group_sum(%tid: index, %nt: index, %x: tensor<?x64xf32>, %cap: index, %wts: memref<?xi8>, %kv: !llm.kv_cache, %scr: memref<?xi8>) -> tensor<?x2xf32> {
  %s = llm.group_sum %x {group = 32 : i64} : (tensor<?x64xf32>) -> tensor<?x2xf32>
  return %s : tensor<?x2xf32>
}

// -----

// x * inv[row] * g[col], the f16 weight widened.
// CHECK-LABEL: func.func @rms_norm(
// CHECK-SAME: %[[X:[^:]+]]: memref<?x32xf32>
// CHECK: %[[G:.+]] = memref.view {{.+}} to memref<32xf16>
// CHECK: %[[INV:.+]] = memref.alloc(%{{.+}}) : memref<?xf32>
// CHECK: math.sqrt
// CHECK: %[[OUT:.+]] = memref.alloc(%{{.+}}) : memref<?x32xf32>
// CHECK: linalg.generic {{.+}} ins(%[[X]], %[[INV]], %[[G]] : memref<?x32xf32>, memref<?xf32>, memref<32xf16>) outs(%[[OUT]] : memref<?x32xf32>)
// CHECK: arith.extf {{.+}} : f16 to f32
// CHECK: return %[[OUT]]
llm.param @g : tensor<32xf16> {layers = 0 : i64, sources = ["g"], llm.layout = #llm.packed_layout<offset = 0, layer_stride = 64>}
func.func @rms_norm(%tid: index, %nt: index, %x: tensor<?x32xf32>, %cap: index, %wts: memref<?xi8>, %kv: !llm.kv_cache, %scr: memref<?xi8>) -> tensor<?x32xf32> {
  %g = llm.weight @g : tensor<32xf16>
  %n = llm.rms_norm %x, %g {eps = 1.0e-05 : f64} : (tensor<?x32xf32>, tensor<32xf16>) -> tensor<?x32xf32>
  return %n : tensor<?x32xf32>
}

// -----

// A packed projection: the output padded to whole blocks (40 -> 48 columns)
// and zeroed, a multiply-add generic over (m, b, r, k) carrying the
// strategy's config, the row scale, then a view of the 40 real columns.
// CHECK-DAG: #[[XMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
// CHECK-DAG: #[[WMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
// CHECK-DAG: #[[OMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @linear_blocked(
// CHECK-SAME: %[[X:[^:]+]]: memref<?x32xf32>, %[[S:[^:]+]]: memref<?xf32>
// CHECK: %[[W:.+]] = memref.view {{.+}} to memref<3x32x16xbf16>
// CHECK: %[[ROWS:.+]] = memref.dim %[[X]], %{{.+}}
// CHECK: %[[Y:.+]] = memref.alloc(%[[ROWS]]) : memref<?x48xf32>
// CHECK: linalg.fill ins(%{{.+}} : f32) outs(%[[Y]] : memref<?x48xf32>)
// CHECK: %[[YB:.+]] = memref.expand_shape %[[Y]] {{\[}}[0], [1, 2]] output_shape [%[[ROWS]], 3, 16] : memref<?x48xf32> into memref<?x3x16xf32>
// CHECK: linalg.generic {indexing_maps = [#[[XMAP]], #[[WMAP]], #[[OMAP]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[X]], %[[W]] : memref<?x32xf32>, memref<3x32x16xbf16>) outs(%[[YB]] : memref<?x3x16xf32>)
// CHECK-SAME: attrs =  {llm.lowering_config = #llm.lowering_config<tiles = [4, 16, 32]>}
// CHECK: ^bb0(%[[XIN:.+]]: f32, %[[WIN:.+]]: bf16, %[[ACC:.+]]: f32):
// CHECK-NEXT: %[[WF:.+]] = arith.extf %[[WIN]] : bf16 to f32
// CHECK-NEXT: %[[P:.+]] = arith.mulf %[[XIN]], %[[WF]] : f32
// CHECK-NEXT: %[[SUM:.+]] = arith.addf %[[ACC]], %[[P]] : f32
// CHECK-NEXT: linalg.yield %[[SUM]]
// CHECK: linalg.generic {{.+}} ins(%[[S]] : memref<?xf32>) outs(%[[Y]] : memref<?x48xf32>)
// CHECK: arith.mulf
// CHECK: %[[REAL:.+]] = memref.subview %[[Y]][0, 0] [%[[ROWS]], 40] [1, 1]
// The caller expects an identity-layout buffer: the view is copied.
// CHECK: %[[COPY:.+]] = memref.alloc(%{{.+}}) : memref<?x40xf32>
// CHECK: linalg.copy ins(%[[REAL]] : {{.+}}) outs(%[[COPY]] : memref<?x40xf32>)
// CHECK: return %[[COPY]]
llm.param @w : tensor<40x32xbf16> {layers = 0 : i64, sources = ["w"], llm.layout = #llm.packed_layout<block = 16, offset = 0, layer_stride = 3072>}
func.func @linear_blocked(%tid: index, %nt: index, %x: tensor<?x32xf32>, %s: tensor<?xf32>, %cap: index, %wts: memref<?xi8>, %kv: !llm.kv_cache, %scr: memref<?xi8>) -> tensor<?x40xf32> {
  %w = llm.weight @w : tensor<40x32xbf16>
  %y = llm.linear %x, %w scale %s {llm.lowering_config = #llm.lowering_config<tiles = [4, 16, 32]>} : (tensor<?x32xf32>, tensor<40x32xbf16>, tensor<?xf32>) -> tensor<?x40xf32>
  return %y : tensor<?x40xf32>
}

// -----

// Interleaved by pairs: the weight is viewed as [blocks, in / 2, 16, 2], the
// input rounded to bf16 into its own buffer, and the matmul has loops (m, b,
// r, kk, p) reading x[m, 2 * kk + p] and w[b, kk, r, p].
// CHECK-DAG: #[[XI:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3 * 2 + d4)>
// CHECK-DAG: #[[WI:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d3, d2, d4)>
// CHECK-DAG: #[[OI:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @linear_interleaved(
// CHECK-SAME: %[[X:[^:]+]]: memref<?x32xf32>
// CHECK: %[[W:.+]] = memref.view {{.+}} to memref<2x16x16x2xbf16>
// CHECK: %[[XB:.+]] = memref.alloc(%{{.+}}) : memref<?x32xbf16>
// CHECK: linalg.generic {{.+}} ins(%[[X]] : memref<?x32xf32>) outs(%[[XB]] : memref<?x32xbf16>)
// CHECK: arith.truncf {{.+}} : f32 to bf16
// CHECK: linalg.generic {indexing_maps = [#[[XI]], #[[WI]], #[[OI]]], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]}
// CHECK-SAME: ins(%[[XB]], %[[W]] : memref<?x32xbf16>, memref<2x16x16x2xbf16>)
// CHECK-SAME: llm.lowering_config
// CHECK: arith.extf {{.+}} : bf16 to f32
// CHECK: arith.extf {{.+}} : bf16 to f32
// CHECK: arith.mulf
// CHECK: arith.addf
llm.param @w : tensor<32x32xbf16> {layers = 0 : i64, sources = ["w"], llm.layout = #llm.packed_layout<block = 16, interleave = 2, offset = 0, layer_stride = 2048>}
func.func @linear_interleaved(%tid: index, %nt: index, %x: tensor<?x32xf32>, %cap: index, %wts: memref<?xi8>, %kv: !llm.kv_cache, %scr: memref<?xi8>) -> tensor<?x32xf32> {
  %w = llm.weight @w : tensor<32x32xbf16>
  %y = llm.linear %x, %w {llm.lowering_config = #llm.lowering_config<tiles = [6, 16, 32]>} : (tensor<?x32xf32>, tensor<32x32xbf16>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// Embedding from an interleaved table: [id / 16, col / 2, id % 16, col % 2].
// CHECK-LABEL: func.func @embedding_interleaved(
// CHECK: %[[TABLE:.+]] = memref.view {{.+}} to memref<4x16x16x2xbf16>
// CHECK: arith.divui
// CHECK: arith.remui
// CHECK: arith.divui
// CHECK: arith.remui
// CHECK: memref.load %[[TABLE]][{{.+}}, {{.+}}, {{.+}}, {{.+}}] : memref<4x16x16x2xbf16>
llm.param @embed : tensor<64x32xbf16> {layers = 0 : i64, sources = ["embed"], llm.layout = #llm.packed_layout<block = 16, interleave = 2, offset = 0, layer_stride = 4096>}
func.func @embedding_interleaved(%tid: index, %nt: index, %ids: tensor<?xi32>, %cap: index, %wts: memref<?xi8>, %kv: !llm.kv_cache, %scr: memref<?xi8>) -> tensor<?x32xf32> {
  %t = llm.weight @embed : tensor<64x32xbf16>
  %x = llm.embedding %ids, %t : (tensor<?xi32>, tensor<64x32xbf16>) -> tensor<?x32xf32>
  return %x : tensor<?x32xf32>
}

// -----

// An unpacked projection: (m, n, k) over the [out, in] matrix, no config.
// CHECK-DAG: #[[A:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[B:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[C:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @linear_plain(
// CHECK: %[[W:.+]] = memref.view {{.+}} to memref<24x32xf32>
// CHECK: %[[Y:.+]] = memref.alloc(%{{.+}}) : memref<?x24xf32>
// CHECK: linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[C]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.+}}, %[[W]] : memref<?x32xf32>, memref<24x32xf32>) outs(%[[Y]] : memref<?x24xf32>) {
// CHECK-NOT: llm.lowering_config
// CHECK: return %[[Y]]
llm.param @w : tensor<24x32xf32> {layers = 0 : i64, sources = ["w"], llm.layout = #llm.packed_layout<offset = 0, layer_stride = 3072>}
func.func @linear_plain(%tid: index, %nt: index, %x: tensor<?x32xf32>, %cap: index, %wts: memref<?xi8>, %kv: !llm.kv_cache, %scr: memref<?xi8>) -> tensor<?x24xf32> {
  %w = llm.weight @w : tensor<24x32xf32>
  %y = llm.linear %x, %w : (tensor<?x32xf32>, tensor<24x32xf32>) -> tensor<?x24xf32>
  return %y : tensor<?x24xf32>
}

// -----

// Slices and last rows are views; an elementwise op reads them as they are.
// CHECK-LABEL: func.func @views(
// CHECK-SAME: %[[X:[^:]+]]: memref<?x32xf32>, %[[COUNT:[^:]+]]: index
// CHECK: %[[ROWS:.+]] = memref.dim %[[X]], %{{.+}}
// CHECK: %[[S:.+]] = memref.subview %[[X]][0, 8] [%[[ROWS]], 16] [1, 1] : memref<?x32xf32> to memref<?x16xf32, strided<[32, 1], offset: 8>>
// CHECK: %[[ROWS2:.+]] = memref.dim %[[S]], %{{.+}}
// CHECK: %[[FIRST:.+]] = arith.subi %[[ROWS2]], %[[COUNT]]
// CHECK: %[[LAST:.+]] = memref.subview %[[S]][%[[FIRST]], 0] [%[[COUNT]], 16] [1, 1]
// CHECK: %[[OUT:.+]] = memref.alloc(%{{.+}}) : memref<?x16xf32>
// CHECK: linalg.generic {{.+}} ins(%[[LAST]], %[[LAST]] : {{.+}}) outs(%[[OUT]] : memref<?x16xf32>)
// CHECK: arith.mulf
func.func @views(%tid: index, %nt: index, %x: tensor<?x32xf32>, %count: index, %cap: index, %wts: memref<?xi8>, %kv: !llm.kv_cache, %scr: memref<?xi8>) -> tensor<?x16xf32> {
  %s = llm.slice %x[8] : (tensor<?x32xf32>) -> tensor<?x16xf32>
  %l = llm.last_rows %s, %count : (tensor<?x16xf32>, index) -> tensor<?x16xf32>
  %m = llm.mul %l, %l : tensor<?x16xf32>
  return %m : tensor<?x16xf32>
}

// -----

// RoPE: a table of the 8 inverse frequencies 10^(-2i/16) (theta 10), the
// angle of position start + row, rotate-half pairing. On a CPU (no GPU in
// llm.target) the row's 8 cosines and 8 sines go into a [rows, 16] table
// first, shared by both heads of the row; the rotation reads them.
// CHECK: memref.global "private" constant @[[FREQ:__llm_rope_inv_freq_16_[0-9]+]] : memref<8xf64> = dense<[1.000000e+00, 0.74989420933245587, {{.+}}, 0.1333521432163324]>
// CHECK-LABEL: func.func @rope(
// CHECK-SAME: %[[X:[^:]+]]: memref<?x32xf32>, %[[START:[^:]+]]: index
// CHECK: %[[TABLE:.+]] = memref.get_global @[[FREQ]] : memref<8xf64>
// CHECK: %[[OUT:.+]] = memref.alloc(%{{.+}}) : memref<?x32xf32>
// CHECK: %[[TRIG:.+]] = memref.alloc(%{{.+}}) : memref<?x16xf32>
// CHECK: linalg.generic {{.+}} outs(%[[TRIG]] : memref<?x16xf32>)
// CHECK: arith.addi %[[START]]
// CHECK: memref.load %[[TABLE]]
// CHECK: math.floor
// CHECK: %[[COS:.+]] = math.cos
// CHECK: %[[SIN:.+]] = math.sin
// CHECK: arith.select %{{.+}}, %[[COS]], %[[SIN]]
// CHECK: linalg.generic {{.+}} ins(%[[X]] : memref<?x32xf32>) outs(%[[OUT]] : memref<?x32xf32>)
// CHECK-NOT: math.cos
// CHECK: memref.load %[[TRIG]]
// CHECK: memref.load %[[TRIG]]
// CHECK: memref.load %[[X]]
// CHECK: return
func.func @rope(%tid: index, %nt: index, %x: tensor<?x32xf32>, %start: index, %cap: index, %wts: memref<?xi8>, %kv: !llm.kv_cache, %scr: memref<?xi8>) -> tensor<?x32xf32> {
  %r = llm.rope %x, %start {head_dim = 16 : i64, theta = 10.0 : f64} : (tensor<?x32xf32>, index) -> tensor<?x32xf32>
  return %r : tensor<?x32xf32>
}

// -----

// Attention appends K and V at [start, start + rows) of this layer's planes
// of the cache (keys at layer * 2 * capacity * 64 bytes, each KV head's in
// blocks of 16 positions [kv_heads, capacity / 16, 16, 16]; values after,
// [kv_heads, capacity, 16]), one scf.forall iteration per row scattering it
// to the heads; then one scf.forall iteration per (head, tile of up to 16
// rows). A single row runs an online softmax over pairs of blocks of 16
// positions (each block's scores one vector FMA per head dimension,
// unrolled, in 4 chains; the pair's 32 scores folded in one step: one
// maximum, one rescale), then a single block if one is left whole, and a
// masked last block.
// CHECK-LABEL: func.func @attention(
// CHECK-SAME: %[[Q:[^:]+]]: memref<?x32xf32>, %[[K:[^:]+]]: memref<?x16xf32>, %[[V:[^:]+]]: memref<?x16xf32>, %[[L:[^:]+]]: index, %[[START:[^:]+]]: index, %[[CAP:[^:]+]]: index, %{{[^:]+}}: memref<?xi8>, %[[KV:[^:]+]]: memref<?xi8>
// CHECK: %[[ROWS:.+]] = memref.dim %[[Q]], %{{.+}}
// CHECK: %[[NB:.+]] = arith.divui %[[CAP]], %{{.+}} : index
// CHECK: %[[PLANE:.+]] = arith.muli %[[CAP]], %{{.+}} : index
// CHECK: %[[L2:.+]] = arith.muli %[[L]], %{{.+}} : index
// CHECK: %[[BASE:.+]] = arith.muli %[[L2]], %[[PLANE]] : index
// CHECK: %[[KEYS:.+]] = memref.view %[[KV]][%[[BASE]]][%[[NB]]] : memref<?xi8> to memref<1x?x16x16xf32>
// CHECK: %[[VBASE:.+]] = arith.addi %[[BASE]], %[[PLANE]] : index
// CHECK: %[[VALS:.+]] = memref.view %[[KV]][%[[VBASE]]][%[[CAP]]] : memref<?xi8> to memref<1x?x16xf32>
// CHECK: scf.forall (%[[R:.+]]) in (%[[ROWS]]) {
// CHECK: %[[P:.+]] = arith.addi %[[START]], %[[R]]
// CHECK: %[[BLK:.+]] = arith.divui %[[P]], %{{.+}}
// CHECK: %[[LANE:.+]] = arith.remui %[[P]], %{{.+}}
// CHECK: scf.for %[[H:.+]] = {{.+}} {
// CHECK: %[[VROW:.+]] = vector.transfer_read %[[V]][%[[R]], %{{.+}}]
// CHECK: vector.transfer_write %[[VROW]], %[[VALS]][%[[H]], %[[P]], %{{.+}}]
// CHECK: scf.for %[[D:.+]] = {{.+}} {
// CHECK: %[[KEY:.+]] = memref.load %[[K]][%[[R]], %{{.+}}] : memref<?x16xf32>
// CHECK: memref.store %[[KEY]], %[[KEYS]][%[[H]], %[[BLK]], %[[D]], %[[LANE]]] : memref<1x?x16x16xf32>
// CHECK: %[[A:.+]] = memref.alloc(%[[ROWS]]) : memref<?x32xf32>
// CHECK: %[[TILES:.+]] = arith.ceildivui %[[ROWS]], %{{.+}} : index
// CHECK: %[[SPLITS:.+]] = arith.select
// CHECK: %[[PERGROUP:.+]] = arith.muli %[[TILES]], %[[SPLITS]] : index
// CHECK: %[[ITERS:.+]] = arith.muli %[[PERGROUP]], %{{.+}} : index
// CHECK: scf.forall (%[[IV:.+]]) in (%[[ITERS]]) {
// CHECK: %[[GROUP:.+]] = arith.divui %[[IV]], %[[PERGROUP]]
// CHECK: %[[HEAD:.+]] = arith.muli %[[GROUP]], %{{.+}}
// CHECK: %[[REST:.+]] = arith.remui %[[IV]], %[[PERGROUP]]
// CHECK: %[[PART:.+]] = arith.remui %[[REST]], %[[SPLITS]]
// CHECK: %[[TILE:.+]] = arith.divui %[[REST]], %[[SPLITS]]
// CHECK: %[[FIRST:.+]] = arith.muli %[[TILE]], %{{.+}}
// CHECK: %[[TROWS:.+]] = arith.minui
// CHECK: arith.divui %[[HEAD]], %{{.+}}
// A tile of several rows: its lines' states in stack buffers, positions 64
// at a time (without a target, the scores of two rows per pass, masked
// past each row's end, each line's softmax; then each row's weighted
// values), normalized into the output at the end.
// CHECK: %[[SEVERAL:.+]] = arith.cmpi uge, %[[TROWS]], %{{.+}} : index
// CHECK: scf.if %[[SEVERAL]] {
// CHECK: memref.alloca_scope {
// CHECK: %[[OUTS:.+]] = memref.alloca() {alignment = 64 : i64} : memref<16x16xf32>
// CHECK: %[[WEIGHTS:.+]] = memref.alloca() {alignment = 64 : i64} : memref<16x64xf32>
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c64{{(_[0-9]+)?}} {
// CHECK: scf.for %{{.+}} = %{{.+}} to %[[TROWS]] step %c2{{(_[0-9]+)?}} {
// CHECK: memref.subview %[[Q]]
// CHECK: memref.subview %[[Q]]
// CHECK: vector.transfer_read %[[KEYS]]
// CHECK: vector.fma
// CHECK: arith.cmpi ult, %{{.+}}, %{{.+}} : vector<64xindex>
// CHECK: vector.reduction <maxnumf>, %{{.+}} fastmath<nnan> : vector<64xf32> into f32
// CHECK: vector.reduction <add>, %{{.+}} fastmath<reassoc> : vector<64xf32> into f32
// CHECK: vector.transfer_write %{{.+}}, %[[WEIGHTS]]
// CHECK: scf.for %{{.+}} = %{{.+}} to %[[TROWS]] step %c1{{(_[0-9]+)?}} {
// CHECK: vector.transfer_read %[[VALS]]
// CHECK: memref.load %[[WEIGHTS]]
// CHECK: vector.fma
// CHECK: vector.transfer_write %{{.+}}, %[[OUTS]]
// CHECK: vector.transfer_write %{{.+}}, %[[A]][%{{.+}}, %{{.+}}] {in_bounds = [true]} : vector<16xf32>, memref<?x32xf32>
// A single row (decode) scans: pairs of blocks, a single block, a masked
// last one.
// CHECK: } else {
// The group's queries as one row: loads at constant offsets from its base.
// CHECK: %[[QROW:.+]] = memref.subview %[[Q]][%[[FIRST]], %{{.+}}] [1, 16] [1, 1]
// CHECK: %[[LENGTH:.+]] = arith.subi %[[END:.+]], %{{.+}} : index
// CHECK: %[[PART:.+]] = arith.remui %[[LENGTH]], %{{.+}} : index
// CHECK: %[[WHOLE:.+]] = arith.subi %[[END]], %[[PART]] : index
// CHECK: %[[PAIRED:.+]] = arith.remui %[[LENGTH]], %{{.+}} : index
// CHECK: %[[PAIREND:.+]] = arith.subi %[[END]], %[[PAIRED]] : index
// CHECK: %[[PAIRS:.+]]:3 = scf.for %{{.+}} = %{{.+}} to %[[PAIREND]] step %{{.+}} iter_args({{.+}}) -> (f32, f32, vector<16xf32>)
// The head dimension is unrolled (4 chains of FMAs, no loop).
// CHECK-NOT: scf.for
// CHECK: vector.transfer_read %[[KEYS]][%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}], %{{.+}} {in_bounds = [true]} : memref<1x?x16x16xf32>, vector<16xf32>
// CHECK: memref.load %[[QROW]][%c{{[0-9]+}}{{.*}}] : memref<16xf32, strided<[1], offset: ?>>
// CHECK: vector.fma
// CHECK: %[[BOTH:.+]] = vector.shuffle %{{.+}}, %{{.+}} [0, 1, {{.+}}, 30, 31] : vector<16xf32>, vector<16xf32>
// CHECK: vector.reduction <maxnumf>, %[[BOTH]] fastmath<nnan> : vector<32xf32> into f32
// CHECK: math.exp
// CHECK: vector.reduction <add>, %{{.+}} fastmath<reassoc> : vector<32xf32> into f32
// CHECK-COUNT-32: vector.fma
// CHECK: scf.yield
// CHECK: scf.for %{{.+}} = %[[PAIREND]] to %[[WHOLE]] step %{{.+}} iter_args({{.+}} = %[[PAIRS]]#0, {{.+}} = %[[PAIRS]]#1, {{.+}} = %[[PAIRS]]#2) -> (f32, f32, vector<16xf32>)
// CHECK: vector.reduction <maxnumf>, %{{.+}} fastmath<nnan> : vector<16xf32> into f32
// CHECK: vector.reduction <add>, %{{.+}} fastmath<reassoc> : vector<16xf32> into f32
// CHECK-COUNT-16: vector.fma
// CHECK: scf.if
// CHECK: vector.create_mask %{{.+}} : vector<16xi1>
// CHECK: arith.select
// CHECK: scf.for
// CHECK: vector.extractelement
// CHECK: vector.fma
// CHECK: vector.transfer_write %{{.+}}, %[[A]][%[[FIRST]], %{{.+}}] {in_bounds = [true]} : vector<16xf32>, memref<?x32xf32>
// CHECK: return %[[A]]
func.func @attention(%tid: index, %nt: index, %q: tensor<?x32xf32>, %k: tensor<?x16xf32>, %v: tensor<?x16xf32>, %layer: index, %start: index, %cap: index, %wts: memref<?xi8>, %kv: !llm.kv_cache, %scr: memref<?xi8>) -> tensor<?x32xf32> {
  %a = llm.attention %q, %k, %v, %kv[%layer] at %start {num_heads = 2 : i64, num_kv_heads = 1 : i64, head_dim = 16 : i64} : (tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x16xf32>, !llm.kv_cache, index, index) -> tensor<?x32xf32>
  return %a : tensor<?x32xf32>
}

// -----

// add, mul and silu are one elementwise generic each.
// CHECK-LABEL: func.func @elementwise(
// CHECK: linalg.generic
// CHECK: arith.addf
// CHECK: linalg.generic
// CHECK: arith.mulf
// CHECK: linalg.generic
// CHECK: arith.negf
// CHECK: math.exp
// CHECK: arith.divf
func.func @elementwise(%tid: index, %nt: index, %x: tensor<?x8xf32>, %cap: index, %wts: memref<?xi8>, %kv: !llm.kv_cache, %scr: memref<?xi8>) -> tensor<?x8xf32> {
  %a = llm.add %x, %x : tensor<?x8xf32>
  %m = llm.mul %a, %x : tensor<?x8xf32>
  %s = llm.silu %m : tensor<?x8xf32>
  return %s : tensor<?x8xf32>
}

// -----

// SwiGLU reads the two halves of its input as views.
// CHECK-LABEL: func.func @swiglu(
// CHECK-SAME: %[[X:[^:]+]]: memref<?x24xf32>
// CHECK: %[[OUT:.+]] = memref.alloc(%{{.+}}) : memref<?x12xf32>
// CHECK: %[[GATE:.+]] = memref.subview %[[X]][0, 0] [%{{.+}}, 12] [1, 1]
// CHECK: %[[UP:.+]] = memref.subview %[[X]][0, 12] [%{{.+}}, 12] [1, 1]
// CHECK: linalg.generic {{.+}} ins(%[[GATE]], %[[UP]] : {{.+}}) outs(%[[OUT]] : memref<?x12xf32>)
// CHECK: math.exp
// CHECK: arith.mulf
func.func @swiglu(%tid: index, %nt: index, %x: tensor<?x24xf32>, %cap: index, %wts: memref<?xi8>, %kv: !llm.kv_cache, %scr: memref<?xi8>) -> tensor<?x12xf32> {
  %s = llm.swiglu %x : (tensor<?x24xf32>) -> tensor<?x12xf32>
  return %s : tensor<?x12xf32>
}

// -----

// The layer loop carries one buffer (the embedding's, read by nothing else);
// each iteration's result is copied into it, so the call never writes what
// it reads. A strided call argument is copied into a fresh buffer first.
// The entry point's logits go into the runtime's [rows, vocab] view.
// CHECK-LABEL: func.func private @layer(
// CHECK-SAME: memref<?x8xf32>
// CHECK-SAME: -> memref<?x8xf32>
// CHECK-LABEL: func.func @llmc_forward(
// CHECK-SAME: %[[TID:[^:]+]]: index, %[[NT:[^:]+]]: index, %[[X:[^:]+]]: memref<?x16xf32>, %[[CAP:[^:]+]]: index, %[[W:[^:]+]]: memref<?xi8>, %[[KV:[^:]+]]: memref<?xi8>, %[[SCR:[^:]+]]: memref<?xi8>, %[[LOGITS:[^:]+]]: memref<?xf32>)
// CHECK: %[[S:.+]] = memref.subview %[[X]][0, 8]
// CHECK: %[[H:.+]] = memref.alloc(%{{.+}}) : memref<?x8xf32>
// CHECK: linalg.copy ins(%[[S]] : {{.+}}) outs(%[[H]] : memref<?x8xf32>)
// CHECK: %[[LOOP:.+]] = scf.for %[[I:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[C:.+]] = %[[H]]) -> (memref<?x8xf32>) {
// CHECK: %[[R:.+]] = func.call @layer(%[[TID]], %[[NT]], %[[C]], %[[CAP]], %[[W]], %[[KV]], %[[SCR]])
// CHECK: linalg.copy ins(%[[R]] : memref<?x8xf32>) outs(%[[C]] : memref<?x8xf32>)
// CHECK: scf.yield %[[C]]
// CHECK: %[[ROWS:.+]] = memref.dim %[[LOOP]], %{{.+}}
// CHECK: %[[DEST:.+]] = memref.expand_shape %[[LOGITS]] {{\[}}[0, 1]] output_shape [%[[ROWS]], 8]
// CHECK: linalg.copy ins(%[[LOOP]] : memref<?x8xf32>) outs(%[[DEST]] : memref<?x8xf32>)
// CHECK-NOT: bufferization
func.func private @layer(%tid: index, %nt: index, %h: tensor<?x8xf32>, %cap: index, %wts: memref<?xi8>, %kv: !llm.kv_cache, %scr: memref<?xi8>) -> tensor<?x8xf32> {
  %y = llm.add %h, %h : tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
func.func @llmc_forward(%tid: index, %nt: index, %x: tensor<?x16xf32>, %cap: index, %wts: memref<?xi8>, %kv: !llm.kv_cache, %scr: memref<?xi8>, %logits: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %s = llm.slice %x[8] : (tensor<?x16xf32>) -> tensor<?x8xf32>
  %out = scf.for %i = %c0 to %c2 step %c1 iter_args(%c = %s) -> (tensor<?x8xf32>) {
    %r = func.call @layer(%tid, %nt, %c, %cap, %wts, %kv, %scr) : (index, index, tensor<?x8xf32>, index, memref<?xi8>, !llm.kv_cache, memref<?xi8>) -> tensor<?x8xf32>
    scf.yield %r : tensor<?x8xf32>
  }
  %rows = tensor.dim %out, %c0 : tensor<?x8xf32>
  %dest = memref.expand_shape %logits [[0, 1]] output_shape [%rows, 8] : memref<?xf32> into memref<?x8xf32>
  bufferization.materialize_in_destination %out in restrict writable %dest : (tensor<?x8xf32>, memref<?x8xf32>) -> ()
  return
}
