// A transform schedule that lowers the dash ops of every function: first to
// the stage ops (where a compiler may tile or fuse them), then to linalg on
// tensors. Used by docs/embedding.md:
//   dash-opt examples/attention.mlir \
//     --transform-preload-library=transform-library-paths=examples/transform-lower.mlir \
//     --transform-interpreter
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %funcs = transform.structured.match ops{["func.func"]} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.dash.decompose %funcs : !transform.any_op
    %stages = transform.structured.match ops{["dash.sparse_attention"]} in %funcs
        : (!transform.any_op) -> !transform.any_op
    transform.debug.emit_remark_at %stages, "fine attention stage" : !transform.any_op
    transform.dash.lower_to_linalg %funcs : !transform.any_op
    transform.yield
  }
}
