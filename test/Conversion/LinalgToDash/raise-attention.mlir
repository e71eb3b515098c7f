// RUN: dash-opt %s --split-input-file --dash-raise-attention | FileCheck %s
// RUN: dash-opt %s --split-input-file \
// RUN:   --dash-raise-attention="alpha=2.0 block-size=4 gamma=3.0 sigma=0.5 prior=raw local-blocks=1 init-blocks=2" \
// RUN:   | FileCheck %s --check-prefix=OPTIONS

// Generic ops throughout: K^T folded into the indexing map of the scores,
// scale and causal mask (select on linalg.index) in one op, and softmax as
// upstream decomposes linalg.softmax. The whole dense computation is erased.
// CHECK-LABEL: func @generic_select_mask
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x16x8xf32>, %[[K:.*]]: tensor<1x2x16x8xf32>, %[[V:.*]]: tensor<1x2x16x8xf32>)
// CHECK-NEXT: %[[O:.*]] = dash.attention %[[Q]], %[[K]], %[[V]] {scale = 0.3535533{{[0-9]*}} : f64}
// CHECK-SAME: : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32> -> tensor<1x2x16x8xf32>
// CHECK-NEXT: return %[[O]]

// OPTIONS-LABEL: func @generic_select_mask
// OPTIONS: dash.attention
// OPTIONS-SAME: alpha = 2.000000e+00 : f64, block_size = 4 : i64, gamma = 3.000000e+00 : f64, init_blocks = 2 : i64, local_blocks = 1 : i64, prior_mode = #dash.prior_mode<raw>, scale = 0.3535533{{[0-9]*}} : f64, sigma = 5.000000e-01 : f64
#qk_q = affine_map<(b, h, i, j, d) -> (b, h, i, d)>
#qk_k = affine_map<(b, h, i, j, d) -> (b, h, j, d)>
#qk_s = affine_map<(b, h, i, j, d) -> (b, h, i, j)>
#id = affine_map<(b, h, i, j) -> (b, h, i, j)>
#row = affine_map<(b, h, i, j) -> (b, h, i)>
#pv_p = affine_map<(b, h, i, d, j) -> (b, h, i, j)>
#pv_v = affine_map<(b, h, i, d, j) -> (b, h, j, d)>
#pv_o = affine_map<(b, h, i, d, j) -> (b, h, i, d)>
func.func @generic_select_mask(%q: tensor<1x2x16x8xf32>, %k: tensor<1x2x16x8xf32>,
                               %v: tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %scale = arith.constant 0.353553385 : f32
  %se = tensor.empty() : tensor<1x2x16x16xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%se : tensor<1x2x16x16xf32>) -> tensor<1x2x16x16xf32>
  %s = linalg.generic {indexing_maps = [#qk_q, #qk_k, #qk_s],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) outs(%s0 : tensor<1x2x16x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x2x16x16xf32>
  %x = linalg.generic {indexing_maps = [#id, #id],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s : tensor<1x2x16x16xf32>) outs(%se : tensor<1x2x16x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %i = linalg.index 2 : index
    %j = linalg.index 3 : index
    %keep = arith.cmpi ule, %j, %i : index
    %scaled = arith.mulf %in, %scale : f32
    %r = arith.select %keep, %scaled, %ninf : f32
    linalg.yield %r : f32
  } -> tensor<1x2x16x16xf32>
  %re = tensor.empty() : tensor<1x2x16xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%re : tensor<1x2x16xf32>) -> tensor<1x2x16xf32>
  %max = linalg.generic {indexing_maps = [#id, #row],
                         iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x : tensor<1x2x16x16xf32>) outs(%mi : tensor<1x2x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maxnumf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<1x2x16xf32>
  %e = linalg.generic {indexing_maps = [#id, #row, #id],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %max : tensor<1x2x16x16xf32>, tensor<1x2x16xf32>) outs(%se : tensor<1x2x16x16xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %d = arith.subf %in, %m : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<1x2x16x16xf32>
  %zi = linalg.fill ins(%zero : f32) outs(%re : tensor<1x2x16xf32>) -> tensor<1x2x16xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row],
                         iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%e : tensor<1x2x16x16xf32>) outs(%zi : tensor<1x2x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<1x2x16xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%e, %sum : tensor<1x2x16x16xf32>, tensor<1x2x16xf32>) outs(%se : tensor<1x2x16x16xf32>) {
  ^bb0(%in: f32, %z: f32, %out: f32):
    %r = arith.divf %in, %z : f32
    linalg.yield %r : f32
  } -> tensor<1x2x16x16xf32>
  %oe = tensor.empty() : tensor<1x2x16x8xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%oe : tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  %o = linalg.generic {indexing_maps = [#pv_p, #pv_v, #pv_o],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<1x2x16x16xf32>, tensor<1x2x16x8xf32>) outs(%o0 : tensor<1x2x16x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x2x16x8xf32>
  return %o : tensor<1x2x16x8xf32>
}

// -----

// Named ops: Q scaled before the product, K^T by linalg.transpose, a constant
// additive mask (-inf and the lowest f32 both mask), linalg.softmax. B = 2,
// H = 1 (the head index is dropped).
// CHECK-LABEL: func @named_ops_constant_bias
// CHECK-SAME: (%[[Q:.*]]: tensor<2x1x4x4xf32>, %[[K:.*]]: tensor<2x1x4x4xf32>, %[[V:.*]]: tensor<2x1x4x4xf32>)
// CHECK-NEXT: %[[O:.*]] = dash.attention %[[Q]], %[[K]], %[[V]] {scale = 5.000000e-01 : f64}
// CHECK-NEXT: return %[[O]]
#id = affine_map<(b, h, i, j) -> (b, h, i, j)>
#mask = affine_map<(b, h, i, j) -> (i, j)>
#qk_q = affine_map<(b, h, i, j, d) -> (b, h, i, d)>
#qk_kt = affine_map<(b, h, i, j, d) -> (b, h, d, j)>
#qk_s = affine_map<(b, h, i, j, d) -> (b, h, i, j)>
#pv_p = affine_map<(b, h, i, d, j) -> (b, h, i, j)>
#pv_v = affine_map<(b, h, i, d, j) -> (b, h, j, d)>
#pv_o = affine_map<(b, h, i, d, j) -> (b, h, i, d)>
func.func @named_ops_constant_bias(%q: tensor<2x1x4x4xf32>, %k: tensor<2x1x4x4xf32>,
                                   %v: tensor<2x1x4x4xf32>) -> tensor<2x1x4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %bias = arith.constant dense<[[0.0, 0xFF800000, 0xFF800000, -3.40282347E+38],
                                [0.0, 0.0, 0xFF800000, 0xFF800000],
                                [0.0, 0.0, 0.0, 0xFF800000],
                                [0.0, 0.0, 0.0, 0.0]]> : tensor<4x4xf32>
  %e4 = tensor.empty() : tensor<2x1x4x4xf32>
  %qs = linalg.generic {indexing_maps = [#id, #id],
                        iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%q : tensor<2x1x4x4xf32>) outs(%e4 : tensor<2x1x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.mulf %in, %half : f32
    linalg.yield %r : f32
  } -> tensor<2x1x4x4xf32>
  %kt = linalg.transpose ins(%k : tensor<2x1x4x4xf32>) outs(%e4 : tensor<2x1x4x4xf32>)
      permutation = [0, 1, 3, 2]
  %s0 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<2x1x4x4xf32>) -> tensor<2x1x4x4xf32>
  %s = linalg.generic {indexing_maps = [#qk_q, #qk_kt, #qk_s],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%qs, %kt : tensor<2x1x4x4xf32>, tensor<2x1x4x4xf32>) outs(%s0 : tensor<2x1x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x1x4x4xf32>
  %x = linalg.generic {indexing_maps = [#id, #mask, #id],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s, %bias : tensor<2x1x4x4xf32>, tensor<4x4xf32>) outs(%e4 : tensor<2x1x4x4xf32>) {
  ^bb0(%in: f32, %b: f32, %out: f32):
    %r = arith.addf %in, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x1x4x4xf32>
  %p = linalg.softmax dimension(3) ins(%x : tensor<2x1x4x4xf32>) outs(%e4 : tensor<2x1x4x4xf32>) -> tensor<2x1x4x4xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<2x1x4x4xf32>) -> tensor<2x1x4x4xf32>
  %o = linalg.generic {indexing_maps = [#pv_p, #pv_v, #pv_o],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<2x1x4x4xf32>, tensor<2x1x4x4xf32>) outs(%o0 : tensor<2x1x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x1x4x4xf32>
  return %o : tensor<2x1x4x4xf32>
}

// -----

// torch-mlir's shape of scaled_dot_product_attention(is_causal=True,
// enable_gqa=True) after decomposition: repeat_interleave of K and V
// (expand_shape, broadcast, collapse_shape), 4-D matmuls as batch_matmul on
// [B*H, N, D], division by sqrt(D), a causal bias computed from indices,
// keepdim reductions ([B, H, N, 1], constant-0 maps) and separate
// subtract/exp ops. K and V are taken before the broadcast.
// CHECK-LABEL: func @torch_mlir_gqa
// CHECK-SAME: (%[[Q:.*]]: tensor<1x4x8x4xf32>, %[[K:.*]]: tensor<1x2x8x4xf32>, %[[V:.*]]: tensor<1x2x8x4xf32>)
// CHECK-NEXT: %[[O:.*]] = dash.attention %[[Q]], %[[K]], %[[V]] {scale = 5.000000e-01 : f64}
// CHECK-SAME: : tensor<1x4x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32> -> tensor<1x4x8x4xf32>
// CHECK-NEXT: return %[[O]]
#id5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#rep = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, 0, d3, d4)>
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#keep = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
#bias = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @torch_mlir_gqa(%q: tensor<1x4x8x4xf32>, %k: tensor<1x2x8x4xf32>,
                          %v: tensor<1x2x8x4xf32>) -> tensor<1x4x8x4xf32> {
  %zero = arith.constant 0.0 : f32
  %two = arith.constant 2.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %ke = tensor.expand_shape %k [[0], [1], [2, 3], [4]] output_shape [1, 2, 1, 8, 4]
      : tensor<1x2x8x4xf32> into tensor<1x2x1x8x4xf32>
  %e5 = tensor.empty() : tensor<1x2x2x8x4xf32>
  %kb = linalg.generic {indexing_maps = [#rep, #id5],
                        iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%ke : tensor<1x2x1x8x4xf32>) outs(%e5 : tensor<1x2x2x8x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x2x2x8x4xf32>
  %kr = tensor.collapse_shape %kb [[0], [1, 2], [3], [4]] : tensor<1x2x2x8x4xf32> into tensor<1x4x8x4xf32>
  %vb = linalg.broadcast ins(%v : tensor<1x2x8x4xf32>) outs(%e5 : tensor<1x2x2x8x4xf32>) dimensions = [2]
  %vr = tensor.collapse_shape %vb [[0], [1, 2], [3], [4]] : tensor<1x2x2x8x4xf32> into tensor<1x4x8x4xf32>
  %kte = tensor.empty() : tensor<1x4x4x8xf32>
  %kt = linalg.transpose ins(%kr : tensor<1x4x8x4xf32>) outs(%kte : tensor<1x4x4x8xf32>) permutation = [0, 1, 3, 2]
  %q3 = tensor.collapse_shape %q [[0, 1], [2], [3]] : tensor<1x4x8x4xf32> into tensor<4x8x4xf32>
  %kt3 = tensor.collapse_shape %kt [[0, 1], [2], [3]] : tensor<1x4x4x8xf32> into tensor<4x4x8xf32>
  %s3e = tensor.empty() : tensor<4x8x8xf32>
  %s30 = linalg.fill ins(%zero : f32) outs(%s3e : tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
  %s3 = linalg.batch_matmul ins(%q3, %kt3 : tensor<4x8x4xf32>, tensor<4x4x8xf32>)
      outs(%s30 : tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
  %s = tensor.expand_shape %s3 [[0, 1], [2], [3]] output_shape [1, 4, 8, 8]
      : tensor<4x8x8xf32> into tensor<1x4x8x8xf32>
  %e4 = tensor.empty() : tensor<1x4x8x8xf32>
  %xs = linalg.generic {indexing_maps = [#id, #id],
                        iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s : tensor<1x4x8x8xf32>) outs(%e4 : tensor<1x4x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.divf %in, %two : f32
    linalg.yield %r : f32
  } -> tensor<1x4x8x8xf32>
  %be = tensor.empty() : tensor<8x8xf32>
  %b = linalg.generic {indexing_maps = [#id2], iterator_types = ["parallel", "parallel"]}
      outs(%be : tensor<8x8xf32>) {
  ^bb0(%out: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %i64 = arith.index_cast %i : index to i64
    %j64 = arith.index_cast %j : index to i64
    %future = arith.cmpi sgt, %j64, %i64 : i64
    %r = arith.select %future, %ninf, %zero : f32
    linalg.yield %r : f32
  } -> tensor<8x8xf32>
  %x = linalg.generic {indexing_maps = [#id, #bias, #id],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%xs, %b : tensor<1x4x8x8xf32>, tensor<8x8xf32>) outs(%e4 : tensor<1x4x8x8xf32>) {
  ^bb0(%in: f32, %bb: f32, %out: f32):
    %r = arith.addf %in, %bb : f32
    linalg.yield %r : f32
  } -> tensor<1x4x8x8xf32>
  %re = tensor.empty() : tensor<1x4x8x1xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%re : tensor<1x4x8x1xf32>) -> tensor<1x4x8x1xf32>
  %max = linalg.generic {indexing_maps = [#id, #keep],
                         iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x : tensor<1x4x8x8xf32>) outs(%mi : tensor<1x4x8x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<1x4x8x1xf32>
  %sub = linalg.generic {indexing_maps = [#id, #keep, #id],
                         iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %max : tensor<1x4x8x8xf32>, tensor<1x4x8x1xf32>) outs(%e4 : tensor<1x4x8x8xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %r = arith.subf %in, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x4x8x8xf32>
  %exp = linalg.generic {indexing_maps = [#id, #id],
                         iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%sub : tensor<1x4x8x8xf32>) outs(%e4 : tensor<1x4x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.exp %in : f32
    linalg.yield %r : f32
  } -> tensor<1x4x8x8xf32>
  %zi = linalg.fill ins(%zero : f32) outs(%re : tensor<1x4x8x1xf32>) -> tensor<1x4x8x1xf32>
  %sum = linalg.generic {indexing_maps = [#id, #keep],
                         iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%exp : tensor<1x4x8x8xf32>) outs(%zi : tensor<1x4x8x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<1x4x8x1xf32>
  %p = linalg.generic {indexing_maps = [#id, #keep, #id],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%exp, %sum : tensor<1x4x8x8xf32>, tensor<1x4x8x1xf32>) outs(%e4 : tensor<1x4x8x8xf32>) {
  ^bb0(%in: f32, %z: f32, %out: f32):
    %r = arith.divf %in, %z : f32
    linalg.yield %r : f32
  } -> tensor<1x4x8x8xf32>
  %p3 = tensor.collapse_shape %p [[0, 1], [2], [3]] : tensor<1x4x8x8xf32> into tensor<4x8x8xf32>
  %vr3 = tensor.collapse_shape %vr [[0, 1], [2], [3]] : tensor<1x4x8x4xf32> into tensor<4x8x4xf32>
  %o3e = tensor.empty() : tensor<4x8x4xf32>
  %o30 = linalg.fill ins(%zero : f32) outs(%o3e : tensor<4x8x4xf32>) -> tensor<4x8x4xf32>
  %o3 = linalg.batch_matmul ins(%p3, %vr3 : tensor<4x8x8xf32>, tensor<4x8x4xf32>)
      outs(%o30 : tensor<4x8x4xf32>) -> tensor<4x8x4xf32>
  %o = tensor.expand_shape %o3 [[0, 1], [2], [3]] output_shape [1, 4, 8, 4]
      : tensor<4x8x4xf32> into tensor<1x4x8x4xf32>
  return %o : tensor<1x4x8x4xf32>
}

// -----

// Two batched matmuls without a softmax between them are not attention.
// CHECK-LABEL: func @not_attention
// CHECK-NOT: dash.attention
// CHECK: linalg.batch_matmul
// CHECK: linalg.batch_matmul
func.func @not_attention(%a: tensor<4x8x8xf32>, %b: tensor<4x8x8xf32>, %c: tensor<4x8x4xf32>) -> tensor<1x4x8x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
  %ab = linalg.batch_matmul ins(%a, %b : tensor<4x8x8xf32>, tensor<4x8x8xf32>) outs(%f : tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
  %e2 = tensor.empty() : tensor<4x8x4xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<4x8x4xf32>) -> tensor<4x8x4xf32>
  %abc = linalg.batch_matmul ins(%ab, %c : tensor<4x8x8xf32>, tensor<4x8x4xf32>) outs(%f2 : tensor<4x8x4xf32>) -> tensor<4x8x4xf32>
  %o = tensor.expand_shape %abc [[0, 1], [2], [3]] output_shape [1, 4, 8, 4] : tensor<4x8x4xf32> into tensor<1x4x8x4xf32>
  return %o : tensor<1x4x8x4xf32>
}
