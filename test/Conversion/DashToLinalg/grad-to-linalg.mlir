// RUN: dash-opt %s --split-input-file --dash-to-linalg | FileCheck %s

// 1.5-entmax VJP: u = sqrt(p) on the support (p > 0 or NaN), 0 off it; one
// pass sums u and u * dp per row, the second gives u * (dp - sum(u dp) /
// sum(u)) and 0 for a row with an empty support.
// CHECK-LABEL: func @entmax_grad
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[SUMS:.*]]:2 = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%{{.*}}, %{{.*}} : tensor<4x8xf32>, tensor<4x8xf32>) outs(%{{.*}}, %{{.*}} : tensor<4xf32>, tensor<4xf32>)
// CHECK: %[[SUPP:.*]] = arith.cmpf ugt, %[[P:.*]], %[[ZERO]] : f32
// CHECK: %[[ROOT:.*]] = math.sqrt %[[P]] : f32
// CHECK: %[[U:.*]] = arith.select %[[SUPP]], %[[ROOT]], %[[ZERO]] : f32
// CHECK: arith.mulf %[[U]], %{{.*}} : f32
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%{{.*}}, %{{.*}}, %[[SUMS]]#0, %[[SUMS]]#1 : {{.*}}) outs(%{{.*}} : tensor<4x8xf32>)
// CHECK: math.sqrt
// CHECK: %[[MEAN:.*]] = arith.divf %[[SUMUDP:.*]], %[[SUMU:.*]] : f32
// CHECK: %[[CENTERED:.*]] = arith.subf %{{.*}}, %[[MEAN]] : f32
// CHECK: %[[DZ:.*]] = arith.mulf %{{.*}}, %[[CENTERED]] : f32
// CHECK: %[[EMPTY:.*]] = arith.cmpf oeq, %[[SUMU]], %[[ZERO]] : f32
// CHECK: arith.select %[[EMPTY]], %[[ZERO]], %[[DZ]] : f32
// CHECK-NOT: math.powf
func.func @entmax_grad(%p: tensor<4x8xf32>, %dp: tensor<4x8xf32>, %init: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = dash.entmax_grad ins(%p, %dp : tensor<4x8xf32>, tensor<4x8xf32>) outs(%init : tensor<4x8xf32>) {dimension = 1}
  return %0 : tensor<4x8xf32>
}

// -----

// Rows of 256 or more along the last dimension (a multiple of 32) sum in
// two stages: 32 lane partials of columns j, j + 32, ... (the lane loop
// parallel and innermost, so the GPU's neighbouring threads read
// neighbouring columns), then the partials.
// CHECK-LABEL: func @entmax_grad_long_rows
// CHECK: %[[P:.*]] = tensor.expand_shape %arg0 {{\[\[}}0], [1, 2]] output_shape [2, 16, 32] : tensor<2x512xf32> into tensor<2x16x32xf32>
// CHECK: %[[DP:.*]] = tensor.expand_shape %arg1 {{\[\[}}0], [1, 2]] output_shape [2, 16, 32]
// CHECK: %[[PARTIAL:.*]]:2 = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[P]], %[[DP]] : tensor<2x16x32xf32>, tensor<2x16x32xf32>) outs(%{{.*}}, %{{.*}} : tensor<2x32xf32>, tensor<2x32xf32>)
// CHECK: math.sqrt
// CHECK: %[[SUMS:.*]]:2 = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[PARTIAL]]#0, %[[PARTIAL]]#1 : tensor<2x32xf32>, tensor<2x32xf32>) outs(%{{.*}}, %{{.*}} : tensor<2xf32>, tensor<2xf32>)
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%arg0, %arg1, %[[SUMS]]#0, %[[SUMS]]#1 : {{.*}}) outs(%{{.*}} : tensor<2x512xf32>)
func.func @entmax_grad_long_rows(%p: tensor<2x512xf32>, %dp: tensor<2x512xf32>, %init: tensor<2x512xf32>) -> tensor<2x512xf32> {
  %0 = dash.entmax_grad ins(%p, %dp : tensor<2x512xf32>, tensor<2x512xf32>) outs(%init : tensor<2x512xf32>) {dimension = 1}
  return %0 : tensor<2x512xf32>
}

// -----

