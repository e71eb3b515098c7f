// The CUDA pipeline on a forward attention (and, below, its gradient):
// every kernel is PTX for the requested chip with libdevice linked (no
// unresolved __nv_ call), and the host code calls the mgpu runtime ABI.
// RUN: dash-opt %s --split-input-file --dash-nvvm-pipeline="format=isa" | FileCheck %s
// RUN: dash-opt %s --split-input-file --dash-nvvm-pipeline="format=isa chip=sm_80" | FileCheck %s --check-prefix=SM80
// RUN: dash-opt %s --split-input-file --dash-nvvm-pipeline="format=isa c-wrappers=false threads-per-block=128" | FileCheck %s --check-prefix=PLAIN

// CHECK-NOT: dash.
// CHECK: llvm.func @attention(
// CHECK: llvm.call @mgpuMemAlloc
// CHECK: gpu.launch_func
// CHECK: llvm.call @mgpuMemFree
// CHECK: llvm.func @_mlir_ciface_attention(
// CHECK: gpu.binary @{{.*}} [#gpu.object<#nvvm.target<O = 3, chip = "sm_90a", features = "+ptx80">, properties = {{.*}}assembly = "{{.*}}.version 8.0
// CHECK-SAME: .target sm_90a
// CHECK-SAME: .entry
// CHECK-NOT: __nv_
// SM80: .target sm_80
// SM80-NOT: .target sm_90a
// PLAIN-NOT: _mlir_ciface_attention
// PLAIN: gpu.launch_func @{{.*}} blocks in ({{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}}) : i64
func.func @attention(%q: tensor<1x4x40x8xf32>, %k: tensor<1x2x40x8xf32>, %v: tensor<1x2x40x8xf32>)
    -> (tensor<1x4x40x8xf32>, tensor<1x4x40xf32>, tensor<1x2x40xi32>) {
  %o, %lse, %counts = dash.attention %q, %k, %v {block_size = 16}
      : tensor<1x4x40x8xf32>, tensor<1x2x40x8xf32>, tensor<1x2x40x8xf32>
      -> tensor<1x4x40x8xf32> lse tensor<1x4x40xf32> counts tensor<1x2x40xi32>
  return %o, %lse, %counts : tensor<1x4x40x8xf32>, tensor<1x4x40xf32>, tensor<1x2x40xi32>
}

// -----

// Gradients (bf16, W, flat prior: the zero dW is a constant copied to the
// device, not read from host memory by a kernel).
// CHECK-NOT: dash.
// CHECK: llvm.func @attention_grad(
// CHECK: llvm.call @mgpuMemcpy
// CHECK-NOT: memref.get_global
func.func @attention_grad(%q: tensor<1x2x40x16xbf16>, %k: tensor<1x2x40x16xbf16>, %v: tensor<1x2x40x16xbf16>, %w: tensor<2x16xbf16>, %o: tensor<1x2x40x16xbf16>, %lse: tensor<1x2x40xf32>, %do: tensor<1x2x40x16xbf16>) -> (tensor<1x2x40x16xbf16>, tensor<1x2x40x16xbf16>, tensor<1x2x40x16xbf16>, tensor<2x16xbf16>) {
  %dq, %dk, %dv, %dw = dash.attention_grad %q, %k, %v summary %w output %o lse %lse grad %do {block_size = 16, prior_mode = #dash.prior_mode<flat>} : tensor<1x2x40x16xbf16>, tensor<1x2x40x16xbf16>, tensor<1x2x40x16xbf16>, tensor<1x2x40x16xbf16>, tensor<1x2x40xf32>, tensor<1x2x40x16xbf16>, tensor<2x16xbf16> -> tensor<1x2x40x16xbf16>, tensor<1x2x40x16xbf16>, tensor<1x2x40x16xbf16>, tensor<2x16xbf16>
  return %dq, %dk, %dv, %dw : tensor<1x2x40x16xbf16>, tensor<1x2x40x16xbf16>, tensor<1x2x40x16xbf16>, tensor<2x16xbf16>
}
