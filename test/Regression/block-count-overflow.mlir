// block_size may be any positive i64: one above N means a single, partial
// block. ceil(N / block_size) was computed as (N + block_size - 1) /
// block_size, which overflows for block sizes near 2^63: the verifier then
// expected M = 0 log-prior columns and dash-decompose built a log-prior with
// no block, so every query attended to nothing. Both now count M = 1.
// RUN: dash-opt %s --split-input-file --dash-decompose --verify-diagnostics | FileCheck %s

// CHECK-LABEL: func @attention
// CHECK: dash.summarize {{.*}} outs(%{{.*}} : tensor<1x1x0x16xf32>)
// CHECK: dash.block_prior {{.*}} outs(%{{.*}}, %{{.*}} : tensor<1x1x64x1xf32>, tensor<1x1x64xi32>)
// CHECK: dash.sparse_attention {{.*}} tensor<1x1x64x1xf32>)
func.func @attention(%q: tensor<1x1x64x16xf32>, %k: tensor<1x1x64x16xf32>, %v: tensor<1x1x64x16xf32>) -> tensor<1x1x64x16xf32> {
  %o = dash.attention %q, %k, %v {block_size = 9223372036854775807} : tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32> -> tensor<1x1x64x16xf32>
  return %o : tensor<1x1x64x16xf32>
}

// -----

func.func @no_block(%q: tensor<1x1x64x16xf32>, %k: tensor<1x1x64x16xf32>, %v: tensor<1x1x64x16xf32>, %prior: tensor<1x1x64x0xf32>, %oi: tensor<1x1x64x16xf32>, %li: tensor<1x1x64xf32>) -> tensor<1x1x64x16xf32> {
  // expected-error @+1 {{'dash.sparse_attention' op dimension 3 (M) of log_prior is 0, but ceil(N / block_size) with N = 64 is 1}}
  %o, %lse = dash.sparse_attention ins(%q, %k, %v, %prior : tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x0xf32>) outs(%oi, %li : tensor<1x1x64x16xf32>, tensor<1x1x64xf32>) {block_size = 9223372036854775807}
  return %o : tensor<1x1x64x16xf32>
}
