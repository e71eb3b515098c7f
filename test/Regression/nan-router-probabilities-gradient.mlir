// The gradient lowerings of dash.entmax_grad and dash.block_prior_grad took
// a NaN router probability (from a NaN input) for one outside the support,
// since `p > 0` is false for NaN: the gradient through it was a finite 0
// (an empty support) instead of NaN. The support test is now unordered,
// `p > 0 or NaN`, as in the forward dash.block_prior. Numerically checked by
// DashJITTests' NaNRouterProbabilities tests.
// RUN: dash-opt %s --split-input-file --dash-to-linalg | FileCheck %s

// CHECK-LABEL: func @entmax_grad
// CHECK-NOT: arith.cmpf ogt
// CHECK: %[[SUPP:.*]] = arith.cmpf ugt, %[[P:.*]], %{{.*}} : f32
// CHECK: arith.select %[[SUPP]]
// CHECK-NOT: arith.cmpf ogt
// CHECK: return
func.func @entmax_grad(%p: tensor<4x8xf32>, %dp: tensor<4x8xf32>, %init: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = dash.entmax_grad ins(%p, %dp : tensor<4x8xf32>, tensor<4x8xf32>) outs(%init : tensor<4x8xf32>) {dimension = 1}
  return %0 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func @block_prior_grad
// CHECK-NOT: arith.cmpf ogt
// CHECK: ^bb0(%[[PI:.*]]: f32, %{{.*}}: f32, %{{.*}}: f32):
// CHECK: %[[SUPP:.*]] = arith.cmpf ugt, %[[PI]], %{{.*}} : f32
// CHECK: arith.andi %[[SUPP]]
// CHECK-NOT: arith.cmpf ogt
// CHECK: return
func.func @block_prior_grad(%p: tensor<1x4x32x2xf32>, %dl: tensor<1x2x32x2xf32>, %init: tensor<1x4x32x2xf32>) -> tensor<1x4x32x2xf32> {
  %0 = dash.block_prior_grad ins(%p, %dl : tensor<1x4x32x2xf32>, tensor<1x2x32x2xf32>) outs(%init : tensor<1x4x32x2xf32>) {block_size = 16, prior_mode = #dash.prior_mode<raw>}
  return %0 : tensor<1x4x32x2xf32>
}
