//===- Dash.h - Dash dialect, attributes and ops ------------------*- C++
//-*-===//
//
// The `dash` dialect: DashAttention on ranked tensors.
//
//===----------------------------------------------------------------------===//

#ifndef DASH_DIALECT_DASH_IR_DASH_H
#define DASH_DIALECT_DASH_IR_DASH_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dash/Dialect/Dash/IR/DashDialect.h.inc"
#include "dash/Dialect/Dash/IR/DashEnums.h.inc"
#include "dash/Dialect/Dash/IR/DashInterfaces.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dash/Dialect/Dash/IR/DashAttrs.h.inc"

#define GET_OP_CLASSES
#include "dash/Dialect/Dash/IR/DashOps.h.inc"

namespace mlir::dash {

/// Number of key blocks `M = ceil(n / blockSize)`, without forming
/// `n + blockSize - 1`, which overflows for block sizes near 2^63.
inline int64_t numBlocks(int64_t n, int64_t blockSize) {
  return n / blockSize + (n % blockSize != 0);
}

/// Number of complete key blocks `Mc = floor(n / blockSize)`; only these have
/// summaries and can be routed to.
inline int64_t numCompleteBlocks(int64_t n, int64_t blockSize) {
  return n / blockSize;
}

/// The softmax scale: the attribute when present, else `1/sqrt(headDim)`.
double resolveScale(FloatAttr scale, int64_t headDim);

/// Why the tensor-core kernels of dash.sparse_attention_kernel cannot take
/// a query of `type` (bf16 or f16, head dimension 64 or 128, static shape)
/// with `blockSize` (64); empty if they can. Both the op's verifier and
/// dash-sparse-attention-to-kernel's eligibility test use it.
std::string tensorCoreKernelLimits(ShapedType query, int64_t blockSize);

/// Threads of the fused router kernel per logit row.
constexpr int64_t kRouterLanesPerRow = 8;

/// How the fused router kernel tiles a KV group: one CTA of `warps` warps
/// (`kRouterLanesPerRow` threads per row) takes `tokens` consecutive queries
/// of all G heads of the group, `rows = G * tokens` logit rows (a multiple
/// of 16, the mma's) of `rowStride` f32 in shared memory, plus one f32 per
/// row and three per (token, warp of the token) for the per-token sums that
/// `warpsPerToken` warps build, then the rows' 16-bit queries (D + 8 a row)
/// from `queryOffset` bytes; `sharedBytes` in all. `tokens == 0` when
/// nothing fits.
struct RouterKernelTile {
  int64_t tokens = 0, rows = 0, rowStride = 0, warps = 0, warpsPerToken = 0,
          queryOffset = 0, sharedBytes = 0;
};
RouterKernelTile routerKernelTile(int64_t group, int64_t completeBlocks,
                                  int64_t headDim);

/// Why the fused router kernel (dash.router_kernel) cannot route `query`
/// over `kvHeads` KV heads with `blockSize` and `alpha`; empty if it can.
/// Both the op's verifier and dash-router-to-kernel use it.
std::string routerKernelLimits(ShapedType query, int64_t kvHeads,
                               int64_t blockSize, double alpha);

} // namespace mlir::dash

#endif // DASH_DIALECT_DASH_IR_DASH_H
