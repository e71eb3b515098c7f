//===- DashOps.td - Dash operations -------------------------*- tablegen -*-===//
//
// Forward ops of DashAttention. The composite `dash.attention` has value
// semantics; the stage ops it decomposes into are destination-passing style so
// that bufferization and tiling treat them like linalg ops.
//
//===----------------------------------------------------------------------===//

#ifndef DASH_DIALECT_DASH_IR_DASHOPS_TD
#define DASH_DIALECT_DASH_IR_DASHOPS_TD

include "dash/Dialect/Dash/IR/DashBase.td"
include "dash/Dialect/Dash/IR/DashInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"

class Dash_Op<string mnemonic, list<Trait> traits = []>
    : Op<Dash_Dialect, mnemonic, traits>;

// Floating-point tensors Dash computes on; router tensors are f32 (spec 4).
def Dash_FloatTensor : RankedTensorOf<[F16, BF16, F32, F64]>;
def Dash_F32Tensor : RankedTensorOf<[F32]>;
def Dash_I32Tensor : RankedTensorOf<[I32]>;
def Dash_MaskTensor : RankedTensorOf<[I1]>;

// Stage ops: `outs` operands are the trailing operands, one per result.
class Dash_StageOp<string mnemonic, list<Trait> traits = []>
    : Dash_Op<mnemonic, !listconcat(traits, [Pure,
        DestinationStyleOpInterface])> {
  let hasVerifier = 1;
}

def Dash_BlockSizeAttr : DefaultValuedAttr<I64Attr, "64">;

def Dash_Differentiable
    : DeclareOpInterfaceMethods<Dash_DifferentiableOpInterface>;

//===----------------------------------------------------------------------===//
// dash.summarize (spec F1)
//===----------------------------------------------------------------------===//

def Dash_SummarizeOp : Dash_StageOp<"summarize",
    [AllTypesMatch<["init", "result"]>, Dash_Differentiable]> {
  let summary = "block summaries of the keys (spec F1)";
  let description = [{
    For each batch `b`, KV head `g` and complete block `c` of `block_size`
    tokens: `e_t = scale * <W_g, K_t>`, `a = softmax_t(e)`,
    `Kbar_c = sum_t a_t K_t`. Without `summary_query` (W) this is mean
    pooling. The partial last block has no summary.

    Shapes: `key [B, Hkv, N, D]`, `summary_query [Hkv, D]`,
    `init [B, Hkv, floor(N / block_size), D]`. `scale` defaults to
    `1/sqrt(D)`.

    ```mlir
    %kbar = dash.summarize ins(%k, %w : tensor<1x2x256x64xbf16>, tensor<2x64xbf16>)
              outs(%init : tensor<1x2x4x64xf32>) {block_size = 64}
    ```
  }];
  let arguments = (ins Dash_FloatTensor:$key,
                       Optional<Dash_FloatTensor>:$summary_query,
                       Dash_FloatTensor:$init,
                       Dash_BlockSizeAttr:$block_size,
                       OptionalAttr<F64Attr>:$scale);
  let results = (outs Dash_FloatTensor:$result);
  let assemblyFormat = [{
    `ins` `(` $key (`,` $summary_query^)? `:` type($key)
      (`,` type($summary_query)^)? `)`
    `outs` `(` $init `:` type($init) `)` attr-dict
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() { return getInitMutable(); }
  }];
}

//===----------------------------------------------------------------------===//
// dash.route_logits (spec F2)
//===----------------------------------------------------------------------===//

