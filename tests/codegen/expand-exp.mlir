// RUN: llm-opt %s --llm-expand-exp | FileCheck %s

// Scalar and vector f32 exponentials become inline polynomials (no libm
// call per lane); other math ops are left alone.

// CHECK-LABEL: func.func @exps(
// CHECK-NOT: math.exp
// CHECK: math.fma {{.*}} : vector<8xf32>
// CHECK: math.sin
// CHECK-NOT: math.exp
func.func @exps(%x: f32, %v: vector<8xf32>) -> (f32, vector<8xf32>, f32) {
  %e = math.exp %x : f32
  %w = math.exp %v : vector<8xf32>
  %s = math.sin %x : f32
  return %e, %w, %s : f32, vector<8xf32>, f32
}
