//===- DashGradOps.td - Dash gradient operations ------------*- tablegen -*-===//
//
// Vector-Jacobian products of the forward ops (spec section 3). Included from
// DashOps.td. Each stage gradient op is what the stage op's
// DifferentiableOpInterface emits; dash.attention_grad is the whole backward
// pass as one op.
//
//===----------------------------------------------------------------------===//

#ifndef DASH_DIALECT_DASH_IR_DASHGRADOPS_TD
#define DASH_DIALECT_DASH_IR_DASHGRADOPS_TD

//===----------------------------------------------------------------------===//
// dash.summarize_grad (spec B7)
//===----------------------------------------------------------------------===//

def Dash_SummarizeGradOp : Dash_StageOp<"summarize_grad",
    [AttrSizedOperandSegments,
     AllTypesMatch<["key_grad_init", "key_grad"]>]> {
  let summary = "gradient of dash.summarize (spec B7)";
  let description = [{
    Given `summaries_grad = dL/dKbar [B, Hkv, Mc, D]`, returns `dL/dK` and,
    when `summary_query` (W) is given, `dL/dW` (summed over the batch):
    `de_t = a_t <dKbar_c, K_t - Kbar_c>`,
    `dK_t = a_t dKbar_c + scale * de_t W_g`, `dW_g = scale * sum de_t K_t`.
    Tokens of the partial last block get zero.

    ```mlir
    %dk, %dw = dash.summarize_grad ins(%dkbar, %k, %w : ...) outs(%dki, %dwi : ...)
    ```
  }];
  let arguments = (ins Dash_FloatTensor:$key,
                       Optional<Dash_FloatTensor>:$summary_query,
                       Dash_FloatTensor:$summaries_grad,
                       Dash_FloatTensor:$key_grad_init,
                       Optional<Dash_FloatTensor>:$summary_query_grad_init,
                       Dash_BlockSizeAttr:$block_size,
                       OptionalAttr<F64Attr>:$scale);
  let results = (outs Dash_FloatTensor:$key_grad,
                      Optional<Dash_FloatTensor>:$summary_query_grad);
  let assemblyFormat = [{
    `ins` `(` $summaries_grad `,` $key (`,` $summary_query^)? `:`
      type($summaries_grad) `,` type($key) (`,` type($summary_query)^)? `)`
    `outs` `(` $key_grad_init (`,` $summary_query_grad_init^)? `:`
      type($key_grad_init) (`,` type($summary_query_grad_init)^)? `)`
    attr-dict (`->` type($summary_query_grad)^)?
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      unsigned count = getSummaryQueryGradInit() ? 2 : 1;
      return ::mlir::MutableOperandRange(getOperation(),
                                         getNumOperands() - count, count);
    }
  }];
}

//===----------------------------------------------------------------------===//
// dash.route_logits_grad (spec B6)
//===----------------------------------------------------------------------===//

def Dash_RouteLogitsGradOp : Dash_StageOp<"route_logits_grad",
    [AllTypesMatch<["query_grad_init", "query_grad"]>,
     AllTypesMatch<["summaries_grad_init", "summaries_grad"]>]> {
  let summary = "gradient of dash.route_logits (spec B6)";
  let description = [{
    Given `logits_grad = dL/dz [B, H, N, Mc]` (entries outside the candidate
    set are ignored: those logits are the constant -inf),
    `dQ = gamma * scale * sum_c dz_c Kbar_c` and
    `dKbar_c = gamma * scale * sum_{h in g, i} dz_{h,i,c} Q_{h,i}`.
  }];
  let arguments = (ins Dash_FloatTensor:$query,
                       Dash_FloatTensor:$summaries,
                       Dash_F32Tensor:$logits_grad,
                       Dash_FloatTensor:$query_grad_init,
                       Dash_FloatTensor:$summaries_grad_init,
                       Dash_BlockSizeAttr:$block_size,
                       DefaultValuedAttr<F64Attr, "1.0">:$gamma,
                       OptionalAttr<F64Attr>:$scale);
  let results = (outs Dash_FloatTensor:$query_grad,
                      Dash_FloatTensor:$summaries_grad);
  let assemblyFormat = [{
    `ins` `(` $query `,` $summaries `,` $logits_grad `:` type($query) `,`
      type($summaries) `,` type($logits_grad) `)`
    `outs` `(` $query_grad_init `,` $summaries_grad_init `:`
      type($query_grad_init) `,` type($summaries_grad_init) `)` attr-dict
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getOperation(), 3, 2);
    }
  }];
}

