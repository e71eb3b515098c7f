// RUN: dash-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(dash-router-to-kernel))" | FileCheck %s

// An eligible chain (bf16, G = 4, block 64, D = 64) becomes one
// dash.router_kernel on buffers with the three ops' attributes; the logits
// and probabilities are gone.
// CHECK-LABEL: func.func @bf16_g4
// CHECK-SAME: (%[[QT:.*]]: tensor<1x8x256x64xbf16>, %[[ST:.*]]: tensor<1x2x4x64xf32>)
// CHECK-NOT: dash.route_logits
// CHECK-NOT: dash.entmax
// CHECK-DAG: %[[P:.*]] = memref.alloc() : memref<1x2x256x4xf32>
// CHECK-DAG: %[[C:.*]] = memref.alloc() : memref<1x2x256xi32>
// CHECK-DAG: %[[Q:.*]] = bufferization.to_buffer %[[QT]] read_only : tensor<1x8x256x64xbf16> to memref<1x8x256x64xbf16>
// CHECK-DAG: %[[S:.*]] = bufferization.to_buffer %[[ST]] read_only : tensor<1x2x4x64xf32> to memref<1x2x4x64xf32>
// CHECK: dash.router_kernel ins(%[[Q]], %[[S]] : memref<1x8x256x64xbf16>, memref<1x2x4x64xf32>) outs(%[[P]], %[[C]] : memref<1x2x256x4xf32>, memref<1x2x256xi32>)
// CHECK-SAME: {alpha = 2.000000e+00 : f64, gamma = 3.000000e+00 : f64, init_blocks = 2 : i64, local_blocks = 1 : i64, prior_mode = #dash.prior_mode<raw>, scale = 2.500000e-01 : f64, sigma = 5.000000e-01 : f64}
// CHECK-NOT: dash.block_prior
// CHECK: %[[PT:.*]] = bufferization.to_tensor %[[P]] restrict writable
// CHECK: %[[CT:.*]] = bufferization.to_tensor %[[C]] restrict writable
// CHECK: return %[[PT]], %[[CT]]
func.func @bf16_g4(%q: tensor<1x8x256x64xbf16>, %kbar: tensor<1x2x4x64xf32>) -> (tensor<1x2x256x4xf32>, tensor<1x2x256xi32>) {
  %z0 = tensor.empty() : tensor<1x8x256x4xf32>
  %z = dash.route_logits ins(%q, %kbar : tensor<1x8x256x64xbf16>, tensor<1x2x4x64xf32>) outs(%z0 : tensor<1x8x256x4xf32>) {block_size = 64, gamma = 3.0, scale = 0.25}
  %p0 = tensor.empty() : tensor<1x8x256x4xf32>
  %t0 = tensor.empty() : tensor<1x8x256xf32>
  %p, %tau = dash.entmax ins(%z : tensor<1x8x256x4xf32>) outs(%p0, %t0 : tensor<1x8x256x4xf32>, tensor<1x8x256xf32>) {alpha = 2.0, dimension = 3}
  %l0 = tensor.empty() : tensor<1x2x256x4xf32>
  %c0 = tensor.empty() : tensor<1x2x256xi32>
  %prior, %counts = dash.block_prior ins(%p : tensor<1x8x256x4xf32>) outs(%l0, %c0 : tensor<1x2x256x4xf32>, tensor<1x2x256xi32>) {block_size = 64, prior_mode = #dash.prior_mode<raw>, sigma = 0.5, local_blocks = 1, init_blocks = 2}
  return %prior, %counts : tensor<1x2x256x4xf32>, tensor<1x2x256xi32>
}

// -----

// f16, G = 1, D = 128, N not a multiple of 64, default attributes.
// CHECK-LABEL: func.func @f16_g1
// CHECK: dash.router_kernel ins({{.*}} : memref<1x2x200x128xf16>, memref<1x2x3x128xf32>) outs({{.*}} : memref<1x2x200x4xf32>, memref<1x2x200xi32>){{$}}
func.func @f16_g1(%q: tensor<1x2x200x128xf16>, %kbar: tensor<1x2x3x128xf32>) -> (tensor<1x2x200x4xf32>, tensor<1x2x200xi32>) {
  %z0 = tensor.empty() : tensor<1x2x200x3xf32>
  %z = dash.route_logits ins(%q, %kbar : tensor<1x2x200x128xf16>, tensor<1x2x3x128xf32>) outs(%z0 : tensor<1x2x200x3xf32>) {block_size = 64}
  %p0 = tensor.empty() : tensor<1x2x200x3xf32>
  %t0 = tensor.empty() : tensor<1x2x200xf32>
  %p, %tau = dash.entmax ins(%z : tensor<1x2x200x3xf32>) outs(%p0, %t0 : tensor<1x2x200x3xf32>, tensor<1x2x200xf32>) {dimension = 3}
  %l0 = tensor.empty() : tensor<1x2x200x4xf32>
  %c0 = tensor.empty() : tensor<1x2x200xi32>
  %prior, %counts = dash.block_prior ins(%p : tensor<1x2x200x3xf32>) outs(%l0, %c0 : tensor<1x2x200x4xf32>, tensor<1x2x200xi32>) {block_size = 64}
  return %prior, %counts : tensor<1x2x200x4xf32>, tensor<1x2x200xi32>
}

// -----

// Probabilities that the backward pass also reads come from the kernel as a
// third result.
// CHECK-LABEL: func.func @probs_used
// CHECK: %[[PR:.*]] = memref.alloc() : memref<1x8x256x4xf32>
// CHECK: dash.router_kernel ins({{.*}}) outs(%{{.*}}, %{{.*}}, %[[PR]] : memref<1x2x256x4xf32>, memref<1x2x256xi32>, memref<1x8x256x4xf32>)
// CHECK: %[[PRT:.*]] = bufferization.to_tensor %[[PR]] restrict writable
// CHECK: return {{.*}}, %[[PRT]]
func.func @probs_used(%q: tensor<1x8x256x64xbf16>, %kbar: tensor<1x2x4x64xf32>)
    -> (tensor<1x2x256x4xf32>, tensor<1x8x256x4xf32>) {
  %z0 = tensor.empty() : tensor<1x8x256x4xf32>
  %z = dash.route_logits ins(%q, %kbar : tensor<1x8x256x64xbf16>, tensor<1x2x4x64xf32>) outs(%z0 : tensor<1x8x256x4xf32>) {block_size = 64}
  %p0 = tensor.empty() : tensor<1x8x256x4xf32>
  %t0 = tensor.empty() : tensor<1x8x256xf32>
  %p, %tau = dash.entmax ins(%z : tensor<1x8x256x4xf32>) outs(%p0, %t0 : tensor<1x8x256x4xf32>, tensor<1x8x256xf32>) {dimension = 3}
  %l0 = tensor.empty() : tensor<1x2x256x4xf32>
  %c0 = tensor.empty() : tensor<1x2x256xi32>
  %prior, %counts = dash.block_prior ins(%p : tensor<1x8x256x4xf32>) outs(%l0, %c0 : tensor<1x2x256x4xf32>, tensor<1x2x256xi32>) {block_size = 64}
  return %prior, %p : tensor<1x2x256x4xf32>, tensor<1x8x256x4xf32>
}

// -----

// Left for dash-to-linalg: tau has a user; alpha outside (1, 2]; f32
// queries; G = 128 (no tile of at most 64 rows).
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: dash.router_kernel
// CHECK-NOT: bufferization
// CHECK-COUNT-4: dash.block_prior
func.func @left_alone(%q: tensor<1x8x256x64xbf16>, %kbar: tensor<1x2x4x64xf32>,
                      %qf: tensor<1x8x256x64xf32>, %qg: tensor<1x128x128x64xbf16>,
                      %kg: tensor<1x1x2x64xf32>)
    -> (tensor<1x8x256xf32>, tensor<1x2x256x4xf32>, tensor<1x2x256x4xf32>, tensor<1x1x128x2xf32>) {
  %z0 = tensor.empty() : tensor<1x8x256x4xf32>
  %p0 = tensor.empty() : tensor<1x8x256x4xf32>
  %t0 = tensor.empty() : tensor<1x8x256xf32>
  %l0 = tensor.empty() : tensor<1x2x256x4xf32>
  %c0 = tensor.empty() : tensor<1x2x256xi32>
  %z = dash.route_logits ins(%q, %kbar : tensor<1x8x256x64xbf16>, tensor<1x2x4x64xf32>) outs(%z0 : tensor<1x8x256x4xf32>) {block_size = 64}
  %p, %tau = dash.entmax ins(%z : tensor<1x8x256x4xf32>) outs(%p0, %t0 : tensor<1x8x256x4xf32>, tensor<1x8x256xf32>) {dimension = 3}
  %prior, %counts = dash.block_prior ins(%p : tensor<1x8x256x4xf32>) outs(%l0, %c0 : tensor<1x2x256x4xf32>, tensor<1x2x256xi32>) {block_size = 64}

  %z2 = dash.route_logits ins(%q, %kbar : tensor<1x8x256x64xbf16>, tensor<1x2x4x64xf32>) outs(%z0 : tensor<1x8x256x4xf32>) {block_size = 64}
  %p2, %tau2 = dash.entmax ins(%z2 : tensor<1x8x256x4xf32>) outs(%p0, %t0 : tensor<1x8x256x4xf32>, tensor<1x8x256xf32>) {alpha = 3.0, dimension = 3}
  %prior2, %counts2 = dash.block_prior ins(%p2 : tensor<1x8x256x4xf32>) outs(%l0, %c0 : tensor<1x2x256x4xf32>, tensor<1x2x256xi32>) {block_size = 64}

  %z3 = dash.route_logits ins(%qf, %kbar : tensor<1x8x256x64xf32>, tensor<1x2x4x64xf32>) outs(%z0 : tensor<1x8x256x4xf32>) {block_size = 64}
  %p3, %tau3 = dash.entmax ins(%z3 : tensor<1x8x256x4xf32>) outs(%p0, %t0 : tensor<1x8x256x4xf32>, tensor<1x8x256xf32>) {dimension = 3}
  %prior3, %counts3 = dash.block_prior ins(%p3 : tensor<1x8x256x4xf32>) outs(%l0, %c0 : tensor<1x2x256x4xf32>, tensor<1x2x256xi32>) {block_size = 64}

  %z4i = tensor.empty() : tensor<1x128x128x2xf32>
  %p4i = tensor.empty() : tensor<1x128x128x2xf32>
  %t4i = tensor.empty() : tensor<1x128x128xf32>
  %l4i = tensor.empty() : tensor<1x1x128x2xf32>
  %c4i = tensor.empty() : tensor<1x1x128xi32>
  %z4 = dash.route_logits ins(%qg, %kg : tensor<1x128x128x64xbf16>, tensor<1x1x2x64xf32>) outs(%z4i : tensor<1x128x128x2xf32>) {block_size = 64}
  %p4, %tau4 = dash.entmax ins(%z4 : tensor<1x128x128x2xf32>) outs(%p4i, %t4i : tensor<1x128x128x2xf32>, tensor<1x128x128xf32>) {dimension = 3}
  %prior4, %counts4 = dash.block_prior ins(%p4 : tensor<1x128x128x2xf32>) outs(%l4i, %c4i : tensor<1x1x128x2xf32>, tensor<1x1x128xi32>) {block_size = 64}
  return %tau, %prior2, %prior3, %prior4 : tensor<1x8x256xf32>, tensor<1x2x256x4xf32>, tensor<1x2x256x4xf32>, tensor<1x1x128x2xf32>
}

// -----

// The routing-logit gradient with f32 gradients moves to the tensor-core
// kernel; with gradients in the query's type, or no complete block, it is
// left for dash-to-linalg.
// CHECK-LABEL: func.func @route_logits_grad
// CHECK-DAG: %[[DQ:.*]] = memref.alloc() : memref<1x8x256x64xf32>
// CHECK-DAG: %[[DS:.*]] = memref.alloc() : memref<1x2x4x64xf32>
// CHECK: dash.route_logits_grad_kernel ins({{.*}} : memref<1x8x256x64xbf16>, memref<1x2x4x64xf32>, memref<1x8x256x4xf32>) outs(%[[DQ]], %[[DS]] : memref<1x8x256x64xf32>, memref<1x2x4x64xf32>) {gamma = 3.000000e+00 : f64}
// CHECK-COUNT-2: bufferization.to_tensor {{.*}} restrict writable
// CHECK: dash.route_logits_grad ins
// CHECK: dash.route_logits_grad ins
func.func @route_logits_grad(%q: tensor<1x8x256x64xbf16>, %kbar: tensor<1x2x4x64xf32>,
                             %dz: tensor<1x8x256x4xf32>, %q32: tensor<1x8x32x64xbf16>,
                             %kbar0: tensor<1x2x0x64xf32>, %dz0: tensor<1x8x32x0xf32>)
    -> (tensor<1x8x256x64xf32>, tensor<1x2x4x64xf32>, tensor<1x8x256x64xbf16>,
        tensor<1x8x32x64xf32>) {
  %qi = tensor.empty() : tensor<1x8x256x64xf32>
  %si = tensor.empty() : tensor<1x2x4x64xf32>
  %dq, %ds = dash.route_logits_grad ins(%q, %kbar, %dz : tensor<1x8x256x64xbf16>, tensor<1x2x4x64xf32>, tensor<1x8x256x4xf32>) outs(%qi, %si : tensor<1x8x256x64xf32>, tensor<1x2x4x64xf32>) {block_size = 64, gamma = 3.0}
  %qh = tensor.empty() : tensor<1x8x256x64xbf16>
  %dqh, %dsh = dash.route_logits_grad ins(%q, %kbar, %dz : tensor<1x8x256x64xbf16>, tensor<1x2x4x64xf32>, tensor<1x8x256x4xf32>) outs(%qh, %si : tensor<1x8x256x64xbf16>, tensor<1x2x4x64xf32>) {block_size = 64}
  %q0 = tensor.empty() : tensor<1x8x32x64xf32>
  %s0 = tensor.empty() : tensor<1x2x0x64xf32>
  %dq0, %ds0 = dash.route_logits_grad ins(%q32, %kbar0, %dz0 : tensor<1x8x32x64xbf16>, tensor<1x2x0x64xf32>, tensor<1x8x32x0xf32>) outs(%q0, %s0 : tensor<1x8x32x64xf32>, tensor<1x2x0x64xf32>) {block_size = 64}
  return %dq, %ds, %dqh, %dq0 : tensor<1x8x256x64xf32>, tensor<1x2x4x64xf32>, tensor<1x8x256x64xbf16>, tensor<1x8x32x64xf32>
}

// -----

// A user of the probabilities before the block_prior: left alone (the
// kernel's probabilities would not dominate it).
// CHECK-LABEL: func.func @probs_used_before
// CHECK-NOT: dash.router_kernel
// CHECK: dash.block_prior
func.func @probs_used_before(%q: tensor<1x8x256x64xbf16>, %kbar: tensor<1x2x4x64xf32>)
    -> (tensor<1x2x256x4xf32>, tensor<1x8x256x4xf32>) {
  %z0 = tensor.empty() : tensor<1x8x256x4xf32>
  %z = dash.route_logits ins(%q, %kbar : tensor<1x8x256x64xbf16>, tensor<1x2x4x64xf32>) outs(%z0 : tensor<1x8x256x4xf32>) {block_size = 64}
  %p0 = tensor.empty() : tensor<1x8x256x4xf32>
  %t0 = tensor.empty() : tensor<1x8x256xf32>
  %p, %tau = dash.entmax ins(%z : tensor<1x8x256x4xf32>) outs(%p0, %t0 : tensor<1x8x256x4xf32>, tensor<1x8x256xf32>) {dimension = 3}
  %c = linalg.copy ins(%p : tensor<1x8x256x4xf32>) outs(%p0 : tensor<1x8x256x4xf32>) -> tensor<1x8x256x4xf32>
  %l0 = tensor.empty() : tensor<1x2x256x4xf32>
  %c0 = tensor.empty() : tensor<1x2x256xi32>
  %prior, %counts = dash.block_prior ins(%p : tensor<1x8x256x4xf32>) outs(%l0, %c0 : tensor<1x2x256x4xf32>, tensor<1x2x256xi32>) {block_size = 64}
  return %prior, %c : tensor<1x2x256x4xf32>, tensor<1x8x256x4xf32>
}
