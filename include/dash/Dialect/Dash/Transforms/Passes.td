//===- Passes.td - Dash dialect passes ---------------------*- tablegen -*-===//

#ifndef DASH_DIALECT_DASH_TRANSFORMS_PASSES_TD
#define DASH_DIALECT_DASH_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def DashDecompose : Pass<"dash-decompose"> {
  let summary = "Decompose dash.attention into the DashAttention stage ops";
  let description = [{
    Rewrites every `dash.attention` into `dash.summarize`,
    `dash.route_logits`, `dash.entmax`, `dash.block_prior` and
    `dash.sparse_attention`, with `tensor.empty` destinations. The stage ops
    carry the same attributes, so the result has the same semantics.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // DASH_DIALECT_DASH_TRANSFORMS_PASSES_TD