def Dash_RouteLogitsOp : Dash_StageOp<"route_logits",
    [AllTypesMatch<["init", "result"]>, Dash_Differentiable]> {
  let summary = "query-to-block routing logits with the causal candidate mask (spec F2)";
  let description = [{
    `z[b, h, i, c] = gamma * scale * <Q[b, h, i], Kbar[b, h / G, c]>` for the
    candidate blocks `c < floor(i / block_size)` (complete blocks strictly
    before the query's own block), and `-inf` for every other block.

    Shapes: `query [B, H, N, D]`, `summaries [B, Hkv, Mc, D]`,
    `init [B, H, N, Mc]` (f32), with `Mc = floor(N / block_size)`.

    ```mlir
    %z = dash.route_logits ins(%q, %kbar : tensor<1x8x256x64xbf16>, tensor<1x2x4x64xf32>)
           outs(%init : tensor<1x8x256x4xf32>) {block_size = 64, gamma = 2.0}
    ```
  }];
  let arguments = (ins Dash_FloatTensor:$query,
                       Dash_FloatTensor:$summaries,
                       Dash_F32Tensor:$init,
                       Dash_BlockSizeAttr:$block_size,
                       DefaultValuedAttr<F64Attr, "1.0">:$gamma,
                       OptionalAttr<F64Attr>:$scale);
  let results = (outs Dash_F32Tensor:$result);
  let assemblyFormat = [{
    `ins` `(` $query `,` $summaries `:` type($query) `,` type($summaries) `)`
    `outs` `(` $init `:` type($init) `)` attr-dict
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() { return getInitMutable(); }
  }];
}

//===----------------------------------------------------------------------===//
// dash.entmax (spec F3)
//===----------------------------------------------------------------------===//

def Dash_EntmaxOp : Dash_StageOp<"entmax",
    [AllTypesMatch<["probs_init", "probs"]>,
     AllTypesMatch<["tau_init", "tau"]>, Dash_Differentiable]> {
  let summary = "alpha-entmax along one dimension, with an optional mask";
  let description = [{
    Along `dimension`: `x = (alpha - 1) * input`,
    `probs = [x - tau]_+ ^ (1 / (alpha - 1))` with `tau` the unique threshold
    making each slice sum to one. Entries that are `-inf` or whose `mask` bit
    is false are excluded (probability 0). A slice with no entry left gets
    probability 0 everywhere and `tau = +inf`. `alpha = 2` is sparsemax;
    `alpha -> 1` approaches softmax. The result is the exact entmax.

    `tau` has the shape of `input` without `dimension`.

    ```mlir
    %p, %tau = dash.entmax ins(%z : tensor<8x16xf32>)
                 outs(%pi, %ti : tensor<8x16xf32>, tensor<8xf32>)
                 {alpha = 1.5, dimension = 1}
    ```
  }];
  let arguments = (ins Dash_FloatTensor:$input,
                       Optional<Dash_MaskTensor>:$mask,
                       Dash_FloatTensor:$probs_init,
                       Dash_FloatTensor:$tau_init,
                       DefaultValuedAttr<F64Attr, "1.5">:$alpha,
                       I64Attr:$dimension);
  let results = (outs Dash_FloatTensor:$probs, Dash_FloatTensor:$tau);
  let assemblyFormat = [{
    `ins` `(` $input (`,` $mask^)? `:` type($input) (`,` type($mask)^)? `)`
    `outs` `(` $probs_init `,` $tau_init `:` type($probs_init) `,`
      type($tau_init) `)` attr-dict
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getOperation(),
                                         getNumOperands() - 2, 2);
    }
  }];
}

//===----------------------------------------------------------------------===//
// dash.block_prior (spec F4, F5)
//===----------------------------------------------------------------------===//

def Dash_BlockPriorOp : Dash_StageOp<"block_prior",
    [AllTypesMatch<["prior_init", "prior"]>,
     AllTypesMatch<["counts_init", "counts"]>, Dash_Differentiable]> {
  let summary = "group pooling, forced blocks and the log-prior (spec F4, F5)";
  let description = [{
    Pools the routing probabilities over the `G = H / Hkv` query heads of a
    KV group (`pi = mean_h p`), adds the forced blocks (the query's own block,
    `local_blocks` blocks before it, the first `init_blocks` blocks) and
    writes the log-prior of the selected blocks, `-inf` for every other block:
    `raw` gives `log pi`, `centered` gives `(log pi - mean_support log pi) /
    sigma`, `flat` gives 0; forced blocks get 0. `counts` is the number of
    selected blocks per query.

    Shapes: `probs [B, H, N, Mc]`, `prior_init [B, Hkv, N, M]` (f32),
    `counts_init [B, Hkv, N]` (i32).

    ```mlir
    %prior, %counts = dash.block_prior ins(%p : tensor<1x8x256x4xf32>)
        outs(%l, %n : tensor<1x2x256x4xf32>, tensor<1x2x256xi32>)
        {block_size = 64, prior_mode = #dash.prior_mode<raw>}
    ```
  }];
  let arguments = (ins Dash_F32Tensor:$probs,
                       Dash_F32Tensor:$prior_init,
                       Dash_I32Tensor:$counts_init,
                       Dash_BlockSizeAttr:$block_size,
                       DefaultValuedAttr<Dash_PriorModeAttr,
                         "::mlir::dash::PriorMode::Centered">:$prior_mode,
                       DefaultValuedAttr<F64Attr, "1.0">:$sigma,
                       DefaultValuedAttr<I64Attr, "0">:$local_blocks,
                       DefaultValuedAttr<I64Attr, "0">:$init_blocks);
  let results = (outs Dash_F32Tensor:$prior, Dash_I32Tensor:$counts);
  let assemblyFormat = [{
    `ins` `(` $probs `:` type($probs) `)`
    `outs` `(` $prior_init `,` $counts_init `:` type($prior_init) `,`
      type($counts_init) `)` attr-dict
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getOperation(), 1, 2);
    }
  }];
}