// A general alpha raises p to 2 - alpha = 0.75 with powf; f64 computes in
// f64; the reduced dimension may be any.
// CHECK-LABEL: func @entmax_grad_general
// CHECK-DAG: %[[EXP:.*]] = arith.constant 7.500000e-01 : f64
// CHECK: iterator_types = ["reduction", "parallel"]
// CHECK: math.powf %{{.*}}, %[[EXP]] : f64
// CHECK: iterator_types = ["parallel", "parallel"]
// CHECK: math.powf %{{.*}}, %[[EXP]] : f64
// CHECK-NOT: math.sqrt
func.func @entmax_grad_general(%p: tensor<8x4xf64>, %dp: tensor<8x4xf64>, %init: tensor<8x4xf64>) -> tensor<8x4xf64> {
  %0 = dash.entmax_grad ins(%p, %dp : tensor<8x4xf64>, tensor<8x4xf64>) outs(%init : tensor<8x4xf64>) {alpha = 1.25, dimension = 0}
  return %0 : tensor<8x4xf64>
}

// -----

// Sparsemax (alpha = 2): u is the support indicator, no power at all.
// CHECK-LABEL: func @entmax_grad_sparsemax
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NOT: math.powf
// CHECK-NOT: math.sqrt
// CHECK: %[[SUPP:.*]] = arith.cmpf ugt, %{{.*}}, %[[ZERO]] : f32
// CHECK: arith.select %[[SUPP]], %[[ONE]], %[[ZERO]] : f32
// CHECK-NOT: math.powf
// CHECK-NOT: math.sqrt
// CHECK: return
func.func @entmax_grad_sparsemax(%p: tensor<4x8xf32>, %dp: tensor<4x8xf32>, %init: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = dash.entmax_grad ins(%p, %dp : tensor<4x8xf32>, tensor<4x8xf32>) outs(%init : tensor<4x8xf32>) {alpha = 2.0, dimension = 1}
  return %0 : tensor<4x8xf32>
}

// -----

// Centered prior: the group is pooled (pi = mean of the G = 2 heads), the
// gradient is read on the Mc = 2 complete blocks of the M = 3 (N = 40), the
// forced blocks (the diagonal block and local_blocks = 1 before it) are
// excluded, routed blocks get dl * (1 / sigma) / pi with 1 / sigma = 2, and
// every head of the group gets dpi / G.
// CHECK-LABEL: func @block_prior_grad_centered
// CHECK-DAG: %[[INVSIGMA:.*]] = arith.constant 2.000000e+00 : f32
// CHECK-DAG: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[TRUE:.*]] = arith.constant true
// CHECK-DAG: %[[BK:.*]] = arith.constant 16 : index
// CHECK: tensor.expand_shape %{{.*}} output_shape [1, 2, 2, 40, 2]
// CHECK: iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK: arith.mulf %{{.*}}, %[[HALF]]
// CHECK: %[[DL:.*]] = tensor.extract_slice %{{.*}}[0, 0, 0, 0] [1, 2, 40, 2] [1, 1, 1, 1] : tensor<1x2x40x3xf32> to tensor<1x2x40x2xf32>
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[DL]] : tensor<1x2x40x2xf32>, tensor<1x2x40x2xf32>)
// CHECK: ^bb0(%[[PI:.*]]: f32, %[[G:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[I:.*]] = linalg.index 2 : index
// CHECK: %[[C:.*]] = linalg.index 3 : index
// CHECK: %[[DIAG:.*]] = arith.divui %[[I]], %[[BK]] : index
// CHECK: %[[FORCED:.*]] = arith.ori
// CHECK: %[[SUPP:.*]] = arith.cmpf ugt, %[[PI]], %[[ZERO]] : f32
// CHECK: %[[NOTFORCED:.*]] = arith.xori %[[FORCED]], %[[TRUE]] : i1
// CHECK: %[[ROUTED:.*]] = arith.andi %[[SUPP]], %[[NOTFORCED]] : i1
// CHECK: %[[SCALED:.*]] = arith.mulf %[[G]], %[[INVSIGMA]] : f32
// CHECK: %[[DPI:.*]] = arith.divf %[[SCALED]], %[[PI]] : f32
// CHECK: arith.select %[[ROUTED]], %[[DPI]], %[[ZERO]] : f32
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]
// CHECK: arith.mulf %{{.*}}, %[[HALF]] : f32
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2], [3], [4]] : tensor<1x2x2x40x2xf32> into tensor<1x4x40x2xf32>
func.func @block_prior_grad_centered(%p: tensor<1x4x40x2xf32>, %dl: tensor<1x2x40x3xf32>, %init: tensor<1x4x40x2xf32>) -> tensor<1x4x40x2xf32> {
  %0 = dash.block_prior_grad ins(%p, %dl : tensor<1x4x40x2xf32>, tensor<1x2x40x3xf32>) outs(%init : tensor<1x4x40x2xf32>) {block_size = 16, sigma = 0.5, local_blocks = 1}
  return %0 : tensor<1x4x40x2xf32>
}

