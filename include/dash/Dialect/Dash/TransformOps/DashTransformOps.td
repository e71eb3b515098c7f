//===- DashTransformOps.td - Transform dialect extension ---*- tablegen -*-===//
//
// `transform.dash.*` ops let a compiler that schedules its pipeline with the
// transform dialect decompose and lower dash ops at the places it chooses.
//
//===----------------------------------------------------------------------===//

#ifndef DASH_DIALECT_DASH_TRANSFORMOPS_DASHTRANSFORMOPS_TD
#define DASH_DIALECT_DASH_TRANSFORMOPS_DASHTRANSFORMOPS_TD

include "mlir/Dialect/Transform/IR/TransformDialect.td"
include "mlir/Dialect/Transform/Interfaces/TransformInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/OpBase.td"

// Applies a set of dash patterns to the ops nested in each target, like
// `transform.apply_patterns` with the matching pattern descriptor.
class Dash_ApplyToNestedOp<string mnemonic>
    : Op<Transform_Dialect, "dash." # mnemonic,
         [TransformOpInterface, TransformEachOpTrait,
          DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
          ReportTrackingListenerFailuresOpTrait]> {
  let arguments = (ins TransformHandleTypeInterface:$target);
  let assemblyFormat = "$target attr-dict `:` type($target)";
  let extraClassDeclaration = [{
    ::mlir::DiagnosedSilenceableFailure applyToOne(
        ::mlir::transform::TransformRewriter &rewriter,
        ::mlir::Operation *target,
        ::mlir::transform::ApplyToEachResultList &results,
        ::mlir::transform::TransformState &state);
  }];
}

def DashDecomposeOp : Dash_ApplyToNestedOp<"decompose"> {
  let summary = "Decompose the dash.attention ops nested in the targets";
  let description = [{
    Applies the patterns of `dash-decompose` to the ops nested in each
    target (typically a function): every `dash.attention` becomes the five
    stage ops and every `dash.attention_grad` the recomputed router and the
    stage gradient ops. The target op itself is not rewritten and its handle
    stays valid; handles to rewritten ops are updated by the interpreter's
    tracking listener.

    Fails (silenceably) when the pattern application does not converge.

    ```mlir
    %f = transform.structured.match ops{["func.func"]} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.dash.decompose %f : !transform.any_op
    ```
  }];
}

def DashLowerToLinalgOp : Dash_ApplyToNestedOp<"lower_to_linalg"> {
  let summary = "Lower the dash ops nested in the targets to linalg";
  let description = [{
    Applies the patterns of `dash-to-linalg` (after those of
    `dash-decompose`) to the ops nested in each target: every dash op becomes
    `linalg.generic` ops on tensors with `tensor`, `arith`, `math` and `scf`.
    Static shapes are required.

    Fails (silenceably, naming the op) when a dash op has a dynamic shape or
    is left after the rewrite.
  }];
}

#endif // DASH_DIALECT_DASH_TRANSFORMOPS_DASHTRANSFORMOPS_TD
