// dash-decompose on dash.attention_grad: the router is recomputed, the fine
// attention gradient gives dQ, dK, dV and the log-prior gradient, which flows
// back through the router's gradient ops unless the router gradient is stopped
// (router_grad = none or a flat prior). The W-less inputs use the generic form
// (the custom form of dash.attention_grad without W does not parse back; see
// grad-ops-no-w.mlir).
// RUN: dash-opt %s --split-input-file --dash-decompose | FileCheck %s

// The full chain in f32 with W: every attribute is forwarded to the stage that
// uses it, the fine and router contributions to dQ and dK are added, dV comes
// from the fine attention alone and dW from summarize_grad. f32 needs no
// conversion.
// CHECK-LABEL: func @full_router
// CHECK-SAME: (%[[Q:.*]]: tensor<1x4x200x32xf32>, %[[K:.*]]: tensor<1x2x200x32xf32>, %[[V:.*]]: tensor<1x2x200x32xf32>, %[[W:.*]]: tensor<2x32xf32>, %[[O:.*]]: tensor<1x4x200x32xf32>, %[[LSE:.*]]: tensor<1x4x200xf32>, %[[DO:.*]]: tensor<1x4x200x32xf32>)
// CHECK: %[[KBAR:.*]] = dash.summarize ins(%[[K]], %[[W]] : {{.*}}) outs(%{{.*}} : tensor<1x2x3x32xf32>) {scale = 1.250000e-01 : f64}
// CHECK: %[[Z:.*]] = dash.route_logits ins(%[[Q]], %[[KBAR]] : {{.*}}) outs(%{{.*}} : tensor<1x4x200x3xf32>) {gamma = 2.000000e+00 : f64, scale = 1.250000e-01 : f64}
// CHECK: %[[P:[a-z0-9_]+]], %{{.*}} = dash.entmax ins(%[[Z]] : {{.*}}) outs({{.*}}) {alpha = 1.250000e+00 : f64, dimension = 3 : i64}
// CHECK: %[[PRIOR:[a-z0-9_]+]], %{{.*}} = dash.block_prior ins(%[[P]] : {{.*}}) outs(%{{.*}}, %{{.*}} : tensor<1x2x200x4xf32>, tensor<1x2x200xi32>) {init_blocks = 1 : i64, local_blocks = 2 : i64, prior_mode = #dash.prior_mode<raw>, sigma = 5.000000e-01 : f64}
// CHECK: %[[DQ:[a-z0-9_]+]], %[[DK:[a-z0-9_]+]], %[[DV:[a-z0-9_]+]], %[[DL:[a-z0-9_]+]] = dash.sparse_attention_grad ins(%[[Q]], %[[K]], %[[V]], %[[PRIOR]], %[[O]], %[[LSE]], %[[DO]] : {{.*}}) outs(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x4x200x32xf32>, tensor<1x2x200x32xf32>, tensor<1x2x200x32xf32>, tensor<1x2x200x4xf32>) {scale = 1.250000e-01 : f64}
// CHECK: %[[DP:.*]] = dash.block_prior_grad ins(%[[P]], %[[DL]] : tensor<1x4x200x3xf32>, tensor<1x2x200x4xf32>) outs(%{{.*}} : tensor<1x4x200x3xf32>) {init_blocks = 1 : i64, local_blocks = 2 : i64, prior_mode = #dash.prior_mode<raw>, sigma = 5.000000e-01 : f64}
// CHECK: %[[DZ:.*]] = dash.entmax_grad ins(%[[P]], %[[DP]] : {{.*}}) outs(%{{.*}} : tensor<1x4x200x3xf32>) {alpha = 1.250000e+00 : f64, dimension = 3 : i64}
// CHECK: %[[DQR:[a-z0-9_]+]], %[[DKBAR:[a-z0-9_]+]] = dash.route_logits_grad ins(%[[Q]], %[[KBAR]], %[[DZ]] : {{.*}}) outs(%{{.*}}, %{{.*}} : tensor<1x4x200x32xf32>, tensor<1x2x3x32xf32>) {gamma = 2.000000e+00 : f64, scale = 1.250000e-01 : f64}
// CHECK: %[[DKS:[a-z0-9_]+]], %[[DW:[a-z0-9_]+]] = dash.summarize_grad ins(%[[DKBAR]], %[[K]], %[[W]] : {{.*}}) outs(%{{.*}}, %{{.*}} : tensor<1x2x200x32xf32>, tensor<2x32xf32>) {scale = 1.250000e-01 : f64} -> tensor<2x32xf32>
// CHECK: %[[DQSUM:.*]] = arith.addf %[[DQ]], %[[DQR]] : tensor<1x4x200x32xf32>
// CHECK: %[[DKSUM:.*]] = arith.addf %[[DK]], %[[DKS]] : tensor<1x2x200x32xf32>
// CHECK-NOT: arith.truncf
// CHECK: return %[[DQSUM]], %[[DKSUM]], %[[DV]], %[[DW]]
// CHECK-NOT: dash.attention_grad
func.func @full_router(%q: tensor<1x4x200x32xf32>, %k: tensor<1x2x200x32xf32>,
                       %v: tensor<1x2x200x32xf32>, %w: tensor<2x32xf32>,
                       %o: tensor<1x4x200x32xf32>, %lse: tensor<1x4x200xf32>,
                       %do: tensor<1x4x200x32xf32>)
    -> (tensor<1x4x200x32xf32>, tensor<1x2x200x32xf32>, tensor<1x2x200x32xf32>, tensor<2x32xf32>) {
  %dq, %dk, %dv, %dw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do {
      alpha = 1.25, gamma = 2.0, sigma = 0.5, prior_mode = #dash.prior_mode<raw>,
      local_blocks = 2, init_blocks = 1, scale = 0.125}
      : tensor<1x4x200x32xf32>, tensor<1x2x200x32xf32>, tensor<1x2x200x32xf32>, tensor<1x4x200x32xf32>,
        tensor<1x4x200xf32>, tensor<1x4x200x32xf32>, tensor<2x32xf32>
      -> tensor<1x4x200x32xf32>, tensor<1x2x200x32xf32>, tensor<1x2x200x32xf32>, tensor<2x32xf32>
  return %dq, %dk, %dv, %dw : tensor<1x4x200x32xf32>, tensor<1x2x200x32xf32>, tensor<1x2x200x32xf32>, tensor<2x32xf32>
}

