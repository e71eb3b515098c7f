// RUN: dash-opt %s --split-input-file --transform-interpreter | FileCheck %s

// transform.dash.decompose rewrites the dash.attention ops nested in the
// target into the stage ops.
// CHECK-LABEL: func @decompose
// CHECK-NOT: dash.attention
// CHECK: dash.summarize
// CHECK: dash.route_logits
// CHECK: dash.entmax
// CHECK: dash.block_prior
// CHECK: %[[O:.*]], %{{.*}} = dash.sparse_attention
// CHECK: return %[[O]]
func.func @decompose(%q: tensor<1x2x128x16xf32>, %k: tensor<1x2x128x16xf32>,
                     %v: tensor<1x2x128x16xf32>) -> tensor<1x2x128x16xf32> {
  %o = dash.attention %q, %k, %v {gamma = 2.0}
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

// -----

// transform.dash.lower_to_linalg lowers all the way to linalg on tensors;
// the schedule picks the function, the other one keeps its dash op.
// CHECK-LABEL: func @lowered
// CHECK-NOT: dash.
// CHECK: linalg.generic
// CHECK-NOT: dash.
// CHECK: return
// CHECK-LABEL: func @kept
// CHECK: dash.attention
func.func @lowered(%q: tensor<1x2x128x16xf32>, %k: tensor<1x2x128x16xf32>,
                   %v: tensor<1x2x128x16xf32>) -> tensor<1x2x128x16xf32> {
  %o = dash.attention %q, %k, %v
      : tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>
      -> tensor<1x2x128x16xf32>
  return %o : tensor<1x2x128x16xf32>
}

func.func @kept(%q: tensor<1x2x128x16xf32>, %k: tensor<1x2x128x16xf32>,
                %v: tensor<1x2x128x16xf32>) -> tensor<1x2x128x16xf32> {
  %o = dash.attention %q, %k, %v
      : tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>
      -> tensor<1x2x128x16xf32>
  return %o : tensor<1x2x128x16xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %f = transform.structured.match ops{["func.func"]} attributes {sym_name = "lowered"} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.dash.lower_to_linalg %f : !transform.any_op
    transform.yield
  }
}