// -----

// Raw prior: dpi = dl / pi, sigma plays no part (the factor 1 folds away);
// with N = 32 every block is complete, so nothing is sliced.
// CHECK-LABEL: func @block_prior_grad_raw
// CHECK-NOT: tensor.extract_slice
// CHECK-NOT: arith.constant 2.000000e+00
// CHECK: ^bb0(%[[PI:.*]]: f32, %[[G:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[DPI:.*]] = arith.divf %[[G]], %[[PI]] : f32
// CHECK: arith.select %{{.*}}, %[[DPI]], %{{.*}} : f32
func.func @block_prior_grad_raw(%p: tensor<1x4x32x2xf32>, %dl: tensor<1x2x32x2xf32>, %init: tensor<1x4x32x2xf32>) -> tensor<1x4x32x2xf32> {
  %0 = dash.block_prior_grad ins(%p, %dl : tensor<1x4x32x2xf32>, tensor<1x2x32x2xf32>) outs(%init : tensor<1x4x32x2xf32>) {block_size = 16, sigma = 0.5, prior_mode = #dash.prior_mode<raw>}
  return %0 : tensor<1x4x32x2xf32>
}

// -----

// Flat prior: the prior does not depend on pi, the gradient is 0.
// CHECK-LABEL: func @block_prior_grad_flat
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: ^bb0(%{{.*}}: f32, %{{.*}}: f32, %{{.*}}: f32):
// CHECK-NEXT: linalg.yield %[[ZERO]] : f32
// CHECK-NOT: arith.divf
// CHECK: return
func.func @block_prior_grad_flat(%p: tensor<1x4x32x2xf32>, %dl: tensor<1x2x32x2xf32>, %init: tensor<1x4x32x2xf32>) -> tensor<1x4x32x2xf32> {
  %0 = dash.block_prior_grad ins(%p, %dl : tensor<1x4x32x2xf32>, tensor<1x2x32x2xf32>) outs(%init : tensor<1x4x32x2xf32>) {block_size = 16, prior_mode = #dash.prior_mode<flat>}
  return %0 : tensor<1x4x32x2xf32>
}

// -----

// FlashAttention-2's backward with the log-prior as a bias, on bf16 inputs
// computed in f32: biased causal scores, P from the saved LSE, Delta = <dO, O>,
// dP = dO V^T, dS = P (dP - Delta); dQ = scale dS K, dK = scale dS^T Q,
// dV = P^T dO. The bias gradient sums dS over the heads of a group, pads the
// N = 40 keys to the M * Bk = 48 of whole blocks with zeros and sums each
// block.
// CHECK-DAG: #[[PRIOR:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4 floordiv 16)>
// CHECK-LABEL: func @sparse_attention_grad
// CHECK-DAG: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK-DAG: %[[SCALE:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[QK:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%{{.*}}, %{{.*}} : tensor<1x2x2x40x8xbf16>, tensor<1x2x40x8xbf16>) outs(%{{.*}} : tensor<1x2x2x40x40xf32>)
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: %[[S:.*]] = linalg.generic {indexing_maps = [#{{.*}}, #[[PRIOR]], #{{.*}}], {{.*}} ins(%[[QK]], %{{.*}} : tensor<1x2x2x40x40xf32>, tensor<1x2x40x3xf32>)
// CHECK: %[[CAUSAL:.*]] = arith.cmpi ule
// CHECK: arith.mulf %{{.*}}, %[[SCALE]]
// CHECK: arith.select %[[CAUSAL]], %{{.*}}, %[[NEGINF]]
// CHECK: %[[P:.*]] = linalg.generic {{.*}} ins(%[[S]], %{{.*}} : tensor<1x2x2x40x40xf32>, tensor<1x2x2x40xf32>)
// CHECK: math.exp
// CHECK: %[[DELTA:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%{{.*}}, %{{.*}} : tensor<1x2x2x40x8xbf16>, tensor<1x2x2x40x8xbf16>) outs(%{{.*}} : tensor<1x2x2x40xf32>)
// CHECK: %[[DP:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<1x2x2x40x40xf32>)
// CHECK: %[[DS:.*]] = linalg.generic {{.*}} ins(%[[P]], %[[DP]], %[[DELTA]] : {{.*}})
// CHECK: arith.subf
// CHECK: arith.mulf
// CHECK: %[[DQ:.*]] = linalg.generic {{.*}} ins(%[[DS]], %{{.*}} : tensor<1x2x2x40x40xf32>, tensor<1x2x40x8xbf16>) outs(%{{.*}} : tensor<1x2x2x40x8xf32>)
// CHECK: arith.mulf %{{.*}}, %[[SCALE]]
// CHECK: %[[DK:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%[[DS]], %{{.*}} : {{.*}}) outs(%{{.*}} : tensor<1x2x40x8xf32>)
// CHECK: arith.mulf %{{.*}}, %[[SCALE]]
// CHECK: %[[DV:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%[[P]], %{{.*}} : {{.*}}) outs(%{{.*}} : tensor<1x2x40x8xf32>)
// CHECK: %[[DSG:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[DS]] : tensor<1x2x2x40x40xf32>) outs(%{{.*}} : tensor<1x2x40x40xf32>)
// CHECK: %[[PAD:.*]] = tensor.pad %[[DSG]] low[0, 0, 0, 0] high[0, 0, 0, 8]
// CHECK: tensor.yield %[[ZERO]] : f32
// CHECK: } : tensor<1x2x40x40xf32> to tensor<1x2x40x48xf32>
// CHECK: %[[BLOCKS:.*]] = tensor.expand_shape %[[PAD]] {{\[\[}}0], [1], [2], [3, 4]] output_shape [1, 2, 40, 3, 16]
// CHECK: %[[DL:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[BLOCKS]] : tensor<1x2x40x3x16xf32>) outs(%{{.*}} : tensor<1x2x40x3xf32>)
// CHECK: %[[DQC:.*]] = tensor.collapse_shape %[[DQ]] {{\[\[}}0], [1, 2], [3], [4]] : tensor<1x2x2x40x8xf32> into tensor<1x4x40x8xf32>
// CHECK: return %[[DQC]], %[[DK]], %[[DV]], %[[DL]]
func.func @sparse_attention_grad(%q: tensor<1x4x40x8xbf16>, %k: tensor<1x2x40x8xbf16>, %v: tensor<1x2x40x8xbf16>, %prior: tensor<1x2x40x3xf32>, %o: tensor<1x4x40x8xbf16>, %lse: tensor<1x4x40xf32>, %do: tensor<1x4x40x8xbf16>, %dqi: tensor<1x4x40x8xf32>, %dki: tensor<1x2x40x8xf32>, %dvi: tensor<1x2x40x8xf32>, %dli: tensor<1x2x40x3xf32>) -> (tensor<1x4x40x8xf32>, tensor<1x2x40x8xf32>, tensor<1x2x40x8xf32>, tensor<1x2x40x3xf32>) {
  %dq, %dk, %dv, %dl = dash.sparse_attention_grad ins(%q, %k, %v, %prior, %o, %lse, %do : tensor<1x4x40x8xbf16>, tensor<1x2x40x8xbf16>, tensor<1x2x40x8xbf16>, tensor<1x2x40x3xf32>, tensor<1x4x40x8xbf16>, tensor<1x4x40xf32>, tensor<1x4x40x8xbf16>) outs(%dqi, %dki, %dvi, %dli : tensor<1x4x40x8xf32>, tensor<1x2x40x8xf32>, tensor<1x2x40x8xf32>, tensor<1x2x40x3xf32>) {block_size = 16, scale = 0.5}
  return %dq, %dk, %dv, %dl : tensor<1x4x40x8xf32>, tensor<1x2x40x8xf32>, tensor<1x2x40x8xf32>, tensor<1x2x40x3xf32>
}

// -----

// N = 32 is a multiple of the block: the keys are not padded; f32 gradients
// into bf16 inits are truncated.
// CHECK-LABEL: func @sparse_attention_grad_whole_blocks
// CHECK-NOT: tensor.pad
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0], [1], [2], [3, 4]] output_shape [1, 1, 32, 2, 16] : tensor<1x1x32x32xf32> into tensor<1x1x32x2x16xf32>
// CHECK: arith.truncf %{{.*}} : f32 to bf16
func.func @sparse_attention_grad_whole_blocks(%q: tensor<1x2x32x8xbf16>, %k: tensor<1x1x32x8xbf16>, %v: tensor<1x1x32x8xbf16>, %prior: tensor<1x1x32x2xf32>, %o: tensor<1x2x32x8xbf16>, %lse: tensor<1x2x32xf32>, %do: tensor<1x2x32x8xbf16>, %dqi: tensor<1x2x32x8xbf16>, %dki: tensor<1x1x32x8xbf16>, %dvi: tensor<1x1x32x8xbf16>, %dli: tensor<1x1x32x2xf32>) -> (tensor<1x2x32x8xbf16>, tensor<1x1x32x8xbf16>, tensor<1x1x32x8xbf16>, tensor<1x1x32x2xf32>) {
  %dq, %dk, %dv, %dl = dash.sparse_attention_grad ins(%q, %k, %v, %prior, %o, %lse, %do : tensor<1x2x32x8xbf16>, tensor<1x1x32x8xbf16>, tensor<1x1x32x8xbf16>, tensor<1x1x32x2xf32>, tensor<1x2x32x8xbf16>, tensor<1x2x32xf32>, tensor<1x2x32x8xbf16>) outs(%dqi, %dki, %dvi, %dli : tensor<1x2x32x8xbf16>, tensor<1x1x32x8xbf16>, tensor<1x1x32x8xbf16>, tensor<1x1x32x2xf32>) {block_size = 16}
  return %dq, %dk, %dv, %dl : tensor<1x2x32x8xbf16>, tensor<1x1x32x8xbf16>, tensor<1x1x32x8xbf16>, tensor<1x1x32x2xf32>
}

// -----

// N = 8 < Bk = 16: the one (partial) block is summed whole, without padding
// the keys to a full block.
// CHECK-LABEL: func @sparse_attention_grad_one_block
// CHECK-NOT: tensor.pad
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0], [1], [2], [3, 4]] output_shape [1, 1, 8, 1, 8] : tensor<1x1x8x8xf32> into tensor<1x1x8x1x8xf32>
// CHECK-NOT: tensor.pad
// CHECK: return
func.func @sparse_attention_grad_one_block(%q: tensor<1x1x8x4xf32>, %k: tensor<1x1x8x4xf32>, %v: tensor<1x1x8x4xf32>, %prior: tensor<1x1x8x1xf32>, %o: tensor<1x1x8x4xf32>, %lse: tensor<1x1x8xf32>, %do: tensor<1x1x8x4xf32>, %dqi: tensor<1x1x8x4xf32>, %dki: tensor<1x1x8x4xf32>, %dvi: tensor<1x1x8x4xf32>, %dli: tensor<1x1x8x1xf32>) -> tensor<1x1x8x1xf32> {
  %dq, %dk, %dv, %dl = dash.sparse_attention_grad ins(%q, %k, %v, %prior, %o, %lse, %do : tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>, tensor<1x1x8x1xf32>, tensor<1x1x8x4xf32>, tensor<1x1x8xf32>, tensor<1x1x8x4xf32>) outs(%dqi, %dki, %dvi, %dli : tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>, tensor<1x1x8x1xf32>) {block_size = 16}
  return %dl : tensor<1x1x8x1xf32>
}

