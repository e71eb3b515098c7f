// Functions for dash-run: its arguments are the dash.attention operands and
// it returns the op's three results.
func.func @gqa(%q: tensor<1x4x200x16xf32>, %k: tensor<1x2x200x16xf32>,
               %v: tensor<1x2x200x16xf32>, %w: tensor<2x16xf32>)
    -> (tensor<1x4x200x16xf32>, tensor<1x4x200xf32>, tensor<1x2x200xi32>) {
  %o, %lse, %counts = dash.attention %q, %k, %v summary %w {
      block_size = 32, gamma = 2.0, prior_mode = #dash.prior_mode<raw>,
      local_blocks = 1}
      : tensor<1x4x200x16xf32>, tensor<1x2x200x16xf32>,
        tensor<1x2x200x16xf32>, tensor<2x16xf32>
      -> tensor<1x4x200x16xf32> lse tensor<1x4x200xf32>
         counts tensor<1x2x200xi32>
  return %o, %lse, %counts
      : tensor<1x4x200x16xf32>, tensor<1x4x200xf32>, tensor<1x2x200xi32>
}

// Only O is returned: dash-run cannot check LSE and counts.
func.func @output_only(%q: tensor<1x1x64x16xf32>, %k: tensor<1x1x64x16xf32>,
                       %v: tensor<1x1x64x16xf32>) -> tensor<1x1x64x16xf32> {
  %o = dash.attention %q, %k, %v : tensor<1x1x64x16xf32>,
      tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32> -> tensor<1x1x64x16xf32>
  return %o : tensor<1x1x64x16xf32>
}

// K and V swapped: not the function of its dash.attention.
func.func @swapped(%q: tensor<1x1x64x16xf32>, %v: tensor<1x1x64x16xf32>,
                   %k: tensor<1x1x64x16xf32>)
    -> (tensor<1x1x64x16xf32>, tensor<1x1x64xf32>, tensor<1x1x64xi32>) {
  %o, %lse, %counts = dash.attention %q, %k, %v : tensor<1x1x64x16xf32>,
      tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32> -> tensor<1x1x64x16xf32>
      lse tensor<1x1x64xf32> counts tensor<1x1x64xi32>
  return %o, %lse, %counts
      : tensor<1x1x64x16xf32>, tensor<1x1x64xf32>, tensor<1x1x64xi32>
}