//===----------------------------------------------------------------------===//
// dash.entmax_grad (spec B5)
//===----------------------------------------------------------------------===//

def Dash_EntmaxGradOp : Dash_StageOp<"entmax_grad",
    [AllTypesMatch<["init", "result"]>]> {
  let summary = "gradient of dash.entmax at its solution (spec B5)";
  let description = [{
    The closed form at the solved threshold: with `u = probs^(2 - alpha)`,
    `dz = u * (dp - sum(u * dp) / sum(u))` along `dimension`, zero off the
    support.
  }];
  let arguments = (ins Dash_FloatTensor:$probs,
                       Dash_FloatTensor:$probs_grad,
                       Dash_FloatTensor:$init,
                       DefaultValuedAttr<F64Attr, "1.5">:$alpha,
                       I64Attr:$dimension);
  let results = (outs Dash_FloatTensor:$result);
  let assemblyFormat = [{
    `ins` `(` $probs `,` $probs_grad `:` type($probs) `,` type($probs_grad) `)`
    `outs` `(` $init `:` type($init) `)` attr-dict
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() { return getInitMutable(); }
  }];
}

//===----------------------------------------------------------------------===//
// dash.block_prior_grad (spec B3, B4)
//===----------------------------------------------------------------------===//

def Dash_BlockPriorGradOp : Dash_StageOp<"block_prior_grad",
    [AllTypesMatch<["init", "result"]>]> {
  let summary = "gradient of dash.block_prior (spec B3, B4)";
  let description = [{
    Given `prior_grad = dL/dl [B, Hkv, N, M]`, returns `dL/dp [B, H, N, Mc]`:
    on routed blocks (support minus forced blocks) `dpi = dl / pi` (`raw`),
    `dl / (sigma * pi)` (`centered`, the centring term held constant), 0
    (`flat`); then `dp = dpi / G` for every head of the group.
  }];
  let arguments = (ins Dash_F32Tensor:$probs,
                       Dash_F32Tensor:$prior_grad,
                       Dash_F32Tensor:$init,
                       Dash_BlockSizeAttr:$block_size,
                       DefaultValuedAttr<Dash_PriorModeAttr,
                         "::mlir::dash::PriorMode::Centered">:$prior_mode,
                       DefaultValuedAttr<F64Attr, "1.0">:$sigma,
                       DefaultValuedAttr<I64Attr, "0">:$local_blocks,
                       DefaultValuedAttr<I64Attr, "0">:$init_blocks);
  let results = (outs Dash_F32Tensor:$result);
  let assemblyFormat = [{
    `ins` `(` $probs `,` $prior_grad `:` type($probs) `,` type($prior_grad) `)`
    `outs` `(` $init `:` type($init) `)` attr-dict
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() { return getInitMutable(); }
  }];
}

//===----------------------------------------------------------------------===//
// dash.sparse_attention_grad (spec B1, B2)
//===----------------------------------------------------------------------===//