//===----------------------------------------------------------------------===//
// dash.sparse_attention (spec F6)
//===----------------------------------------------------------------------===//

def Dash_SparseAttentionOp : Dash_StageOp<"sparse_attention",
    [AllTypesMatch<["output_init", "output"]>,
     AllTypesMatch<["lse_init", "lse"]>, Dash_Differentiable]> {
  let summary = "causal softmax attention over the selected blocks (spec F6)";
  let description = [{
    `s_ij = scale * <Q_i, K_j> + log_prior[i, c(j)]` for `j <= i`;
    `lse_i = logsumexp_j s_ij`, `output_i = sum_j exp(s_ij - lse_i) V_j`.
    Blocks whose log-prior is `-inf` contribute nothing.

    Shapes: `query [B, H, N, D]`, `key, value [B, Hkv, N, D]`,
    `log_prior [B, Hkv, N, M]` (f32), `output_init [B, H, N, D]`,
    `lse_init [B, H, N]` (f32).

    ```mlir
    %o, %lse = dash.sparse_attention
        ins(%q, %k, %v, %prior : tensor<1x8x256x64xbf16>, tensor<1x2x256x64xbf16>,
            tensor<1x2x256x64xbf16>, tensor<1x2x256x4xf32>)
        outs(%oi, %li : tensor<1x8x256x64xbf16>, tensor<1x8x256xf32>) {block_size = 64}
    ```
  }];
  let arguments = (ins Dash_FloatTensor:$query,
                       Dash_FloatTensor:$key,
                       Dash_FloatTensor:$value,
                       Dash_F32Tensor:$log_prior,
                       Dash_FloatTensor:$output_init,
                       Dash_F32Tensor:$lse_init,
                       Dash_BlockSizeAttr:$block_size,
                       OptionalAttr<F64Attr>:$scale);
  let results = (outs Dash_FloatTensor:$output, Dash_F32Tensor:$lse);
  let assemblyFormat = [{
    `ins` `(` $query `,` $key `,` $value `,` $log_prior `:` type($query) `,`
      type($key) `,` type($value) `,` type($log_prior) `)`
    `outs` `(` $output_init `,` $lse_init `:` type($output_init) `,`
      type($lse_init) `)` attr-dict
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getOperation(), 4, 2);
    }
  }];
}

//===----------------------------------------------------------------------===//
// dash.attention (the whole hierarchy)
//===----------------------------------------------------------------------===//

