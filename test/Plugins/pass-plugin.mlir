// Both plugins in either order: the pass plugin loads the dialect plugin as a
// dependency, so the process holds one copy of Dash. Passes registered by a
// plugin are named in --pass-pipeline (plugins load after the pass flags are
// made).
// RUN: mlir-opt %s --load-dialect-plugin=%dash_plugin_dir/libDashDialectPlugin.so \
// RUN:   --load-pass-plugin=%dash_plugin_dir/libDashPassPlugin.so \
// RUN:   --pass-pipeline='builtin.module(func.func(dash-decompose))' | FileCheck %s
// RUN: mlir-opt %s --load-pass-plugin=%dash_plugin_dir/libDashPassPlugin.so \
// RUN:   --load-dialect-plugin=%dash_plugin_dir/libDashDialectPlugin.so \
// RUN:   --pass-pipeline='builtin.module(dash-to-linalg)' | FileCheck %s --check-prefix=LINALG

// RUN: llvm-readelf --needed-libs %dash_plugin_dir/libDashPassPlugin.so \
// RUN:   | FileCheck %s --check-prefix=NEEDED
// NEEDED: libDashDialectPlugin.so

// CHECK-LABEL: func @attention
// CHECK: dash.summarize
// CHECK: dash.route_logits
// CHECK: dash.entmax
// CHECK: dash.block_prior
// CHECK: dash.sparse_attention

// LINALG-LABEL: func @attention
// LINALG-NOT: dash.
// LINALG: linalg.generic
func.func @attention(%q: tensor<1x2x128x16xf32>, %k: tensor<1x2x128x16xf32>,
                     %v: tensor<1x2x128x16xf32>) -> tensor<1x2x128x16xf32> {
  %o = dash.attention %q, %k, %v
      : tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>
      -> tensor<1x2x128x16xf32>
  return %o : tensor<1x2x128x16xf32>
}
