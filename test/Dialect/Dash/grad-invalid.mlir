// Every verifier error of the dash gradient ops (and the destination-style
// interface's checks of their inits), with its message.
// RUN: dash-opt %s --split-input-file --verify-diagnostics

// block_size must be positive.
func.func @summarize_grad_block_size(%dkbar: tensor<1x2x3x64xf32>, %k: tensor<1x2x200x64xf32>, %w: tensor<2x64xf32>, %dki: tensor<1x2x200x64xf32>, %dwi: tensor<2x64xf32>) -> tensor<1x2x200x64xf32> {
  // expected-error @+1 {{'dash.summarize_grad' op block_size must be >= 1, got 0}}
  %dk, %dw = dash.summarize_grad ins(%dkbar, %k, %w : tensor<1x2x3x64xf32>, tensor<1x2x200x64xf32>, tensor<2x64xf32>) outs(%dki, %dwi : tensor<1x2x200x64xf32>, tensor<2x64xf32>) {block_size = 0} -> tensor<2x64xf32>
  return %dk : tensor<1x2x200x64xf32>
}

// -----

// scale must be positive.
func.func @summarize_grad_scale(%dkbar: tensor<1x2x3x64xf32>, %k: tensor<1x2x200x64xf32>, %w: tensor<2x64xf32>, %dki: tensor<1x2x200x64xf32>, %dwi: tensor<2x64xf32>) -> tensor<1x2x200x64xf32> {
  // expected-error @+1 {{'dash.summarize_grad' op scale must be finite and > 0, got 0}}
  %dk, %dw = dash.summarize_grad ins(%dkbar, %k, %w : tensor<1x2x3x64xf32>, tensor<1x2x200x64xf32>, tensor<2x64xf32>) outs(%dki, %dwi : tensor<1x2x200x64xf32>, tensor<2x64xf32>) {scale = 0.0} -> tensor<2x64xf32>
  return %dk : tensor<1x2x200x64xf32>
}

// -----

// key is [B, Hkv, N, D].
func.func @summarize_grad_key_rank(%dkbar: tensor<1x2x3x64xf32>, %k: tensor<2x200x64xf32>, %w: tensor<2x64xf32>, %dki: tensor<1x2x200x64xf32>, %dwi: tensor<2x64xf32>) -> tensor<1x2x200x64xf32> {
  // expected-error @+1 {{'dash.summarize_grad' op key must have rank 4, got rank 3}}
  %dk, %dw = dash.summarize_grad ins(%dkbar, %k, %w : tensor<1x2x3x64xf32>, tensor<2x200x64xf32>, tensor<2x64xf32>) outs(%dki, %dwi : tensor<1x2x200x64xf32>, tensor<2x64xf32>) -> tensor<2x64xf32>
  return %dk : tensor<1x2x200x64xf32>
}

// -----

// W is [Hkv, D].
func.func @summarize_grad_w_rank(%dkbar: tensor<1x2x3x64xf32>, %k: tensor<1x2x200x64xf32>, %w: tensor<128xf32>, %dki: tensor<1x2x200x64xf32>, %dwi: tensor<2x64xf32>) -> tensor<1x2x200x64xf32> {
  // expected-error @+1 {{'dash.summarize_grad' op summary_query must have rank 2, got rank 1}}
  %dk, %dw = dash.summarize_grad ins(%dkbar, %k, %w : tensor<1x2x3x64xf32>, tensor<1x2x200x64xf32>, tensor<128xf32>) outs(%dki, %dwi : tensor<1x2x200x64xf32>, tensor<2x64xf32>) -> tensor<2x64xf32>
  return %dk : tensor<1x2x200x64xf32>
}

// -----

// W has one row per KV head.
func.func @summarize_grad_w_heads(%dkbar: tensor<1x2x3x64xf32>, %k: tensor<1x2x200x64xf32>, %w: tensor<4x64xf32>, %dki: tensor<1x2x200x64xf32>, %dwi: tensor<4x64xf32>) -> tensor<1x2x200x64xf32> {
  // expected-error @+1 {{'dash.summarize_grad' op dimension 0 (Hkv) of summary_query is 4, but dimension 1 of key is 2}}
  %dk, %dw = dash.summarize_grad ins(%dkbar, %k, %w : tensor<1x2x3x64xf32>, tensor<1x2x200x64xf32>, tensor<4x64xf32>) outs(%dki, %dwi : tensor<1x2x200x64xf32>, tensor<4x64xf32>) -> tensor<4x64xf32>
  return %dk : tensor<1x2x200x64xf32>
}

// -----

// summaries_grad has one row per complete block: Mc = floor(200 / 64) = 3.
func.func @summarize_grad_mc(%dkbar: tensor<1x2x4x64xf32>, %k: tensor<1x2x200x64xf32>, %w: tensor<2x64xf32>, %dki: tensor<1x2x200x64xf32>, %dwi: tensor<2x64xf32>) -> tensor<1x2x200x64xf32> {
  // expected-error @+1 {{'dash.summarize_grad' op dimension 2 (Mc) of summaries_grad is 4, but floor(N / block_size) with N = 200 is 3}}
  %dk, %dw = dash.summarize_grad ins(%dkbar, %k, %w : tensor<1x2x4x64xf32>, tensor<1x2x200x64xf32>, tensor<2x64xf32>) outs(%dki, %dwi : tensor<1x2x200x64xf32>, tensor<2x64xf32>) -> tensor<2x64xf32>
  return %dk : tensor<1x2x200x64xf32>
}

// -----

// summaries_grad has the head dim of the keys.
func.func @summarize_grad_head_dim(%dkbar: tensor<1x2x3x32xf32>, %k: tensor<1x2x200x64xf32>, %w: tensor<2x64xf32>, %dki: tensor<1x2x200x64xf32>, %dwi: tensor<2x64xf32>) -> tensor<1x2x200x64xf32> {
  // expected-error @+1 {{'dash.summarize_grad' op dimension 3 (D) of summaries_grad is 32, but dimension 3 of key is 64}}
  %dk, %dw = dash.summarize_grad ins(%dkbar, %k, %w : tensor<1x2x3x32xf32>, tensor<1x2x200x64xf32>, tensor<2x64xf32>) outs(%dki, %dwi : tensor<1x2x200x64xf32>, tensor<2x64xf32>) -> tensor<2x64xf32>
  return %dk : tensor<1x2x200x64xf32>
}

// -----

// key_grad_init has the shape of the keys.
func.func @summarize_grad_init_seq_len(%dkbar: tensor<1x2x3x64xf32>, %k: tensor<1x2x200x64xf32>, %w: tensor<2x64xf32>, %dki: tensor<1x2x256x64xf32>, %dwi: tensor<2x64xf32>) -> tensor<1x2x256x64xf32> {
  // expected-error @+1 {{'dash.summarize_grad' op dimension 2 (N) of key_grad_init is 256, but dimension 2 of key is 200}}
  %dk, %dw = dash.summarize_grad ins(%dkbar, %k, %w : tensor<1x2x3x64xf32>, tensor<1x2x200x64xf32>, tensor<2x64xf32>) outs(%dki, %dwi : tensor<1x2x256x64xf32>, tensor<2x64xf32>) -> tensor<2x64xf32>
  return %dk : tensor<1x2x256x64xf32>
}

// -----

// W given without the init of its gradient.
func.func @summarize_grad_missing_init(%dkbar: tensor<1x2x3x64xf32>, %k: tensor<1x2x200x64xf32>, %w: tensor<2x64xf32>, %dki: tensor<1x2x200x64xf32>, %dwi: tensor<2x64xf32>) -> tensor<1x2x200x64xf32> {
  // expected-error @+1 {{'dash.summarize_grad' op summary_query_grad_init must be given exactly when summary_query is given}}
  %dk = dash.summarize_grad ins(%dkbar, %k, %w : tensor<1x2x3x64xf32>, tensor<1x2x200x64xf32>, tensor<2x64xf32>) outs(%dki : tensor<1x2x200x64xf32>)
  return %dk : tensor<1x2x200x64xf32>
}

