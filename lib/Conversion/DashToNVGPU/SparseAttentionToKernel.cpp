//===- SparseAttentionToKernel.cpp - dash-sparse-attention-to-kernel ------===//
//
// Moves an eligible dash.sparse_attention or dash.sparse_attention_grad from
// tensors to buffers before bufferization, so that its kernels are built
// after buffer deallocation (which rejects the asynchronous-copy and warp ops
// they contain).
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
template <typename OpTy> std::string whyNotEligible(OpTy op) {
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

struct SparseAttentionGradToKernel : OpRewritePattern<SparseAttentionGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SparseAttentionGradOp op,
                                PatternRewriter &rewriter) const override {
    if (std::string reason = whyNotEligible(op); !reason.empty())
      return rewriter.notifyMatchFailure(op, reason);
    Type element = getElementTypeOrSelf(op.getQuery());
    if (getElementTypeOrSelf(op.getOutput()) != element ||
        getElementTypeOrSelf(op.getOutputGrad()) != element)
      return rewriter.notifyMatchFailure(op, "O or dO of another type than Q");
    for (Value grad : op.getResults())
      if (!getElementTypeOrSelf(grad).isF32())
        return rewriter.notifyMatchFailure(op, "gradients not in f32");
    Location loc = op.getLoc();
    auto input = [&](Value tensor) {
      return readOnlyBuffer(rewriter, loc, tensor);
    };
    SmallVector<Value> grads;
    for (Value result : op.getResults())
      grads.push_back(resultBuffer(rewriter, loc, result));
    SparseAttentionGradKernelOp::create(
        rewriter, loc, input(op.getQuery()), input(op.getKey()),
        input(op.getValue()), input(op.getLogPrior()), input(op.getOutput()),
        input(op.getLse()), input(op.getOutputGrad()), grads[0], grads[1],
        grads[2], grads[3], op.getBlockSize(), op.getScaleAttr());
    SmallVector<Value> results;
    for (auto [buffer, result] : llvm::zip(grads, op.getResults()))
      results.push_back(resultTensor(rewriter, loc, buffer, result));
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct DashSparseAttentionToKernelPass
    : dash::impl::DashSparseAttentionToKernelBase<
          DashSparseAttentionToKernelPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<SparseAttentionToKernel, SparseAttentionGradToKernel>(
        &getContext());
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace
