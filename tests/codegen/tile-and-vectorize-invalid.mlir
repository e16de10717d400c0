// RUN: llm-opt %s --pass-pipeline="builtin.module(func.func(llm-tile-and-vectorize))" --split-input-file --verify-diagnostics

// An op carrying tiles is turned into FMAs only if it is a multiply-add:
// a maximum is refused, not silently rewritten.

#x = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
func.func @not_a_multiply_add(%x: memref<?x8xf32>, %w: memref<2x8x16xf32>, %y: memref<?x2x16xf32>) {
  // expected-error @+1 {{llm-tile-and-vectorize: an op with an llm.lowering_config must be a packed multiply-add out[m, b, r] += x[m, k] * w[b, k, r]}}
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x, %w : memref<?x8xf32>, memref<2x8x16xf32>) outs(%y : memref<?x2x16xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [4, 16, 8]>} {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %m = arith.maximumf %acc, %p : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// The weight read along the wrong dimensions (transposed block) is refused.

#x = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d1, d2, d3)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
func.func @wrong_layout(%x: memref<?x16xf32>, %w: memref<2x16x16xf32>, %y: memref<?x2x16xf32>) {
  // expected-error @+1 {{must be a packed multiply-add}}
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x, %w : memref<?x16xf32>, memref<2x16x16xf32>) outs(%y : memref<?x2x16xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [4, 16, 16]>} {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A quantized matmul whose scale is not applied to the weight is refused.

#x = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3 * 8 + d4)>
#w = affine_map<(d0, d1, d2, d3, d4) -> (d1, d3, d4, d2)>
#s = affine_map<(d0, d1, d2, d3, d4) -> (d1, d3, d2)>
#o = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2)>
func.func @unscaled(%x: memref<?x16xf32>, %w: memref<2x2x8x16xi8>, %s: memref<2x2x16xf16>, %y: memref<?x2x16xf32>) {
  // expected-error @+1 {{a quantized matmul must be out[m, b, r] += x[m, g * kg + ki] * (w[b, kg, ki, r] * s[b, kg, r])}}
  linalg.generic {indexing_maps = [#x, #w, #s, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%x, %w, %s : memref<?x16xf32>, memref<2x2x8x16xi8>, memref<2x2x16xf16>) outs(%y : memref<?x2x16xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [2, 16, 16]>} {
  ^bb0(%in: f32, %q: i8, %scale: f16, %acc: f32):
    %qf = arith.sitofp %q : i8 to f32
    %p = arith.mulf %in, %qf : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// An 8-bit dot-product matmul whose body ignores the row scales (the
// inputs' quantization scale) is refused rather than rewritten.

#x = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3 * 8 + d4 * 4 + d5)>
#w = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, d3, d4, d2, d5)>
#s = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, d3, d2)>
#r = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3)>
#o = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2)>
func.func @dot_without_row_scale(%x: memref<?x16xi8>, %w: memref<2x2x2x16x4xi8>, %s: memref<2x2x16xf16>, %xs: memref<?x2xf32>, %xsum: memref<?x2xi32>, %y: memref<?x2x16xf32>) {
  // expected-error @+1 {{llm-tile-and-vectorize: an 8-bit dot-product matmul must be out[m, b, r] += xq[m, g * kg + n * kq + p] * w[b, kg, kq, r, p] * (s[b, kg, r] * xs[m, kg])}}
  linalg.generic {indexing_maps = [#x, #w, #s, #r, #r, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%x, %w, %s, %xs, %xsum : memref<?x16xi8>, memref<2x2x2x16x4xi8>, memref<2x2x16xf16>, memref<?x2xf32>, memref<?x2xi32>) outs(%y : memref<?x2x16xf32>) attrs = {llm.lowering_config = #llm.lowering_config<tiles = [2, 16, 16]>} {
  ^bb0(%in: i8, %q: i8, %scale: f16, %rs: f32, %sum: i32, %acc: f32):
    %a = arith.extsi %in : i8 to i32
    %b = arith.extsi %q : i8 to i32
    %p = arith.muli %a, %b : i32
    %pf = arith.sitofp %p : i32 to f32
    %sf = arith.extf %scale : f16 to f32
    %v = arith.mulf %pf, %sf : f32
    %r = arith.addf %acc, %v : f32
    linalg.yield %r : f32
  }
  return
}
