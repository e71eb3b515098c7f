//===- Passes.td - Dash conversion passes ------------------*- tablegen -*-===//

#ifndef DASH_CONVERSION_PASSES_TD
#define DASH_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def DashToLinalg : Pass<"dash-to-linalg"> {
  let summary = "Lower dash ops to linalg, tensor, arith, math and scf on tensors";
  let description = [{
    Lowers `dash.attention` (through `dash-decompose`'s patterns) and every
    stage op to `linalg.generic` on tensors, computing in f32 (f64 when an
    input is f64). The lowering is the reference structure for the CPU:

    - `dash.summarize`: reductions over the tokens of each complete block;
    - `dash.route_logits`: a batched contraction against the summaries, then
      the causal candidate mask;
    - `dash.entmax`: the threshold by bisection on the bracket
      `[max x - 1, max x]` in an `scf.for` (shifted by the row maximum so the
      bracket keeps full precision), then exact renormalisation;
    - `dash.block_prior`: group pooling, forced blocks and the log-prior;
    - `dash.sparse_attention`: masked attention over all keys, where the
      log-prior (`-inf` for unselected blocks) and the causal mask remove
      every unselected key.

    Static shapes are required; a dynamic shape is reported on the op.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"];
}

#endif // DASH_CONVERSION_PASSES_TD
