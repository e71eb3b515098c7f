// Every verifier and parser error of the dash ops, with its message.
// RUN: dash-opt %s --split-input-file --verify-diagnostics

func.func @attention_rank(%q: tensor<8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<8x256x64xf32> {
  // expected-error @+1 {{'dash.attention' op query must have rank 4, got rank 3}}
  %o = dash.attention %q, %k, %v : tensor<8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<8x256x64xf32>
  return %o : tensor<8x256x64xf32>
}

// -----

func.func @attention_groups(%q: tensor<1x6x256x64xf32>, %k: tensor<1x4x256x64xf32>, %v: tensor<1x4x256x64xf32>) -> tensor<1x6x256x64xf32> {
  // expected-error @+1 {{'dash.attention' op H = 6 (dimension 1 of query) must be a multiple of Hkv = 4 (dimension 1 of key)}}
  %o = dash.attention %q, %k, %v : tensor<1x6x256x64xf32>, tensor<1x4x256x64xf32>, tensor<1x4x256x64xf32> -> tensor<1x6x256x64xf32>
  return %o : tensor<1x6x256x64xf32>
}

// -----

func.func @attention_head_dim(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x32xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<1x8x256x64xf32> {
  // expected-error @+1 {{'dash.attention' op dimension 3 (D) of key is 32, but dimension 3 of query is 64}}
  %o = dash.attention %q, %k, %v : tensor<1x8x256x64xf32>, tensor<1x2x256x32xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x256x64xf32>
  return %o : tensor<1x8x256x64xf32>
}

// -----

func.func @attention_seq_len(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x128x64xf32>) -> tensor<1x8x256x64xf32> {
  // expected-error @+1 {{'dash.attention' op dimension 2 (N) of value is 128, but dimension 2 of query is 256}}
  %o = dash.attention %q, %k, %v : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x128x64xf32> -> tensor<1x8x256x64xf32>
  return %o : tensor<1x8x256x64xf32>
}

// -----

func.func @attention_batch(%q: tensor<2x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<2x8x256x64xf32> {
  // expected-error @+1 {{'dash.attention' op dimension 0 (B) of key is 1, but dimension 0 of query is 2}}
  %o = dash.attention %q, %k, %v : tensor<2x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<2x8x256x64xf32>
  return %o : tensor<2x8x256x64xf32>
}

// -----

func.func @attention_alpha(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<1x8x256x64xf32> {
  // expected-error @+1 {{'dash.attention' op alpha must be finite and > 1, got 1}}
  %o = dash.attention %q, %k, %v {alpha = 1.0} : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x256x64xf32>
  return %o : tensor<1x8x256x64xf32>
}

// -----

func.func @attention_alpha_nan(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<1x8x256x64xf32> {
  // expected-error @+1 {{'dash.attention' op alpha must be finite and > 1, got nan}}
  %o = dash.attention %q, %k, %v {alpha = 0x7FF8000000000000 : f64} : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x256x64xf32>
  return %o : tensor<1x8x256x64xf32>
}

// -----

func.func @attention_block_size(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<1x8x256x64xf32> {
  // expected-error @+1 {{'dash.attention' op block_size must be >= 1, got 0}}
  %o = dash.attention %q, %k, %v {block_size = 0} : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x256x64xf32>
  return %o : tensor<1x8x256x64xf32>
}

// -----

func.func @attention_gamma(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<1x8x256x64xf32> {
  // expected-error @+1 {{'dash.attention' op gamma must be finite and > 0, got -1}}
  %o = dash.attention %q, %k, %v {gamma = -1.0} : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x256x64xf32>
  return %o : tensor<1x8x256x64xf32>
}

// -----

func.func @attention_sigma(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<1x8x256x64xf32> {
  // expected-error @+1 {{'dash.attention' op sigma must be finite and > 0, got 0}}
  %o = dash.attention %q, %k, %v {sigma = 0.0} : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x256x64xf32>
  return %o : tensor<1x8x256x64xf32>
}

// -----

func.func @attention_scale(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<1x8x256x64xf32> {
  // expected-error @+1 {{'dash.attention' op scale must be finite and > 0, got inf}}
  %o = dash.attention %q, %k, %v {scale = 0x7FF0000000000000 : f64} : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x256x64xf32>
  return %o : tensor<1x8x256x64xf32>
}

// -----

// A scale that float32 kernels would turn into 0.
func.func @attention_scale_tiny(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<1x8x256x64xf32> {
  // expected-error @+1 {{'dash.attention' op scale must be a normal float32 at most 2^127 (1.2e-38 to 1.7e38), got 1e-50}}
  %o = dash.attention %q, %k, %v {scale = 1.0e-50 : f64} : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x256x64xf32>
  return %o : tensor<1x8x256x64xf32>
}

// -----

func.func @attention_local_blocks(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<1x8x256x64xf32> {
  // expected-error @+1 {{'dash.attention' op local_blocks must be >= 0, got -1}}
  %o = dash.attention %q, %k, %v {local_blocks = -1} : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x256x64xf32>
  return %o : tensor<1x8x256x64xf32>
}

// -----

func.func @attention_init_blocks(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<1x8x256x64xf32> {
  // expected-error @+1 {{'dash.attention' op init_blocks must be >= 0, got -2}}
  %o = dash.attention %q, %k, %v {init_blocks = -2} : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x256x64xf32>
  return %o : tensor<1x8x256x64xf32>
}

// -----

func.func @attention_alpha_type(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<1x8x256x64xf32> {
  // expected-error @+1 {{custom op 'dash.attention' 'dash.attention' op attribute 'alpha' failed to satisfy constraint: 64-bit float attribute}}
  %o = dash.attention %q, %k, %v {alpha = 2 : i64} : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x256x64xf32>
  return %o : tensor<1x8x256x64xf32>
}

// -----

func.func @attention_prior_mode(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<1x8x256x64xf32> {
  // expected-error @+2 {{expected ::mlir::dash::PriorMode to be one of: raw, centered, flat}}
  // expected-error @+1 {{failed to parse Dash_PriorModeAttr parameter 'value' which is to be a `::mlir::dash::PriorMode`}}
  %o = dash.attention %q, %k, %v {prior_mode = #dash.prior_mode<sharp>} : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x256x64xf32>
  return %o : tensor<1x8x256x64xf32>
}

// -----

func.func @attention_prior_mode_string(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<1x8x256x64xf32> {
  // expected-error @+1 {{custom op 'dash.attention' 'dash.attention' op attribute 'prior_mode' failed to satisfy constraint: how entmax probabilities become the log-prior}}
  %o = dash.attention %q, %k, %v {prior_mode = "raw"} : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x256x64xf32>
  return %o : tensor<1x8x256x64xf32>
}

// -----

func.func @attention_element_type(%q: tensor<1x8x256x64xbf16>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<1x8x256x64xbf16> {
  // expected-error @+1 {{'dash.attention' op element type of key ('f32') must match element type of query ('bf16')}}
  %o = dash.attention %q, %k, %v : tensor<1x8x256x64xbf16>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x256x64xbf16>
  return %o : tensor<1x8x256x64xbf16>
}

// -----

func.func @attention_int_element(%q: tensor<1x8x256x64xi8>, %k: tensor<1x2x256x64xi8>, %v: tensor<1x2x256x64xi8>) -> tensor<1x8x256x64xi8> {
  // expected-error @+1 {{'dash.attention' op operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<1x8x256x64xi8>'}}
  %o = dash.attention %q, %k, %v : tensor<1x8x256x64xi8>, tensor<1x2x256x64xi8>, tensor<1x2x256x64xi8> -> tensor<1x8x256x64xi8>
  return %o : tensor<1x8x256x64xi8>
}

// -----

func.func @attention_output_type(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<1x8x256x64xf16> {
  // expected-error @+1 {{'dash.attention' op element type of output ('f16') must match element type of query ('f32')}}
  %o = dash.attention %q, %k, %v : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x256x64xf16>
  return %o : tensor<1x8x256x64xf16>
}

// -----

func.func @attention_output_shape(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<1x8x255x64xf32> {
  // expected-error @+1 {{'dash.attention' op dimension 2 (N) of output is 255, but dimension 2 of query is 256}}
  %o = dash.attention %q, %k, %v : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x255x64xf32>
  return %o : tensor<1x8x255x64xf32>
}

// -----

func.func @attention_summary_heads(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>, %w: tensor<4x64xf32>) -> tensor<1x8x256x64xf32> {
  // expected-error @+1 {{'dash.attention' op dimension 0 (Hkv) of summary_query is 4, but dimension 1 of key is 2}}
  %o = dash.attention %q, %k, %v summary %w : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32>, tensor<4x64xf32> -> tensor<1x8x256x64xf32>
  return %o : tensor<1x8x256x64xf32>
}

// -----

func.func @attention_summary_rank(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>, %w: tensor<64xf32>) -> tensor<1x8x256x64xf32> {
  // expected-error @+1 {{'dash.attention' op summary_query must have rank 2, got rank 1}}
  %o = dash.attention %q, %k, %v summary %w : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32>, tensor<64xf32> -> tensor<1x8x256x64xf32>
  return %o : tensor<1x8x256x64xf32>
}

// -----

func.func @attention_summary_type(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>, %w: tensor<2x64xbf16>) -> tensor<1x8x256x64xf32> {
  // expected-error @+1 {{'dash.attention' op element type of summary_query ('bf16') must match element type of query ('f32')}}
  %o = dash.attention %q, %k, %v summary %w : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32>, tensor<2x64xbf16> -> tensor<1x8x256x64xf32>
  return %o : tensor<1x8x256x64xf32>
}

// -----

func.func @attention_lse_shape(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<1x8x256x64xf32> {
  // expected-error @+1 {{'dash.attention' op dimension 1 (H) of lse is 2, but dimension 1 of query is 8}}
  %o, %lse = dash.attention %q, %k, %v : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x256x64xf32> lse tensor<1x2x256xf32>
  return %o : tensor<1x8x256x64xf32>
}

// -----

func.func @attention_lse_type(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<1x8x256x64xf32> {
  // expected-error @+1 {{'dash.attention' op result #1 must be ranked tensor of 32-bit float values, but got 'tensor<1x8x256xf16>'}}
  %o, %lse = dash.attention %q, %k, %v : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x256x64xf32> lse tensor<1x8x256xf16>
  return %o : tensor<1x8x256x64xf32>
}

// -----

func.func @attention_counts_shape(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<1x8x256x64xf32> {
  // expected-error @+1 {{'dash.attention' op dimension 1 (Hkv) of counts is 8, but dimension 1 of key is 2}}
  %o, %c = dash.attention %q, %k, %v : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x256x64xf32> counts tensor<1x8x256xi32>
  return %o : tensor<1x8x256x64xf32>
}

// -----

func.func @attention_counts_type(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<1x8x256x64xf32> {
  // expected-error @+1 {{'dash.attention' op result #1 must be ranked tensor of 32-bit signless integer values, but got 'tensor<1x2x256xi64>'}}
  %o, %c = dash.attention %q, %k, %v : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x256x64xf32> counts tensor<1x2x256xi64>
  return %o : tensor<1x8x256x64xf32>
}

// -----

func.func @attention_unranked(%q: tensor<*xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<1x8x256x64xf32> {
  // expected-error @+1 {{custom op 'dash.attention' invalid kind of type specified: expected builtin.tensor, but found 'tensor<*xf32>'}}
  %o = dash.attention %q, %k, %v : tensor<*xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x256x64xf32>
  return %o : tensor<1x8x256x64xf32>
}

// -----

func.func @summarize_block_size(%k: tensor<1x2x200x64xf32>, %init: tensor<1x2x3x64xf32>) -> tensor<1x2x3x64xf32> {
  // expected-error @+1 {{'dash.summarize' op block_size must be >= 1, got -4}}
  %0 = dash.summarize ins(%k : tensor<1x2x200x64xf32>) outs(%init : tensor<1x2x3x64xf32>) {block_size = -4}
  return %0 : tensor<1x2x3x64xf32>
}

// -----

func.func @summarize_blocks(%k: tensor<1x2x200x64xf32>, %init: tensor<1x2x4x64xf32>) -> tensor<1x2x4x64xf32> {
  // expected-error @+1 {{'dash.summarize' op dimension 2 (Mc) of init is 4, but floor(N / block_size) with N = 200 is 3}}
  %0 = dash.summarize ins(%k : tensor<1x2x200x64xf32>) outs(%init : tensor<1x2x4x64xf32>)
  return %0 : tensor<1x2x4x64xf32>
}

// -----

func.func @summarize_summary_dim(%k: tensor<1x2x200x64xf32>, %w: tensor<2x32xf32>, %init: tensor<1x2x3x64xf32>) -> tensor<1x2x3x64xf32> {
  // expected-error @+1 {{'dash.summarize' op dimension 1 (D) of summary_query is 32, but dimension 3 of key is 64}}
  %0 = dash.summarize ins(%k, %w : tensor<1x2x200x64xf32>, tensor<2x32xf32>) outs(%init : tensor<1x2x3x64xf32>)
  return %0 : tensor<1x2x3x64xf32>
}

// -----

func.func @summarize_summary_type(%k: tensor<1x2x200x64xf32>, %w: tensor<2x64xf16>, %init: tensor<1x2x3x64xf32>) -> tensor<1x2x3x64xf32> {
  // expected-error @+1 {{'dash.summarize' op element type of summary_query ('f16') must match element type of key ('f32')}}
  %0 = dash.summarize ins(%k, %w : tensor<1x2x200x64xf32>, tensor<2x64xf16>) outs(%init : tensor<1x2x3x64xf32>)
  return %0 : tensor<1x2x3x64xf32>
}

// -----

func.func @summarize_scale(%k: tensor<1x2x200x64xf32>, %init: tensor<1x2x3x64xf32>) -> tensor<1x2x3x64xf32> {
  // expected-error @+1 {{'dash.summarize' op scale must be finite and > 0, got -0.5}}
  %0 = dash.summarize ins(%k : tensor<1x2x200x64xf32>) outs(%init : tensor<1x2x3x64xf32>) {scale = -0.5}
  return %0 : tensor<1x2x3x64xf32>
}

// -----

func.func @route_logits_groups(%q: tensor<1x8x200x64xf32>, %kbar: tensor<1x3x3x64xf32>, %init: tensor<1x8x200x3xf32>) -> tensor<1x8x200x3xf32> {
  // expected-error @+1 {{'dash.route_logits' op H = 8 (dimension 1 of query) must be a multiple of Hkv = 3 (dimension 1 of summaries)}}
  %z = dash.route_logits ins(%q, %kbar : tensor<1x8x200x64xf32>, tensor<1x3x3x64xf32>) outs(%init : tensor<1x8x200x3xf32>)
  return %z : tensor<1x8x200x3xf32>
}

// -----

func.func @route_logits_head_dim(%q: tensor<1x8x200x64xf32>, %kbar: tensor<1x2x3x16xf32>, %init: tensor<1x8x200x3xf32>) -> tensor<1x8x200x3xf32> {
  // expected-error @+1 {{'dash.route_logits' op dimension 3 (D) of summaries is 16, but dimension 3 of query is 64}}
  %z = dash.route_logits ins(%q, %kbar : tensor<1x8x200x64xf32>, tensor<1x2x3x16xf32>) outs(%init : tensor<1x8x200x3xf32>)
  return %z : tensor<1x8x200x3xf32>
}

// -----

func.func @route_logits_blocks(%q: tensor<1x8x200x64xf32>, %kbar: tensor<1x2x3x64xf32>, %init: tensor<1x8x200x4xf32>) -> tensor<1x8x200x4xf32> {
  // expected-error @+1 {{'dash.route_logits' op dimension 3 (Mc) of init is 4, but floor(N / block_size) with N = 200 is 3}}
  %z = dash.route_logits ins(%q, %kbar : tensor<1x8x200x64xf32>, tensor<1x2x3x64xf32>) outs(%init : tensor<1x8x200x4xf32>)
  return %z : tensor<1x8x200x4xf32>
}

// -----

func.func @route_logits_gamma(%q: tensor<1x8x200x64xf32>, %kbar: tensor<1x2x3x64xf32>, %init: tensor<1x8x200x3xf32>) -> tensor<1x8x200x3xf32> {
  // expected-error @+1 {{'dash.route_logits' op gamma must be finite and > 0, got 0}}
  %z = dash.route_logits ins(%q, %kbar : tensor<1x8x200x64xf32>, tensor<1x2x3x64xf32>) outs(%init : tensor<1x8x200x3xf32>) {gamma = 0.0}
  return %z : tensor<1x8x200x3xf32>
}

// -----

func.func @route_logits_f16(%q: tensor<1x8x200x64xf32>, %kbar: tensor<1x2x3x64xf32>, %init: tensor<1x8x200x3xf16>) -> tensor<1x8x200x3xf16> {
  // expected-error @+1 {{'dash.route_logits' op operand #2 must be ranked tensor of 32-bit float values, but got 'tensor<1x8x200x3xf16>'}}
  %z = dash.route_logits ins(%q, %kbar : tensor<1x8x200x64xf32>, tensor<1x2x3x64xf32>) outs(%init : tensor<1x8x200x3xf16>)
  return %z : tensor<1x8x200x3xf16>
}

// -----

func.func @entmax_alpha(%x: tensor<8x16xf32>, %p: tensor<8x16xf32>, %t: tensor<8xf32>) -> tensor<8x16xf32> {
  // expected-error @+1 {{'dash.entmax' op alpha must be finite and > 1, got 0.5}}
  %probs, %tau = dash.entmax ins(%x : tensor<8x16xf32>) outs(%p, %t : tensor<8x16xf32>, tensor<8xf32>) {alpha = 0.5, dimension = 1}
  return %probs : tensor<8x16xf32>
}

// -----

func.func @entmax_dimension(%x: tensor<8x16xf32>, %p: tensor<8x16xf32>, %t: tensor<8xf32>) -> tensor<8x16xf32> {
  // expected-error @+1 {{'dash.entmax' op dimension 2 is out of range for input of rank 2}}
  %probs, %tau = dash.entmax ins(%x : tensor<8x16xf32>) outs(%p, %t : tensor<8x16xf32>, tensor<8xf32>) {dimension = 2}
  return %probs : tensor<8x16xf32>
}

// -----

func.func @entmax_missing_dimension(%x: tensor<8x16xf32>, %p: tensor<8x16xf32>, %t: tensor<8xf32>) -> tensor<8x16xf32> {
  // expected-error @+1 {{'dash.entmax' op requires attribute 'dimension'}}
  %probs, %tau = dash.entmax ins(%x : tensor<8x16xf32>) outs(%p, %t : tensor<8x16xf32>, tensor<8xf32>)
  return %probs : tensor<8x16xf32>
}

// -----

func.func @entmax_tau_shape(%x: tensor<8x16xf32>, %p: tensor<8x16xf32>, %t: tensor<16xf32>) -> tensor<8x16xf32> {
  // expected-error @+1 {{'dash.entmax' op tau_init shape must be the input shape without dimension 1}}
  %probs, %tau = dash.entmax ins(%x : tensor<8x16xf32>) outs(%p, %t : tensor<8x16xf32>, tensor<16xf32>) {dimension = 1}
  return %probs : tensor<8x16xf32>
}

// -----

func.func @entmax_probs_shape(%x: tensor<8x16xf32>, %p: tensor<8x15xf32>, %t: tensor<8xf32>) -> tensor<8x15xf32> {
  // expected-error @+1 {{'dash.entmax' op probs_init shape must match input shape}}
  %probs, %tau = dash.entmax ins(%x : tensor<8x16xf32>) outs(%p, %t : tensor<8x15xf32>, tensor<8xf32>) {dimension = 1}
  return %probs : tensor<8x15xf32>
}

// -----

func.func @entmax_probs_type(%x: tensor<8x16xf32>, %p: tensor<8x16xf64>, %t: tensor<8xf32>) -> tensor<8x16xf64> {
  // expected-error @+1 {{'dash.entmax' op element type of probs_init ('f64') must match element type of input ('f32')}}
  %probs, %tau = dash.entmax ins(%x : tensor<8x16xf32>) outs(%p, %t : tensor<8x16xf64>, tensor<8xf32>) {dimension = 1}
  return %probs : tensor<8x16xf64>
}

// -----

func.func @entmax_mask_shape(%x: tensor<8x16xf32>, %m: tensor<8x8xi1>, %p: tensor<8x16xf32>, %t: tensor<8xf32>) -> tensor<8x16xf32> {
  // expected-error @+1 {{'dash.entmax' op mask shape must match input shape}}
  %probs, %tau = dash.entmax ins(%x, %m : tensor<8x16xf32>, tensor<8x8xi1>) outs(%p, %t : tensor<8x16xf32>, tensor<8xf32>) {dimension = 1}
  return %probs : tensor<8x16xf32>
}

// -----

func.func @entmax_mask_type(%x: tensor<8x16xf32>, %m: tensor<8x16xi8>, %p: tensor<8x16xf32>, %t: tensor<8xf32>) -> tensor<8x16xf32> {
  // expected-error @+1 {{'dash.entmax' op operand #1 must be ranked tensor of 1-bit signless integer values, but got 'tensor<8x16xi8>'}}
  %probs, %tau = dash.entmax ins(%x, %m : tensor<8x16xf32>, tensor<8x16xi8>) outs(%p, %t : tensor<8x16xf32>, tensor<8xf32>) {dimension = 1}
  return %probs : tensor<8x16xf32>
}

// -----

func.func @entmax_scalar(%x: tensor<f32>, %p: tensor<f32>, %t: tensor<f32>) -> tensor<f32> {
  // expected-error @+1 {{'dash.entmax' op input must have rank >= 1}}
  %probs, %tau = dash.entmax ins(%x : tensor<f32>) outs(%p, %t : tensor<f32>, tensor<f32>) {dimension = 0}
  return %probs : tensor<f32>
}

// -----

func.func @block_prior_sigma(%p: tensor<1x8x200x3xf32>, %l: tensor<1x2x200x4xf32>, %n: tensor<1x2x200xi32>) -> tensor<1x2x200x4xf32> {
  // expected-error @+1 {{'dash.block_prior' op sigma must be finite and > 0, got -1}}
  %prior, %counts = dash.block_prior ins(%p : tensor<1x8x200x3xf32>) outs(%l, %n : tensor<1x2x200x4xf32>, tensor<1x2x200xi32>) {sigma = -1.0}
  return %prior : tensor<1x2x200x4xf32>
}

// -----

func.func @block_prior_local_blocks(%p: tensor<1x8x200x3xf32>, %l: tensor<1x2x200x4xf32>, %n: tensor<1x2x200xi32>) -> tensor<1x2x200x4xf32> {
  // expected-error @+1 {{'dash.block_prior' op local_blocks must be >= 0, got -3}}
  %prior, %counts = dash.block_prior ins(%p : tensor<1x8x200x3xf32>) outs(%l, %n : tensor<1x2x200x4xf32>, tensor<1x2x200xi32>) {local_blocks = -3}
  return %prior : tensor<1x2x200x4xf32>
}

// -----

func.func @block_prior_blocks(%p: tensor<1x8x200x3xf32>, %l: tensor<1x2x200x3xf32>, %n: tensor<1x2x200xi32>) -> tensor<1x2x200x3xf32> {
  // expected-error @+1 {{'dash.block_prior' op dimension 3 (M) of prior_init is 3, but ceil(N / block_size) with N = 200 is 4}}
  %prior, %counts = dash.block_prior ins(%p : tensor<1x8x200x3xf32>) outs(%l, %n : tensor<1x2x200x3xf32>, tensor<1x2x200xi32>)
  return %prior : tensor<1x2x200x3xf32>
}

// -----

func.func @block_prior_probs_blocks(%p: tensor<1x8x200x4xf32>, %l: tensor<1x2x200x4xf32>, %n: tensor<1x2x200xi32>) -> tensor<1x2x200x4xf32> {
  // expected-error @+1 {{'dash.block_prior' op dimension 3 (Mc) of probs is 4, but floor(N / block_size) with N = 200 is 3}}
  %prior, %counts = dash.block_prior ins(%p : tensor<1x8x200x4xf32>) outs(%l, %n : tensor<1x2x200x4xf32>, tensor<1x2x200xi32>)
  return %prior : tensor<1x2x200x4xf32>
}

// -----

func.func @block_prior_groups(%p: tensor<1x8x200x3xf32>, %l: tensor<1x3x200x4xf32>, %n: tensor<1x3x200xi32>) -> tensor<1x3x200x4xf32> {
  // expected-error @+1 {{'dash.block_prior' op H = 8 (dimension 1 of probs) must be a multiple of Hkv = 3 (dimension 1 of prior_init)}}
  %prior, %counts = dash.block_prior ins(%p : tensor<1x8x200x3xf32>) outs(%l, %n : tensor<1x3x200x4xf32>, tensor<1x3x200xi32>)
  return %prior : tensor<1x3x200x4xf32>
}

// -----

func.func @block_prior_counts(%p: tensor<1x8x200x3xf32>, %l: tensor<1x2x200x4xf32>, %n: tensor<1x2x100xi32>) -> tensor<1x2x200x4xf32> {
  // expected-error @+1 {{'dash.block_prior' op dimension 2 (N) of counts_init is 100, but dimension 2 of probs is 200}}
  %prior, %counts = dash.block_prior ins(%p : tensor<1x8x200x3xf32>) outs(%l, %n : tensor<1x2x200x4xf32>, tensor<1x2x100xi32>)
  return %prior : tensor<1x2x200x4xf32>
}

// -----

func.func @sparse_attention_key_dim(%q: tensor<1x8x200x64xf32>, %k: tensor<1x2x200x32xf32>, %v: tensor<1x2x200x64xf32>, %prior: tensor<1x2x200x4xf32>, %o: tensor<1x8x200x64xf32>, %lse: tensor<1x8x200xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.sparse_attention' op dimension 3 (D) of key is 32, but dimension 3 of query is 64}}
  %out, %l = dash.sparse_attention ins(%q, %k, %v, %prior : tensor<1x8x200x64xf32>, tensor<1x2x200x32xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>) outs(%o, %lse : tensor<1x8x200x64xf32>, tensor<1x8x200xf32>)
  return %out : tensor<1x8x200x64xf32>
}

// -----

func.func @sparse_attention_value_type(%q: tensor<1x8x200x64xf32>, %k: tensor<1x2x200x64xf32>, %v: tensor<1x2x200x64xbf16>, %prior: tensor<1x2x200x4xf32>, %o: tensor<1x8x200x64xf32>, %lse: tensor<1x8x200xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.sparse_attention' op element type of value ('bf16') must match element type of query ('f32')}}
  %out, %l = dash.sparse_attention ins(%q, %k, %v, %prior : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xbf16>, tensor<1x2x200x4xf32>) outs(%o, %lse : tensor<1x8x200x64xf32>, tensor<1x8x200xf32>)
  return %out : tensor<1x8x200x64xf32>
}

// -----

func.func @sparse_attention_prior_blocks(%q: tensor<1x8x200x64xf32>, %k: tensor<1x2x200x64xf32>, %v: tensor<1x2x200x64xf32>, %prior: tensor<1x2x200x3xf32>, %o: tensor<1x8x200x64xf32>, %lse: tensor<1x8x200xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.sparse_attention' op dimension 3 (M) of log_prior is 3, but ceil(N / block_size) with N = 200 is 4}}
  %out, %l = dash.sparse_attention ins(%q, %k, %v, %prior : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x3xf32>) outs(%o, %lse : tensor<1x8x200x64xf32>, tensor<1x8x200xf32>)
  return %out : tensor<1x8x200x64xf32>
}

// -----

func.func @sparse_attention_prior_heads(%q: tensor<1x8x200x64xf32>, %k: tensor<1x2x200x64xf32>, %v: tensor<1x2x200x64xf32>, %prior: tensor<1x8x200x4xf32>, %o: tensor<1x8x200x64xf32>, %lse: tensor<1x8x200xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.sparse_attention' op dimension 1 (Hkv) of log_prior is 8, but dimension 1 of key is 2}}
  %out, %l = dash.sparse_attention ins(%q, %k, %v, %prior : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x8x200x4xf32>) outs(%o, %lse : tensor<1x8x200x64xf32>, tensor<1x8x200xf32>)
  return %out : tensor<1x8x200x64xf32>
}

// -----

func.func @sparse_attention_lse_rank(%q: tensor<1x8x200x64xf32>, %k: tensor<1x2x200x64xf32>, %v: tensor<1x2x200x64xf32>, %prior: tensor<1x2x200x4xf32>, %o: tensor<1x8x200x64xf32>, %lse: tensor<8x200xf32>) -> tensor<1x8x200x64xf32> {
  // expected-error @+1 {{'dash.sparse_attention' op lse_init must have rank 3, got rank 2}}
  %out, %l = dash.sparse_attention ins(%q, %k, %v, %prior : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>) outs(%o, %lse : tensor<1x8x200x64xf32>, tensor<8x200xf32>)
  return %out : tensor<1x8x200x64xf32>
}

// -----

func.func @sparse_attention_output_type(%q: tensor<1x8x200x64xf32>, %k: tensor<1x2x200x64xf32>, %v: tensor<1x2x200x64xf32>, %prior: tensor<1x2x200x4xf32>, %o: tensor<1x8x200x64xf16>, %lse: tensor<1x8x200xf32>) -> tensor<1x8x200x64xf16> {
  // expected-error @+1 {{'dash.sparse_attention' op element type of output_init ('f16') must match element type of query ('f32')}}
  %out, %l = dash.sparse_attention ins(%q, %k, %v, %prior : tensor<1x8x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>) outs(%o, %lse : tensor<1x8x200x64xf16>, tensor<1x8x200xf32>)
  return %out : tensor<1x8x200x64xf16>
}

// -----

func.func @kernel_block_size(%q: memref<1x2x128x64xbf16>, %k: memref<1x1x128x64xbf16>, %prior: memref<1x1x128x4xf32>, %o: memref<1x2x128x64xbf16>, %lse: memref<1x2x128xf32>) {
  // expected-error @+1 {{'dash.sparse_attention_kernel' op block_size must be 64}}
  dash.sparse_attention_kernel ins(%q, %k, %k, %prior : memref<1x2x128x64xbf16>, memref<1x1x128x64xbf16>, memref<1x1x128x64xbf16>, memref<1x1x128x4xf32>) outs(%o, %lse : memref<1x2x128x64xbf16>, memref<1x2x128xf32>) {block_size = 32}
  return
}

// -----

func.func @kernel_head_dim(%q: memref<1x2x128x32xbf16>, %k: memref<1x1x128x32xbf16>, %prior: memref<1x1x128x2xf32>, %o: memref<1x2x128x32xbf16>, %lse: memref<1x2x128xf32>) {
  // expected-error @+1 {{'dash.sparse_attention_kernel' op head dimension must be 64 or 128, got 32}}
  dash.sparse_attention_kernel ins(%q, %k, %k, %prior : memref<1x2x128x32xbf16>, memref<1x1x128x32xbf16>, memref<1x1x128x32xbf16>, memref<1x1x128x2xf32>) outs(%o, %lse : memref<1x2x128x32xbf16>, memref<1x2x128xf32>)
  return
}

// -----

func.func @kernel_dynamic(%q: memref<1x2x?x64xbf16>, %k: memref<1x1x128x64xbf16>, %prior: memref<1x1x128x2xf32>, %o: memref<1x2x128x64xbf16>, %lse: memref<1x2x128xf32>) {
  // expected-error @+1 {{'dash.sparse_attention_kernel' op the tensor-core kernels need static shapes}}
  dash.sparse_attention_kernel ins(%q, %k, %k, %prior : memref<1x2x?x64xbf16>, memref<1x1x128x64xbf16>, memref<1x1x128x64xbf16>, memref<1x1x128x2xf32>) outs(%o, %lse : memref<1x2x128x64xbf16>, memref<1x2x128xf32>)
  return
}

// -----

func.func @kernel_prior_blocks(%q: memref<1x2x128x64xbf16>, %k: memref<1x1x128x64xbf16>, %prior: memref<1x1x128x3xf32>, %o: memref<1x2x128x64xbf16>, %lse: memref<1x2x128xf32>) {
  // expected-error @+1 {{'dash.sparse_attention_kernel' op}}
  dash.sparse_attention_kernel ins(%q, %k, %k, %prior : memref<1x2x128x64xbf16>, memref<1x1x128x64xbf16>, memref<1x1x128x64xbf16>, memref<1x1x128x3xf32>) outs(%o, %lse : memref<1x2x128x64xbf16>, memref<1x2x128xf32>)
  return
}

// -----

func.func @kernel_f32(%q: memref<1x2x128x64xf32>, %k: memref<1x1x128x64xf32>, %prior: memref<1x1x128x2xf32>, %o: memref<1x2x128x64xf32>, %lse: memref<1x2x128xf32>) {
  // expected-error @+1 {{'dash.sparse_attention_kernel' op operand #0 must be 4D memref of bfloat16 type or 16-bit float values}}
  dash.sparse_attention_kernel ins(%q, %k, %k, %prior : memref<1x2x128x64xf32>, memref<1x1x128x64xf32>, memref<1x1x128x64xf32>, memref<1x1x128x2xf32>) outs(%o, %lse : memref<1x2x128x64xf32>, memref<1x2x128xf32>)
  return
}

// -----

func.func @grad_kernel_output_grad_type(%q: memref<1x2x128x64xbf16>, %k: memref<1x1x128x64xbf16>, %prior: memref<1x1x128x2xf32>, %lse: memref<1x2x128xf32>, %do: memref<1x2x128x64xf16>, %dq: memref<1x2x128x64xf32>, %dk: memref<1x1x128x64xf32>, %dl: memref<1x1x128x2xf32>) {
  // expected-error @+1 {{'dash.sparse_attention_grad_kernel' op element type of output_grad ('f16') must match element type of query ('bf16')}}
  dash.sparse_attention_grad_kernel ins(%q, %k, %k, %prior, %q, %lse, %do : memref<1x2x128x64xbf16>, memref<1x1x128x64xbf16>, memref<1x1x128x64xbf16>, memref<1x1x128x2xf32>, memref<1x2x128x64xbf16>, memref<1x2x128xf32>, memref<1x2x128x64xf16>) outs(%dq, %dk, %dk, %dl : memref<1x2x128x64xf32>, memref<1x1x128x64xf32>, memref<1x1x128x64xf32>, memref<1x1x128x2xf32>)
  return
}

// -----

func.func @grad_kernel_key_grad_shape(%q: memref<1x2x128x64xbf16>, %k: memref<1x1x128x64xbf16>, %prior: memref<1x1x128x2xf32>, %lse: memref<1x2x128xf32>, %dq: memref<1x2x128x64xf32>, %dk: memref<1x1x64x64xf32>, %dv: memref<1x1x128x64xf32>, %dl: memref<1x1x128x2xf32>) {
  // expected-error @+1 {{'dash.sparse_attention_grad_kernel' op}}
  dash.sparse_attention_grad_kernel ins(%q, %k, %k, %prior, %q, %lse, %q : memref<1x2x128x64xbf16>, memref<1x1x128x64xbf16>, memref<1x1x128x64xbf16>, memref<1x1x128x2xf32>, memref<1x2x128x64xbf16>, memref<1x2x128xf32>, memref<1x2x128x64xbf16>) outs(%dq, %dk, %dv, %dl : memref<1x2x128x64xf32>, memref<1x1x64x64xf32>, memref<1x1x128x64xf32>, memref<1x1x128x2xf32>)
  return
}

// -----

func.func @grad_kernel_head_dim(%q: memref<1x2x128x32xbf16>, %k: memref<1x1x128x32xbf16>, %prior: memref<1x1x128x2xf32>, %lse: memref<1x2x128xf32>, %dq: memref<1x2x128x32xf32>, %dk: memref<1x1x128x32xf32>, %dl: memref<1x1x128x2xf32>) {
  // expected-error @+1 {{'dash.sparse_attention_grad_kernel' op head dimension must be 64 or 128, got 32}}
  dash.sparse_attention_grad_kernel ins(%q, %k, %k, %prior, %q, %lse, %q : memref<1x2x128x32xbf16>, memref<1x1x128x32xbf16>, memref<1x1x128x32xbf16>, memref<1x1x128x2xf32>, memref<1x2x128x32xbf16>, memref<1x2x128xf32>, memref<1x2x128x32xbf16>) outs(%dq, %dk, %dk, %dl : memref<1x2x128x32xf32>, memref<1x1x128x32xf32>, memref<1x1x128x32xf32>, memref<1x1x128x2xf32>)
  return
}

// -----

func.func @grad_kernel_f16_grads(%q: memref<1x2x128x64xbf16>, %k: memref<1x1x128x64xbf16>, %prior: memref<1x1x128x2xf32>, %lse: memref<1x2x128xf32>, %dq: memref<1x2x128x64xbf16>, %dk: memref<1x1x128x64xf32>, %dl: memref<1x1x128x2xf32>) {
  // expected-error @+1 {{'dash.sparse_attention_grad_kernel' op operand #7 must be 4D memref of 32-bit float values}}
  dash.sparse_attention_grad_kernel ins(%q, %k, %k, %prior, %q, %lse, %q : memref<1x2x128x64xbf16>, memref<1x1x128x64xbf16>, memref<1x1x128x64xbf16>, memref<1x1x128x2xf32>, memref<1x2x128x64xbf16>, memref<1x2x128xf32>, memref<1x2x128x64xbf16>) outs(%dq, %dk, %dk, %dl : memref<1x2x128x64xbf16>, memref<1x1x128x64xf32>, memref<1x1x128x64xf32>, memref<1x1x128x2xf32>)
  return
}

// -----

func.func @router_kernel_alpha(%q: memref<1x8x256x64xbf16>, %s: memref<1x2x4x64xf32>, %p: memref<1x2x256x4xf32>, %c: memref<1x2x256xi32>) {
  // expected-error @+1 {{'dash.router_kernel' op alpha must be in (1, 2], got 3}}
  dash.router_kernel ins(%q, %s : memref<1x8x256x64xbf16>, memref<1x2x4x64xf32>) outs(%p, %c : memref<1x2x256x4xf32>, memref<1x2x256xi32>) {alpha = 3.0}
  return
}

// -----

func.func @router_kernel_summaries(%q: memref<1x8x256x64xbf16>, %s: memref<1x2x3x64xf32>, %p: memref<1x2x256x4xf32>, %c: memref<1x2x256xi32>) {
  // expected-error @+1 {{'dash.router_kernel' op dimension 2 (Mc) of summaries is 3, but floor(N / block_size) with N = 256 is 4}}
  dash.router_kernel ins(%q, %s : memref<1x8x256x64xbf16>, memref<1x2x3x64xf32>) outs(%p, %c : memref<1x2x256x4xf32>, memref<1x2x256xi32>)
  return
}

// -----

func.func @router_kernel_counts(%q: memref<1x8x256x64xbf16>, %s: memref<1x2x4x64xf32>, %p: memref<1x2x256x4xf32>, %c: memref<1x4x256xi32>) {
  // expected-error @+1 {{'dash.router_kernel' op dimension 1 (Hkv) of counts is 4, but dimension 1 of summaries is 2}}
  dash.router_kernel ins(%q, %s : memref<1x8x256x64xbf16>, memref<1x2x4x64xf32>) outs(%p, %c : memref<1x2x256x4xf32>, memref<1x4x256xi32>)
  return
}

// -----

func.func @router_kernel_group(%q: memref<1x128x128x64xbf16>, %s: memref<1x1x2x64xf32>, %p: memref<1x1x128x2xf32>, %c: memref<1x1x128xi32>) {
  // expected-error @+1 {{'dash.router_kernel' op no tile of G = 128 heads fits}}
  dash.router_kernel ins(%q, %s : memref<1x128x128x64xbf16>, memref<1x1x2x64xf32>) outs(%p, %c : memref<1x1x128x2xf32>, memref<1x1x128xi32>)
  return
}

// -----

func.func @router_kernel_block_size(%q: memref<1x8x256x64xbf16>, %s: memref<1x2x8x64xf32>, %p: memref<1x2x256x8xf32>, %c: memref<1x2x256xi32>) {
  // expected-error @+1 {{'dash.router_kernel' op block_size must be 64}}
  dash.router_kernel ins(%q, %s : memref<1x8x256x64xbf16>, memref<1x2x8x64xf32>) outs(%p, %c : memref<1x2x256x8xf32>, memref<1x2x256xi32>) {block_size = 32}
  return
}

// -----

func.func @router_kernel_probs_shape(%q: memref<1x8x256x64xbf16>, %s: memref<1x2x4x64xf32>, %p: memref<1x2x256x4xf32>, %c: memref<1x2x256xi32>, %pr: memref<1x8x256x5xf32>) {
  // expected-error @+1 {{'dash.router_kernel' op dimension 3 (Mc) of probs is 5, but floor(N / block_size) with N = 256 is 4}}
  dash.router_kernel ins(%q, %s : memref<1x8x256x64xbf16>, memref<1x2x4x64xf32>) outs(%p, %c, %pr : memref<1x2x256x4xf32>, memref<1x2x256xi32>, memref<1x8x256x5xf32>)
  return
}

// -----

func.func @route_logits_grad_kernel_no_block(%q: memref<1x2x32x64xbf16>, %kbar: memref<1x1x0x64xf32>, %dz: memref<1x2x32x0xf32>, %dq: memref<1x2x32x64xf32>) {
  // expected-error @+1 {{'dash.route_logits_grad_kernel' op the kernel needs at least one complete block}}
  dash.route_logits_grad_kernel ins(%q, %kbar, %dz : memref<1x2x32x64xbf16>, memref<1x1x0x64xf32>, memref<1x2x32x0xf32>) outs(%dq, %kbar : memref<1x2x32x64xf32>, memref<1x1x0x64xf32>)
  return
}

// -----

func.func @route_logits_grad_kernel_logits_shape(%q: memref<1x2x128x64xbf16>, %kbar: memref<1x1x2x64xf32>, %dz: memref<1x2x128x3xf32>, %dq: memref<1x2x128x64xf32>) {
  // expected-error @+1 {{'dash.route_logits_grad_kernel' op dimension 3 (Mc) of logits_grad is 3, but floor(N / block_size) with N = 128 is 2}}
  dash.route_logits_grad_kernel ins(%q, %kbar, %dz : memref<1x2x128x64xbf16>, memref<1x1x2x64xf32>, memref<1x2x128x3xf32>) outs(%dq, %kbar : memref<1x2x128x64xf32>, memref<1x1x2x64xf32>)
  return
}