def Dash_AttentionOp : Dash_Op<"attention",
    [Pure, AttrSizedResultSegments, Dash_Differentiable]> {
  let summary = "DashAttention forward: the whole hierarchy as one op";
  let description = [{
    Causal DashAttention of `query [B, H, N, D]` over `key, value
    [B, Hkv, N, D]` with an optional learned summary query
    `summary [Hkv, D]` (W). Returns `O [B, H, N, D]` (element type of the
    query) and, when their types are listed, the log-sum-exp `lse [B, H, N]`
    (f32) and the number of selected blocks per query `counts [B, Hkv, N]`
    (i32).

    Attributes (defaults from the spec): `alpha` (1.5, > 1), `block_size`
    (64), `gamma` (1.0, routing scale), `sigma` (1.0, prior temperature),
    `prior_mode` (centered), `local_blocks` (0), `init_blocks` (0), `scale`
    (1/sqrt(D)), `router_grad` (full; `none` stops the gradient at the
    pooled router probabilities, as top-k methods do).

    ```mlir
    %o, %lse = dash.attention %q, %k, %v summary %w {gamma = 2.0}
        : tensor<1x8x1024x64xf32>, tensor<1x2x1024x64xf32>,
          tensor<1x2x1024x64xf32>, tensor<2x64xf32>
        -> tensor<1x8x1024x64xf32> lse tensor<1x8x1024xf32>
    ```
  }];
  let arguments = (ins Dash_FloatTensor:$query,
                       Dash_FloatTensor:$key,
                       Dash_FloatTensor:$value,
                       Optional<Dash_FloatTensor>:$summary_query,
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
  let results = (outs Dash_FloatTensor:$output,
                      Optional<Dash_F32Tensor>:$lse,
                      Optional<Dash_I32Tensor>:$counts);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`summary` $summary_query^)? attr-dict `:`
      type($query) `,` type($key) `,` type($value)
      (`,` type($summary_query)^)?
    `->` type($output) (`lse` type($lse)^)? (`counts` type($counts)^)?
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// dash.sparse_attention_kernel (spec F6 on buffers, tensor-core kernels)
//===----------------------------------------------------------------------===//

def Dash_HalfMemRef4 : MemRefRankOf<[BF16, F16], [4]>;

def Dash_SparseAttentionKernelOp : Dash_Op<"sparse_attention_kernel"> {
  let summary = "dash.sparse_attention on buffers, for the tensor-core kernels";
  let description = [{
    The fine attention of `dash.sparse_attention` on buffers, restricted to
    what the tensor-core kernels of `dash-kernels-to-nvgpu` implement: bf16
    or f16 operands, static shapes, `block_size = 64`, head dimension 64 or
    128. `dash-sparse-attention-to-kernel` creates it before bufferization;
    since it declares which buffers it reads and writes, bufferization and
    buffer deallocation treat it like any other op, and the kernels are
    built after them.

    Shapes as for `dash.sparse_attention`: `query, output [B, H, N, D]`,
    `key, value [B, Hkv, N, D]`, `log_prior [B, Hkv, N, M]` f32,
    `lse [B, H, N]` f32.

    ```mlir
    dash.sparse_attention_kernel
        ins(%q, %k, %v, %prior : memref<1x8x256x64xbf16>,
            memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>,
            memref<1x2x256x4xf32>)
        outs(%o, %lse : memref<1x8x256x64xbf16>, memref<1x8x256xf32>)
        {block_size = 64}
    ```
  }];
  let arguments = (ins Arg<Dash_HalfMemRef4, "", [MemRead]>:$query,
                       Arg<Dash_HalfMemRef4, "", [MemRead]>:$key,
                       Arg<Dash_HalfMemRef4, "", [MemRead]>:$value,
                       Arg<MemRefRankOf<[F32], [4]>, "", [MemRead]>:$log_prior,
                       Arg<Dash_HalfMemRef4, "", [MemWrite]>:$output,
                       Arg<MemRefRankOf<[F32], [3]>, "", [MemWrite]>:$lse,
                       Dash_BlockSizeAttr:$block_size,
                       OptionalAttr<F64Attr>:$scale);
  let assemblyFormat = [{
    `ins` `(` $query `,` $key `,` $value `,` $log_prior `:` type($query) `,`
      type($key) `,` type($value) `,` type($log_prior) `)`
    `outs` `(` $output `,` $lse `:` type($output) `,` type($lse) `)`
      attr-dict
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// dash.sparse_attention_grad_kernel (spec B1, B2 on buffers)
//===----------------------------------------------------------------------===//

def Dash_SparseAttentionGradKernelOp : Dash_Op<"sparse_attention_grad_kernel"> {
  let summary = "dash.sparse_attention_grad on buffers, for the tensor-core kernels";
  let description = [{
    The gradient of the fine attention (spec B1, B2) on buffers, with the
    limits of `dash.sparse_attention_kernel` (bf16 or f16 `query`, `key`,
    `value`, `output` and `output_grad`, static shapes, `block_size = 64`,
    head dimension 64 or 128) and f32 gradients.
    `dash-sparse-attention-to-kernel` creates it from an eligible
    `dash.sparse_attention_grad`; `dash-kernels-to-nvgpu` builds its
    kernels: a dQ kernel over each query tile's selected blocks that also
    sums the bias gradient, and a dK/dV kernel over, for each key block, the
    query tiles that selected it.

    Writes every element of its four results: `query_grad [B, H, N, D]`,
    `key_grad, value_grad [B, Hkv, N, D]`, `log_prior_grad [B, Hkv, N, M]`
    (zero where the log-prior is `-inf`).

    ```mlir
    dash.sparse_attention_grad_kernel
        ins(%q, %k, %v, %prior, %o, %lse, %do : memref<1x8x256x64xbf16>,
            memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>,
            memref<1x2x256x4xf32>, memref<1x8x256x64xbf16>,
            memref<1x8x256xf32>, memref<1x8x256x64xbf16>)
        outs(%dq, %dk, %dv, %dl : memref<1x8x256x64xf32>,
             memref<1x2x256x64xf32>, memref<1x2x256x64xf32>,
             memref<1x2x256x4xf32>)
        {block_size = 64}
    ```
  }];
  let arguments = (ins Arg<Dash_HalfMemRef4, "", [MemRead]>:$query,
                       Arg<Dash_HalfMemRef4, "", [MemRead]>:$key,
                       Arg<Dash_HalfMemRef4, "", [MemRead]>:$value,
                       Arg<MemRefRankOf<[F32], [4]>, "", [MemRead]>:$log_prior,
                       Arg<Dash_HalfMemRef4, "", [MemRead]>:$output,
                       Arg<MemRefRankOf<[F32], [3]>, "", [MemRead]>:$lse,
                       Arg<Dash_HalfMemRef4, "", [MemRead]>:$output_grad,
                       Arg<MemRefRankOf<[F32], [4]>, "", [MemWrite]>:$query_grad,
                       Arg<MemRefRankOf<[F32], [4]>, "", [MemWrite]>:$key_grad,
                       Arg<MemRefRankOf<[F32], [4]>, "", [MemWrite]>:$value_grad,
                       Arg<MemRefRankOf<[F32], [4]>, "", [MemWrite]>:$log_prior_grad,
                       Dash_BlockSizeAttr:$block_size,
                       OptionalAttr<F64Attr>:$scale);
  let assemblyFormat = [{
    `ins` `(` $query `,` $key `,` $value `,` $log_prior `,` $output `,` $lse `,`
      $output_grad `:` type($query) `,` type($key) `,` type($value) `,`
      type($log_prior) `,` type($output) `,` type($lse) `,`
      type($output_grad) `)`
    `outs` `(` $query_grad `,` $key_grad `,` $value_grad `,` $log_prior_grad `:`
      type($query_grad) `,` type($key_grad) `,` type($value_grad) `,`
      type($log_prior_grad) `)` attr-dict
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// dash.route_logits_grad_kernel (spec B6 on buffers, tensor cores)
//===----------------------------------------------------------------------===//

def Dash_RouteLogitsGradKernelOp : Dash_Op<"route_logits_grad_kernel"> {
  let summary = "dash.route_logits_grad on buffers, for the tensor-core kernels";
  let description = [{
    The routing-logit gradient (spec B6) on buffers: with
    `f = gamma * scale` and `dz` restricted to the candidates (`c` before
    the query's own block), `query_grad = f dz Kbar` and
    `summaries_grad = f dz^T Q` summed over the heads of each group. The
    products run on tensor cores with bf16 operands (dz, Kbar and Q rounded
    to bf16, whatever the query's 16-bit type) and f32 accumulation, as the
    spec allows for matrix products. `dash-router-to-kernel` creates it from
    an eligible `dash.route_logits_grad`; `dash-kernels-to-nvgpu` builds its
    kernels. Writes every element of both results.

    Shapes: `query [B, H, N, D]` (bf16 or f16, D 64 or 128),
    `summaries [B, Hkv, Mc, D]` f32, `logits_grad [B, H, N, Mc]` f32,
    `query_grad [B, H, N, D]` f32, `summaries_grad [B, Hkv, Mc, D]` f32,
    `block_size = 64`, static shapes, `Mc >= 1`.

    ```mlir
    dash.route_logits_grad_kernel
        ins(%q, %kbar, %dz : memref<1x8x256x64xbf16>, memref<1x2x4x64xf32>,
            memref<1x8x256x4xf32>)
        outs(%dq, %dkbar : memref<1x8x256x64xf32>, memref<1x2x4x64xf32>)
        {gamma = 2.0}
    ```
  }];
  let arguments = (ins Arg<Dash_HalfMemRef4, "", [MemRead]>:$query,
                       Arg<MemRefRankOf<[F32], [4]>, "", [MemRead]>:$summaries,
                       Arg<MemRefRankOf<[F32], [4]>, "", [MemRead]>:$logits_grad,
                       Arg<MemRefRankOf<[F32], [4]>, "", [MemWrite]>:$query_grad,
                       Arg<MemRefRankOf<[F32], [4]>, "", [MemWrite]>:$summaries_grad,
                       Dash_BlockSizeAttr:$block_size,
                       DefaultValuedAttr<F64Attr, "1.0">:$gamma,
                       OptionalAttr<F64Attr>:$scale);
  let assemblyFormat = [{
    `ins` `(` $query `,` $summaries `,` $logits_grad `:` type($query) `,`
      type($summaries) `,` type($logits_grad) `)`
    `outs` `(` $query_grad `,` $summaries_grad `:` type($query_grad) `,`
      type($summaries_grad) `)` attr-dict
  }];
  let hasVerifier = 1;
}

include "dash/Dialect/Dash/IR/DashGradOps.td"

#endif // DASH_DIALECT_DASH_IR_DASHOPS_TD

//===----------------------------------------------------------------------===//
// dash.router_kernel (spec F2-F5 on buffers, the fused router kernel)
//===----------------------------------------------------------------------===//

def Dash_RouterKernelOp : Dash_Op<"router_kernel"> {
  let summary = "the router (route_logits, entmax, block_prior) on buffers, fused";
  let description = [{
    Routing logits, alpha-entmax over the candidate blocks, group pooling and
    the log-prior (spec F2-F5) in one kernel, which keeps the logits of a
    tile of queries in shared memory and never writes the `[B, H, N, Mc]`
    logits or probabilities. `dash-router-to-kernel` creates it from a
    `dash.route_logits` -> `dash.entmax` -> `dash.block_prior` chain before
    bufferization; `dash-kernels-to-nvgpu` builds the kernel.

    What the kernel implements: bf16 or f16 queries with head dimension 64
    or 128, f32 summaries, `block_size = 64`, `1 < alpha <= 2`, static
    shapes, and a KV group whose G heads times a power-of-two number of
    tokens is a multiple of 16 and at most 64, with those rows' logits
    fitting in shared memory (about N = 128K tokens for one tile of 16 rows).

    Shapes: `query [B, H, N, D]`, `summaries [B, Hkv, Mc, D]` f32,
    `log_prior [B, Hkv, N, M]` f32, `counts [B, Hkv, N]` i32, with
    `Mc = floor(N / block_size)` and `M = ceil(N / block_size)`. The
    attributes are those of the three ops. With the optional
    `probs [B, H, N, Mc]` f32 it also writes the entmax probabilities (the
    backward pass needs them), still without writing the logits.

    ```mlir
    dash.router_kernel ins(%q, %kbar : memref<1x8x256x64xbf16>,
                                       memref<1x2x4x64xf32>)
        outs(%prior, %counts : memref<1x2x256x4xf32>, memref<1x2x256xi32>)
        {block_size = 64, gamma = 2.0, alpha = 1.5,
         prior_mode = #dash.prior_mode<raw>}
    ```
  }];
  let arguments = (ins Arg<Dash_HalfMemRef4, "", [MemRead]>:$query,
                       Arg<MemRefRankOf<[F32], [4]>, "", [MemRead]>:$summaries,
                       Arg<MemRefRankOf<[F32], [4]>, "", [MemWrite]>:$log_prior,
                       Arg<MemRefRankOf<[I32], [3]>, "", [MemWrite]>:$counts,
                       Dash_BlockSizeAttr:$block_size,
                       DefaultValuedAttr<F64Attr, "1.0">:$gamma,
                       OptionalAttr<F64Attr>:$scale,
                       DefaultValuedAttr<F64Attr, "1.5">:$alpha,
                       DefaultValuedAttr<Dash_PriorModeAttr,
                         "::mlir::dash::PriorMode::Centered">:$prior_mode,
                       DefaultValuedAttr<F64Attr, "1.0">:$sigma,
                       DefaultValuedAttr<I64Attr, "0">:$local_blocks,
                       DefaultValuedAttr<I64Attr, "0">:$init_blocks,
                       Arg<Optional<MemRefRankOf<[F32], [4]>>, "",
                           [MemWrite]>:$probs);
  let assemblyFormat = [{
    `ins` `(` $query `,` $summaries `:` type($query) `,` type($summaries) `)`
    `outs` `(` $log_prior `,` $counts (`,` $probs^)? `:` type($log_prior) `,`
      type($counts) (`,` type($probs)^)? `)` attr-dict
  }];
  let hasVerifier = 1;
}