def Dash_SparseAttentionGradOp : Dash_StageOp<"sparse_attention_grad",
    [AllTypesMatch<["query_grad_init", "query_grad"]>,
     AllTypesMatch<["key_grad_init", "key_grad"]>,
     AllTypesMatch<["value_grad_init", "value_grad"]>,
     AllTypesMatch<["log_prior_grad_init", "log_prior_grad"]>]> {
  let summary = "gradient of dash.sparse_attention (spec B1, B2)";
  let description = [{
    FlashAttention-2's backward with a bias: `Delta_i = <dO_i, O_i>`,
    `dS_ij = P_ij (<dO_i, V_j> - Delta_i)`, `dQ = scale dS K`,
    `dK = scale dS^T Q`, `dV = P^T dO`, and the bias gradient
    `dl[g, i, c] = sum_{h in g} sum_{j in c} dS_ij` (zero where the prior is
    -inf).
  }];
  let arguments = (ins Dash_FloatTensor:$query,
                       Dash_FloatTensor:$key,
                       Dash_FloatTensor:$value,
                       Dash_F32Tensor:$log_prior,
                       Dash_FloatTensor:$output,
                       Dash_F32Tensor:$lse,
                       Dash_FloatTensor:$output_grad,
                       Dash_FloatTensor:$query_grad_init,
                       Dash_FloatTensor:$key_grad_init,
                       Dash_FloatTensor:$value_grad_init,
                       Dash_F32Tensor:$log_prior_grad_init,
                       Dash_BlockSizeAttr:$block_size,
                       OptionalAttr<F64Attr>:$scale);
  let results = (outs Dash_FloatTensor:$query_grad,
                      Dash_FloatTensor:$key_grad,
                      Dash_FloatTensor:$value_grad,
                      Dash_F32Tensor:$log_prior_grad);
  let assemblyFormat = [{
    `ins` `(` $query `,` $key `,` $value `,` $log_prior `,` $output `,` $lse `,`
      $output_grad `:` type($query) `,` type($key) `,` type($value) `,`
      type($log_prior) `,` type($output) `,` type($lse) `,`
      type($output_grad) `)`
    `outs` `(` $query_grad_init `,` $key_grad_init `,` $value_grad_init `,`
      $log_prior_grad_init `:` type($query_grad_init) `,`
      type($key_grad_init) `,` type($value_grad_init) `,`
      type($log_prior_grad_init) `)` attr-dict
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getOperation(), 7, 4);
    }
  }];
}

//===----------------------------------------------------------------------===//
// dash.attention_grad
//===----------------------------------------------------------------------===//

def Dash_AttentionGradOp : Dash_Op<"attention_grad", [Pure]> {
  let summary = "DashAttention backward: the whole hierarchy as one op";
  let description = [{
    Gradients of `dash.attention` (same attributes) at `query, key, value`
    (and `summary` W) given the forward `output`, its `lse` and the upstream
    gradient `output_grad`: returns `dQ, dK, dV` and, with W, `dW` (spec
    B1-B7). `router_grad = none` stops the gradient at the pooled router
    probabilities: only the fine attention contributes and `dW = 0`.

    ```mlir
    %dq, %dk, %dv = dash.attention_grad %q, %k, %v output %o lse %lse grad %do
        : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32>,
          tensor<1x8x256x64xf32>, tensor<1x8x256xf32>, tensor<1x8x256x64xf32>
        -> tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32>
    ```
  }];
  let arguments = (ins Dash_FloatTensor:$query,
                       Dash_FloatTensor:$key,
                       Dash_FloatTensor:$value,
                       Optional<Dash_FloatTensor>:$summary_query,
                       Dash_FloatTensor:$output,
                       Dash_F32Tensor:$lse,
                       Dash_FloatTensor:$output_grad,
                       DefaultValuedAttr<F64Attr, "1.5">:$alpha,
                       Dash_BlockSizeAttr:$block_size,
                       DefaultValuedAttr<F64Attr, "1.0">:$gamma,
                       DefaultValuedAttr<F64Attr, "1.0">:$sigma,
                       DefaultValuedAttr<Dash_PriorModeAttr,
                         "::mlir::dash::PriorMode::Centered">:$prior_mode,
                       DefaultValuedAttr<I64Attr, "0">:$local_blocks,
                       DefaultValuedAttr<I64Attr, "0">:$init_blocks,
                       OptionalAttr<F64Attr>:$scale,
                       DefaultValuedAttr<Dash_RouterGradAttr,
                         "::mlir::dash::RouterGrad::Full">:$router_grad);
  let results = (outs Dash_FloatTensor:$query_grad,
                      Dash_FloatTensor:$key_grad,
                      Dash_FloatTensor:$value_grad,
                      Optional<Dash_FloatTensor>:$summary_query_grad);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`summary` $summary_query^)? `output` $output
      `lse` $lse `grad` $output_grad attr-dict `:` type($query) `,` type($key)
      `,` type($value) `,` type($output) `,` type($lse) `,`
      type($output_grad) (`,` type($summary_query)^)? `->`
      type($query_grad) `,` type($key_grad) `,` type($value_grad)
      (`,` type($summary_query_grad)^)?
  }];
  let hasVerifier = 1;
}

#endif // DASH_DIALECT_DASH_IR_DASHGRADOPS_TD
