// RUN: dash-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(dash-sparse-attention-to-kernel))" | FileCheck %s

// An eligible op (bf16, block 64, D = 64, N not a multiple of 64) moves to
// buffers: read-only inputs, fresh outputs returned as restrict tensors.
// CHECK-LABEL: func.func @bf16_d64
// CHECK-SAME: (%[[QT:.*]]: tensor<1x4x200x64xbf16>, %[[KT:.*]]: tensor<1x2x200x64xbf16>, %[[VT:.*]]: tensor<1x2x200x64xbf16>, %[[PT:.*]]: tensor<1x2x200x4xf32>)
// CHECK-NOT: dash.sparse_attention ins
// CHECK-DAG: %[[O:.*]] = memref.alloc() : memref<1x4x200x64xbf16>
// CHECK-DAG: %[[LSE:.*]] = memref.alloc() : memref<1x4x200xf32>
// CHECK-DAG: %[[Q:.*]] = bufferization.to_buffer %[[QT]] read_only : tensor<1x4x200x64xbf16> to memref<1x4x200x64xbf16>
// CHECK-DAG: %[[K:.*]] = bufferization.to_buffer %[[KT]] read_only
// CHECK-DAG: %[[V:.*]] = bufferization.to_buffer %[[VT]] read_only
// CHECK-DAG: %[[P:.*]] = bufferization.to_buffer %[[PT]] read_only : tensor<1x2x200x4xf32> to memref<1x2x200x4xf32>
// CHECK: dash.sparse_attention_kernel ins(%[[Q]], %[[K]], %[[V]], %[[P]] : {{.*}}) outs(%[[O]], %[[LSE]] : memref<1x4x200x64xbf16>, memref<1x4x200xf32>) {scale = 5.000000e-01 : f64}
// CHECK: %[[OT:.*]] = bufferization.to_tensor %[[O]] restrict writable
// CHECK: %[[LT:.*]] = bufferization.to_tensor %[[LSE]] restrict writable
// CHECK: return %[[OT]], %[[LT]]
func.func @bf16_d64(%q: tensor<1x4x200x64xbf16>, %k: tensor<1x2x200x64xbf16>,
                    %v: tensor<1x2x200x64xbf16>, %p: tensor<1x2x200x4xf32>)
    -> (tensor<1x4x200x64xbf16>, tensor<1x4x200xf32>) {
  %oi = tensor.empty() : tensor<1x4x200x64xbf16>
  %li = tensor.empty() : tensor<1x4x200xf32>
  %o, %lse = dash.sparse_attention ins(%q, %k, %v, %p : tensor<1x4x200x64xbf16>,
      tensor<1x2x200x64xbf16>, tensor<1x2x200x64xbf16>, tensor<1x2x200x4xf32>)
      outs(%oi, %li : tensor<1x4x200x64xbf16>, tensor<1x4x200xf32>) {block_size = 64, scale = 0.5 : f64}
  return %o, %lse : tensor<1x4x200x64xbf16>, tensor<1x4x200xf32>
}

// -----

// CHECK-LABEL: func.func @f16_d128
// CHECK: dash.sparse_attention_kernel {{.*}} : memref<2x2x128x128xf16>, memref<2x1x128x128xf16>, memref<2x1x128x128xf16>, memref<2x1x128x2xf32>)
func.func @f16_d128(%q: tensor<2x2x128x128xf16>, %k: tensor<2x1x128x128xf16>,
                    %v: tensor<2x1x128x128xf16>, %p: tensor<2x1x128x2xf32>)
    -> (tensor<2x2x128x128xf16>, tensor<2x2x128xf32>) {
  %oi = tensor.empty() : tensor<2x2x128x128xf16>
  %li = tensor.empty() : tensor<2x2x128xf32>
  %o, %lse = dash.sparse_attention ins(%q, %k, %v, %p : tensor<2x2x128x128xf16>,
      tensor<2x1x128x128xf16>, tensor<2x1x128x128xf16>, tensor<2x1x128x2xf32>)
      outs(%oi, %li : tensor<2x2x128x128xf16>, tensor<2x2x128xf32>) {block_size = 64}
  return %o, %lse : tensor<2x2x128x128xf16>, tensor<2x2x128xf32>
}
// -----

// Not eligible, left for dash-to-linalg: f32, another block size, another
// head dimension.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: dash.sparse_attention_kernel
// CHECK-NOT: bufferization
// CHECK-COUNT-3: dash.sparse_attention
func.func @left_alone(%q: tensor<1x2x64x64xf32>, %k: tensor<1x1x64x64xf32>,
                      %p: tensor<1x1x64x1xf32>, %qh: tensor<1x2x64x64xbf16>,
                      %kh: tensor<1x1x64x64xbf16>, %p2: tensor<1x1x64x2xf32>,
                      %qd: tensor<1x2x64x32xbf16>, %kd: tensor<1x1x64x32xbf16>)
    -> (tensor<1x2x64x64xf32>, tensor<1x2x64x64xbf16>, tensor<1x2x64x32xbf16>) {
  %oi = tensor.empty() : tensor<1x2x64x64xf32>
  %li = tensor.empty() : tensor<1x2x64xf32>
  %o, %lse = dash.sparse_attention ins(%q, %k, %k, %p : tensor<1x2x64x64xf32>,
      tensor<1x1x64x64xf32>, tensor<1x1x64x64xf32>, tensor<1x1x64x1xf32>)
      outs(%oi, %li : tensor<1x2x64x64xf32>, tensor<1x2x64xf32>) {block_size = 64}
  %oh = tensor.empty() : tensor<1x2x64x64xbf16>
  %o2, %lse2 = dash.sparse_attention ins(%qh, %kh, %kh, %p2 : tensor<1x2x64x64xbf16>,
      tensor<1x1x64x64xbf16>, tensor<1x1x64x64xbf16>, tensor<1x1x64x2xf32>)
      outs(%oh, %li : tensor<1x2x64x64xbf16>, tensor<1x2x64xf32>) {block_size = 32}
  %od = tensor.empty() : tensor<1x2x64x32xbf16>
  %o3, %lse3 = dash.sparse_attention ins(%qd, %kd, %kd, %p : tensor<1x2x64x32xbf16>,
      tensor<1x1x64x32xbf16>, tensor<1x1x64x32xbf16>, tensor<1x1x64x1xf32>)
      outs(%od, %li : tensor<1x2x64x32xbf16>, tensor<1x2x64xf32>) {block_size = 64}
  return %o, %o2, %o3 : tensor<1x2x64x64xf32>, tensor<1x2x64x64xbf16>, tensor<1x2x64x32xbf16>
}

