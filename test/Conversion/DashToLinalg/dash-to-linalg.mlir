// RUN: dash-opt %s --split-input-file --dash-to-linalg | FileCheck %s

// Mean pooling: the complete blocks of K viewed as [B, Hkv, Mc, Bk, D],
// reduced over the tokens of each block with weight 1/Bk. The partial last
// block (N = 40 = 2 * 16 + 8) is sliced away.
// CHECK-LABEL: func @summarize_mean
// CHECK-DAG: %[[INV:.*]] = arith.constant 6.250000e-02 : f32
// CHECK: %[[SLICE:.*]] = tensor.extract_slice %{{.*}}[0, 0, 0, 0] [1, 2, 32, 8] [1, 1, 1, 1]
// CHECK: %[[BLOCKS:.*]] = tensor.expand_shape %[[SLICE]] {{\[\[}}0], [1], [2, 3], [4]] output_shape [1, 2, 2, 16, 8]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[BLOCKS]] : tensor<1x2x2x16x8xf32>)
// CHECK: arith.mulf %{{.*}}, %[[INV]]
// CHECK-NOT: dash.
func.func @summarize_mean(%k: tensor<1x2x40x8xf32>, %init: tensor<1x2x2x8xf32>) -> tensor<1x2x2x8xf32> {
  %0 = dash.summarize ins(%k : tensor<1x2x40x8xf32>) outs(%init : tensor<1x2x2x8xf32>) {block_size = 16}
  return %0 : tensor<1x2x2x8xf32>
}

// -----

// With W: token logits <W_g, K_t>, a scaled softmax over each block's tokens,
// then the weighted sum; bf16 keys are extended to f32, the result truncated.
// CHECK-LABEL: func @summarize_weighted
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x2x2x16x8xbf16>, tensor<2x8xbf16>) outs(%{{.*}} : tensor<1x2x2x16xf32>)
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: linalg.generic
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: arith.truncf %{{.*}} : f32 to bf16
func.func @summarize_weighted(%k: tensor<1x2x32x8xbf16>, %w: tensor<2x8xbf16>, %init: tensor<1x2x2x8xbf16>) -> tensor<1x2x2x8xbf16> {
  %0 = dash.summarize ins(%k, %w : tensor<1x2x32x8xbf16>, tensor<2x8xbf16>) outs(%init : tensor<1x2x2x8xbf16>) {block_size = 16}
  return %0 : tensor<1x2x2x8xbf16>
}

// -----

// Heads split into [Hkv, G]; the candidate mask keeps (c + 1) * Bk <= i;
// gamma * scale = 2 * 0.5 = 1.
// CHECK-LABEL: func @route_logits
// CHECK-DAG: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK-DAG: %[[BK:.*]] = arith.constant 16 : index
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2], [3], [4]] output_shape [1, 2, 2, 40, 4]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK: linalg.generic
// CHECK: %[[I:.*]] = linalg.index 3
// CHECK: %[[C:.*]] = linalg.index 4
// CHECK: %[[NEXT:.*]] = arith.addi %[[C]], %{{.*}}
// CHECK: %[[END:.*]] = arith.muli %[[NEXT]], %[[BK]]
// CHECK: %[[CAND:.*]] = arith.cmpi ule, %[[END]], %[[I]]
// CHECK: arith.select %[[CAND]], %{{.*}}, %[[NEGINF]]
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2], [3], [4]] : tensor<1x2x2x40x2xf32> into tensor<1x4x40x2xf32>
func.func @route_logits(%q: tensor<1x4x40x4xf32>, %kbar: tensor<1x2x2x4xf32>, %init: tensor<1x4x40x2xf32>) -> tensor<1x4x40x2xf32> {
  %z = dash.route_logits ins(%q, %kbar : tensor<1x4x40x4xf32>, tensor<1x2x2x4xf32>) outs(%init : tensor<1x4x40x2xf32>) {block_size = 16, gamma = 2.0}
  return %z : tensor<1x4x40x2xf32>
}

// -----

// 1.5-entmax: x = 0.5 z, masked to -inf, shifted by the row maximum; 32
// bisection steps on [-1, 0] updating the bracket in place; the exponent 2 is
// a multiplication; the result is renormalised; an empty row gives p = 0 and
// tau = +inf.
// CHECK-LABEL: func @entmax
// CHECK-DAG: %[[INF:.*]] = arith.constant 0x7F800000 : f32
// CHECK-DAG: %[[STEPS:.*]] = arith.constant 32 : index
// CHECK-DAG: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-DAG: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: arith.mulf %{{.*}}, %[[HALF]]
// CHECK: arith.select %{{.*}}, %{{.*}}, %[[NEGINF]]
// CHECK: arith.maximumf
// CHECK: arith.subf
// CHECK: %[[LOOP:.*]]:2 = scf.for %{{.*}} = %{{.*}} to %[[STEPS]] step %{{.*}} iter_args(%[[LO:.*]] = %{{.*}}, %[[HI:.*]] = %{{.*}})
// CHECK: arith.mulf %[[D:.*]], %[[D]]
// CHECK: outs(%[[LO]], %[[HI]] : tensor<4xf32>, tensor<4xf32>)
// CHECK: arith.cmpf oge
// CHECK: scf.yield
// CHECK: arith.divf
// CHECK: arith.cmpf oeq, %{{.*}}, %[[NEGINF]]
// CHECK: arith.addf
// CHECK: arith.select %{{.*}}, %[[INF]]
func.func @entmax(%x: tensor<4x8xf32>, %m: tensor<4x8xi1>, %p: tensor<4x8xf32>, %t: tensor<4xf32>) -> (tensor<4x8xf32>, tensor<4xf32>) {
  %probs, %tau = dash.entmax ins(%x, %m : tensor<4x8xf32>, tensor<4x8xi1>) outs(%p, %t : tensor<4x8xf32>, tensor<4xf32>) {dimension = 1}
  return %probs, %tau : tensor<4x8xf32>, tensor<4xf32>
}