// -----

// An init for dW without W.
func.func @summarize_grad_extra_init(%dkbar: tensor<1x2x3x64xf32>, %k: tensor<1x2x200x64xf32>, %w: tensor<2x64xf32>, %dki: tensor<1x2x200x64xf32>, %dwi: tensor<2x64xf32>) -> tensor<1x2x200x64xf32> {
  // expected-error @+1 {{'dash.summarize_grad' op summary_query_grad_init must be given exactly when summary_query is given}}
  %dk, %dw = dash.summarize_grad ins(%dkbar, %k : tensor<1x2x3x64xf32>, tensor<1x2x200x64xf32>) outs(%dki, %dwi : tensor<1x2x200x64xf32>, tensor<2x64xf32>) -> tensor<2x64xf32>
  return %dk : tensor<1x2x200x64xf32>
}

// -----

// The init of dW has the shape of W.
func.func @summarize_grad_init_shape(%dkbar: tensor<1x2x3x64xf32>, %k: tensor<1x2x200x64xf32>, %w: tensor<2x64xf32>, %dki: tensor<1x2x200x64xf32>, %dwi: tensor<2x32xf32>) -> tensor<1x2x200x64xf32> {
  // expected-error @+1 {{'dash.summarize_grad' op dimension 1 (D) of summary_query_grad_init is 32, but dimension 3 of key is 64}}
  %dk, %dw = dash.summarize_grad ins(%dkbar, %k, %w : tensor<1x2x3x64xf32>, tensor<1x2x200x64xf32>, tensor<2x64xf32>) outs(%dki, %dwi : tensor<1x2x200x64xf32>, tensor<2x32xf32>) -> tensor<2x32xf32>
  return %dk : tensor<1x2x200x64xf32>
}

// -----

// Every init has its result: dW's init without dW.
func.func @summarize_grad_no_result(%dkbar: tensor<1x2x3x64xf32>, %k: tensor<1x2x200x64xf32>, %w: tensor<2x64xf32>, %dki: tensor<1x2x200x64xf32>, %dwi: tensor<2x64xf32>) -> tensor<1x2x200x64xf32> {
  // expected-error @+1 {{'dash.summarize_grad' op expected the number of tensor results (1) to be equal to the number of output tensors (2)}}
  %dk = dash.summarize_grad ins(%dkbar, %k, %w : tensor<1x2x3x64xf32>, tensor<1x2x200x64xf32>, tensor<2x64xf32>) outs(%dki, %dwi : tensor<1x2x200x64xf32>, tensor<2x64xf32>)
  return %dk : tensor<1x2x200x64xf32>
}

// -----

// Every result has its init: dW without W and without its init.
func.func @summarize_grad_extra_result(%dkbar: tensor<1x2x3x64xf32>, %k: tensor<1x2x200x64xf32>, %w: tensor<2x64xf32>, %dki: tensor<1x2x200x64xf32>, %dwi: tensor<2x64xf32>) -> tensor<1x2x200x64xf32> {
  // expected-error @+1 {{'dash.summarize_grad' op expected the number of tensor results (2) to be equal to the number of output tensors (1)}}
  %dk, %dw = dash.summarize_grad ins(%dkbar, %k : tensor<1x2x3x64xf32>, tensor<1x2x200x64xf32>) outs(%dki : tensor<1x2x200x64xf32>) -> tensor<2x64xf32>
  return %dk : tensor<1x2x200x64xf32>
}

// -----

// dW has the type of its init.
func.func @summarize_grad_result_type(%dkbar: tensor<1x2x3x64xf32>, %k: tensor<1x2x200x64xf32>, %w: tensor<2x64xf32>, %dki: tensor<1x2x200x64xf32>, %dwi: tensor<2x64xf32>) -> tensor<1x2x200x64xf32> {
  // expected-error @+1 {{'dash.summarize_grad' op expected type of operand #4 ('tensor<2x64xf32>') to match type of corresponding result ('tensor<2x64xf64>')}}
  %dk, %dw = dash.summarize_grad ins(%dkbar, %k, %w : tensor<1x2x3x64xf32>, tensor<1x2x200x64xf32>, tensor<2x64xf32>) outs(%dki, %dwi : tensor<1x2x200x64xf32>, tensor<2x64xf32>) -> tensor<2x64xf64>
  return %dk : tensor<1x2x200x64xf32>
}

// -----

