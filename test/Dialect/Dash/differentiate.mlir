// RUN: dash-opt %s --split-input-file --dash-differentiate --verify-diagnostics | FileCheck %s

// dash.attention gets its lse result for the backward pass; the cotangent of
// O reaches dash.attention_grad through the arith ops (product rule, fan-out
// summed); integer counts take no part. The original function is kept.
// CHECK-LABEL: func @attention(
// CHECK-LABEL: func @attention_grad(
// CHECK-SAME: %[[Q:[^:]*]]: tensor<1x4x40x8xf32>, %[[K:[^:]*]]: tensor<1x2x40x8xf32>, %[[V:[^:]*]]: tensor<1x2x40x8xf32>, %[[S:[^:]*]]: tensor<1x4x40x8xf32>, %[[COT:[^:]*]]: tensor<1x4x40x8xf32>)
// CHECK-SAME: -> (tensor<1x4x40x8xf32>, tensor<1x2x40x8xf32>, tensor<1x2x40x8xf32>, tensor<1x4x40x8xf32>)
// CHECK: %[[O:.*]], %[[LSE:.*]], %{{.*}} = dash.attention %[[Q]], %[[K]], %[[V]] {block_size = 16 : i64} : {{.*}} lse tensor<1x4x40xf32> counts tensor<1x2x40xi32>
// CHECK-DAG: %[[DM:.*]] = arith.mulf %[[COT]], %[[S]]
// CHECK-DAG: %[[DS:.*]] = arith.mulf %[[COT]], %[[O]]
// CHECK: %[[DO:.*]] = arith.addf %[[COT]], %[[DM]]
// CHECK: %[[DQ:.*]], %[[DK:.*]], %[[DV:.*]] = dash.attention_grad %[[Q]], %[[K]], %[[V]] output %[[O]] lse %[[LSE]] grad %[[DO]] {block_size = 16 : i64}
// CHECK: return %[[DQ]], %[[DK]], %[[DV]], %[[DS]]
func.func @attention(%q: tensor<1x4x40x8xf32>, %k: tensor<1x2x40x8xf32>, %v: tensor<1x2x40x8xf32>, %s: tensor<1x4x40x8xf32>)
    -> (tensor<1x4x40x8xf32>, tensor<1x2x40xi32>) attributes {dash.differentiate} {
  %o, %counts = dash.attention %q, %k, %v {block_size = 16} : tensor<1x4x40x8xf32>, tensor<1x2x40x8xf32>, tensor<1x2x40x8xf32> -> tensor<1x4x40x8xf32> counts tensor<1x2x40xi32>
  %m = arith.mulf %o, %s : tensor<1x4x40x8xf32>
  %r = arith.addf %m, %o : tensor<1x4x40x8xf32>
  return %r, %counts : tensor<1x4x40x8xf32>, tensor<1x2x40xi32>
}

// -----

// Stage ops use their own products; destinations get no gradient; an
// argument that does not reach the result gets zeros.
// CHECK-LABEL: func @entmax_grad(
// CHECK-SAME: %[[Z:[^:]*]]: tensor<4x8xf32>, %[[UNUSED:[^:]*]]: tensor<4xf32>, %[[COT:[^:]*]]: tensor<4x8xf32>)
// CHECK: %[[P:.*]], %{{.*}} = dash.entmax
// CHECK: %[[INIT:.*]] = tensor.empty() : tensor<4x8xf32>
// CHECK: %[[DZ:.*]] = dash.entmax_grad ins(%[[P]], %[[COT]] : tensor<4x8xf32>, tensor<4x8xf32>) outs(%[[INIT]] : tensor<4x8xf32>) {alpha = 2.000000e+00 : f64, dimension = 1 : i64}
// CHECK: %[[ZERO:.*]] = tensor.splat %{{.*}} : tensor<4xf32>
// CHECK: return %[[DZ]], %[[ZERO]]
func.func @entmax(%z: tensor<4x8xf32>, %unused: tensor<4xf32>) -> tensor<4x8xf32> attributes {dash.differentiate} {
  %pi = tensor.empty() : tensor<4x8xf32>
  %ti = tensor.empty() : tensor<4xf32>
  %p, %t = dash.entmax ins(%z : tensor<4x8xf32>) outs(%pi, %ti : tensor<4x8xf32>, tensor<4xf32>) {alpha = 2.0, dimension = 1}
  return %p : tensor<4x8xf32>
}

// -----

// Functions without the attribute are left alone.
// CHECK-LABEL: func @not_marked
// CHECK-NOT: func @not_marked_grad
func.func @not_marked(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// -----

func.func @unsupported(%x: tensor<4xf32>) -> tensor<4xf32> attributes {dash.differentiate} {
  // expected-error @+1 {{'math.exp' op cannot be differentiated by dash-differentiate}}
  %e = math.exp %x : tensor<4xf32>
  return %e : tensor<4xf32>
}

// -----

func.func @through_tau(%z: tensor<4x8xf32>) -> tensor<4xf32> attributes {dash.differentiate} {
  %pi = tensor.empty() : tensor<4x8xf32>
  %ti = tensor.empty() : tensor<4xf32>
  // expected-error @+1 {{'dash.entmax' op cannot propagate a gradient through its tau result}}
  %p, %t = dash.entmax ins(%z : tensor<4x8xf32>) outs(%pi, %ti : tensor<4x8xf32>, tensor<4xf32>) {dimension = 1}
  return %t : tensor<4xf32>
}

// -----

// expected-error @+1 {{'func.func' op dash-differentiate supports functions with a single block}}
func.func @branches(%x: tensor<4xf32>, %c: i1) -> tensor<4xf32> attributes {dash.differentiate} {
  cf.cond_br %c, ^a, ^b
^a:
  return %x : tensor<4xf32>
^b:
  return %x : tensor<4xf32>
}
