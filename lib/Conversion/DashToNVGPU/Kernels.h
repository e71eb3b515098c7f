//===- Kernels.h - The tensor-core kernels of dash.sparse_attention -*- C++-*-//

#ifndef DASH_LIB_CONVERSION_DASHTONVGPU_KERNELS_H
#define DASH_LIB_CONVERSION_DASHTONVGPU_KERNELS_H

#include "dash/Dialect/Dash/IR/Dash.h"

#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::dash::nvgpu_kernels {

/// How the fine-attention kernels fill their 64-row tiles: with
/// `headsPerTile` heads of a KV head's group times `tokensPerTile`
/// consecutive tokens (row r: token t T + r % T of head
/// chunk P + r / T of the group). The heads of a group share the log-prior,
/// so a tile's block list is the union of the selections of only T tokens
/// (rather than 64), and one K/V load serves P heads. P is G when G divides
/// 64, else 1.
struct TilePacking {
  TilePacking(int64_t heads, int64_t kvHeads, int64_t seqLen, int64_t blocks);
  /// The packing of the kernels of `query [B, H, N, D]` and
  /// `logPrior [B, Hkv, N, M]`.
  TilePacking(Value query, Value logPrior);

  int64_t headsPerTile, tokensPerTile;
  /// Tiles per (batch, KV head, head chunk), and head chunks per KV head.
  int64_t tiles, chunks;
  /// The dK/dV kernel splits a key block's inverse list into `segments`
  /// runs of `segmentLength` tiles, one CTA each, so that a block that
  /// every later tile selects (an init block) does not make one CTA the
  /// whole kernel's critical path.
  int64_t segmentLength, segments;
  /// Whether several CTAs add into one key's dK and dV (atomically, after a
  /// zero fill) rather than one CTA storing them.
  bool keyValueGradAdds() const { return chunks > 1 || segments > 1; }
};

/// Emits a gpu.launch that writes, per (batch, KV head, tile t of
/// `packing`), the key blocks c <= the tile's diagonal block selected by at
/// least one of its tokens (`logPrior [B, Hkv, N, M]` not `-inf`) in
/// increasing order into `lists [B, Hkv, tiles, M]` (i32) and their number
/// into `counts [B, Hkv, tiles]`. With `tileBlocks [B, Hkv, M, tiles]` (i8),
/// also whether tile t selected block c, for every candidate c.
void buildBlockListKernel(ImplicitLocOpBuilder &b, const TilePacking &packing,
                          Value logPrior, Value lists, Value counts,
                          Value tileBlocks = Value());

/// Emits a gpu.launch that writes, per (batch, KV head, key block c), the
/// tiles that selected it (`tileBlocks` of buildBlockListKernel) in
/// increasing order into `inverseLists [B, Hkv, M, tiles]` (i32) and their
/// number into `inverseCounts [B, Hkv, M]`.
void buildInverseBlockListKernel(ImplicitLocOpBuilder &b,
                                 const TilePacking &packing, Value tileBlocks,
                                 Value inverseLists, Value inverseCounts);

/// Emits a gpu.launch that sets every element of the f32 `buffer`
/// (identity layout, static shape) to `value`.
void buildFillKernel(ImplicitLocOpBuilder &b, Value buffer, double value);

/// The memrefs of one fine-attention launch (identity layouts, static
/// shapes): `query, output [B, H, N, D]`, `key, value [B, Hkv, N, D]`,
/// `logPrior [B, Hkv, N, M]` f32, the block lists of buildBlockListKernel,
/// `lse [B, H, N]` f32.
struct FineAttentionOperands {
  Value query, key, value, logPrior, lists, counts, output, lse;
  double scale;
  /// Multiply with warpgroup mma (sm_90a) rather than mma.sync.
  bool warpgroupMma = false;
};

/// Emits the gpu.launch of the tensor-core fine attention (spec F6) over the
/// block lists. Requires 64-token blocks, D in {64, 128}, 16-bit Q, K, V.
void buildFineAttentionKernel(ImplicitLocOpBuilder &b,
                              const FineAttentionOperands &operands);