// -----

// dQ and dKbar only see logits of candidate blocks, (c + 1) * Bk <= i (the
// others are the constant -inf); both contractions carry gamma * scale =
// 3 * 0.5 = 1.5.
// CHECK-LABEL: func @route_logits_grad
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[FACTOR:.*]] = arith.constant 1.500000e+00 : f32
// CHECK-DAG: %[[BK:.*]] = arith.constant 16 : index
// CHECK: %[[DZ:.*]] = tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2], [3], [4]] output_shape [1, 2, 2, 40, 2] : tensor<1x4x40x2xf32> into tensor<1x2x2x40x2xf32>
// CHECK: %[[MASKED:.*]] = linalg.generic {{.*}} ins(%[[DZ]] : tensor<1x2x2x40x2xf32>)
// CHECK: ^bb0(%[[G:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[I:.*]] = linalg.index 3
// CHECK: %[[C:.*]] = linalg.index 4
// CHECK: %[[NEXT:.*]] = arith.addi %[[C]], %{{.*}}
// CHECK: %[[END:.*]] = arith.muli %[[NEXT]], %[[BK]]
// CHECK: %[[CAND:.*]] = arith.cmpi ule, %[[END]], %[[I]]
// CHECK: arith.select %[[CAND]], %[[G]], %[[ZERO]] : f32
// CHECK: %[[DQ:.*]] = linalg.generic {{.*}} ins(%[[MASKED]], %{{.*}} : tensor<1x2x2x40x2xf32>, tensor<1x2x2x4xf32>) outs(%{{.*}} : tensor<1x2x2x40x4xf32>)
// CHECK: arith.mulf %{{.*}}, %[[FACTOR]]
// CHECK: %[[DKBAR:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%[[MASKED]], %{{.*}} : tensor<1x2x2x40x2xf32>, tensor<1x2x2x40x4xf32>) outs(%{{.*}} : tensor<1x2x2x4xf32>)
// CHECK: arith.mulf %{{.*}}, %[[FACTOR]]
// CHECK: %[[DQC:.*]] = tensor.collapse_shape %[[DQ]] {{\[\[}}0], [1, 2], [3], [4]] : tensor<1x2x2x40x4xf32> into tensor<1x4x40x4xf32>
// CHECK: return %[[DQC]], %[[DKBAR]]
func.func @route_logits_grad(%q: tensor<1x4x40x4xf32>, %kbar: tensor<1x2x2x4xf32>, %dz: tensor<1x4x40x2xf32>, %dqi: tensor<1x4x40x4xf32>, %dkbari: tensor<1x2x2x4xf32>) -> (tensor<1x4x40x4xf32>, tensor<1x2x2x4xf32>) {
  %dq, %dkbar = dash.route_logits_grad ins(%q, %kbar, %dz : tensor<1x4x40x4xf32>, tensor<1x2x2x4xf32>, tensor<1x4x40x2xf32>) outs(%dqi, %dkbari : tensor<1x4x40x4xf32>, tensor<1x2x2x4xf32>) {block_size = 16, gamma = 3.0}
  return %dq, %dkbar : tensor<1x4x40x4xf32>, tensor<1x2x2x4xf32>
}

