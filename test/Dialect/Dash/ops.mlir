// Round trip of every dash op, in the custom and in the generic form.
// RUN: dash-opt %s --split-input-file | dash-opt --split-input-file | FileCheck %s
// RUN: dash-opt %s --split-input-file --mlir-print-op-generic | dash-opt --split-input-file | FileCheck %s

// CHECK-LABEL: func @attention_defaults
// CHECK: %[[O:.*]] = dash.attention %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x8x256x64xbf16>, tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16> -> tensor<1x8x256x64xbf16>
// CHECK-NEXT: return %[[O]]
func.func @attention_defaults(%q: tensor<1x8x256x64xbf16>, %k: tensor<1x2x256x64xbf16>,
                              %v: tensor<1x2x256x64xbf16>) -> tensor<1x8x256x64xbf16> {
  %o = dash.attention %q, %k, %v : tensor<1x8x256x64xbf16>, tensor<1x2x256x64xbf16>,
      tensor<1x2x256x64xbf16> -> tensor<1x8x256x64xbf16>
  return %o : tensor<1x8x256x64xbf16>
}

// -----

// Every attribute set away from its default, W given, all three results.
// CHECK-LABEL: func @attention_all
// CHECK: dash.attention %{{.*}}, %{{.*}}, %{{.*}} summary %{{.*}} {alpha = 2.000000e+00 : f64, block_size = 16 : i64, gamma = 3.000000e+00 : f64, init_blocks = 1 : i64, local_blocks = 2 : i64, prior_mode = #dash.prior_mode<raw>, scale = 2.500000e-01 : f64, sigma = 5.000000e-01 : f64}
// CHECK-SAME: -> tensor<2x4x100x16xf32> lse tensor<2x4x100xf32> counts tensor<2x4x100xi32>
func.func @attention_all(%q: tensor<2x4x100x16xf32>, %k: tensor<2x4x100x16xf32>,
                         %v: tensor<2x4x100x16xf32>, %w: tensor<4x16xf32>)
    -> (tensor<2x4x100x16xf32>, tensor<2x4x100xf32>, tensor<2x4x100xi32>) {
  %o, %lse, %counts = dash.attention %q, %k, %v summary %w {
      alpha = 2.0, block_size = 16, gamma = 3.0, sigma = 0.5,
      prior_mode = #dash.prior_mode<raw>, local_blocks = 2, init_blocks = 1,
      scale = 0.25}
      : tensor<2x4x100x16xf32>, tensor<2x4x100x16xf32>, tensor<2x4x100x16xf32>,
        tensor<4x16xf32>
      -> tensor<2x4x100x16xf32> lse tensor<2x4x100xf32> counts tensor<2x4x100xi32>
  return %o, %lse, %counts : tensor<2x4x100x16xf32>, tensor<2x4x100xf32>, tensor<2x4x100xi32>
}

// -----