// -----

// The gradient with f32 gradients (what dash-decompose builds) moves to
// buffers likewise; its inits are not read.
// CHECK-LABEL: func.func @grad_bf16
// CHECK-DAG: %[[DQ:.*]] = memref.alloc() : memref<1x4x200x64xf32>
// CHECK-DAG: %[[DK:.*]] = memref.alloc() : memref<1x2x200x64xf32>
// CHECK-DAG: %[[DV:.*]] = memref.alloc() : memref<1x2x200x64xf32>
// CHECK-DAG: %[[DL:.*]] = memref.alloc() : memref<1x2x200x4xf32>
// CHECK: dash.sparse_attention_grad_kernel ins({{.*}} : memref<1x4x200x64xbf16>, memref<1x2x200x64xbf16>, memref<1x2x200x64xbf16>, memref<1x2x200x4xf32>, memref<1x4x200x64xbf16>, memref<1x4x200xf32>, memref<1x4x200x64xbf16>) outs(%[[DQ]], %[[DK]], %[[DV]], %[[DL]] : {{.*}})
// CHECK-COUNT-4: bufferization.to_tensor {{.*}} restrict writable
// CHECK-NOT: dash.sparse_attention_grad ins
func.func @grad_bf16(%q: tensor<1x4x200x64xbf16>, %k: tensor<1x2x200x64xbf16>,
                     %v: tensor<1x2x200x64xbf16>, %p: tensor<1x2x200x4xf32>,
                     %o: tensor<1x4x200x64xbf16>, %lse: tensor<1x4x200xf32>,
                     %do: tensor<1x4x200x64xbf16>)
    -> (tensor<1x4x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>,
        tensor<1x2x200x4xf32>) {
  %dqi = tensor.empty() : tensor<1x4x200x64xf32>
  %dki = tensor.empty() : tensor<1x2x200x64xf32>
  %dli = tensor.empty() : tensor<1x2x200x4xf32>
  %dq, %dk, %dv, %dl = dash.sparse_attention_grad ins(%q, %k, %v, %p, %o, %lse, %do
      : tensor<1x4x200x64xbf16>, tensor<1x2x200x64xbf16>, tensor<1x2x200x64xbf16>,
        tensor<1x2x200x4xf32>, tensor<1x4x200x64xbf16>, tensor<1x4x200xf32>,
        tensor<1x4x200x64xbf16>)
      outs(%dqi, %dki, %dki, %dli : tensor<1x4x200x64xf32>, tensor<1x2x200x64xf32>,
           tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>) {block_size = 64}
  return %dq, %dk, %dv, %dl : tensor<1x4x200x64xf32>, tensor<1x2x200x64xf32>,
      tensor<1x2x200x64xf32>, tensor<1x2x200x4xf32>
}

// -----

// Gradients in the input type (what dash-differentiate builds) are left for
// dash-to-linalg: the kernels write f32.
// CHECK-LABEL: func.func @grad_bf16_results
// CHECK-NOT: dash.sparse_attention_grad_kernel
// CHECK: dash.sparse_attention_grad ins
func.func @grad_bf16_results(%q: tensor<1x4x200x64xbf16>, %k: tensor<1x2x200x64xbf16>,
                             %p: tensor<1x2x200x4xf32>, %lse: tensor<1x4x200xf32>)
    -> tensor<1x4x200x64xbf16> {
  %dqi = tensor.empty() : tensor<1x4x200x64xbf16>
  %dki = tensor.empty() : tensor<1x2x200x64xbf16>
  %dli = tensor.empty() : tensor<1x2x200x4xf32>
  %dq, %dk, %dv, %dl = dash.sparse_attention_grad ins(%q, %k, %k, %p, %q, %lse, %q
      : tensor<1x4x200x64xbf16>, tensor<1x2x200x64xbf16>, tensor<1x2x200x64xbf16>,
        tensor<1x2x200x4xf32>, tensor<1x4x200x64xbf16>, tensor<1x4x200xf32>,
        tensor<1x4x200x64xbf16>)
      outs(%dqi, %dki, %dki, %dli : tensor<1x4x200x64xbf16>, tensor<1x2x200x64xbf16>,
           tensor<1x2x200x64xbf16>, tensor<1x2x200x4xf32>) {block_size = 64}
  return %dq : tensor<1x4x200x64xbf16>
}