// -----

// bf16 without W: gradients accumulate in f32 (f32 inits), summarize_grad has
// no W, the f32 sums are truncated to bf16 at the end.
// CHECK-LABEL: func @full_router_bf16
// CHECK: dash.summarize ins(%{{.*}} : tensor<1x2x128x16xbf16>) outs(%{{.*}} : tensor<1x2x4x16xf32>) {block_size = 32 : i64}
// CHECK: %[[DQ:[a-z0-9_]+]], %[[DK:[a-z0-9_]+]], %[[DV:[a-z0-9_]+]], %{{.*}} = dash.sparse_attention_grad {{.*}} outs(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x4x128x16xf32>, tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>, tensor<1x2x128x4xf32>) {block_size = 32 : i64}
// CHECK: dash.block_prior_grad {{.*}} {block_size = 32 : i64}
// CHECK: dash.entmax_grad {{.*}} {dimension = 3 : i64}
// CHECK: %[[DQR:[a-z0-9_]+]], %[[DKBAR:[a-z0-9_]+]] = dash.route_logits_grad ins({{.*}} : tensor<1x4x128x16xbf16>, tensor<1x2x4x16xf32>, tensor<1x4x128x4xf32>) outs(%{{.*}}, %{{.*}} : tensor<1x4x128x16xf32>, tensor<1x2x4x16xf32>) {block_size = 32 : i64}
// CHECK: %[[DKS:.*]] = dash.summarize_grad ins(%[[DKBAR]], %{{.*}} : tensor<1x2x4x16xf32>, tensor<1x2x128x16xbf16>) outs(%{{.*}} : tensor<1x2x128x16xf32>) {block_size = 32 : i64}
// CHECK-NOT: ->
// CHECK: %[[DQSUM:.*]] = arith.addf %[[DQ]], %[[DQR]] : tensor<1x4x128x16xf32>
// CHECK: %[[DKSUM:.*]] = arith.addf %[[DK]], %[[DKS]] : tensor<1x2x128x16xf32>
// CHECK: %[[DQB:.*]] = arith.truncf %[[DQSUM]] : tensor<1x4x128x16xf32> to tensor<1x4x128x16xbf16>
// CHECK: %[[DKB:.*]] = arith.truncf %[[DKSUM]] : tensor<1x2x128x16xf32> to tensor<1x2x128x16xbf16>
// CHECK: %[[DVB:.*]] = arith.truncf %[[DV]] : tensor<1x2x128x16xf32> to tensor<1x2x128x16xbf16>
// CHECK: return %[[DQB]], %[[DKB]], %[[DVB]]
func.func @full_router_bf16(%q: tensor<1x4x128x16xbf16>, %k: tensor<1x2x128x16xbf16>,
                            %v: tensor<1x2x128x16xbf16>, %o: tensor<1x4x128x16xbf16>,
                            %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x16xbf16>)
    -> (tensor<1x4x128x16xbf16>, tensor<1x2x128x16xbf16>, tensor<1x2x128x16xbf16>) {
  %r:3 = "dash.attention_grad"(%q, %k, %v, %o, %lse, %do) <{block_size = 32 : i64}>
      : (tensor<1x4x128x16xbf16>, tensor<1x2x128x16xbf16>, tensor<1x2x128x16xbf16>,
         tensor<1x4x128x16xbf16>, tensor<1x4x128xf32>, tensor<1x4x128x16xbf16>)
      -> (tensor<1x4x128x16xbf16>, tensor<1x2x128x16xbf16>, tensor<1x2x128x16xbf16>)
  return %r#0, %r#1, %r#2 : tensor<1x4x128x16xbf16>, tensor<1x2x128x16xbf16>, tensor<1x2x128x16xbf16>
}