// gamma must be positive.
func.func @route_logits_grad_gamma(%q: tensor<1x8x200x64xf32>, %kbar: tensor<1x2x3x64xf32>, %dz: tensor<1x8x200x3xf32>, %dqi: tensor<1x8x200x64xf32>, %dkbari: tensor<1x2x3x64xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.route_logits_grad' op gamma must be finite and > 0, got 0}}
  %dq, %dkbar = dash.route_logits_grad ins(%q, %kbar, %dz : tensor<1x8x200x64xf32>, tensor<1x2x3x64xf32>, tensor<1x8x200x3xf32>) outs(%dqi, %dkbari : tensor<1x8x200x64xf32>, tensor<1x2x3x64xf32>) {gamma = 0.0}
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// block_size must be positive.
func.func @route_logits_grad_block_size(%q: tensor<1x8x200x64xf32>, %kbar: tensor<1x2x3x64xf32>, %dz: tensor<1x8x200x3xf32>, %dqi: tensor<1x8x200x64xf32>, %dkbari: tensor<1x2x3x64xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.route_logits_grad' op block_size must be >= 1, got -1}}
  %dq, %dkbar = dash.route_logits_grad ins(%q, %kbar, %dz : tensor<1x8x200x64xf32>, tensor<1x2x3x64xf32>, tensor<1x8x200x3xf32>) outs(%dqi, %dkbari : tensor<1x8x200x64xf32>, tensor<1x2x3x64xf32>) {block_size = -1}
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// scale must be finite.
func.func @route_logits_grad_scale(%q: tensor<1x8x200x64xf32>, %kbar: tensor<1x2x3x64xf32>, %dz: tensor<1x8x200x3xf32>, %dqi: tensor<1x8x200x64xf32>, %dkbari: tensor<1x2x3x64xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.route_logits_grad' op scale must be finite and > 0, got inf}}
  %dq, %dkbar = dash.route_logits_grad ins(%q, %kbar, %dz : tensor<1x8x200x64xf32>, tensor<1x2x3x64xf32>, tensor<1x8x200x3xf32>) outs(%dqi, %dkbari : tensor<1x8x200x64xf32>, tensor<1x2x3x64xf32>) {scale = 0x7FF0000000000000 : f64}
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// query is [B, H, N, D].
func.func @route_logits_grad_query_rank(%q: tensor<8x200x64xf32>, %kbar: tensor<1x2x3x64xf32>, %dz: tensor<1x8x200x3xf32>, %dqi: tensor<1x8x200x64xf32>, %dkbari: tensor<1x2x3x64xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.route_logits_grad' op query must have rank 4, got rank 3}}
  %dq, %dkbar = dash.route_logits_grad ins(%q, %kbar, %dz : tensor<8x200x64xf32>, tensor<1x2x3x64xf32>, tensor<1x8x200x3xf32>) outs(%dqi, %dkbari : tensor<1x8x200x64xf32>, tensor<1x2x3x64xf32>)
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// H must be a multiple of Hkv.
func.func @route_logits_grad_groups(%q: tensor<1x8x200x64xf32>, %kbar: tensor<1x3x3x64xf32>, %dz: tensor<1x8x200x3xf32>, %dqi: tensor<1x8x200x64xf32>, %dkbari: tensor<1x3x3x64xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.route_logits_grad' op H = 8 (dimension 1 of query) must be a multiple of Hkv = 3 (dimension 1 of summaries)}}
  %dq, %dkbar = dash.route_logits_grad ins(%q, %kbar, %dz : tensor<1x8x200x64xf32>, tensor<1x3x3x64xf32>, tensor<1x8x200x3xf32>) outs(%dqi, %dkbari : tensor<1x8x200x64xf32>, tensor<1x3x3x64xf32>)
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// summaries has Mc = floor(200 / 64) = 3 blocks.
func.func @route_logits_grad_summaries_mc(%q: tensor<1x8x200x64xf32>, %kbar: tensor<1x2x4x64xf32>, %dz: tensor<1x8x200x3xf32>, %dqi: tensor<1x8x200x64xf32>, %dkbari: tensor<1x2x4x64xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.route_logits_grad' op dimension 2 (Mc) of summaries is 4, but floor(N / block_size) with N = 200 is 3}}
  %dq, %dkbar = dash.route_logits_grad ins(%q, %kbar, %dz : tensor<1x8x200x64xf32>, tensor<1x2x4x64xf32>, tensor<1x8x200x3xf32>) outs(%dqi, %dkbari : tensor<1x8x200x64xf32>, tensor<1x2x4x64xf32>)
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// summaries has the head dim of the queries.
func.func @route_logits_grad_summaries_head_dim(%q: tensor<1x8x200x64xf32>, %kbar: tensor<1x2x3x32xf32>, %dz: tensor<1x8x200x3xf32>, %dqi: tensor<1x8x200x64xf32>, %dkbari: tensor<1x2x3x32xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.route_logits_grad' op dimension 3 (D) of summaries is 32, but dimension 3 of query is 64}}
  %dq, %dkbar = dash.route_logits_grad ins(%q, %kbar, %dz : tensor<1x8x200x64xf32>, tensor<1x2x3x32xf32>, tensor<1x8x200x3xf32>) outs(%dqi, %dkbari : tensor<1x8x200x64xf32>, tensor<1x2x3x32xf32>)
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// logits_grad is [B, H, N, Mc].
func.func @route_logits_grad_logits_mc(%q: tensor<1x8x200x64xf32>, %kbar: tensor<1x2x3x64xf32>, %dz: tensor<1x8x200x4xf32>, %dqi: tensor<1x8x200x64xf32>, %dkbari: tensor<1x2x3x64xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.route_logits_grad' op dimension 3 (Mc) of logits_grad is 4, but floor(N / block_size) with N = 200 is 3}}
  %dq, %dkbar = dash.route_logits_grad ins(%q, %kbar, %dz : tensor<1x8x200x64xf32>, tensor<1x2x3x64xf32>, tensor<1x8x200x4xf32>) outs(%dqi, %dkbari : tensor<1x8x200x64xf32>, tensor<1x2x3x64xf32>)
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// logits_grad has the query heads, not the KV heads.
func.func @route_logits_grad_logits_heads(%q: tensor<1x8x200x64xf32>, %kbar: tensor<1x2x3x64xf32>, %dz: tensor<1x2x200x3xf32>, %dqi: tensor<1x8x200x64xf32>, %dkbari: tensor<1x2x3x64xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.route_logits_grad' op dimension 1 (H) of logits_grad is 2, but dimension 1 of query is 8}}
  %dq, %dkbar = dash.route_logits_grad ins(%q, %kbar, %dz : tensor<1x8x200x64xf32>, tensor<1x2x3x64xf32>, tensor<1x2x200x3xf32>) outs(%dqi, %dkbari : tensor<1x8x200x64xf32>, tensor<1x2x3x64xf32>)
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// logits_grad is f32 (router math, spec 4).
func.func @route_logits_grad_logits_type(%q: tensor<1x8x200x64xf32>, %kbar: tensor<1x2x3x64xf32>, %dz: tensor<1x8x200x3xbf16>, %dqi: tensor<1x8x200x64xf32>, %dkbari: tensor<1x2x3x64xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.route_logits_grad' op operand #2 must be ranked tensor of 32-bit float values, but got 'tensor<1x8x200x3xbf16>'}}
  %dq, %dkbar = dash.route_logits_grad ins(%q, %kbar, %dz : tensor<1x8x200x64xf32>, tensor<1x2x3x64xf32>, tensor<1x8x200x3xbf16>) outs(%dqi, %dkbari : tensor<1x8x200x64xf32>, tensor<1x2x3x64xf32>)
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// query_grad_init has the shape of the queries.
func.func @route_logits_grad_query_init(%q: tensor<1x8x200x64xf32>, %kbar: tensor<1x2x3x64xf32>, %dz: tensor<1x8x200x3xf32>, %dqi: tensor<1x8x200x32xf32>, %dkbari: tensor<1x2x3x64xf32>) -> tensor<1x8x200x32xf32> {
  // expected-error @+1 {{'dash.route_logits_grad' op dimension 3 (D) of query_grad_init is 32, but dimension 3 of query is 64}}
  %dq, %dkbar = dash.route_logits_grad ins(%q, %kbar, %dz : tensor<1x8x200x64xf32>, tensor<1x2x3x64xf32>, tensor<1x8x200x3xf32>) outs(%dqi, %dkbari : tensor<1x8x200x32xf32>, tensor<1x2x3x64xf32>)
  return %dq : tensor<1x8x200x32xf32>
}

// -----

// summaries_grad_init has the shape of the summaries.
func.func @route_logits_grad_summaries_init(%q: tensor<1x8x200x64xf32>, %kbar: tensor<1x2x3x64xf32>, %dz: tensor<1x8x200x3xf32>, %dqi: tensor<1x8x200x64xf32>, %dkbari: tensor<1x2x3x32xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.route_logits_grad' op dimension 3 (D) of summaries_grad_init is 32, but dimension 3 of query is 64}}
  %dq, %dkbar = dash.route_logits_grad ins(%q, %kbar, %dz : tensor<1x8x200x64xf32>, tensor<1x2x3x64xf32>, tensor<1x8x200x3xf32>) outs(%dqi, %dkbari : tensor<1x8x200x64xf32>, tensor<1x2x3x32xf32>)
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// alpha must be > 1.
func.func @entmax_grad_alpha(%p: tensor<8x16xf32>, %dp: tensor<8x16xf32>, %init: tensor<8x16xf32>) -> tensor<8x16xf32> {
  // expected-error @+1 {{'dash.entmax_grad' op alpha must be finite and > 1, got 1}}
  %dz = dash.entmax_grad ins(%p, %dp : tensor<8x16xf32>, tensor<8x16xf32>) outs(%init : tensor<8x16xf32>) {alpha = 1.0, dimension = 1}
  return %dz : tensor<8x16xf32>
}

// -----

// alpha must be finite.
func.func @entmax_grad_alpha_inf(%p: tensor<8x16xf32>, %dp: tensor<8x16xf32>, %init: tensor<8x16xf32>) -> tensor<8x16xf32> {
  // expected-error @+1 {{'dash.entmax_grad' op alpha must be finite and > 1, got inf}}
  %dz = dash.entmax_grad ins(%p, %dp : tensor<8x16xf32>, tensor<8x16xf32>) outs(%init : tensor<8x16xf32>) {alpha = 0x7FF0000000000000 : f64, dimension = 1}
  return %dz : tensor<8x16xf32>
}

// -----

// dimension must index the probabilities.
func.func @entmax_grad_dimension(%p: tensor<8x16xf32>, %dp: tensor<8x16xf32>, %init: tensor<8x16xf32>) -> tensor<8x16xf32> {
  // expected-error @+1 {{'dash.entmax_grad' op dimension 2 is out of range for probs of rank 2}}
  %dz = dash.entmax_grad ins(%p, %dp : tensor<8x16xf32>, tensor<8x16xf32>) outs(%init : tensor<8x16xf32>) {dimension = 2}
  return %dz : tensor<8x16xf32>
}

// -----

// Negative dimensions are not accepted.
func.func @entmax_grad_dimension_negative(%p: tensor<8x16xf32>, %dp: tensor<8x16xf32>, %init: tensor<8x16xf32>) -> tensor<8x16xf32> {
  // expected-error @+1 {{'dash.entmax_grad' op dimension -1 is out of range for probs of rank 2}}
  %dz = dash.entmax_grad ins(%p, %dp : tensor<8x16xf32>, tensor<8x16xf32>) outs(%init : tensor<8x16xf32>) {dimension = -1}
  return %dz : tensor<8x16xf32>
}

// -----

// A rank-0 tensor has no dimension to reduce.
func.func @entmax_grad_rank_zero(%p: tensor<f32>, %dp: tensor<f32>, %init: tensor<f32>) -> tensor<f32> {
  // expected-error @+1 {{'dash.entmax_grad' op dimension 0 is out of range for probs of rank 0}}
  %dz = dash.entmax_grad ins(%p, %dp : tensor<f32>, tensor<f32>) outs(%init : tensor<f32>) {dimension = 0}
  return %dz : tensor<f32>
}

// -----

// dimension is required.
func.func @entmax_grad_no_dimension(%p: tensor<8x16xf32>, %dp: tensor<8x16xf32>, %init: tensor<8x16xf32>) -> tensor<8x16xf32> {
  // expected-error @+1 {{'dash.entmax_grad' op requires attribute 'dimension'}}
  %dz = dash.entmax_grad ins(%p, %dp : tensor<8x16xf32>, tensor<8x16xf32>) outs(%init : tensor<8x16xf32>)
  return %dz : tensor<8x16xf32>
}

// -----

// probs_grad has the shape of probs.
func.func @entmax_grad_probs_grad_shape(%p: tensor<8x16xf32>, %dp: tensor<8x15xf32>, %init: tensor<8x16xf32>) -> tensor<8x16xf32> {
  // expected-error @+1 {{'dash.entmax_grad' op probs_grad shape must match probs shape}}
  %dz = dash.entmax_grad ins(%p, %dp : tensor<8x16xf32>, tensor<8x15xf32>) outs(%init : tensor<8x16xf32>) {dimension = 1}
  return %dz : tensor<8x16xf32>
}

// -----

// init has the shape of probs.
func.func @entmax_grad_init_shape(%p: tensor<8x16xf32>, %dp: tensor<8x16xf32>, %init: tensor<16x8xf32>) -> tensor<16x8xf32> {
  // expected-error @+1 {{'dash.entmax_grad' op init shape must match probs shape}}
  %dz = dash.entmax_grad ins(%p, %dp : tensor<8x16xf32>, tensor<8x16xf32>) outs(%init : tensor<16x8xf32>) {dimension = 1}
  return %dz : tensor<16x8xf32>
}

// -----

// block_size must be positive.
func.func @block_prior_grad_block_size(%p: tensor<1x8x200x3xf32>, %dl: tensor<1x2x200x4xf32>, %init: tensor<1x8x200x3xf32>) -> tensor<1x8x200x3xf32> {
  // expected-error @+1 {{'dash.block_prior_grad' op block_size must be >= 1, got 0}}
  %dp = dash.block_prior_grad ins(%p, %dl : tensor<1x8x200x3xf32>, tensor<1x2x200x4xf32>) outs(%init : tensor<1x8x200x3xf32>) {block_size = 0}
  return %dp : tensor<1x8x200x3xf32>
}

// -----

// sigma must be positive.
func.func @block_prior_grad_sigma(%p: tensor<1x8x200x3xf32>, %dl: tensor<1x2x200x4xf32>, %init: tensor<1x8x200x3xf32>) -> tensor<1x8x200x3xf32> {
  // expected-error @+1 {{'dash.block_prior_grad' op sigma must be finite and > 0, got -2}}
  %dp = dash.block_prior_grad ins(%p, %dl : tensor<1x8x200x3xf32>, tensor<1x2x200x4xf32>) outs(%init : tensor<1x8x200x3xf32>) {sigma = -2.0}
  return %dp : tensor<1x8x200x3xf32>
}

// -----

// local_blocks must be >= 0.
func.func @block_prior_grad_local_blocks(%p: tensor<1x8x200x3xf32>, %dl: tensor<1x2x200x4xf32>, %init: tensor<1x8x200x3xf32>) -> tensor<1x8x200x3xf32> {
  // expected-error @+1 {{'dash.block_prior_grad' op local_blocks must be >= 0, got -1}}
  %dp = dash.block_prior_grad ins(%p, %dl : tensor<1x8x200x3xf32>, tensor<1x2x200x4xf32>) outs(%init : tensor<1x8x200x3xf32>) {local_blocks = -1}
  return %dp : tensor<1x8x200x3xf32>
}

// -----

// init_blocks must be >= 0.
func.func @block_prior_grad_init_blocks(%p: tensor<1x8x200x3xf32>, %dl: tensor<1x2x200x4xf32>, %init: tensor<1x8x200x3xf32>) -> tensor<1x8x200x3xf32> {
  // expected-error @+1 {{'dash.block_prior_grad' op init_blocks must be >= 0, got -1}}
  %dp = dash.block_prior_grad ins(%p, %dl : tensor<1x8x200x3xf32>, tensor<1x2x200x4xf32>) outs(%init : tensor<1x8x200x3xf32>) {init_blocks = -1}
  return %dp : tensor<1x8x200x3xf32>
}

// -----

// probs is [B, H, N, Mc].
func.func @block_prior_grad_probs_rank(%p: tensor<8x200x3xf32>, %dl: tensor<1x2x200x4xf32>, %init: tensor<8x200x3xf32>) -> tensor<8x200x3xf32> {
  // expected-error @+1 {{'dash.block_prior_grad' op probs must have rank 4, got rank 3}}
  %dp = dash.block_prior_grad ins(%p, %dl : tensor<8x200x3xf32>, tensor<1x2x200x4xf32>) outs(%init : tensor<8x200x3xf32>)
  return %dp : tensor<8x200x3xf32>
}

// -----

// probs has Mc = floor(200 / 64) = 3 blocks.
func.func @block_prior_grad_probs_mc(%p: tensor<1x8x200x4xf32>, %dl: tensor<1x2x200x4xf32>, %init: tensor<1x8x200x4xf32>) -> tensor<1x8x200x4xf32> {
  // expected-error @+1 {{'dash.block_prior_grad' op dimension 3 (Mc) of probs is 4, but floor(N / block_size) with N = 200 is 3}}
  %dp = dash.block_prior_grad ins(%p, %dl : tensor<1x8x200x4xf32>, tensor<1x2x200x4xf32>) outs(%init : tensor<1x8x200x4xf32>)
  return %dp : tensor<1x8x200x4xf32>
}

// -----

// prior_grad has M = ceil(200 / 64) = 4 blocks (the partial one too).
func.func @block_prior_grad_prior_m(%p: tensor<1x8x200x3xf32>, %dl: tensor<1x2x200x3xf32>, %init: tensor<1x8x200x3xf32>) -> tensor<1x8x200x3xf32> {
  // expected-error @+1 {{'dash.block_prior_grad' op dimension 3 (M) of prior_grad is 3, but ceil(N / block_size) with N = 200 is 4}}
  %dp = dash.block_prior_grad ins(%p, %dl : tensor<1x8x200x3xf32>, tensor<1x2x200x3xf32>) outs(%init : tensor<1x8x200x3xf32>)
  return %dp : tensor<1x8x200x3xf32>
}

// -----

// prior_grad has the queries' sequence length.
func.func @block_prior_grad_prior_seq_len(%p: tensor<1x8x200x3xf32>, %dl: tensor<1x2x100x4xf32>, %init: tensor<1x8x200x3xf32>) -> tensor<1x8x200x3xf32> {
  // expected-error @+1 {{'dash.block_prior_grad' op dimension 2 (N) of prior_grad is 100, but dimension 2 of probs is 200}}
  %dp = dash.block_prior_grad ins(%p, %dl : tensor<1x8x200x3xf32>, tensor<1x2x100x4xf32>) outs(%init : tensor<1x8x200x3xf32>)
  return %dp : tensor<1x8x200x3xf32>
}

// -----

// H must be a multiple of Hkv.
func.func @block_prior_grad_groups(%p: tensor<1x8x200x3xf32>, %dl: tensor<1x3x200x4xf32>, %init: tensor<1x8x200x3xf32>) -> tensor<1x8x200x3xf32> {
  // expected-error @+1 {{'dash.block_prior_grad' op H = 8 (dimension 1 of probs) must be a multiple of Hkv = 3 (dimension 1 of prior_grad)}}
  %dp = dash.block_prior_grad ins(%p, %dl : tensor<1x8x200x3xf32>, tensor<1x3x200x4xf32>) outs(%init : tensor<1x8x200x3xf32>)
  return %dp : tensor<1x8x200x3xf32>
}

// -----

// prior_grad is f32.
func.func @block_prior_grad_prior_type(%p: tensor<1x8x200x3xf32>, %dl: tensor<1x2x200x4xf64>, %init: tensor<1x8x200x3xf32>) -> tensor<1x8x200x3xf32> {
  // expected-error @+1 {{'dash.block_prior_grad' op operand #1 must be ranked tensor of 32-bit float values, but got 'tensor<1x2x200x4xf64>'}}
  %dp = dash.block_prior_grad ins(%p, %dl : tensor<1x8x200x3xf32>, tensor<1x2x200x4xf64>) outs(%init : tensor<1x8x200x3xf32>)
  return %dp : tensor<1x8x200x3xf32>
}

// -----

// init has the shape of probs.
func.func @block_prior_grad_init_shape(%p: tensor<1x8x200x3xf32>, %dl: tensor<1x2x200x4xf32>, %init: tensor<1x2x200x3xf32>) -> tensor<1x2x200x3xf32> {
  // expected-error @+1 {{'dash.block_prior_grad' op init shape must match probs shape}}
  %dp = dash.block_prior_grad ins(%p, %dl : tensor<1x8x200x3xf32>, tensor<1x2x200x4xf32>) outs(%init : tensor<1x2x200x3xf32>)
  return %dp : tensor<1x2x200x3xf32>
}

// -----

// block_size must be positive.
func.func @sparse_attention_grad_block_size(%q: tensor<1x8x200x64xf32>, %k: tensor<1x2x200x64xf32>, %v: tensor<1x2x200x64xf32>, %prior: tensor<1x2x200x4xf32>, %o: tensor<1x8x200x64xf32>, %lse: tensor<1x8x200xf32>, %do: tensor<1x8x200x64xf32>, %dqi: tensor<1x8x200x64xf32>, %dki: tensor<1x2x200x64xf32>, %dvi: tensor<1x2x200x64xf32>, %dli: tensor<1x2x200x4xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.sparse_attention_grad' op block_size must be >= 1, got 0}}
  %dq, %dk, %dv, %dl = dash.sparse_attention_grad ins(%q, %k, %v, %prior, %o, %lse, %do : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>, tensor<1x8x200x64xf32>, tensor<1x8x200xf32>, tensor<1x8x200x64xf32>) outs(%dqi, %dki, %dvi, %dli : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>) {block_size = 0}
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// scale must be positive.
func.func @sparse_attention_grad_scale(%q: tensor<1x8x200x64xf32>, %k: tensor<1x2x200x64xf32>, %v: tensor<1x2x200x64xf32>, %prior: tensor<1x2x200x4xf32>, %o: tensor<1x8x200x64xf32>, %lse: tensor<1x8x200xf32>, %do: tensor<1x8x200x64xf32>, %dqi: tensor<1x8x200x64xf32>, %dki: tensor<1x2x200x64xf32>, %dvi: tensor<1x2x200x64xf32>, %dli: tensor<1x2x200x4xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.sparse_attention_grad' op scale must be finite and > 0, got -1}}
  %dq, %dk, %dv, %dl = dash.sparse_attention_grad ins(%q, %k, %v, %prior, %o, %lse, %do : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>, tensor<1x8x200x64xf32>, tensor<1x8x200xf32>, tensor<1x8x200x64xf32>) outs(%dqi, %dki, %dvi, %dli : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>) {scale = -1.0}
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// H must be a multiple of Hkv.
func.func @sparse_attention_grad_groups(%q: tensor<1x8x200x64xf32>, %k: tensor<1x3x200x64xf32>, %v: tensor<1x3x200x64xf32>, %prior: tensor<1x2x200x4xf32>, %o: tensor<1x8x200x64xf32>, %lse: tensor<1x8x200xf32>, %do: tensor<1x8x200x64xf32>, %dqi: tensor<1x8x200x64xf32>, %dki: tensor<1x2x200x64xf32>, %dvi: tensor<1x2x200x64xf32>, %dli: tensor<1x2x200x4xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.sparse_attention_grad' op H = 8 (dimension 1 of query) must be a multiple of Hkv = 3 (dimension 1 of key)}}
  %dq, %dk, %dv, %dl = dash.sparse_attention_grad ins(%q, %k, %v, %prior, %o, %lse, %do : tensor<1x8x200x64xf32>, tensor<1x3x200x64xf32>, tensor<1x3x200x64xf32>, tensor<1x2x200x4xf32>, tensor<1x8x200x64xf32>, tensor<1x8x200xf32>, tensor<1x8x200x64xf32>) outs(%dqi, %dki, %dvi, %dli : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>)
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// Keys and queries share D.
func.func @sparse_attention_grad_key_head_dim(%q: tensor<1x8x200x64xf32>, %k: tensor<1x2x200x32xf32>, %v: tensor<1x2x200x64xf32>, %prior: tensor<1x2x200x4xf32>, %o: tensor<1x8x200x64xf32>, %lse: tensor<1x8x200xf32>, %do: tensor<1x8x200x64xf32>, %dqi: tensor<1x8x200x64xf32>, %dki: tensor<1x2x200x64xf32>, %dvi: tensor<1x2x200x64xf32>, %dli: tensor<1x2x200x4xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.sparse_attention_grad' op dimension 3 (D) of key is 32, but dimension 3 of query is 64}}
  %dq, %dk, %dv, %dl = dash.sparse_attention_grad ins(%q, %k, %v, %prior, %o, %lse, %do : tensor<1x8x200x64xf32>, tensor<1x2x200x32xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>, tensor<1x8x200x64xf32>, tensor<1x8x200xf32>, tensor<1x8x200x64xf32>) outs(%dqi, %dki, %dvi, %dli : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>)
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// V has the element type of Q.
func.func @sparse_attention_grad_value_type(%q: tensor<1x8x200x64xf32>, %k: tensor<1x2x200x64xf32>, %v: tensor<1x2x200x64xbf16>, %prior: tensor<1x2x200x4xf32>, %o: tensor<1x8x200x64xf32>, %lse: tensor<1x8x200xf32>, %do: tensor<1x8x200x64xf32>, %dqi: tensor<1x8x200x64xf32>, %dki: tensor<1x2x200x64xf32>, %dvi: tensor<1x2x200x64xf32>, %dli: tensor<1x2x200x4xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.sparse_attention_grad' op element type of value ('bf16') must match element type of query ('f32')}}
  %dq, %dk, %dv, %dl = dash.sparse_attention_grad ins(%q, %k, %v, %prior, %o, %lse, %do : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xbf16>, tensor<1x2x200x4xf32>, tensor<1x8x200x64xf32>, tensor<1x8x200xf32>, tensor<1x8x200x64xf32>) outs(%dqi, %dki, %dvi, %dli : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>)
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// log_prior has M = ceil(200 / 64) = 4 blocks.
func.func @sparse_attention_grad_prior_m(%q: tensor<1x8x200x64xf32>, %k: tensor<1x2x200x64xf32>, %v: tensor<1x2x200x64xf32>, %prior: tensor<1x2x200x3xf32>, %o: tensor<1x8x200x64xf32>, %lse: tensor<1x8x200xf32>, %do: tensor<1x8x200x64xf32>, %dqi: tensor<1x8x200x64xf32>, %dki: tensor<1x2x200x64xf32>, %dvi: tensor<1x2x200x64xf32>, %dli: tensor<1x2x200x4xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.sparse_attention_grad' op dimension 3 (M) of log_prior is 3, but ceil(N / block_size) with N = 200 is 4}}
  %dq, %dk, %dv, %dl = dash.sparse_attention_grad ins(%q, %k, %v, %prior, %o, %lse, %do : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x3xf32>, tensor<1x8x200x64xf32>, tensor<1x8x200xf32>, tensor<1x8x200x64xf32>) outs(%dqi, %dki, %dvi, %dli : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>)
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// output has the shape of the queries.
func.func @sparse_attention_grad_output(%q: tensor<1x8x200x64xf32>, %k: tensor<1x2x200x64xf32>, %v: tensor<1x2x200x64xf32>, %prior: tensor<1x2x200x4xf32>, %o: tensor<1x8x199x64xf32>, %lse: tensor<1x8x200xf32>, %do: tensor<1x8x200x64xf32>, %dqi: tensor<1x8x200x64xf32>, %dki: tensor<1x2x200x64xf32>, %dvi: tensor<1x2x200x64xf32>, %dli: tensor<1x2x200x4xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.sparse_attention_grad' op dimension 2 (N) of output is 199, but dimension 2 of query is 200}}
  %dq, %dk, %dv, %dl = dash.sparse_attention_grad ins(%q, %k, %v, %prior, %o, %lse, %do : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>, tensor<1x8x199x64xf32>, tensor<1x8x200xf32>, tensor<1x8x200x64xf32>) outs(%dqi, %dki, %dvi, %dli : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>)
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// lse is [B, H, N].
func.func @sparse_attention_grad_lse(%q: tensor<1x8x200x64xf32>, %k: tensor<1x2x200x64xf32>, %v: tensor<1x2x200x64xf32>, %prior: tensor<1x2x200x4xf32>, %o: tensor<1x8x200x64xf32>, %lse: tensor<1x2x200xf32>, %do: tensor<1x8x200x64xf32>, %dqi: tensor<1x8x200x64xf32>, %dki: tensor<1x2x200x64xf32>, %dvi: tensor<1x2x200x64xf32>, %dli: tensor<1x2x200x4xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.sparse_attention_grad' op dimension 1 (H) of lse is 2, but dimension 1 of query is 8}}
  %dq, %dk, %dv, %dl = dash.sparse_attention_grad ins(%q, %k, %v, %prior, %o, %lse, %do : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>, tensor<1x8x200x64xf32>, tensor<1x2x200xf32>, tensor<1x8x200x64xf32>) outs(%dqi, %dki, %dvi, %dli : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>)
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// lse is [B, H, N].
func.func @sparse_attention_grad_lse_rank(%q: tensor<1x8x200x64xf32>, %k: tensor<1x2x200x64xf32>, %v: tensor<1x2x200x64xf32>, %prior: tensor<1x2x200x4xf32>, %o: tensor<1x8x200x64xf32>, %lse: tensor<1x8x200x1xf32>, %do: tensor<1x8x200x64xf32>, %dqi: tensor<1x8x200x64xf32>, %dki: tensor<1x2x200x64xf32>, %dvi: tensor<1x2x200x64xf32>, %dli: tensor<1x2x200x4xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.sparse_attention_grad' op lse must have rank 3, got rank 4}}
  %dq, %dk, %dv, %dl = dash.sparse_attention_grad ins(%q, %k, %v, %prior, %o, %lse, %do : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>, tensor<1x8x200x64xf32>, tensor<1x8x200x1xf32>, tensor<1x8x200x64xf32>) outs(%dqi, %dki, %dvi, %dli : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>)
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// output_grad has the shape of the queries.
func.func @sparse_attention_grad_output_grad(%q: tensor<1x8x200x64xf32>, %k: tensor<1x2x200x64xf32>, %v: tensor<1x2x200x64xf32>, %prior: tensor<1x2x200x4xf32>, %o: tensor<1x8x200x64xf32>, %lse: tensor<1x8x200xf32>, %do: tensor<2x8x200x64xf32>, %dqi: tensor<1x8x200x64xf32>, %dki: tensor<1x2x200x64xf32>, %dvi: tensor<1x2x200x64xf32>, %dli: tensor<1x2x200x4xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.sparse_attention_grad' op dimension 0 (B) of output_grad is 2, but dimension 0 of query is 1}}
  %dq, %dk, %dv, %dl = dash.sparse_attention_grad ins(%q, %k, %v, %prior, %o, %lse, %do : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>, tensor<1x8x200x64xf32>, tensor<1x8x200xf32>, tensor<2x8x200x64xf32>) outs(%dqi, %dki, %dvi, %dli : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>)
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// query_grad_init has the shape of the queries.
func.func @sparse_attention_grad_query_init(%q: tensor<1x8x200x64xf32>, %k: tensor<1x2x200x64xf32>, %v: tensor<1x2x200x64xf32>, %prior: tensor<1x2x200x4xf32>, %o: tensor<1x8x200x64xf32>, %lse: tensor<1x8x200xf32>, %do: tensor<1x8x200x64xf32>, %dqi: tensor<1x2x200x64xf32>, %dki: tensor<1x2x200x64xf32>, %dvi: tensor<1x2x200x64xf32>, %dli: tensor<1x2x200x4xf32>) -> tensor<1x2x200x64xf32> {
  // expected-error @+1 {{'dash.sparse_attention_grad' op dimension 1 (H) of query_grad_init is 2, but dimension 1 of query is 8}}
  %dq, %dk, %dv, %dl = dash.sparse_attention_grad ins(%q, %k, %v, %prior, %o, %lse, %do : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>, tensor<1x8x200x64xf32>, tensor<1x8x200xf32>, tensor<1x8x200x64xf32>) outs(%dqi, %dki, %dvi, %dli : tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>)
  return %dq : tensor<1x2x200x64xf32>
}

// -----

// key_grad_init has the shape of the keys.
func.func @sparse_attention_grad_key_init(%q: tensor<1x8x200x64xf32>, %k: tensor<1x2x200x64xf32>, %v: tensor<1x2x200x64xf32>, %prior: tensor<1x2x200x4xf32>, %o: tensor<1x8x200x64xf32>, %lse: tensor<1x8x200xf32>, %do: tensor<1x8x200x64xf32>, %dqi: tensor<1x8x200x64xf32>, %dki: tensor<1x8x200x64xf32>, %dvi: tensor<1x2x200x64xf32>, %dli: tensor<1x2x200x4xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.sparse_attention_grad' op dimension 1 (Hkv) of key_grad_init is 8, but dimension 1 of key is 2}}
  %dq, %dk, %dv, %dl = dash.sparse_attention_grad ins(%q, %k, %v, %prior, %o, %lse, %do : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>, tensor<1x8x200x64xf32>, tensor<1x8x200xf32>, tensor<1x8x200x64xf32>) outs(%dqi, %dki, %dvi, %dli : tensor<1x8x200x64xf32>, tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>)
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// value_grad_init has the shape of the values.
func.func @sparse_attention_grad_value_init(%q: tensor<1x8x200x64xf32>, %k: tensor<1x2x200x64xf32>, %v: tensor<1x2x200x64xf32>, %prior: tensor<1x2x200x4xf32>, %o: tensor<1x8x200x64xf32>, %lse: tensor<1x8x200xf32>, %do: tensor<1x8x200x64xf32>, %dqi: tensor<1x8x200x64xf32>, %dki: tensor<1x2x200x64xf32>, %dvi: tensor<1x2x200x16xf32>, %dli: tensor<1x2x200x4xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.sparse_attention_grad' op dimension 3 (D) of value_grad_init is 16, but dimension 3 of query is 64}}
  %dq, %dk, %dv, %dl = dash.sparse_attention_grad ins(%q, %k, %v, %prior, %o, %lse, %do : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>, tensor<1x8x200x64xf32>, tensor<1x8x200xf32>, tensor<1x8x200x64xf32>) outs(%dqi, %dki, %dvi, %dli : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x16xf32>, tensor<1x2x200x4xf32>)
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// log_prior_grad_init has the shape of log_prior.
func.func @sparse_attention_grad_prior_init(%q: tensor<1x8x200x64xf32>, %k: tensor<1x2x200x64xf32>, %v: tensor<1x2x200x64xf32>, %prior: tensor<1x2x200x4xf32>, %o: tensor<1x8x200x64xf32>, %lse: tensor<1x8x200xf32>, %do: tensor<1x8x200x64xf32>, %dqi: tensor<1x8x200x64xf32>, %dki: tensor<1x2x200x64xf32>, %dvi: tensor<1x2x200x64xf32>, %dli: tensor<1x2x200x3xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.sparse_attention_grad' op dimension 3 (M) of log_prior_grad_init is 3, but ceil(N / block_size) with N = 200 is 4}}
  %dq, %dk, %dv, %dl = dash.sparse_attention_grad ins(%q, %k, %v, %prior, %o, %lse, %do : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>, tensor<1x8x200x64xf32>, tensor<1x8x200xf32>, tensor<1x8x200x64xf32>) outs(%dqi, %dki, %dvi, %dli : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x3xf32>)
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// log_prior_grad_init is f32.
func.func @sparse_attention_grad_prior_init_type(%q: tensor<1x8x200x64xf32>, %k: tensor<1x2x200x64xf32>, %v: tensor<1x2x200x64xf32>, %prior: tensor<1x2x200x4xf32>, %o: tensor<1x8x200x64xf32>, %lse: tensor<1x8x200xf32>, %do: tensor<1x8x200x64xf32>, %dqi: tensor<1x8x200x64xf32>, %dki: tensor<1x2x200x64xf32>, %dvi: tensor<1x2x200x64xf32>, %dli: tensor<1x2x200x4xbf16>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.sparse_attention_grad' op operand #10 must be ranked tensor of 32-bit float values, but got 'tensor<1x2x200x4xbf16>'}}
  %dq, %dk, %dv, %dl = dash.sparse_attention_grad ins(%q, %k, %v, %prior, %o, %lse, %do : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>, tensor<1x8x200x64xf32>, tensor<1x8x200xf32>, tensor<1x8x200x64xf32>) outs(%dqi, %dki, %dvi, %dli : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xbf16>)
  return %dq : tensor<1x8x200x64xf32>
}

// -----

// alpha must be > 1.
func.func @attention_grad_alpha(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>, %w: tensor<2x32xf32>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+1 {{'dash.attention_grad' op alpha must be finite and > 1, got 0.5}}
  %rdq, %rdk, %rdv, %rdw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do {alpha = 0.5} : tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128xf32>, tensor<1x4x128x32xf32>, tensor<2x32xf32> -> tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<2x32xf32>
  return %rdq : tensor<1x4x128x32xf32>
}

// -----

// block_size must be positive.
func.func @attention_grad_block_size(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>, %w: tensor<2x32xf32>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+1 {{'dash.attention_grad' op block_size must be >= 1, got 0}}
  %rdq, %rdk, %rdv, %rdw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do {block_size = 0} : tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128xf32>, tensor<1x4x128x32xf32>, tensor<2x32xf32> -> tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<2x32xf32>
  return %rdq : tensor<1x4x128x32xf32>
}

// -----

// gamma must be positive.
func.func @attention_grad_gamma(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>, %w: tensor<2x32xf32>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+1 {{'dash.attention_grad' op gamma must be finite and > 0, got -1}}
  %rdq, %rdk, %rdv, %rdw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do {gamma = -1.0} : tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128xf32>, tensor<1x4x128x32xf32>, tensor<2x32xf32> -> tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<2x32xf32>
  return %rdq : tensor<1x4x128x32xf32>
}

// -----

// sigma must be positive.
func.func @attention_grad_sigma(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>, %w: tensor<2x32xf32>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+1 {{'dash.attention_grad' op sigma must be finite and > 0, got 0}}
  %rdq, %rdk, %rdv, %rdw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do {sigma = 0.0} : tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128xf32>, tensor<1x4x128x32xf32>, tensor<2x32xf32> -> tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<2x32xf32>
  return %rdq : tensor<1x4x128x32xf32>
}

// -----

// scale must be positive.
func.func @attention_grad_scale(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>, %w: tensor<2x32xf32>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+1 {{'dash.attention_grad' op scale must be finite and > 0, got 0}}
  %rdq, %rdk, %rdv, %rdw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do {scale = 0.0} : tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128xf32>, tensor<1x4x128x32xf32>, tensor<2x32xf32> -> tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<2x32xf32>
  return %rdq : tensor<1x4x128x32xf32>
}

// -----

// local_blocks must be >= 0.
func.func @attention_grad_local_blocks(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>, %w: tensor<2x32xf32>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+1 {{'dash.attention_grad' op local_blocks must be >= 0, got -1}}
  %rdq, %rdk, %rdv, %rdw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do {local_blocks = -1} : tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128xf32>, tensor<1x4x128x32xf32>, tensor<2x32xf32> -> tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<2x32xf32>
  return %rdq : tensor<1x4x128x32xf32>
}

// -----

// init_blocks must be >= 0.
func.func @attention_grad_init_blocks(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>, %w: tensor<2x32xf32>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+1 {{'dash.attention_grad' op init_blocks must be >= 0, got -1}}
  %rdq, %rdk, %rdv, %rdw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do {init_blocks = -1} : tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128xf32>, tensor<1x4x128x32xf32>, tensor<2x32xf32> -> tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<2x32xf32>
  return %rdq : tensor<1x4x128x32xf32>
}

// -----

// router_grad is full or none.
func.func @attention_grad_router_grad(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>, %w: tensor<2x32xf32>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+2 {{expected ::mlir::dash::RouterGrad to be one of: full, none}}
  // expected-error @+1 {{failed to parse Dash_RouterGradAttr parameter 'value' which is to be a `::mlir::dash::RouterGrad`}}
  %rdq, %rdk, %rdv, %rdw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do {router_grad = #dash.router_grad<some>} : tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128xf32>, tensor<1x4x128x32xf32>, tensor<2x32xf32> -> tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<2x32xf32>
  return %rdq : tensor<1x4x128x32xf32>
}

// -----

// H must be a multiple of Hkv.
func.func @attention_grad_groups(%q: tensor<1x4x128x32xf32>, %k: tensor<1x3x128x32xf32>, %v: tensor<1x3x128x32xf32>, %w: tensor<3x32xf32>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+1 {{'dash.attention_grad' op H = 4 (dimension 1 of query) must be a multiple of Hkv = 3 (dimension 1 of key)}}
  %rdq, %rdk, %rdv, %rdw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do : tensor<1x4x128x32xf32>, tensor<1x3x128x32xf32>, tensor<1x3x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128xf32>, tensor<1x4x128x32xf32>, tensor<3x32xf32> -> tensor<1x4x128x32xf32>, tensor<1x3x128x32xf32>, tensor<1x3x128x32xf32>, tensor<3x32xf32>
  return %rdq : tensor<1x4x128x32xf32>
}

// -----

// K has the element type of Q.
func.func @attention_grad_key_type(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xbf16>, %v: tensor<1x2x128x32xf32>, %w: tensor<2x32xf32>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+1 {{'dash.attention_grad' op element type of key ('bf16') must match element type of query ('f32')}}
  %rdq, %rdk, %rdv, %rdw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do : tensor<1x4x128x32xf32>, tensor<1x2x128x32xbf16>, tensor<1x2x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128xf32>, tensor<1x4x128x32xf32>, tensor<2x32xf32> -> tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<2x32xf32>
  return %rdq : tensor<1x4x128x32xf32>
}

// -----

// W has the element type of Q.
func.func @attention_grad_w_type(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>, %w: tensor<2x32xbf16>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+1 {{'dash.attention_grad' op element type of summary_query ('bf16') must match element type of query ('f32')}}
  %rdq, %rdk, %rdv, %rdw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do : tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128xf32>, tensor<1x4x128x32xf32>, tensor<2x32xbf16> -> tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<2x32xf32>
  return %rdq : tensor<1x4x128x32xf32>
}

// -----

// W has one row per KV head.
func.func @attention_grad_w_heads(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>, %w: tensor<4x32xf32>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+1 {{'dash.attention_grad' op dimension 0 (Hkv) of summary_query is 4, but dimension 1 of key is 2}}
  %rdq, %rdk, %rdv, %rdw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do : tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128xf32>, tensor<1x4x128x32xf32>, tensor<4x32xf32> -> tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<2x32xf32>
  return %rdq : tensor<1x4x128x32xf32>
}

// -----

// output has the shape of the queries.
func.func @attention_grad_output(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>, %w: tensor<2x32xf32>, %o: tensor<1x4x64x32xf32>, %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+1 {{'dash.attention_grad' op dimension 2 (N) of output is 64, but dimension 2 of query is 128}}
  %rdq, %rdk, %rdv, %rdw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do : tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x4x64x32xf32>, tensor<1x4x128xf32>, tensor<1x4x128x32xf32>, tensor<2x32xf32> -> tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<2x32xf32>
  return %rdq : tensor<1x4x128x32xf32>
}

// -----

// lse is [B, H, N].
func.func @attention_grad_lse(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>, %w: tensor<2x32xf32>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x2x128xf32>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+1 {{'dash.attention_grad' op dimension 1 (H) of lse is 2, but dimension 1 of query is 4}}
  %rdq, %rdk, %rdv, %rdw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do : tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x2x128xf32>, tensor<1x4x128x32xf32>, tensor<2x32xf32> -> tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<2x32xf32>
  return %rdq : tensor<1x4x128x32xf32>
}

// -----

// lse is f32.
func.func @attention_grad_lse_type(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>, %w: tensor<2x32xf32>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x4x128xbf16>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+1 {{'dash.attention_grad' op operand #5 must be ranked tensor of 32-bit float values, but got 'tensor<1x4x128xbf16>'}}
  %rdq, %rdk, %rdv, %rdw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do : tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128xbf16>, tensor<1x4x128x32xf32>, tensor<2x32xf32> -> tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<2x32xf32>
  return %rdq : tensor<1x4x128x32xf32>
}

// -----

// output_grad has the shape of the queries.
func.func @attention_grad_output_grad(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>, %w: tensor<2x32xf32>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x16xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+1 {{'dash.attention_grad' op dimension 3 (D) of output_grad is 16, but dimension 3 of query is 32}}
  %rdq, %rdk, %rdv, %rdw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do : tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128xf32>, tensor<1x4x128x16xf32>, tensor<2x32xf32> -> tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<2x32xf32>
  return %rdq : tensor<1x4x128x32xf32>
}

// -----

// dQ has the element type of Q.
func.func @attention_grad_query_grad_type(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>, %w: tensor<2x32xf32>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xbf16> {
  // expected-error @+1 {{'dash.attention_grad' op element type of query_grad ('bf16') must match element type of query ('f32')}}
  %rdq, %rdk, %rdv, %rdw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do : tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128xf32>, tensor<1x4x128x32xf32>, tensor<2x32xf32> -> tensor<1x4x128x32xbf16>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<2x32xf32>
  return %rdq : tensor<1x4x128x32xbf16>
}

// -----

// dK has the shape of K.
func.func @attention_grad_key_grad_shape(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>, %w: tensor<2x32xf32>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+1 {{'dash.attention_grad' op dimension 1 (Hkv) of key_grad is 4, but dimension 1 of key is 2}}
  %rdq, %rdk, %rdv, %rdw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do : tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128xf32>, tensor<1x4x128x32xf32>, tensor<2x32xf32> -> tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<2x32xf32>
  return %rdq : tensor<1x4x128x32xf32>
}

// -----

// dV has the shape of V.
func.func @attention_grad_value_grad_shape(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>, %w: tensor<2x32xf32>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+1 {{'dash.attention_grad' op dimension 2 (N) of value_grad is 127, but dimension 2 of query is 128}}
  %rdq, %rdk, %rdv, %rdw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do : tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128xf32>, tensor<1x4x128x32xf32>, tensor<2x32xf32> -> tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x127x32xf32>, tensor<2x32xf32>
  return %rdq : tensor<1x4x128x32xf32>
}

// -----

// dV has the element type of Q.
func.func @attention_grad_value_grad_type(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>, %w: tensor<2x32xf32>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+1 {{'dash.attention_grad' op element type of value_grad ('f16') must match element type of query ('f32')}}
  %rdq, %rdk, %rdv, %rdw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do : tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128xf32>, tensor<1x4x128x32xf32>, tensor<2x32xf32> -> tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf16>, tensor<2x32xf32>
  return %rdq : tensor<1x4x128x32xf32>
}

// -----

// W given but no dW returned.
func.func @attention_grad_missing_dw(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>, %w: tensor<2x32xf32>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+1 {{'dash.attention_grad' op summary_query_grad must be returned exactly when summary_query is given}}
  %rdq, %rdk, %rdv = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do : tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128xf32>, tensor<1x4x128x32xf32>, tensor<2x32xf32> -> tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>
  return %rdq : tensor<1x4x128x32xf32>
}

// -----

// dW returned without W. Generic form: the custom form of dash.attention_grad
// without W does not parse back (see grad-ops-no-w.mlir).
func.func @attention_grad_extra_dw(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+1 {{'dash.attention_grad' op summary_query_grad must be returned exactly when summary_query is given}}
  %r:4 = "dash.attention_grad"(%q, %k, %v, %o, %lse, %do) : (tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<2x32xf32>)
  return %r#0 : tensor<1x4x128x32xf32>
}

// -----

// dW has the shape of W.
func.func @attention_grad_dw_shape(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>, %w: tensor<2x32xf32>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+1 {{'dash.attention_grad' op dimension 1 (D) of summary_query_grad is 16, but dimension 3 of query is 32}}
  %rdq, %rdk, %rdv, %rdw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do : tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128xf32>, tensor<1x4x128x32xf32>, tensor<2x32xf32> -> tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<2x16xf32>
  return %rdq : tensor<1x4x128x32xf32>
}

// -----

// dW is [Hkv, D].
func.func @attention_grad_dw_rank(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>, %w: tensor<2x32xf32>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+1 {{'dash.attention_grad' op summary_query_grad must have rank 2, got rank 1}}
  %rdq, %rdk, %rdv, %rdw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do : tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128xf32>, tensor<1x4x128x32xf32>, tensor<2x32xf32> -> tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<64xf32>
  return %rdq : tensor<1x4x128x32xf32>
}

// -----

// dW has the element type of Q.
func.func @attention_grad_dw_type(%q: tensor<1x4x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>, %w: tensor<2x32xf32>, %o: tensor<1x4x128x32xf32>, %lse: tensor<1x4x128xf32>, %do: tensor<1x4x128x32xf32>) -> tensor<1x4x128x32xf32> {
  // expected-error @+1 {{'dash.attention_grad' op element type of summary_query_grad ('f64') must match element type of query ('f32')}}
  %rdq, %rdk, %rdv, %rdw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do : tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128xf32>, tensor<1x4x128x32xf32>, tensor<2x32xf32> -> tensor<1x4x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<2x32xf64>
  return %rdq : tensor<1x4x128x32xf32>
}