// -----

// A long reduction (G N = 2 * 4096 rows into 256 x 4 outputs) runs in two
// stages: partial sums over 16 chunks of 256 rows, then over the chunks.
// CHECK-LABEL: func @route_logits_grad_long
// CHECK: %[[DZ:.*]] = tensor.expand_shape %{{.*}} {{\[\[}}0], [1], [2], [3, 4], [5]] output_shape [1, 2, 2, 16, 256, 256] : tensor<1x2x2x4096x256xf32> into tensor<1x2x2x16x256x256xf32>
// CHECK: %[[Q:.*]] = tensor.expand_shape %{{.*}} {{\[\[}}0], [1], [2], [3, 4], [5]] output_shape [1, 2, 2, 16, 256, 4] : tensor<1x2x2x4096x4xf32> into tensor<1x2x2x16x256x4xf32>
// CHECK: %[[PARTIAL:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%[[DZ]], %[[Q]] : {{.*}}) outs(%{{.*}} : tensor<1x2x16x256x4xf32>)
// CHECK: %[[DKBAR:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[PARTIAL]] : tensor<1x2x16x256x4xf32>) outs(%{{.*}} : tensor<1x2x256x4xf32>)
// CHECK: return %[[DKBAR]]
func.func @route_logits_grad_long(%q: tensor<1x4x4096x4xf32>, %kbar: tensor<1x2x256x4xf32>, %dz: tensor<1x4x4096x256xf32>, %dqi: tensor<1x4x4096x4xf32>, %dkbari: tensor<1x2x256x4xf32>) -> tensor<1x2x256x4xf32> {
  %dq, %dkbar = dash.route_logits_grad ins(%q, %kbar, %dz : tensor<1x4x4096x4xf32>, tensor<1x2x256x4xf32>, tensor<1x4x4096x256xf32>) outs(%dqi, %dkbari : tensor<1x4x4096x4xf32>, tensor<1x2x256x4xf32>) {block_size = 16}
  return %dkbar : tensor<1x2x256x4xf32>
}

