//===- SparseAttentionToKernel.cpp - dash-sparse-attention-to-kernel ------===//
//
// Moves an eligible dash.sparse_attention from tensors to buffers before
// bufferization, so that its kernels are built after buffer deallocation
// (which rejects the asynchronous-copy and warp ops they contain).
//
//===----------------------------------------------------------------------===//

#include "TensorBuffers.h"

#include "dash/Conversion/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mlir::dash {
#define GEN_PASS_DEF_DASHSPARSEATTENTIONTOKERNEL
#include "dash/Conversion/Passes.h.inc"
} // namespace mlir::dash

using namespace mlir;
using namespace mlir::dash;

namespace {

/// Why the tensor-core kernels cannot run `op`; empty if they can.
std::string whyNotEligible(SparseAttentionOp op) {
  for (Value v : op->getOperands())
    if (!cast<RankedTensorType>(v.getType()).hasStaticShape())
      return "dynamic shapes";
  auto query = cast<RankedTensorType>(op.getQuery().getType());
  if (query.getNumElements() == 0)
    return "empty tensors";
  return tensorCoreKernelLimits(query, op.getBlockSize());
}

struct SparseAttentionToKernel : OpRewritePattern<SparseAttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SparseAttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (std::string reason = whyNotEligible(op); !reason.empty())
      return rewriter.notifyMatchFailure(op, reason);
    Location loc = op.getLoc();
    auto input = [&](Value tensor) {
      return readOnlyBuffer(rewriter, loc, tensor);
    };
    Value output = resultBuffer(rewriter, loc, op.getOutput());
    Value lse = resultBuffer(rewriter, loc, op.getLse());
    SparseAttentionKernelOp::create(rewriter, loc, input(op.getQuery()),
                                    input(op.getKey()), input(op.getValue()),
                                    input(op.getLogPrior()), output, lse,
                                    op.getBlockSize(), op.getScaleAttr());
    rewriter.replaceOp(op, {resultTensor(rewriter, loc, output, op.getOutput()),
                            resultTensor(rewriter, loc, lse, op.getLse())});
    return success();
  }
};

struct DashSparseAttentionToKernelPass
    : dash::impl::DashSparseAttentionToKernelBase<
          DashSparseAttentionToKernelPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<SparseAttentionToKernel>(&getContext());
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace
