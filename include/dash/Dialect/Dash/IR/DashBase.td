//===- DashBase.td - Dash dialect definition ---------------*- tablegen -*-===//
//
// The `dash` dialect: DashAttention (hierarchical sparse attention) at the
// tensor level. Semantics: docs/spec.md (copied from the project contract).
//
//===----------------------------------------------------------------------===//

#ifndef DASH_DIALECT_DASH_IR_DASHBASE_TD
#define DASH_DIALECT_DASH_IR_DASHBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/EnumAttr.td"

def Dash_Dialect : Dialect {
  let name = "dash";
  let cppNamespace = "::mlir::dash";
  let summary = "DashAttention: differentiable hierarchical sparse attention";
  let description = [{
    The `dash` dialect expresses DashAttention on ranked tensors. Keys are
    grouped in blocks of `block_size` tokens; each complete block gets a
    summary key, queries score the summaries (routing logits), an
    alpha-entmax over the candidate blocks keeps a query-dependent set of
    blocks, and token-level softmax attention runs over the kept blocks with
    the entmax probabilities as a log-prior.

    `dash.attention` is the whole hierarchy as one op; `dash-decompose`
    rewrites it into the stage ops `dash.summarize`, `dash.route_logits`,
    `dash.entmax`, `dash.block_prior` and `dash.sparse_attention`, which take
    their destinations in `outs(...)` (destination-passing style).

    Shapes: `Q [B, H, N, D]`, `K, V [B, Hkv, N, D]`, optional summary query
    `W [Hkv, D]`, `G = H / Hkv`, `M = ceil(N / block_size)` blocks of which
    `Mc = floor(N / block_size)` are complete.
  }];
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

def Dash_PriorMode : I32EnumAttr<"PriorMode", "how entmax probabilities become the log-prior", [
    I32EnumAttrCase<"Raw", 0, "raw">,
    I32EnumAttrCase<"Centered", 1, "centered">,
    I32EnumAttrCase<"Flat", 2, "flat">]> {
  let cppNamespace = "::mlir::dash";
  let genSpecializedAttr = 0;
}

def Dash_PriorModeAttr : EnumAttr<Dash_Dialect, Dash_PriorMode, "prior_mode"> {
  let assemblyFormat = "`<` $value `>`";
}

def Dash_RouterGrad : I32EnumAttr<"RouterGrad", "whether gradients flow into the router", [
    I32EnumAttrCase<"Full", 0, "full">,
    I32EnumAttrCase<"None", 1, "none">]> {
  let cppNamespace = "::mlir::dash";
  let genSpecializedAttr = 0;
}

def Dash_RouterGradAttr : EnumAttr<Dash_Dialect, Dash_RouterGrad, "router_grad"> {
  let assemblyFormat = "`<` $value `>`";
}

#endif // DASH_DIALECT_DASH_IR_DASHBASE_TD