// -----

// The partial sums take as much memory per chunk as the output, so there
// are at most 256 chunks: N = 16 * 4099 rows go in 16 chunks of 4099 (not
// 4099 chunks of 16).
// CHECK-LABEL: func @route_logits_grad_few_chunks
// CHECK: tensor.expand_shape %{{.*}} output_shape [1, 1, 2, 16, 4099, 4099] : tensor<1x1x2x65584x4099xf32> into tensor<1x1x2x16x4099x4099xf32>
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<1x1x16x4099x4xf32>)
func.func @route_logits_grad_few_chunks(%q: tensor<1x2x65584x4xf32>, %kbar: tensor<1x1x4099x4xf32>, %dz: tensor<1x2x65584x4099xf32>, %dqi: tensor<1x2x65584x4xf32>, %dkbari: tensor<1x1x4099x4xf32>) -> tensor<1x1x4099x4xf32> {
  %dq, %dkbar = dash.route_logits_grad ins(%q, %kbar, %dz : tensor<1x2x65584x4xf32>, tensor<1x1x4099x4xf32>, tensor<1x2x65584x4099xf32>) outs(%dqi, %dkbari : tensor<1x2x65584x4xf32>, tensor<1x1x4099x4xf32>) {block_size = 16}
  return %dkbar : tensor<1x1x4099x4xf32>
}

