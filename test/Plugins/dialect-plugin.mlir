// Debian's mlir-opt, which links libMLIR.so, loads the dash dialect and its
// transform extension from the plugin.
// RUN: mlir-opt %s --load-dialect-plugin=%dash_plugin_dir/libDashDialectPlugin.so \
// RUN:   --transform-interpreter | FileCheck %s

// The plugin links libMLIR.so and holds no copy of MLIR itself.
// RUN: llvm-readelf --needed-libs %dash_plugin_dir/libDashDialectPlugin.so \
// RUN:   | FileCheck %s --check-prefix=NEEDED
// RUN: llvm-nm -D --defined-only %dash_plugin_dir/libDashDialectPlugin.so \
// RUN:   | FileCheck %s --check-prefix=SYMBOLS
// RUN: llvm-nm -D --defined-only %dash_plugin_dir/libDashDialectPlugin.so \
// RUN:   | not grep -e _ZN4mlir11MLIRContextC -e _ZN4mlir9Operation6createE

// NEEDED: libMLIR.so.22.1
// SYMBOLS: mlirGetDialectPluginInfo

// CHECK-LABEL: func @attention
// CHECK-NOT: dash.attention
// CHECK: dash.summarize
// CHECK: dash.sparse_attention
func.func @attention(%q: tensor<1x2x128x16xf32>, %k: tensor<1x2x128x16xf32>,
                     %v: tensor<1x2x128x16xf32>) -> tensor<1x2x128x16xf32> {
  %o = dash.attention %q, %k, %v
      : tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>
      -> tensor<1x2x128x16xf32>
  return %o : tensor<1x2x128x16xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %f = transform.structured.match ops{["func.func"]} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.dash.decompose %f : !transform.any_op
    transform.yield
  }
}