// -----

// A general alpha uses powf with 1 / (alpha - 1); f64 computes in f64 with
// 60 steps; the reduced dimension may be any.
// CHECK-LABEL: func @entmax_general
// CHECK-DAG: arith.constant 60 : index
// CHECK-DAG: %[[EXP:.*]] = arith.constant 4.000000e+00 : f64
// CHECK: iterator_types = ["reduction", "parallel"]
// CHECK: math.powf %{{.*}}, %[[EXP]] : f64
func.func @entmax_general(%x: tensor<8x4xf64>, %p: tensor<8x4xf64>, %t: tensor<4xf64>) -> tensor<8x4xf64> {
  %probs, %tau = dash.entmax ins(%x : tensor<8x4xf64>) outs(%p, %t : tensor<8x4xf64>, tensor<4xf64>) {alpha = 1.25, dimension = 0}
  return %probs : tensor<8x4xf64>
}

// -----

// Pooling over the group, the centred log-prior over the support, padding to
// the M = 3 blocks of N = 40, forced blocks, and counts of finite entries.
// CHECK-LABEL: func @block_prior
// CHECK-DAG: %[[QUARTER:.*]] = arith.constant 2.500000e-01 : f32
// CHECK: tensor.expand_shape %{{.*}} output_shape [1, 2, 4, 40, 2]
// CHECK: arith.mulf %{{.*}}, %[[QUARTER]]
// CHECK: math.log
// CHECK: tensor.pad %{{.*}} low[0, 0, 0, 0] high[0, 0, 0, 1]
// CHECK: linalg.index 2
// CHECK: linalg.index 3
// CHECK: arith.divui
// CHECK: math.log
// CHECK: arith.subf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK: arith.cmpf one
// CHECK: arith.extui
func.func @block_prior(%p: tensor<1x8x40x2xf32>, %l: tensor<1x2x40x3xf32>, %n: tensor<1x2x40xi32>) -> (tensor<1x2x40x3xf32>, tensor<1x2x40xi32>) {
  %prior, %counts = dash.block_prior ins(%p : tensor<1x8x40x2xf32>) outs(%l, %n : tensor<1x2x40x3xf32>, tensor<1x2x40xi32>) {block_size = 16, local_blocks = 1}
  return %prior, %counts : tensor<1x2x40x3xf32>, tensor<1x2x40xi32>
}

// -----

// The log-prior is read at block j floordiv Bk; keys after the query are
// masked; rows with no key get lse = -inf and O = 0.
// CHECK-DAG: #[[PRIOR:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4 floordiv 16)>
// CHECK-LABEL: func @sparse_attention
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[PRIOR]], #{{.*}}]
// CHECK: arith.cmpi ule
// CHECK: math.exp
// CHECK: math.log
// CHECK: math.exp
// CHECK: tensor.collapse_shape {{.*}} into tensor<1x4x40x8xf32>
// CHECK: tensor.collapse_shape {{.*}} into tensor<1x4x40xf32>
func.func @sparse_attention(%q: tensor<1x4x40x8xf32>, %k: tensor<1x2x40x8xf32>, %v: tensor<1x2x40x8xf32>, %prior: tensor<1x2x40x3xf32>, %o: tensor<1x4x40x8xf32>, %lse: tensor<1x4x40xf32>) -> (tensor<1x4x40x8xf32>, tensor<1x4x40xf32>) {
  %out, %l = dash.sparse_attention ins(%q, %k, %v, %prior : tensor<1x4x40x8xf32>, tensor<1x2x40x8xf32>, tensor<1x2x40x8xf32>, tensor<1x2x40x3xf32>) outs(%o, %lse : tensor<1x4x40x8xf32>, tensor<1x4x40xf32>) {block_size = 16}
  return %out, %l : tensor<1x4x40x8xf32>, tensor<1x4x40xf32>
}

// -----

// dash.attention is decomposed and every stage lowered.
// CHECK-LABEL: func @attention
// CHECK-NOT: dash.
// CHECK: scf.for
// CHECK: return
func.func @attention(%q: tensor<1x4x40x8xf32>, %k: tensor<1x2x40x8xf32>, %v: tensor<1x2x40x8xf32>) -> tensor<1x4x40x8xf32> {
  %o = dash.attention %q, %k, %v {block_size = 16} : tensor<1x4x40x8xf32>, tensor<1x2x40x8xf32>, tensor<1x2x40x8xf32> -> tensor<1x4x40x8xf32>
  return %o : tensor<1x4x40x8xf32>
}
