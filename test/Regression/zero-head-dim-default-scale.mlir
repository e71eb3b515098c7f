// A head dimension D = 0 (empty tensors) is valid IR, but the default scale
// 1/sqrt(D) is then infinite: every score and routing logit became
// 0 * inf = NaN, so the LSE of inputs without any NaN was NaN. The verifiers
// now ask for an explicit scale when D = 0.
// RUN: dash-opt %s --split-input-file --verify-diagnostics

func.func @attention(%q: tensor<1x2x8x0xf32>, %k: tensor<1x1x8x0xf32>, %v: tensor<1x1x8x0xf32>) -> tensor<1x2x8xf32> {
  // expected-error @+1 {{'dash.attention' op D = 0 needs an explicit scale (the default 1/sqrt(D) is infinite)}}
  %o, %lse = dash.attention %q, %k, %v {block_size = 4} : tensor<1x2x8x0xf32>, tensor<1x1x8x0xf32>, tensor<1x1x8x0xf32> -> tensor<1x2x8x0xf32> lse tensor<1x2x8xf32>
  return %lse : tensor<1x2x8xf32>
}

// -----

// With an explicit scale, D = 0 verifies.
func.func @attention_scaled(%q: tensor<1x2x8x0xf32>, %k: tensor<1x1x8x0xf32>, %v: tensor<1x1x8x0xf32>) -> tensor<1x2x8xf32> {
  %o, %lse = dash.attention %q, %k, %v {block_size = 4, scale = 1.0} : tensor<1x2x8x0xf32>, tensor<1x1x8x0xf32>, tensor<1x1x8x0xf32> -> tensor<1x2x8x0xf32> lse tensor<1x2x8xf32>
  return %lse : tensor<1x2x8xf32>
}

// -----

func.func @route_logits(%q: tensor<1x2x8x0xf32>, %kbar: tensor<1x1x2x0xf32>, %init: tensor<1x2x8x2xf32>) -> tensor<1x2x8x2xf32> {
  // expected-error @+1 {{'dash.route_logits' op D = 0 needs an explicit scale (the default 1/sqrt(D) is infinite)}}
  %z = dash.route_logits ins(%q, %kbar : tensor<1x2x8x0xf32>, tensor<1x1x2x0xf32>) outs(%init : tensor<1x2x8x2xf32>) {block_size = 4}
  return %z : tensor<1x2x8x2xf32>
}

// -----

func.func @sparse_attention(%q: tensor<1x2x8x0xf32>, %k: tensor<1x1x8x0xf32>, %v: tensor<1x1x8x0xf32>, %prior: tensor<1x1x8x2xf32>, %oi: tensor<1x2x8x0xf32>, %li: tensor<1x2x8xf32>) -> tensor<1x2x8xf32> {
  // expected-error @+1 {{'dash.sparse_attention' op D = 0 needs an explicit scale (the default 1/sqrt(D) is infinite)}}
  %o, %lse = dash.sparse_attention ins(%q, %k, %v, %prior : tensor<1x2x8x0xf32>, tensor<1x1x8x0xf32>, tensor<1x1x8x0xf32>, tensor<1x1x8x2xf32>) outs(%oi, %li : tensor<1x2x8x0xf32>, tensor<1x2x8xf32>) {block_size = 4}
  return %lse : tensor<1x2x8xf32>
}