// -----

// router_grad = none with W: the router is still recomputed for the prior,
// but no router gradient op is built; dQ, dK, dV are the fine attention's and
// dW is zero (a splat, folded to a constant for a static W).
// CHECK-LABEL: func @router_none
// CHECK-DAG: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : tensor<2x16xf32>
// CHECK-DAG: dash.summarize
// CHECK-DAG: dash.route_logits
// CHECK-DAG: dash.entmax
// CHECK-DAG: dash.block_prior
// CHECK: %[[DQ:[a-z0-9_]+]], %[[DK:[a-z0-9_]+]], %[[DV:[a-z0-9_]+]], %{{.*}} = dash.sparse_attention_grad
// CHECK-NOT: dash.{{.*}}_grad
// CHECK-NOT: arith.addf
// CHECK: return %[[DQ]], %[[DK]], %[[DV]], %[[ZERO]]
func.func @router_none(%q: tensor<1x4x128x16xf32>, %k: tensor<1x2x128x16xf32>,
                       %v: tensor<1x2x128x16xf32>, %w: tensor<2x16xf32>,
                       %o: tensor<1x4x128x16xf32>, %lse: tensor<1x4x128xf32>,
                       %do: tensor<1x4x128x16xf32>)
    -> (tensor<1x4x128x16xf32>, tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>, tensor<2x16xf32>) {
  %dq, %dk, %dv, %dw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do
      {block_size = 32, router_grad = #dash.router_grad<none>}
      : tensor<1x4x128x16xf32>, tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>, tensor<1x4x128x16xf32>,
        tensor<1x4x128xf32>, tensor<1x4x128x16xf32>, tensor<2x16xf32>
      -> tensor<1x4x128x16xf32>, tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>, tensor<2x16xf32>
  return %dq, %dk, %dv, %dw : tensor<1x4x128x16xf32>, tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>, tensor<2x16xf32>
}

// -----

// A dynamic W (and N) in f64: dW is a tensor.splat of 0 sized like W;
// gradients accumulate in f64, so nothing is converted.
// CHECK-LABEL: func @router_none_dynamic
// CHECK-SAME: %[[W:[a-z0-9_]+]]: tensor<?x16xf64>
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK: dash.sparse_attention_grad {{.*}} outs(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x4x?x16xf64>, tensor<1x2x?x16xf64>, tensor<1x2x?x16xf64>, tensor<1x2x?x?xf32>)
// CHECK-NOT: dash.{{.*}}_grad
// CHECK: %[[ROWS:.*]] = tensor.dim %[[W]], %[[C0]] : tensor<?x16xf64>
// CHECK: %[[DW:.*]] = tensor.splat %[[ZERO]][%[[ROWS]]] : tensor<?x16xf64>
// CHECK-NOT: arith.truncf
// CHECK-NOT: arith.extf
// CHECK: return %{{.*}}, %{{.*}}, %{{.*}}, %[[DW]]
func.func @router_none_dynamic(%q: tensor<1x4x?x16xf64>, %k: tensor<1x2x?x16xf64>,
                               %v: tensor<1x2x?x16xf64>, %w: tensor<?x16xf64>,
                               %o: tensor<1x4x?x16xf64>, %lse: tensor<1x4x?xf32>,
                               %do: tensor<1x4x?x16xf64>)
    -> (tensor<1x4x?x16xf64>, tensor<1x2x?x16xf64>, tensor<1x2x?x16xf64>, tensor<?x16xf64>) {
  %dq, %dk, %dv, %dw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do
      {block_size = 16, router_grad = #dash.router_grad<none>}
      : tensor<1x4x?x16xf64>, tensor<1x2x?x16xf64>, tensor<1x2x?x16xf64>, tensor<1x4x?x16xf64>,
        tensor<1x4x?xf32>, tensor<1x4x?x16xf64>, tensor<?x16xf64>
      -> tensor<1x4x?x16xf64>, tensor<1x2x?x16xf64>, tensor<1x2x?x16xf64>, tensor<?x16xf64>
  return %dq, %dk, %dv, %dw : tensor<1x4x?x16xf64>, tensor<1x2x?x16xf64>, tensor<1x2x?x16xf64>, tensor<?x16xf64>
}

// -----

// A flat prior does not depend on the router: no router gradient even with
// router_grad = full (the default); without W the fine gradients are returned
// as they are.
// CHECK-LABEL: func @flat_prior
// CHECK: dash.block_prior {{.*}} {block_size = 32 : i64, prior_mode = #dash.prior_mode<flat>}
// CHECK: %[[DQ:[a-z0-9_]+]], %[[DK:[a-z0-9_]+]], %[[DV:[a-z0-9_]+]], %{{.*}} = dash.sparse_attention_grad
// CHECK-NOT: dash.{{.*}}_grad
// CHECK-NOT: arith.addf
// CHECK: return %[[DQ]], %[[DK]], %[[DV]] :
func.func @flat_prior(%q: tensor<1x4x128x16xf32>, %k: tensor<1x2x128x16xf32>,
                      %v: tensor<1x2x128x16xf32>, %o: tensor<1x4x128x16xf32>,
                      %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x16xf32>)
    -> (tensor<1x4x128x16xf32>, tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>) {
  %r:3 = "dash.attention_grad"(%q, %k, %v, %o, %lse, %do)
      <{block_size = 32 : i64, prior_mode = #dash.prior_mode<flat>}>
      : (tensor<1x4x128x16xf32>, tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>,
         tensor<1x4x128x16xf32>, tensor<1x4x128xf32>, tensor<1x4x128x16xf32>)
      -> (tensor<1x4x128x16xf32>, tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>)
  return %r#0, %r#1, %r#2 : tensor<1x4x128x16xf32>, tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>
}

// -----

// A flat prior with W in bf16: the fine gradients are truncated to bf16 and dW
// is a zero bf16 constant (the splat and its truncation fold).
// CHECK-LABEL: func @flat_prior_bf16
// CHECK-DAG: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : tensor<2x16xbf16>
// CHECK: %[[DQ:[a-z0-9_]+]], %[[DK:[a-z0-9_]+]], %[[DV:[a-z0-9_]+]], %{{.*}} = dash.sparse_attention_grad
// CHECK-NOT: dash.{{.*}}_grad
// CHECK: %[[DQB:.*]] = arith.truncf %[[DQ]] : tensor<1x4x128x16xf32> to tensor<1x4x128x16xbf16>
// CHECK: %[[DKB:.*]] = arith.truncf %[[DK]] : tensor<1x2x128x16xf32> to tensor<1x2x128x16xbf16>
// CHECK: %[[DVB:.*]] = arith.truncf %[[DV]] : tensor<1x2x128x16xf32> to tensor<1x2x128x16xbf16>
// CHECK: return %[[DQB]], %[[DKB]], %[[DVB]], %[[ZERO]]
func.func @flat_prior_bf16(%q: tensor<1x4x128x16xbf16>, %k: tensor<1x2x128x16xbf16>,
                           %v: tensor<1x2x128x16xbf16>, %w: tensor<2x16xbf16>,
                           %o: tensor<1x4x128x16xbf16>, %lse: tensor<1x4x128xf32>,
                           %do: tensor<1x4x128x16xbf16>)
    -> (tensor<1x4x128x16xbf16>, tensor<1x2x128x16xbf16>, tensor<1x2x128x16xbf16>, tensor<2x16xbf16>) {
  %dq, %dk, %dv, %dw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do
      {block_size = 32, prior_mode = #dash.prior_mode<flat>}
      : tensor<1x4x128x16xbf16>, tensor<1x2x128x16xbf16>, tensor<1x2x128x16xbf16>, tensor<1x4x128x16xbf16>,
        tensor<1x4x128xf32>, tensor<1x4x128x16xbf16>, tensor<2x16xbf16>
      -> tensor<1x4x128x16xbf16>, tensor<1x2x128x16xbf16>, tensor<1x2x128x16xbf16>, tensor<2x16xbf16>
  return %dq, %dk, %dv, %dw : tensor<1x4x128x16xbf16>, tensor<1x2x128x16xbf16>, tensor<1x2x128x16xbf16>, tensor<2x16xbf16>
}