// Counts without LSE, dynamic sequence length, flat prior.
// CHECK-LABEL: func @attention_counts_dynamic
// CHECK: dash.attention {{.*}} {prior_mode = #dash.prior_mode<flat>} : {{.*}} -> tensor<1x4x?x32xf16> counts tensor<1x1x?xi32>
func.func @attention_counts_dynamic(%q: tensor<1x4x?x32xf16>, %k: tensor<1x1x?x32xf16>,
                                    %v: tensor<1x1x?x32xf16>)
    -> (tensor<1x4x?x32xf16>, tensor<1x1x?xi32>) {
  %o, %counts = dash.attention %q, %k, %v {prior_mode = #dash.prior_mode<flat>}
      : tensor<1x4x?x32xf16>, tensor<1x1x?x32xf16>, tensor<1x1x?x32xf16>
      -> tensor<1x4x?x32xf16> counts tensor<1x1x?xi32>
  return %o, %counts : tensor<1x4x?x32xf16>, tensor<1x1x?xi32>
}

// -----

// CHECK-LABEL: func @summarize
// CHECK: dash.summarize ins(%{{.*}} : tensor<1x2x200x64xbf16>) outs(%{{.*}} : tensor<1x2x3x64xf32>)
// CHECK: dash.summarize ins(%{{.*}}, %{{.*}} : tensor<1x2x200x64xbf16>, tensor<2x64xbf16>) outs(%{{.*}} : tensor<1x2x3x64xf32>) {scale = 1.250000e-01 : f64}
func.func @summarize(%k: tensor<1x2x200x64xbf16>, %w: tensor<2x64xbf16>,
                     %init: tensor<1x2x3x64xf32>) -> (tensor<1x2x3x64xf32>, tensor<1x2x3x64xf32>) {
  %mean = dash.summarize ins(%k : tensor<1x2x200x64xbf16>) outs(%init : tensor<1x2x3x64xf32>)
  %weighted = dash.summarize ins(%k, %w : tensor<1x2x200x64xbf16>, tensor<2x64xbf16>)
      outs(%init : tensor<1x2x3x64xf32>) {block_size = 64, scale = 0.125}
  return %mean, %weighted : tensor<1x2x3x64xf32>, tensor<1x2x3x64xf32>
}

// -----

// CHECK-LABEL: func @route_logits
// CHECK: dash.route_logits ins(%{{.*}}, %{{.*}} : tensor<1x8x200x64xbf16>, tensor<1x2x3x64xf32>) outs(%{{.*}} : tensor<1x8x200x3xf32>) {gamma = 2.000000e+00 : f64}
func.func @route_logits(%q: tensor<1x8x200x64xbf16>, %kbar: tensor<1x2x3x64xf32>,
                        %init: tensor<1x8x200x3xf32>) -> tensor<1x8x200x3xf32> {
  %z = dash.route_logits ins(%q, %kbar : tensor<1x8x200x64xbf16>, tensor<1x2x3x64xf32>)
      outs(%init : tensor<1x8x200x3xf32>) {gamma = 2.0}
  return %z : tensor<1x8x200x3xf32>
}

// -----

// CHECK-LABEL: func @entmax
// CHECK: %{{.*}}, %{{.*}} = dash.entmax ins(%{{.*}} : tensor<8x16xf32>) outs(%{{.*}}, %{{.*}} : tensor<8x16xf32>, tensor<8xf32>) {dimension = 1 : i64}
// CHECK: dash.entmax ins(%{{.*}}, %{{.*}} : tensor<8x16xf64>, tensor<8x16xi1>) outs(%{{.*}}, %{{.*}} : tensor<8x16xf64>, tensor<16xf64>) {alpha = 3.000000e+00 : f64, dimension = 0 : i64}
func.func @entmax(%x: tensor<8x16xf32>, %p: tensor<8x16xf32>, %t: tensor<8xf32>,
                  %y: tensor<8x16xf64>, %mask: tensor<8x16xi1>, %py: tensor<8x16xf64>,
                  %ty: tensor<16xf64>) -> (tensor<8x16xf32>, tensor<16xf64>) {
  %probs, %tau = dash.entmax ins(%x : tensor<8x16xf32>)
      outs(%p, %t : tensor<8x16xf32>, tensor<8xf32>) {dimension = 1}
  %probs2, %tau2 = dash.entmax ins(%y, %mask : tensor<8x16xf64>, tensor<8x16xi1>)
      outs(%py, %ty : tensor<8x16xf64>, tensor<16xf64>) {alpha = 3.0, dimension = 0}
  return %probs, %tau2 : tensor<8x16xf32>, tensor<16xf64>
}

// -----

// CHECK-LABEL: func @block_prior
// CHECK: dash.block_prior ins(%{{.*}} : tensor<1x8x200x3xf32>) outs(%{{.*}}, %{{.*}} : tensor<1x2x200x4xf32>, tensor<1x2x200xi32>) {init_blocks = 1 : i64, local_blocks = 1 : i64, prior_mode = #dash.prior_mode<raw>, sigma = 2.000000e+00 : f64}
func.func @block_prior(%p: tensor<1x8x200x3xf32>, %l: tensor<1x2x200x4xf32>,
                       %n: tensor<1x2x200xi32>) -> (tensor<1x2x200x4xf32>, tensor<1x2x200xi32>) {
  %prior, %counts = dash.block_prior ins(%p : tensor<1x8x200x3xf32>)
      outs(%l, %n : tensor<1x2x200x4xf32>, tensor<1x2x200xi32>)
      {prior_mode = #dash.prior_mode<raw>, sigma = 2.0, local_blocks = 1, init_blocks = 1}
  return %prior, %counts : tensor<1x2x200x4xf32>, tensor<1x2x200xi32>
}

// -----

// CHECK-LABEL: func @sparse_attention
// CHECK: dash.sparse_attention ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x8x200x64xbf16>, tensor<1x2x200x64xbf16>, tensor<1x2x200x64xbf16>, tensor<1x2x200x4xf32>) outs(%{{.*}}, %{{.*}} : tensor<1x8x200x64xbf16>, tensor<1x8x200xf32>)
func.func @sparse_attention(%q: tensor<1x8x200x64xbf16>, %k: tensor<1x2x200x64xbf16>,
                            %v: tensor<1x2x200x64xbf16>, %prior: tensor<1x2x200x4xf32>,
                            %o: tensor<1x8x200x64xbf16>, %lse: tensor<1x8x200xf32>)
    -> (tensor<1x8x200x64xbf16>, tensor<1x8x200xf32>) {
  %out, %l = dash.sparse_attention ins(%q, %k, %v, %prior : tensor<1x8x200x64xbf16>,
      tensor<1x2x200x64xbf16>, tensor<1x2x200x64xbf16>, tensor<1x2x200x4xf32>)
      outs(%o, %lse : tensor<1x8x200x64xbf16>, tensor<1x8x200xf32>)
  return %out, %l : tensor<1x8x200x64xbf16>, tensor<1x8x200xf32>
}

// -----

// CHECK-LABEL: func @sparse_attention_kernel
// CHECK: dash.sparse_attention_kernel ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : memref<1x8x200x64xbf16>, memref<1x2x200x64xbf16>, memref<1x2x200x64xbf16>, memref<1x2x200x4xf32>) outs(%{{.*}}, %{{.*}} : memref<1x8x200x64xbf16>, memref<1x8x200xf32>) {scale = 1.250000e-01 : f64}
func.func @sparse_attention_kernel(%q: memref<1x8x200x64xbf16>, %k: memref<1x2x200x64xbf16>,
                                   %v: memref<1x2x200x64xbf16>, %prior: memref<1x2x200x4xf32>,
                                   %o: memref<1x8x200x64xbf16>, %lse: memref<1x8x200xf32>) {
  dash.sparse_attention_kernel ins(%q, %k, %v, %prior : memref<1x8x200x64xbf16>,
      memref<1x2x200x64xbf16>, memref<1x2x200x64xbf16>, memref<1x2x200x4xf32>)
      outs(%o, %lse : memref<1x8x200x64xbf16>, memref<1x8x200xf32>) {scale = 0.125 : f64}
  return
}

// -----

// CHECK-LABEL: func @sparse_attention_grad_kernel
// CHECK: dash.sparse_attention_grad_kernel ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : memref<1x8x200x64xbf16>, memref<1x2x200x64xbf16>, memref<1x2x200x64xbf16>, memref<1x2x200x4xf32>, memref<1x8x200x64xbf16>, memref<1x8x200xf32>, memref<1x8x200x64xbf16>) outs(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : memref<1x8x200x64xf32>, memref<1x2x200x64xf32>, memref<1x2x200x64xf32>, memref<1x2x200x4xf32>){{$}}
func.func @sparse_attention_grad_kernel(
    %q: memref<1x8x200x64xbf16>, %k: memref<1x2x200x64xbf16>,
    %v: memref<1x2x200x64xbf16>, %prior: memref<1x2x200x4xf32>,
    %o: memref<1x8x200x64xbf16>, %lse: memref<1x8x200xf32>,
    %do: memref<1x8x200x64xbf16>, %dq: memref<1x8x200x64xf32>,
    %dk: memref<1x2x200x64xf32>, %dv: memref<1x2x200x64xf32>,
    %dl: memref<1x2x200x4xf32>) {
  dash.sparse_attention_grad_kernel
      ins(%q, %k, %v, %prior, %o, %lse, %do : memref<1x8x200x64xbf16>,
          memref<1x2x200x64xbf16>, memref<1x2x200x64xbf16>,
          memref<1x2x200x4xf32>, memref<1x8x200x64xbf16>,
          memref<1x8x200xf32>, memref<1x8x200x64xbf16>)
      outs(%dq, %dk, %dv, %dl : memref<1x8x200x64xf32>, memref<1x2x200x64xf32>,
           memref<1x2x200x64xf32>, memref<1x2x200x4xf32>) {block_size = 64}
  return
}

// -----

// CHECK-LABEL: func @router_kernel_probs
// CHECK: dash.router_kernel ins(%{{.*}}, %{{.*}} : memref<1x8x256x64xbf16>, memref<1x2x4x64xf32>) outs(%{{.*}}, %{{.*}}, %{{.*}} : memref<1x2x256x4xf32>, memref<1x2x256xi32>, memref<1x8x256x4xf32>)
func.func @router_kernel_probs(%q: memref<1x8x256x64xbf16>, %s: memref<1x2x4x64xf32>,
                               %p: memref<1x2x256x4xf32>, %c: memref<1x2x256xi32>,
                               %pr: memref<1x8x256x4xf32>) {
  dash.router_kernel ins(%q, %s : memref<1x8x256x64xbf16>, memref<1x2x4x64xf32>)
      outs(%p, %c, %pr : memref<1x2x256x4xf32>, memref<1x2x256xi32>, memref<1x8x256x4xf32>)
  return
}

// -----

// CHECK-LABEL: func @route_logits_grad_kernel
// CHECK: dash.route_logits_grad_kernel ins(%{{.*}}, %{{.*}}, %{{.*}} : memref<1x8x256x64xbf16>, memref<1x2x4x64xf32>, memref<1x8x256x4xf32>) outs(%{{.*}}, %{{.*}} : memref<1x8x256x64xf32>, memref<1x2x4x64xf32>) {gamma = 2.000000e+00 : f64}
func.func @route_logits_grad_kernel(%q: memref<1x8x256x64xbf16>, %kbar: memref<1x2x4x64xf32>,
                                    %dz: memref<1x8x256x4xf32>, %dq: memref<1x8x256x64xf32>,
                                    %dkbar: memref<1x2x4x64xf32>) {
  dash.route_logits_grad_kernel ins(%q, %kbar, %dz : memref<1x8x256x64xbf16>,
      memref<1x2x4x64xf32>, memref<1x8x256x4xf32>)
      outs(%dq, %dkbar : memref<1x8x256x64xf32>, memref<1x2x4x64xf32>) {gamma = 2.0}
  return
}

// -----

// CHECK-LABEL: func @router_kernel
// CHECK: dash.router_kernel ins(%{{.*}}, %{{.*}} : memref<1x8x200x128xf16>, memref<1x2x3x128xf32>) outs(%{{.*}}, %{{.*}} : memref<1x2x200x4xf32>, memref<1x2x200xi32>) {alpha = 2.000000e+00 : f64, gamma = 4.000000e+00 : f64, local_blocks = 1 : i64, prior_mode = #dash.prior_mode<flat>}
func.func @router_kernel(%q: memref<1x8x200x128xf16>, %s: memref<1x2x3x128xf32>,
                         %p: memref<1x2x200x4xf32>, %c: memref<1x2x200xi32>) {
  dash.router_kernel ins(%q, %s : memref<1x8x200x128xf16>, memref<1x2x3x128xf32>)
      outs(%p, %c : memref<1x2x200x4xf32>, memref<1x2x200xi32>)
      {alpha = 2.0, gamma = 4.0, local_blocks = 1, prior_mode = #dash.prior_mode<flat>}
  return
}
