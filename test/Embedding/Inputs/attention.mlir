func.func @attention(%q: tensor<1x2x128x16xf32>, %k: tensor<1x2x128x16xf32>,
                     %v: tensor<1x2x128x16xf32>) -> tensor<1x2x128x16xf32> {
  %o = dash.attention %q, %k, %v {gamma = 2.0}
      : tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>
      -> tensor<1x2x128x16xf32>
  return %o : tensor<1x2x128x16xf32>
}