// -----

// Mean pooling: dK_t = dKbar_c / Bk for the tokens of the complete blocks
// (1/16), then the tokens of the partial last block (N = 40 = 2 * 16 + 8)
// are padded with zeros.
// CHECK-LABEL: func @summarize_grad_mean
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[INV:.*]] = arith.constant 6.250000e-02 : f32
// CHECK: %[[DB:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<1x2x2x8xf32>) outs(%{{.*}} : tensor<1x2x2x16x8xf32>)
// CHECK: arith.mulf %{{.*}}, %[[INV]] : f32
// CHECK: %[[DK:.*]] = tensor.collapse_shape %[[DB]] {{\[\[}}0], [1], [2, 3], [4]] : tensor<1x2x2x16x8xf32> into tensor<1x2x32x8xf32>
// CHECK: %[[PAD:.*]] = tensor.pad %[[DK]] low[0, 0, 0, 0] high[0, 0, 8, 0]
// CHECK: tensor.yield %[[ZERO]] : f32
// CHECK: } : tensor<1x2x32x8xf32> to tensor<1x2x40x8xf32>
// CHECK: return %[[PAD]]
func.func @summarize_grad_mean(%dkbar: tensor<1x2x2x8xf32>, %k: tensor<1x2x40x8xf32>, %init: tensor<1x2x40x8xf32>) -> tensor<1x2x40x8xf32> {
  %0 = dash.summarize_grad ins(%dkbar, %k : tensor<1x2x2x8xf32>, tensor<1x2x40x8xf32>) outs(%init : tensor<1x2x40x8xf32>) {block_size = 16}
  return %0 : tensor<1x2x40x8xf32>
}

// -----

