// The pass plugin alone raises linalg attention (an input without dash ops):
// the pass loads the dash dialect it creates.
// RUN: mlir-opt %s --load-pass-plugin=%dash_plugin_dir/libDashPassPlugin.so \
// RUN:   --pass-pipeline='builtin.module(func.func(dash-raise-attention{gamma=2.0 local-blocks=1}))' \
// RUN:   | FileCheck %s

// CHECK-LABEL: func @attention
// CHECK-SAME: (%[[Q:.*]]: tensor<1x1x4x4xf32>, %[[K:.*]]: tensor<1x1x4x4xf32>, %[[V:.*]]: tensor<1x1x4x4xf32>)
// CHECK-NEXT: %[[O:.*]] = dash.attention %[[Q]], %[[K]], %[[V]] {gamma = 2.000000e+00 : f64, local_blocks = 1 : i64, scale = 5.000000e-01 : f64}
// CHECK-NEXT: return %[[O]]
#qk_q = affine_map<(b, h, i, j, d) -> (b, h, i, d)>
#qk_k = affine_map<(b, h, i, j, d) -> (b, h, j, d)>
#qk_s = affine_map<(b, h, i, j, d) -> (b, h, i, j)>
#id = affine_map<(b, h, i, j) -> (b, h, i, j)>
#pv_p = affine_map<(b, h, i, d, j) -> (b, h, i, j)>
#pv_v = affine_map<(b, h, i, d, j) -> (b, h, j, d)>
#pv_o = affine_map<(b, h, i, d, j) -> (b, h, i, d)>
func.func @attention(%q: tensor<1x1x4x4xf32>, %k: tensor<1x1x4x4xf32>,
                     %v: tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<1x1x4x4xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e : tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  %s = linalg.generic {indexing_maps = [#qk_q, #qk_k, #qk_s],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>) outs(%s0 : tensor<1x1x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x1x4x4xf32>
  %x = linalg.generic {indexing_maps = [#id, #id],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s : tensor<1x1x4x4xf32>) outs(%e : tensor<1x1x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %i = linalg.index 2 : index
    %j = linalg.index 3 : index
    %future = arith.cmpi ugt, %j, %i : index
    %scaled = arith.mulf %in, %half : f32
    %r = arith.select %future, %ninf, %scaled : f32
    linalg.yield %r : f32
  } -> tensor<1x1x4x4xf32>
  %p = linalg.softmax dimension(3) ins(%x : tensor<1x1x4x4xf32>) outs(%e : tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  %o = linalg.generic {indexing_maps = [#pv_p, #pv_v, #pv_o],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>) outs(%s0 : tensor<1x1x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x1x4x4xf32>
  return %o : tensor<1x1x4x4xf32>
}
