//===- Kernels.h - The tensor-core kernels of dash.sparse_attention -*- C++-*-//

#ifndef DASH_LIB_CONVERSION_DASHTONVGPU_KERNELS_H
#define DASH_LIB_CONVERSION_DASHTONVGPU_KERNELS_H

#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::dash::nvgpu_kernels {

/// Emits a gpu.launch that writes, per (batch, KV head, 64-query tile t),
/// the key blocks c <= t selected by at least one query of the tile
/// (`logPrior [B, Hkv, N, M]` not `-inf`) in increasing order into
/// `lists [B, Hkv, T, M]` (i32) and their number into `counts [B, Hkv, T]`.
void buildBlockListKernel(ImplicitLocOpBuilder &b, Value logPrior, Value lists,
                          Value counts);

/// The memrefs of one fine-attention launch (identity layouts, static
/// shapes): `query, output [B, H, N, D]`, `key, value [B, Hkv, N, D]`,
/// `logPrior [B, Hkv, N, M]` f32, the block lists of buildBlockListKernel,
/// `lse [B, H, N]` f32.
struct FineAttentionOperands {
  Value query, key, value, logPrior, lists, counts, output, lse;
  double scale;
};

/// Emits the gpu.launch of the tensor-core fine attention (spec F6) over the
/// block lists. Requires 64-token blocks, D in {64, 128}, 16-bit Q, K, V.
void buildFineAttentionKernel(ImplicitLocOpBuilder &b,
                              const FineAttentionOperands &operands);

} // namespace mlir::dash::nvgpu_kernels

#endif // DASH_LIB_CONVERSION_DASHTONVGPU_KERNELS_H
