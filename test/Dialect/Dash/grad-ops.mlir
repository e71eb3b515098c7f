// Round trip of every dash gradient op (and of dash.attention's router_grad
// attribute), in the custom and in the generic form.
// RUN: dash-opt %s --split-input-file | dash-opt --split-input-file | FileCheck %s
// RUN: dash-opt %s --split-input-file --mlir-print-op-generic | dash-opt --split-input-file | FileCheck %s

// router_grad = none on the forward op is kept; full (the default) is elided.
// CHECK-LABEL: func @attention_router_grad
// CHECK: dash.attention %{{.*}}, %{{.*}}, %{{.*}} {router_grad = #dash.router_grad<none>} : tensor<1x4x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32> -> tensor<1x4x64x16xf32>
// CHECK: dash.attention %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x4x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32> -> tensor<1x4x64x16xf32>
func.func @attention_router_grad(%q: tensor<1x4x64x16xf32>, %k: tensor<1x2x64x16xf32>,
                                 %v: tensor<1x2x64x16xf32>)
    -> (tensor<1x4x64x16xf32>, tensor<1x4x64x16xf32>) {
  %none = dash.attention %q, %k, %v {router_grad = #dash.router_grad<none>}
      : tensor<1x4x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32> -> tensor<1x4x64x16xf32>
  %full = dash.attention %q, %k, %v {router_grad = #dash.router_grad<full>}
      : tensor<1x4x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32> -> tensor<1x4x64x16xf32>
  return %none, %full : tensor<1x4x64x16xf32>, tensor<1x4x64x16xf32>
}

// -----

// With W: a fourth result dW [Hkv, D]; every attribute away from its default.
// CHECK-LABEL: func @attention_grad_all
// CHECK: %[[DQ:.*]], %[[DK:.*]], %[[DV:.*]], %[[DW:.*]] = dash.attention_grad %{{.*}}, %{{.*}}, %{{.*}} summary %{{.*}} output %{{.*}} lse %{{.*}} grad %{{.*}} {alpha = 2.000000e+00 : f64, block_size = 16 : i64, gamma = 3.000000e+00 : f64, init_blocks = 1 : i64, local_blocks = 2 : i64, prior_mode = #dash.prior_mode<raw>, scale = 2.500000e-01 : f64, sigma = 5.000000e-01 : f64}
// CHECK-SAME: : tensor<2x4x100x16xf32>, tensor<2x2x100x16xf32>, tensor<2x2x100x16xf32>, tensor<2x4x100x16xf32>, tensor<2x4x100xf32>, tensor<2x4x100x16xf32>, tensor<2x16xf32>
// CHECK-SAME: -> tensor<2x4x100x16xf32>, tensor<2x2x100x16xf32>, tensor<2x2x100x16xf32>, tensor<2x16xf32>
// CHECK-NEXT: return %[[DQ]], %[[DK]], %[[DV]], %[[DW]]
func.func @attention_grad_all(%q: tensor<2x4x100x16xf32>, %k: tensor<2x2x100x16xf32>,
                              %v: tensor<2x2x100x16xf32>, %w: tensor<2x16xf32>,
                              %o: tensor<2x4x100x16xf32>, %lse: tensor<2x4x100xf32>,
                              %do: tensor<2x4x100x16xf32>)
    -> (tensor<2x4x100x16xf32>, tensor<2x2x100x16xf32>, tensor<2x2x100x16xf32>, tensor<2x16xf32>) {
  %dq, %dk, %dv, %dw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do {
      alpha = 2.0, block_size = 16, gamma = 3.0, sigma = 0.5,
      prior_mode = #dash.prior_mode<raw>, local_blocks = 2, init_blocks = 1,
      scale = 0.25, router_grad = #dash.router_grad<full>}
      : tensor<2x4x100x16xf32>, tensor<2x2x100x16xf32>, tensor<2x2x100x16xf32>, tensor<2x4x100x16xf32>,
        tensor<2x4x100xf32>, tensor<2x4x100x16xf32>, tensor<2x16xf32>
      -> tensor<2x4x100x16xf32>, tensor<2x2x100x16xf32>, tensor<2x2x100x16xf32>, tensor<2x16xf32>
  return %dq, %dk, %dv, %dw : tensor<2x4x100x16xf32>, tensor<2x2x100x16xf32>, tensor<2x2x100x16xf32>, tensor<2x16xf32>
}

// -----

// router_grad = none, with W (dW is still returned) and a dynamic sequence
// length.
// CHECK-LABEL: func @attention_grad_router_none
// CHECK: dash.attention_grad %{{.*}}, %{{.*}}, %{{.*}} summary %{{.*}} output %{{.*}} lse %{{.*}} grad %{{.*}} {router_grad = #dash.router_grad<none>} : tensor<1x2x?x32xf16>, tensor<1x1x?x32xf16>, tensor<1x1x?x32xf16>, tensor<1x2x?x32xf16>, tensor<1x2x?xf32>, tensor<1x2x?x32xf16>, tensor<1x32xf16> -> tensor<1x2x?x32xf16>, tensor<1x1x?x32xf16>, tensor<1x1x?x32xf16>, tensor<1x32xf16>
func.func @attention_grad_router_none(%q: tensor<1x2x?x32xf16>, %k: tensor<1x1x?x32xf16>,
                                      %v: tensor<1x1x?x32xf16>, %w: tensor<1x32xf16>,
                                      %o: tensor<1x2x?x32xf16>, %lse: tensor<1x2x?xf32>,
                                      %do: tensor<1x2x?x32xf16>)
    -> (tensor<1x2x?x32xf16>, tensor<1x1x?x32xf16>, tensor<1x1x?x32xf16>, tensor<1x32xf16>) {
  %dq, %dk, %dv, %dw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do
      {router_grad = #dash.router_grad<none>}
      : tensor<1x2x?x32xf16>, tensor<1x1x?x32xf16>, tensor<1x1x?x32xf16>, tensor<1x2x?x32xf16>,
        tensor<1x2x?xf32>, tensor<1x2x?x32xf16>, tensor<1x32xf16>
      -> tensor<1x2x?x32xf16>, tensor<1x1x?x32xf16>, tensor<1x1x?x32xf16>, tensor<1x32xf16>
  return %dq, %dk, %dv, %dw : tensor<1x2x?x32xf16>, tensor<1x1x?x32xf16>, tensor<1x1x?x32xf16>, tensor<1x32xf16>
}

// -----

// Mean pooling (no W): one init, one result. With W: its gradient init and a
// second result whose type follows the arrow.
// CHECK-LABEL: func @summarize_grad
// CHECK: %{{.*}} = dash.summarize_grad ins(%{{.*}}, %{{.*}} : tensor<1x2x3x64xf32>, tensor<1x2x200x64xbf16>) outs(%{{.*}} : tensor<1x2x200x64xf32>)
// CHECK-NOT: ->
// CHECK: %{{.*}}, %{{.*}} = dash.summarize_grad ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<1x2x3x64xf32>, tensor<1x2x200x64xbf16>, tensor<2x64xbf16>) outs(%{{.*}}, %{{.*}} : tensor<1x2x200x64xf32>, tensor<2x64xf32>) {scale = 1.250000e-01 : f64} -> tensor<2x64xf32>
func.func @summarize_grad(%dkbar: tensor<1x2x3x64xf32>, %k: tensor<1x2x200x64xbf16>,
                          %w: tensor<2x64xbf16>, %dki: tensor<1x2x200x64xf32>,
                          %dwi: tensor<2x64xf32>)
    -> (tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<2x64xf32>) {
  %dk0 = dash.summarize_grad ins(%dkbar, %k : tensor<1x2x3x64xf32>, tensor<1x2x200x64xbf16>)
      outs(%dki : tensor<1x2x200x64xf32>)
  %dk1, %dw = dash.summarize_grad ins(%dkbar, %k, %w : tensor<1x2x3x64xf32>,
      tensor<1x2x200x64xbf16>, tensor<2x64xbf16>)
      outs(%dki, %dwi : tensor<1x2x200x64xf32>, tensor<2x64xf32>) {block_size = 64, scale = 0.125}
      -> tensor<2x64xf32>
  return %dk0, %dk1, %dw : tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<2x64xf32>
}

// -----

// CHECK-LABEL: func @route_logits_grad
// CHECK: %{{.*}}, %{{.*}} = dash.route_logits_grad ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<1x8x200x64xbf16>, tensor<1x2x3x64xf32>, tensor<1x8x200x3xf32>) outs(%{{.*}}, %{{.*}} : tensor<1x8x200x64xf32>, tensor<1x2x3x64xf32>) {gamma = 2.000000e+00 : f64, scale = 5.000000e-01 : f64}
func.func @route_logits_grad(%q: tensor<1x8x200x64xbf16>, %kbar: tensor<1x2x3x64xf32>,
                             %dz: tensor<1x8x200x3xf32>, %dqi: tensor<1x8x200x64xf32>,
                             %dkbari: tensor<1x2x3x64xf32>)
    -> (tensor<1x8x200x64xf32>, tensor<1x2x3x64xf32>) {
  %dq, %dkbar = dash.route_logits_grad ins(%q, %kbar, %dz : tensor<1x8x200x64xbf16>,
      tensor<1x2x3x64xf32>, tensor<1x8x200x3xf32>)
      outs(%dqi, %dkbari : tensor<1x8x200x64xf32>, tensor<1x2x3x64xf32>) {gamma = 2.0, scale = 0.5}
  return %dq, %dkbar : tensor<1x8x200x64xf32>, tensor<1x2x3x64xf32>
}

// -----

// Default alpha (elided) along the last dimension; alpha = 3 along dimension 0
// in f64.
// CHECK-LABEL: func @entmax_grad
// CHECK: dash.entmax_grad ins(%{{.*}}, %{{.*}} : tensor<8x16xf32>, tensor<8x16xf32>) outs(%{{.*}} : tensor<8x16xf32>) {dimension = 1 : i64}
// CHECK: dash.entmax_grad ins(%{{.*}}, %{{.*}} : tensor<8x16xf64>, tensor<8x16xf64>) outs(%{{.*}} : tensor<8x16xf64>) {alpha = 3.000000e+00 : f64, dimension = 0 : i64}
func.func @entmax_grad(%p: tensor<8x16xf32>, %dp: tensor<8x16xf32>, %init: tensor<8x16xf32>,
                       %p64: tensor<8x16xf64>, %dp64: tensor<8x16xf64>, %init64: tensor<8x16xf64>)
    -> (tensor<8x16xf32>, tensor<8x16xf64>) {
  %dz = dash.entmax_grad ins(%p, %dp : tensor<8x16xf32>, tensor<8x16xf32>)
      outs(%init : tensor<8x16xf32>) {alpha = 1.5, dimension = 1}
  %dz64 = dash.entmax_grad ins(%p64, %dp64 : tensor<8x16xf64>, tensor<8x16xf64>)
      outs(%init64 : tensor<8x16xf64>) {alpha = 3.0, dimension = 0}
  return %dz, %dz64 : tensor<8x16xf32>, tensor<8x16xf64>
}

// -----

// Defaults (centered, sigma 1) and every attribute set.
// CHECK-LABEL: func @block_prior_grad
// CHECK: dash.block_prior_grad ins(%{{.*}}, %{{.*}} : tensor<1x8x200x3xf32>, tensor<1x2x200x4xf32>) outs(%{{.*}} : tensor<1x8x200x3xf32>)
// CHECK-NOT: {
// CHECK: dash.block_prior_grad ins(%{{.*}}, %{{.*}} : tensor<1x8x200x3xf32>, tensor<1x2x200x4xf32>) outs(%{{.*}} : tensor<1x8x200x3xf32>) {init_blocks = 1 : i64, local_blocks = 1 : i64, prior_mode = #dash.prior_mode<raw>, sigma = 2.000000e+00 : f64}
func.func @block_prior_grad(%p: tensor<1x8x200x3xf32>, %dl: tensor<1x2x200x4xf32>,
                            %init: tensor<1x8x200x3xf32>)
    -> (tensor<1x8x200x3xf32>, tensor<1x8x200x3xf32>) {
  %dp0 = dash.block_prior_grad ins(%p, %dl : tensor<1x8x200x3xf32>, tensor<1x2x200x4xf32>)
      outs(%init : tensor<1x8x200x3xf32>)
  %dp1 = dash.block_prior_grad ins(%p, %dl : tensor<1x8x200x3xf32>, tensor<1x2x200x4xf32>)
      outs(%init : tensor<1x8x200x3xf32>)
      {prior_mode = #dash.prior_mode<raw>, sigma = 2.0, local_blocks = 1, init_blocks = 1}
  return %dp0, %dp1 : tensor<1x8x200x3xf32>, tensor<1x8x200x3xf32>
}

// -----

// bf16 primal tensors with f32 gradient inits; four results.
// CHECK-LABEL: func @sparse_attention_grad
// CHECK: %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} = dash.sparse_attention_grad ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x8x200x64xbf16>, tensor<1x2x200x64xbf16>, tensor<1x2x200x64xbf16>, tensor<1x2x200x4xf32>, tensor<1x8x200x64xbf16>, tensor<1x8x200xf32>, tensor<1x8x200x64xbf16>) outs(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>) {scale = 1.250000e-01 : f64}
func.func @sparse_attention_grad(%q: tensor<1x8x200x64xbf16>, %k: tensor<1x2x200x64xbf16>,
                                 %v: tensor<1x2x200x64xbf16>, %prior: tensor<1x2x200x4xf32>,
                                 %o: tensor<1x8x200x64xbf16>, %lse: tensor<1x8x200xf32>,
                                 %do: tensor<1x8x200x64xbf16>, %dqi: tensor<1x8x200x64xf32>,
                                 %dki: tensor<1x2x200x64xf32>, %dvi: tensor<1x2x200x64xf32>,
                                 %dli: tensor<1x2x200x4xf32>)
    -> (tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>) {
  %dq, %dk, %dv, %dl = dash.sparse_attention_grad
      ins(%q, %k, %v, %prior, %o, %lse, %do : tensor<1x8x200x64xbf16>, tensor<1x2x200x64xbf16>,
          tensor<1x2x200x64xbf16>, tensor<1x2x200x4xf32>, tensor<1x8x200x64xbf16>,
          tensor<1x8x200xf32>, tensor<1x8x200x64xbf16>)
      outs(%dqi, %dki, %dvi, %dli : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>,
           tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>) {scale = 0.125}
  return %dq, %dk, %dv, %dl : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>
}