/// The memrefs of one fine-attention gradient (identity layouts, static
/// shapes): the forward's operands and results, `outputGrad` like `output`,
/// the block lists of buildBlockListKernel and their inverse
/// (buildInverseBlockListKernel), a `delta [B, H, N]` f32 scratch buffer,
/// and the f32 gradients `queryGrad`, `keyGrad`, `valueGrad`,
/// `logPriorGrad` (zero-filled before buildQueryGradKernel, which adds to
/// it; where TilePacking::keyValueGradAdds, `keyGrad` and `valueGrad` are
/// zero-filled before buildKeyValueGradKernel likewise).
struct FineAttentionGradOperands {
  Value query, key, value, logPrior, output, lse, outputGrad;
  Value lists, counts, inverseLists, inverseCounts, delta;
  Value queryGrad, keyGrad, valueGrad, logPriorGrad;
  double scale;
  /// Multiply with warpgroup mma (sm_90a) rather than mma.sync.
  bool warpgroupMma = false;
};

/// Emits the gpu.launch of dQ (spec B1), Delta and the bias gradient (B2).
void buildQueryGradKernel(ImplicitLocOpBuilder &b,
                          const FineAttentionGradOperands &operands);

/// Emits the gpu.launch of dK and dV (spec B1); runs after
/// buildQueryGradKernel, whose Delta it reads.
void buildKeyValueGradKernel(ImplicitLocOpBuilder &b,
                             const FineAttentionGradOperands &operands);

/// The memrefs of one fused router (dash.router_kernel; identity layouts,
/// static shapes) and its attributes: `query [B, H, N, D]` (bf16 or f16),
/// `summaries [B, Hkv, Mc, D]` f32, `parts [3, B, Hkv, Mc, D]` of the
/// query's type (buildSummarySplitKernel), `logPrior [B, Hkv, N, M]` f32,
/// `counts [B, Hkv, N]` i32, optionally `probs [B, H, N, Mc]` f32; `factor`
/// is gamma * scale.
struct RouterOperands {
  Value query, summaries, parts, logPrior, counts, probs;
  int64_t blockSize, localBlocks, initBlocks;
  double factor, alpha, sigma;
  PriorMode priorMode;
};

/// The memrefs of one routing-logit gradient (dash.route_logits_grad_kernel;
/// identity layouts, static shapes): `query [B, H, N, D]`,
/// `summaries [B, Hkv, Mc, D]` f32, `logitsGrad [B, H, N, Mc]` f32, the f32
/// gradients `queryGrad` (query-like) and `summariesGrad` (summary-like,
/// zero-filled before buildRouteLogitsGradSummariesKernel, which adds to
/// it); `factor` is gamma * scale. Requires 64-token blocks.
struct RouteLogitsGradOperands {
  Value query, summaries, logitsGrad, queryGrad, summariesGrad;
  double factor;
};

/// Emits the gpu.launch of `queryGrad = factor dz Kbar` (spec B6).
void buildRouteLogitsGradQueryKernel(ImplicitLocOpBuilder &b,
                                     const RouteLogitsGradOperands &operands);

/// Emits the gpu.launch that adds `factor dz^T Q` (spec B6) to
/// `summariesGrad`.
void buildRouteLogitsGradSummariesKernel(
    ImplicitLocOpBuilder &b, const RouteLogitsGradOperands &operands);

/// Emits a gpu.launch that writes each f32 summary as three terms of the
/// parts' 16-bit type whose sum is the summary to within its last bit, so
/// that tensor-core products with them are f32 products.
void buildSummarySplitKernel(ImplicitLocOpBuilder &b, Value summaries,
                             Value parts);

/// Emits the gpu.launch of the fused router (spec F2-F5), tiled by
/// routerKernelTile.
void buildRouterKernel(ImplicitLocOpBuilder &b, const RouterOperands &operands);

} // namespace mlir::dash::nvgpu_kernels

#endif // DASH_LIB_CONVERSION_DASHTONVGPU_KERNELS_H
