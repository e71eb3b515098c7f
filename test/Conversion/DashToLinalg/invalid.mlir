// RUN: dash-opt %s --split-input-file --dash-to-linalg --verify-diagnostics

func.func @dynamic(%q: tensor<1x4x?x8xf32>, %k: tensor<1x2x?x8xf32>, %v: tensor<1x2x?x8xf32>) -> tensor<1x4x?x8xf32> {
  // expected-error @+1 {{'dash.attention' op dash-to-linalg needs static shapes, got 'tensor<1x4x?x8xf32>'}}
  %o = dash.attention %q, %k, %v : tensor<1x4x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32> -> tensor<1x4x?x8xf32>
  return %o : tensor<1x4x?x8xf32>
}
