//===- RouterToKernel.cpp - dash-router-to-kernel -------------------------===//
//
// Fuses a route_logits -> entmax -> block_prior chain into one
// dash.router_kernel on buffers before bufferization, so that the
// [B, H, N, Mc] logits and probabilities are never allocated.
//
//===----------------------------------------------------------------------===//

#include "TensorBuffers.h"

#include "dash/Conversion/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mlir::dash {
#define GEN_PASS_DEF_DASHROUTERTOKERNEL
#include "dash/Conversion/Passes.h.inc"
} // namespace mlir::dash

using namespace mlir;
using namespace mlir::dash;

namespace {

/// The chain's producers of `prior`, or why it cannot be fused.
struct RouterChain {
  RouteLogitsOp logits;
  EntmaxOp entmax;
  std::string whyNot;
};

RouterChain matchChain(BlockPriorOp prior) {
  RouterChain chain;
  auto fail = [&](StringRef reason) {
    chain.whyNot = reason.str();
    return chain;
  };
  chain.entmax = prior.getProbs().getDefiningOp<EntmaxOp>();
  if (!chain.entmax)
    return fail("the probabilities do not come from dash.entmax");
  EntmaxOp entmax = chain.entmax;
  if (entmax.getMask() || entmax.getDimension() != 3)
    return fail("entmax has a mask or does not run along the blocks");
  if (!entmax.getTau().use_empty())
    return fail("tau has users");
  // The kernel replaces the probabilities at the block_prior, so their
  // other users must come after it.
  for (Operation *user : entmax.getProbs().getUsers())
    if (user != prior &&
        (user->getBlock() != prior->getBlock() || user->isBeforeInBlock(prior)))
      return fail("the probabilities have a user before dash.block_prior");
  chain.logits = entmax.getInput().getDefiningOp<RouteLogitsOp>();
  if (!chain.logits || !chain.logits.getResult().hasOneUse())
    return fail("the logits do not come from dash.route_logits alone");
  RouteLogitsOp logits = chain.logits;
  if (logits.getBlockSize() != prior.getBlockSize())
    return fail("the ops disagree on block_size");
  auto query = cast<RankedTensorType>(logits.getQuery().getType());
  auto summaries = cast<RankedTensorType>(logits.getSummaries().getType());
  for (Value v : {logits.getQuery(), logits.getSummaries(),
                  prior.getPriorInit(), prior.getCountsInit()})
    if (!cast<RankedTensorType>(v.getType()).hasStaticShape())
      return fail("dynamic shapes");
  if (query.getNumElements() == 0)
    return fail("empty tensors");
  if (!summaries.getElementType().isF32())
    return fail("the summaries are not f32");
  return fail(routerKernelLimits(query, summaries.getDimSize(1),
                                 prior.getBlockSize(),
                                 entmax.getAlpha().convertToDouble()));
}

struct RouterToKernel : OpRewritePattern<BlockPriorOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(BlockPriorOp op,
                                PatternRewriter &rewriter) const override {
    RouterChain chain = matchChain(op);
    if (!chain.whyNot.empty())
      return rewriter.notifyMatchFailure(op, chain.whyNot);
    Location loc = op.getLoc();
    auto input = [&](Value tensor) {
      return readOnlyBuffer(rewriter, loc, tensor);
    };
    Value prior = resultBuffer(rewriter, loc, op.getPriorInit());
    Value counts = resultBuffer(rewriter, loc, op.getCountsInit());
    // Other users of the probabilities (the backward pass) get them from
    // the kernel too.
    Value probsTensor = chain.entmax.getProbs();
    Value probs = probsTensor.hasOneUse()
                      ? Value()
                      : resultBuffer(rewriter, loc, probsTensor);
    RouteLogitsOp logits = chain.logits;
    RouterKernelOp::create(
        rewriter, loc, input(logits.getQuery()), input(logits.getSummaries()),
        prior, counts, op.getBlockSizeAttr(), logits.getGammaAttr(),
        logits.getScaleAttr(), chain.entmax.getAlphaAttr(),
        op.getPriorModeAttr(), op.getSigmaAttr(), op.getLocalBlocksAttr(),
        op.getInitBlocksAttr(), probs);
    rewriter.replaceOp(
        op, {resultTensor(rewriter, loc, prior, op.getPriorInit()),
             resultTensor(rewriter, loc, counts, op.getCountsInit())});
    if (probs)
      rewriter.replaceAllUsesWith(
          probsTensor, resultTensor(rewriter, loc, probs, probsTensor));
    rewriter.eraseOp(chain.entmax);
    rewriter.eraseOp(logits);
    return success();
  }
};

struct RouteLogitsGradToKernel : OpRewritePattern<RouteLogitsGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RouteLogitsGradOp op,
                                PatternRewriter &rewriter) const override {
    for (Value v : op->getOperands())
      if (!cast<RankedTensorType>(v.getType()).hasStaticShape())
        return rewriter.notifyMatchFailure(op, "dynamic shapes");
    auto query = cast<RankedTensorType>(op.getQuery().getType());
    auto summaries = cast<RankedTensorType>(op.getSummaries().getType());
    if (query.getNumElements() == 0 || summaries.getDimSize(2) == 0)
      return rewriter.notifyMatchFailure(op, "no complete block");
    if (!summaries.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "the summaries are not f32");
    for (Value grad : op.getResults())
      if (!getElementTypeOrSelf(grad).isF32())
        return rewriter.notifyMatchFailure(op, "gradients not in f32");
    if (std::string limits = tensorCoreKernelLimits(query, op.getBlockSize());
        !limits.empty())
      return rewriter.notifyMatchFailure(op, limits);
    Location loc = op.getLoc();
    auto input = [&](Value tensor) {
      return readOnlyBuffer(rewriter, loc, tensor);
    };
    Value queryGrad = resultBuffer(rewriter, loc, op.getQueryGrad());
    Value summariesGrad = resultBuffer(rewriter, loc, op.getSummariesGrad());
    RouteLogitsGradKernelOp::create(
        rewriter, loc, input(op.getQuery()), input(op.getSummaries()),
        input(op.getLogitsGrad()), queryGrad, summariesGrad,
        op.getBlockSizeAttr(), op.getGammaAttr(), op.getScaleAttr());
    rewriter.replaceOp(
        op,
        {resultTensor(rewriter, loc, queryGrad, op.getQueryGrad()),
         resultTensor(rewriter, loc, summariesGrad, op.getSummariesGrad())});
    return success();
  }
};

struct DashRouterToKernelPass
    : dash::impl::DashRouterToKernelBase<DashRouterToKernelPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RouterToKernel, RouteLogitsGradToKernel>(&getContext());
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace
