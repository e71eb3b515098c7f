// Causal grouped-query attention as torch-mlir lowers
// scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True):
// 8 query heads over 2 KV heads, 256 tokens, head dim 64 (docs/embedding.md).
//   dash-opt examples/linalg-attention.mlir --dash-raise-attention="gamma=4.0 block-size=64"
#id5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#rep = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, 0, d3, d4)>
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#keep = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
#bias = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @attention(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>,
                     %v: tensor<1x2x256x64xf32>) -> tensor<1x8x256x64xf32> {
  %zero = arith.constant 0.0 : f32
  %root = arith.constant 8.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %ke = tensor.expand_shape %k [[0], [1], [2, 3], [4]] output_shape [1, 2, 1, 256, 64]
      : tensor<1x2x256x64xf32> into tensor<1x2x1x256x64xf32>
  %e5 = tensor.empty() : tensor<1x2x4x256x64xf32>
  %kb = linalg.generic {indexing_maps = [#rep, #id5],
                        iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%ke : tensor<1x2x1x256x64xf32>) outs(%e5 : tensor<1x2x4x256x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x2x4x256x64xf32>
  %kr = tensor.collapse_shape %kb [[0], [1, 2], [3], [4]] : tensor<1x2x4x256x64xf32> into tensor<1x8x256x64xf32>
  %vb = linalg.broadcast ins(%v : tensor<1x2x256x64xf32>) outs(%e5 : tensor<1x2x4x256x64xf32>) dimensions = [2]
  %vr = tensor.collapse_shape %vb [[0], [1, 2], [3], [4]] : tensor<1x2x4x256x64xf32> into tensor<1x8x256x64xf32>
  %kte = tensor.empty() : tensor<1x8x64x256xf32>
  %kt = linalg.transpose ins(%kr : tensor<1x8x256x64xf32>) outs(%kte : tensor<1x8x64x256xf32>) permutation = [0, 1, 3, 2]
  %q3 = tensor.collapse_shape %q [[0, 1], [2], [3]] : tensor<1x8x256x64xf32> into tensor<8x256x64xf32>
  %kt3 = tensor.collapse_shape %kt [[0, 1], [2], [3]] : tensor<1x8x64x256xf32> into tensor<8x64x256xf32>
  %s3e = tensor.empty() : tensor<8x256x256xf32>
  %s30 = linalg.fill ins(%zero : f32) outs(%s3e : tensor<8x256x256xf32>) -> tensor<8x256x256xf32>
  %s3 = linalg.batch_matmul ins(%q3, %kt3 : tensor<8x256x64xf32>, tensor<8x64x256xf32>)
      outs(%s30 : tensor<8x256x256xf32>) -> tensor<8x256x256xf32>
  %s = tensor.expand_shape %s3 [[0, 1], [2], [3]] output_shape [1, 8, 256, 256]
      : tensor<8x256x256xf32> into tensor<1x8x256x256xf32>
  %e4 = tensor.empty() : tensor<1x8x256x256xf32>
  %xs = linalg.generic {indexing_maps = [#id, #id],
                        iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s : tensor<1x8x256x256xf32>) outs(%e4 : tensor<1x8x256x256xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.divf %in, %root : f32
    linalg.yield %r : f32
  } -> tensor<1x8x256x256xf32>
  %be = tensor.empty() : tensor<256x256xf32>
  %b = linalg.generic {indexing_maps = [#id2], iterator_types = ["parallel", "parallel"]}
      outs(%be : tensor<256x256xf32>) {
  ^bb0(%out: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %i64 = arith.index_cast %i : index to i64
    %j64 = arith.index_cast %j : index to i64
    %future = arith.cmpi sgt, %j64, %i64 : i64
    %r = arith.select %future, %ninf, %zero : f32
    linalg.yield %r : f32
  } -> tensor<256x256xf32>
  %x = linalg.generic {indexing_maps = [#id, #bias, #id],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%xs, %b : tensor<1x8x256x256xf32>, tensor<256x256xf32>) outs(%e4 : tensor<1x8x256x256xf32>) {
  ^bb0(%in: f32, %bb: f32, %out: f32):
    %r = arith.addf %in, %bb : f32
    linalg.yield %r : f32
  } -> tensor<1x8x256x256xf32>
  %re = tensor.empty() : tensor<1x8x256x1xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%re : tensor<1x8x256x1xf32>) -> tensor<1x8x256x1xf32>
  %max = linalg.generic {indexing_maps = [#id, #keep],
                         iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x : tensor<1x8x256x256xf32>) outs(%mi : tensor<1x8x256x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<1x8x256x1xf32>
  %sub = linalg.generic {indexing_maps = [#id, #keep, #id],
                         iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %max : tensor<1x8x256x256xf32>, tensor<1x8x256x1xf32>) outs(%e4 : tensor<1x8x256x256xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %r = arith.subf %in, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x8x256x256xf32>
  %exp = linalg.generic {indexing_maps = [#id, #id],
                         iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%sub : tensor<1x8x256x256xf32>) outs(%e4 : tensor<1x8x256x256xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.exp %in : f32
    linalg.yield %r : f32
  } -> tensor<1x8x256x256xf32>
  %zi = linalg.fill ins(%zero : f32) outs(%re : tensor<1x8x256x1xf32>) -> tensor<1x8x256x1xf32>
  %sum = linalg.generic {indexing_maps = [#id, #keep],
                         iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%exp : tensor<1x8x256x256xf32>) outs(%zi : tensor<1x8x256x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<1x8x256x1xf32>
  %p = linalg.generic {indexing_maps = [#id, #keep, #id],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%exp, %sum : tensor<1x8x256x256xf32>, tensor<1x8x256x1xf32>) outs(%e4 : tensor<1x8x256x256xf32>) {
  ^bb0(%in: f32, %z: f32, %out: f32):
    %r = arith.divf %in, %z : f32
    linalg.yield %r : f32
  } -> tensor<1x8x256x256xf32>
  %p3 = tensor.collapse_shape %p [[0, 1], [2], [3]] : tensor<1x8x256x256xf32> into tensor<8x256x256xf32>
  %vr3 = tensor.collapse_shape %vr [[0, 1], [2], [3]] : tensor<1x8x256x64xf32> into tensor<8x256x64xf32>
  %o3e = tensor.empty() : tensor<8x256x64xf32>
  %o30 = linalg.fill ins(%zero : f32) outs(%o3e : tensor<8x256x64xf32>) -> tensor<8x256x64xf32>
  %o3 = linalg.batch_matmul ins(%p3, %vr3 : tensor<8x256x256xf32>, tensor<8x256x64xf32>)
      outs(%o30 : tensor<8x256x64xf32>) -> tensor<8x256x64xf32>
  %o = tensor.expand_shape %o3 [[0, 1], [2], [3]] output_shape [1, 8, 256, 64]
      : tensor<8x256x64xf32> into tensor<1x8x256x64xf32>
  return %o : tensor<1x8x256x64xf32>
}