// With W: the summary weights a_t (scaled softmax of <W_g, K_t>) and Kbar are
// recomputed; de_t = a_t <dKbar_c, K_t - Kbar_c>; dK_t = a_t dKbar_c +
// scale de_t W_g; dW_g = scale sum_{b, c, t} de_t K_t (the batch is reduced);
// the partial block (N = 40) is padded with zeros; results are truncated to
// the bf16 inits.
// CHECK-LABEL: func @summarize_grad_weighted
// CHECK-DAG: %[[SCALE:.*]] = arith.constant 2.500000e-01 : f32
// CHECK: %[[SLICE:.*]] = tensor.extract_slice %{{.*}}[0, 0, 0, 0] [2, 2, 32, 8] [1, 1, 1, 1] : tensor<2x2x40x8xbf16> to tensor<2x2x32x8xbf16>
// CHECK: %[[BLOCKS:.*]] = tensor.expand_shape %[[SLICE]] {{\[\[}}0], [1], [2, 3], [4]] output_shape [2, 2, 2, 16, 8]
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: %[[A:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<2x2x2x16xf32>)
// CHECK: arith.divf
// CHECK: %[[KBAR:.*]] = linalg.generic {{.*}} ins(%[[BLOCKS]], %[[A]] : {{.*}}) outs(%{{.*}} : tensor<2x2x2x8xf32>)
// CHECK: %[[DOTS:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[BLOCKS]], %[[KBAR]] : {{.*}}) outs(%{{.*}} : tensor<2x2x2x16xf32>)
// CHECK: arith.subf
// CHECK: %[[DE:.*]] = linalg.generic {{.*}} ins(%[[A]], %[[DOTS]] : {{.*}})
// CHECK: %[[DB:.*]] = linalg.generic {{.*}} ins(%[[A]], %{{.*}}, %[[DE]], %{{.*}} : tensor<2x2x2x16xf32>, tensor<2x2x2x8xf32>, tensor<2x2x2x16xf32>, tensor<2x8xbf16>) outs(%{{.*}} : tensor<2x2x2x16x8xf32>)
// CHECK: arith.mulf %{{.*}}, %[[SCALE]]
// CHECK: %[[DW:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%[[DE]], %[[BLOCKS]] : {{.*}}) outs(%{{.*}} : tensor<2x8xf32>)
// CHECK: arith.mulf %{{.*}}, %[[SCALE]]
// CHECK: %[[DK:.*]] = tensor.collapse_shape %[[DB]] {{.*}} into tensor<2x2x32x8xf32>
// CHECK: tensor.pad %[[DK]] low[0, 0, 0, 0] high[0, 0, 8, 0]
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: linalg.generic {{.*}} ins(%[[DW]] : tensor<2x8xf32>) outs(%{{.*}} : tensor<2x8xbf16>)
// CHECK: arith.truncf %{{.*}} : f32 to bf16
func.func @summarize_grad_weighted(%dkbar: tensor<2x2x2x8xf32>, %k: tensor<2x2x40x8xbf16>, %w: tensor<2x8xbf16>, %dki: tensor<2x2x40x8xbf16>, %dwi: tensor<2x8xbf16>) -> (tensor<2x2x40x8xbf16>, tensor<2x8xbf16>) {
  %dk, %dw = dash.summarize_grad ins(%dkbar, %k, %w : tensor<2x2x2x8xf32>, tensor<2x2x40x8xbf16>, tensor<2x8xbf16>) outs(%dki, %dwi : tensor<2x2x40x8xbf16>, tensor<2x8xbf16>) {block_size = 16, scale = 0.25} -> tensor<2x8xbf16>
  return %dk, %dw : tensor<2x2x40x8xbf16>, tensor<2x8xbf16>
}

// -----

// dash.attention_grad is decomposed and every stage, forward and gradient,
// lowered.
// CHECK-LABEL: func @attention_grad
// CHECK-NOT: dash.
// CHECK: scf.for
// CHECK-NOT: dash.
// CHECK: return
func.func @attention_grad(%q: tensor<1x2x40x8xf32>, %k: tensor<1x1x40x8xf32>, %v: tensor<1x1x40x8xf32>, %w: tensor<1x8xf32>, %o: tensor<1x2x40x8xf32>, %lse: tensor<1x2x40xf32>, %do: tensor<1x2x40x8xf32>) -> (tensor<1x2x40x8xf32>, tensor<1x1x40x8xf32>, tensor<1x1x40x8xf32>, tensor<1x8xf32>) {
  %dq, %dk, %dv, %dw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do {block_size = 16}
      : tensor<1x2x40x8xf32>, tensor<1x1x40x8xf32>, tensor<1x1x40x8xf32>, tensor<1x2x40x8xf32>, tensor<1x2x40xf32>, tensor<1x2x40x8xf32>, tensor<1x8xf32>
      -> tensor<1x2x40x8xf32>, tensor<1x1x40x8xf32>, tensor<1x1x40x8xf32>, tensor<1x8xf32>
  return %dq, %dk, %dv, %dw : tensor<1x2x40x8xf32>, tensor<1x1x40x8xf32>, tensor<1x1x40x8xf32>, tensor<1x8xf32>
}
