// Zero-sized dimensions (empty tensors) are valid dash IR. dash-to-linalg
// sliced the complete blocks of the keys, and the routed columns of the
// log-prior gradient, with tensor.extract_slice, which rejects offset 0 into
// a dimension of size 0: the pass succeeded but left IR that did not verify
// ("offset 3 is out-of-bounds: 0 >= 0"). An empty part is now a tensor.empty.
// Found by dash-fuzz.
// RUN: dash-opt %s --split-input-file --dash-to-linalg | FileCheck %s

// D = 0 (with an explicit scale, which D = 0 requires).
// CHECK-LABEL: func @head_dim_zero
// CHECK-NOT: tensor.extract_slice
// CHECK: tensor.empty() : tensor<1x1x0x0xf32>
// CHECK-NOT: tensor.extract_slice
// CHECK: return
func.func @head_dim_zero(%q: tensor<1x2x8x0xf32>, %k: tensor<1x1x8x0xf32>, %v: tensor<1x1x8x0xf32>) -> tensor<1x2x8xf32> {
  %o, %lse = dash.attention %q, %k, %v {scale = 1.0} : tensor<1x2x8x0xf32>, tensor<1x1x8x0xf32>, tensor<1x1x8x0xf32> -> tensor<1x2x8x0xf32> lse tensor<1x2x8xf32>
  return %lse : tensor<1x2x8xf32>
}

// -----

// B = 0, with a partial last block.
// CHECK-LABEL: func @batch_zero
// CHECK-NOT: tensor.extract_slice
// CHECK: tensor.empty() : tensor<0x1x6x4xf32>
// CHECK-NOT: tensor.extract_slice
// CHECK: return
func.func @batch_zero(%q: tensor<0x2x8x4xf32>, %k: tensor<0x1x8x4xf32>, %v: tensor<0x1x8x4xf32>) -> tensor<0x2x8xf32> {
  %o, %lse = dash.attention %q, %k, %v {block_size = 3} : tensor<0x2x8x4xf32>, tensor<0x1x8x4xf32>, tensor<0x1x8x4xf32> -> tensor<0x2x8x4xf32> lse tensor<0x2x8xf32>
  return %lse : tensor<0x2x8xf32>
}

// -----

// The gradient with B = 0 and a partial last block (M = 3, Mc = 2).
// CHECK-LABEL: func @gradient_batch_zero
// CHECK-NOT: tensor.extract_slice
// CHECK: return
func.func @gradient_batch_zero(%q: tensor<0x2x8x4xf32>, %k: tensor<0x1x8x4xf32>, %v: tensor<0x1x8x4xf32>, %o: tensor<0x2x8x4xf32>, %lse: tensor<0x2x8xf32>, %do: tensor<0x2x8x4xf32>) -> tensor<0x2x8x4xf32> {
  %dq, %dk, %dv = dash.attention_grad %q, %k, %v output %o lse %lse grad %do {block_size = 3} : tensor<0x2x8x4xf32>, tensor<0x1x8x4xf32>, tensor<0x1x8x4xf32>, tensor<0x2x8x4xf32>, tensor<0x2x8xf32>, tensor<0x2x8x4xf32> -> tensor<0x2x8x4xf32>, tensor<0x1x8x4xf32>, tensor<0x1x8x4xf32>
  return %dq : tensor<0x2x8x4xf32>
}
