// RUN: dash-opt %s --split-input-file --dash-decompose | FileCheck %s

// All attributes are forwarded to the stage that uses them; LSE and counts
// come from sparse_attention and block_prior.
// CHECK-LABEL: func @static_shapes
// CHECK-SAME: (%[[Q:.*]]: tensor<1x8x200x64xf32>, %[[K:.*]]: tensor<1x2x200x64xf32>, %[[V:.*]]: tensor<1x2x200x64xf32>, %[[W:.*]]: tensor<2x64xf32>)
// CHECK: %[[SI:.*]] = tensor.empty() : tensor<1x2x3x64xf32>
// CHECK: %[[KBAR:.*]] = dash.summarize ins(%[[K]], %[[W]] : {{.*}}) outs(%[[SI]] : tensor<1x2x3x64xf32>) {scale = 1.250000e-01 : f64}
// CHECK: %[[ZI:.*]] = tensor.empty() : tensor<1x8x200x3xf32>
// CHECK: %[[Z:.*]] = dash.route_logits ins(%[[Q]], %[[KBAR]] : {{.*}}) outs(%[[ZI]] : tensor<1x8x200x3xf32>) {gamma = 2.000000e+00 : f64, scale = 1.250000e-01 : f64}
// CHECK: %[[PI:.*]] = tensor.empty() : tensor<1x8x200x3xf32>
// CHECK: %[[TI:.*]] = tensor.empty() : tensor<1x8x200xf32>
// CHECK: %[[P:.*]], %{{.*}} = dash.entmax ins(%[[Z]] : tensor<1x8x200x3xf32>) outs(%[[PI]], %[[TI]] : {{.*}}) {alpha = 1.250000e+00 : f64, dimension = 3 : i64}
// CHECK: %[[LI:.*]] = tensor.empty() : tensor<1x2x200x4xf32>
// CHECK: %[[NI:.*]] = tensor.empty() : tensor<1x2x200xi32>
// CHECK: %[[PRIOR:.*]], %[[COUNTS:.*]] = dash.block_prior ins(%[[P]] : tensor<1x8x200x3xf32>) outs(%[[LI]], %[[NI]] : {{.*}}) {init_blocks = 1 : i64, local_blocks = 2 : i64, prior_mode = #dash.prior_mode<raw>, sigma = 5.000000e-01 : f64}
// CHECK: %[[OI:.*]] = tensor.empty() : tensor<1x8x200x64xf32>
// CHECK: %[[LSEI:.*]] = tensor.empty() : tensor<1x8x200xf32>
// CHECK: %[[O:.*]], %[[LSE:.*]] = dash.sparse_attention ins(%[[Q]], %[[K]], %[[V]], %[[PRIOR]] : {{.*}}) outs(%[[OI]], %[[LSEI]] : {{.*}}) {scale = 1.250000e-01 : f64}
// CHECK: return %[[O]], %[[LSE]], %[[COUNTS]]
// CHECK-NOT: dash.attention
func.func @static_shapes(%q: tensor<1x8x200x64xf32>, %k: tensor<1x2x200x64xf32>,
                         %v: tensor<1x2x200x64xf32>, %w: tensor<2x64xf32>)
    -> (tensor<1x8x200x64xf32>, tensor<1x8x200xf32>, tensor<1x2x200xi32>) {
  %o, %lse, %counts = dash.attention %q, %k, %v summary %w {
      alpha = 1.25, gamma = 2.0, sigma = 0.5, prior_mode = #dash.prior_mode<raw>,
      local_blocks = 2, init_blocks = 1, scale = 0.125}
      : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<2x64xf32>
      -> tensor<1x8x200x64xf32> lse tensor<1x8x200xf32> counts tensor<1x2x200xi32>
  return %o, %lse, %counts : tensor<1x8x200x64xf32>, tensor<1x8x200xf32>, tensor<1x2x200xi32>
}

// -----

// Block counts of a dynamic sequence length are computed at run time:
// Mc = N floordiv Bk for summaries and logits, M = N ceildiv Bk for the prior.
// CHECK-LABEL: func @dynamic_seq_len
// CHECK-SAME: (%[[Q:.*]]: tensor<1x4x?x32xbf16>
// CHECK-DAG: %[[BK:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[TWO:.*]] = arith.constant 2 : index
// CHECK: %[[N:.*]] = tensor.dim %[[Q]], %[[TWO]]
// CHECK: %[[MC:.*]] = arith.divui %[[N]], %[[BK]]
// CHECK: %[[M:.*]] = arith.ceildivui %[[N]], %[[BK]]
// CHECK: tensor.empty(%[[MC]]) : tensor<1x1x?x32xf32>
// CHECK: dash.summarize ins(%{{.*}} : tensor<1x1x?x32xbf16>)
// CHECK: tensor.empty(%[[N]], %[[MC]]) : tensor<1x4x?x?xf32>
// CHECK: dash.route_logits
// CHECK: dash.entmax
// CHECK: tensor.empty(%[[N]], %[[M]]) : tensor<1x1x?x?xf32>
// CHECK: dash.block_prior {{.*}} {block_size = 16 : i64}
// CHECK: tensor.empty(%[[N]]) : tensor<1x4x?x32xbf16>
// CHECK: %[[O:.*]], %{{.*}} = dash.sparse_attention {{.*}} {block_size = 16 : i64}
// CHECK: return %[[O]]
func.func @dynamic_seq_len(%q: tensor<1x4x?x32xbf16>, %k: tensor<1x1x?x32xbf16>,
                           %v: tensor<1x1x?x32xbf16>) -> tensor<1x4x?x32xbf16> {
  %o = dash.attention %q, %k, %v {block_size = 16}
      : tensor<1x4x?x32xbf16>, tensor<1x1x?x32xbf16>, tensor<1x1x?x32xbf16> -> tensor<1x4x?x32xbf16>
  return %o : tensor<1x4x?x32xbf16>
}

// -----

// Stage ops and other ops are left alone.
// CHECK-LABEL: func @no_attention
// CHECK-NEXT: dash.entmax
// CHECK-NEXT: return
func.func @no_attention(%x: tensor<4x8xf32>, %p: tensor<4x8xf32>, %t: tensor<4xf32>) -> tensor<4x8xf32> {
  %probs, %tau = dash.entmax ins(%x : tensor<4x8xf32>) outs(%p, %t : tensor<4x8xf32>, tensor<4xf32>) {dimension = 1}
  return %probs : tensor<4x8xf32>
}
