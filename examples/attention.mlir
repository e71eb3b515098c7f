// DashAttention on a GQA layer: 8 query heads over 2 KV heads, 1024 tokens,
// head dim 64, with a learned summary query W and a raw log-prior.
//   dash-opt examples/attention.mlir --dash-decompose   (the stage ops)
//   dash-run examples/attention.mlir                    (run and check it)
func.func @attention(%q: tensor<1x8x1024x64xf32>, %k: tensor<1x2x1024x64xf32>,
                     %v: tensor<1x2x1024x64xf32>, %w: tensor<2x64xf32>)
    -> (tensor<1x8x1024x64xf32>, tensor<1x8x1024xf32>, tensor<1x2x1024xi32>) {
  %o, %lse, %counts = dash.attention %q, %k, %v summary %w
      {alpha = 1.5, block_size = 64, gamma = 32.0, prior_mode = #dash.prior_mode<raw>}
      : tensor<1x8x1024x64xf32>, tensor<1x2x1024x64xf32>, tensor<1x2x1024x64xf32>,
        tensor<2x64xf32>
      -> tensor<1x8x1024x64xf32> lse tensor<1x8x1024xf32> counts tensor<1x2x1024xi32>
  return %o, %lse, %counts
      : tensor<1x8x1024x64xf32>, tensor<1x8x1024xf32>, tensor<1x2x1024xi32>
}
