// RUN: dash-opt %s --split-input-file --transform-interpreter --verify-diagnostics

func.func @target_is_dash_op(%q: tensor<1x2x128x16xf32>, %k: tensor<1x2x128x16xf32>,
                             %v: tensor<1x2x128x16xf32>) -> tensor<1x2x128x16xf32> {
  // expected-note @below {{target payload op}}
  %o = dash.attention %q, %k, %v
      : tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>, tensor<1x2x128x16xf32>
      -> tensor<1x2x128x16xf32>
  return %o : tensor<1x2x128x16xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["dash.attention"]} in %root
        : (!transform.any_op) -> !transform.any_op
    // expected-error @below {{expects ops that contain dash ops (e.g. functions), not a dash op}}
    transform.dash.decompose %a : !transform.any_op
    transform.yield
  }
}

// -----

func.func @dynamic(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>,
                   %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  // expected-note @below {{dynamic shape here}}
  %o = dash.attention %q, %k, %v
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>
      -> tensor<1x2x?x16xf32>
  return %o : tensor<1x2x?x16xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %f = transform.structured.match ops{["func.func"]} in %root
        : (!transform.any_op) -> !transform.any_op
    // expected-error @below {{dash ops need static shapes}}
    transform.dash.lower_to_linalg %f : !transform.any_op
    transform.yield
  }
}
