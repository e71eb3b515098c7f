// The log-prior gradient of dash.sparse_attention_grad sums dS over each
// block. The keys were zero-padded to M * block_size tokens first, so a
// sequence shorter than its block (one block, M = 1) was padded to
// block_size tokens: 2^62 here, an allocation that cannot succeed. A single
// block is now summed whole, without padding.
// RUN: dash-opt %s --dash-to-linalg | FileCheck %s

// CHECK-LABEL: func @huge_block
// CHECK-NOT: tensor.pad
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0], [1], [2], [3, 4]] output_shape [1, 1, 40, 1, 40]
// CHECK-NOT: tensor.pad
// CHECK: return
func.func @huge_block(%q: tensor<1x1x40x8xf32>, %k: tensor<1x1x40x8xf32>, %v: tensor<1x1x40x8xf32>, %prior: tensor<1x1x40x1xf32>, %o: tensor<1x1x40x8xf32>, %lse: tensor<1x1x40xf32>, %do: tensor<1x1x40x8xf32>) -> tensor<1x1x40x1xf32> {
  %dqi = tensor.empty() : tensor<1x1x40x8xf32>
  %dki = tensor.empty() : tensor<1x1x40x8xf32>
  %dvi = tensor.empty() : tensor<1x1x40x8xf32>
  %dli = tensor.empty() : tensor<1x1x40x1xf32>
  %dq, %dk, %dv, %dl = dash.sparse_attention_grad ins(%q, %k, %v, %prior, %o, %lse, %do : tensor<1x1x40x8xf32>, tensor<1x1x40x8xf32>, tensor<1x1x40x8xf32>, tensor<1x1x40x1xf32>, tensor<1x1x40x8xf32>, tensor<1x1x40xf32>, tensor<1x1x40x8xf32>) outs(%dqi, %dki, %dvi, %dli : tensor<1x1x40x8xf32>, tensor<1x1x40x8xf32>, tensor<1x1x40x8xf32>, tensor<1x1x40x1xf32>) {block_size = 4611686018427387904}
  return %dl : tensor<1x1x40x1xf32>
}
