//===- Passes.td - Dash dialect passes ---------------------*- tablegen -*-===//

#ifndef DASH_DIALECT_DASH_TRANSFORMS_PASSES_TD
#define DASH_DIALECT_DASH_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def DashDecompose : Pass<"dash-decompose"> {
  let summary = "Decompose dash.attention and dash.attention_grad into stage ops";
  let description = [{
    Rewrites every `dash.attention` into `dash.summarize`,
    `dash.route_logits`, `dash.entmax`, `dash.block_prior` and
    `dash.sparse_attention`, with `tensor.empty` destinations. The stage ops
    carry the same attributes, so the result has the same semantics.

    Every `dash.attention_grad` becomes the recomputed router, then
    `dash.sparse_attention_grad` and, unless `router_grad = none` or the
    prior is `flat`, `dash.block_prior_grad`, `dash.entmax_grad`,
    `dash.route_logits_grad` and `dash.summarize_grad`; partial gradients
    are summed with `arith.addf` on tensors.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

def DashMemRefCopyToLinalg : Pass<"dash-memref-copy-to-linalg"> {
  let summary = "Rewrite memref.copy as linalg.copy";
  let description = [{
    `memref.copy` between non-contiguous buffers lowers to a call of
    `memrefCopy` from MLIR's C runner library, which the JIT and the
    driver-only runtime do not ship. As `linalg.copy` it becomes loops like
    every other linalg op.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

#endif // DASH_DIALECT_DASH_TRANSFORMS_PASSES_TD
