//===- Decompose.cpp - dash.attention into stage ops ---------------------===//
//
// The composite op is convenient for users and frontends; every lowering works
// on the stage ops, so this pass is the entry of all pipelines.
//
//===----------------------------------------------------------------------===//

#include "dash/Dialect/Dash/Transforms/Passes.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::dash {
#define GEN_PASS_DEF_DASHDECOMPOSE
#include "dash/Dialect/Dash/Transforms/Passes.h.inc"
} // namespace mlir::dash

using namespace mlir;
using namespace mlir::dash;

/// `floor(n / blockSize)` or `ceil(n / blockSize)`, folded when n is static.
static OpFoldResult divideIntoBlocks(OpBuilder &b, Location loc, OpFoldResult n,
                                     int64_t blockSize, bool roundUp) {
  if (std::optional<int64_t> size = getConstantIntValue(n))
    return b.getIndexAttr(roundUp ? numBlocks(*size, blockSize)
                                  : numCompleteBlocks(*size, blockSize));
  Value divisor = arith::ConstantIndexOp::create(b, loc, blockSize);
  Value dividend = getValueOrCreateConstantIndexOp(b, loc, n);
  if (roundUp)
    return arith::CeilDivUIOp::create(b, loc, dividend, divisor).getResult();
  return arith::DivUIOp::create(b, loc, dividend, divisor).getResult();
}

namespace {
struct DecomposeAttention : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    SmallVector<OpFoldResult> q =
        tensor::getMixedSizes(rewriter, loc, op.getQuery());
    OpFoldResult batch = q[0], heads = q[1], seqLen = q[2], headDim = q[3];
    OpFoldResult kvHeads =
        tensor::getMixedSize(rewriter, loc, op.getKey(), /*dim=*/1);
    int64_t blockSize = op.getBlockSize();
    OpFoldResult complete =
        divideIntoBlocks(rewriter, loc, seqLen, blockSize, /*roundUp=*/false);
    OpFoldResult blocks =
        divideIntoBlocks(rewriter, loc, seqLen, blockSize, /*roundUp=*/true);

    Type f32 = rewriter.getF32Type();
    auto empty = [&](ArrayRef<OpFoldResult> sizes, Type elementType) -> Value {
      return tensor::EmptyOp::create(rewriter, loc, sizes, elementType);
    };

    Value summariesInit = empty({batch, kvHeads, complete, headDim}, f32);
    Value summaries =
        SummarizeOp::create(rewriter, loc, summariesInit.getType(), op.getKey(),
                            op.getSummaryQuery(), summariesInit,
                            op.getBlockSizeAttr(), op.getScaleAttr())
            .getResult();

    Value logitsInit = empty({batch, heads, seqLen, complete}, f32);
    Value logits = RouteLogitsOp::create(rewriter, loc, logitsInit.getType(),
                                         op.getQuery(), summaries, logitsInit,
                                         op.getBlockSizeAttr(),
                                         op.getGammaAttr(), op.getScaleAttr())
                       .getResult();

    Value probsInit = empty({batch, heads, seqLen, complete}, f32);
    Value tauInit = empty({batch, heads, seqLen}, f32);
    auto entmax = EntmaxOp::create(
        rewriter, loc, probsInit.getType(), tauInit.getType(), logits,
        /*mask=*/Value(), probsInit, tauInit, op.getAlphaAttr(),
        rewriter.getI64IntegerAttr(3));

    Value priorInit = empty({batch, kvHeads, seqLen, blocks}, f32);
    Value countsInit = empty({batch, kvHeads, seqLen}, rewriter.getI32Type());
    auto prior = BlockPriorOp::create(
        rewriter, loc, priorInit.getType(), countsInit.getType(),
        entmax.getProbs(), priorInit, countsInit, op.getBlockSizeAttr(),
        op.getPriorModeAttr(), op.getSigmaAttr(), op.getLocalBlocksAttr(),
        op.getInitBlocksAttr());

    Value outputInit = empty(q, getElementTypeOrSelf(op.getQuery()));
    Value lseInit = empty({batch, heads, seqLen}, f32);
    auto attention = SparseAttentionOp::create(
        rewriter, loc, outputInit.getType(), lseInit.getType(), op.getQuery(),
        op.getKey(), op.getValue(), prior.getPrior(), outputInit, lseInit,
        op.getBlockSizeAttr(), op.getScaleAttr());

    SmallVector<Value> replacements = {attention.getOutput()};
    if (op.getLse())
      replacements.push_back(attention.getLse());
    if (op.getCounts())
      replacements.push_back(prior.getCounts());
    rewriter.replaceOp(op, replacements);
    return success();
  }
};

/// Converts a tensor to `elementType` elementwise (no-op when equal).
static Value convertElements(OpBuilder &b, Location loc, Value v,
                             Type elementType) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type.getElementType() == elementType)
    return v;
  Type target = type.clone(elementType);
  if (cast<FloatType>(elementType).getWidth() <
      cast<FloatType>(type.getElementType()).getWidth())
    return arith::TruncFOp::create(b, loc, target, v);
  return arith::ExtFOp::create(b, loc, target, v);
}

/// The backward pass as stage ops: the router is recomputed, the fine
/// attention gradient gives dQ, dK, dV and the log-prior gradient, which
/// flows back through block_prior, entmax, route_logits and summarize unless
/// the router gradient is stopped (router_grad = none, or a flat prior, which
/// does not depend on the router). Gradients accumulate in f32 (f64 for f64
/// inputs) and are converted to the input element type at the end.
struct DecomposeAttentionGrad : OpRewritePattern<AttentionGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionGradOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value query = op.getQuery(), key = op.getKey(), w = op.getSummaryQuery();
    SmallVector<OpFoldResult> q = tensor::getMixedSizes(rewriter, loc, query);
    SmallVector<OpFoldResult> k = tensor::getMixedSizes(rewriter, loc, key);
    OpFoldResult batch = q[0], heads = q[1], seqLen = q[2], headDim = q[3];
    OpFoldResult kvHeads = k[1];
    int64_t blockSize = op.getBlockSize();
    OpFoldResult complete =
        divideIntoBlocks(rewriter, loc, seqLen, blockSize, /*roundUp=*/false);
    OpFoldResult blocks =
        divideIntoBlocks(rewriter, loc, seqLen, blockSize, /*roundUp=*/true);
    Type f32 = rewriter.getF32Type();
    Type primal = getElementTypeOrSelf(query);
    Type acc = primal.isF64() ? primal : f32;
    auto empty = [&](ArrayRef<OpFoldResult> sizes, Type elementType) -> Value {
      return tensor::EmptyOp::create(rewriter, loc, sizes, elementType);
    };

    // Router recomputation (cheap next to the fine attention).
    Value summariesInit = empty({batch, kvHeads, complete, headDim}, f32);
    Value summaries =
        SummarizeOp::create(rewriter, loc, summariesInit.getType(), key, w,
                            summariesInit, op.getBlockSizeAttr(),
                            op.getScaleAttr())
            .getResult();
    Value logitsInit = empty({batch, heads, seqLen, complete}, f32);
    Value logits =
        RouteLogitsOp::create(rewriter, loc, logitsInit.getType(), query,
                              summaries, logitsInit, op.getBlockSizeAttr(),
                              op.getGammaAttr(), op.getScaleAttr())
            .getResult();
    Value probsInit = empty({batch, heads, seqLen, complete}, f32);
    Value tauInit = empty({batch, heads, seqLen}, f32);
    Value probs =
        EntmaxOp::create(rewriter, loc, probsInit.getType(), tauInit.getType(),
                         logits, Value(), probsInit, tauInit, op.getAlphaAttr(),
                         rewriter.getI64IntegerAttr(3))
            .getProbs();
    Value priorInit = empty({batch, kvHeads, seqLen, blocks}, f32);
    Value countsInit = empty({batch, kvHeads, seqLen}, rewriter.getI32Type());
    Value prior =
        BlockPriorOp::create(
            rewriter, loc, priorInit.getType(), countsInit.getType(), probs,
            priorInit, countsInit, op.getBlockSizeAttr(), op.getPriorModeAttr(),
            op.getSigmaAttr(), op.getLocalBlocksAttr(), op.getInitBlocksAttr())
            .getPrior();

    // Fine attention (B1, B2).
    Value dqInit = empty(q, acc), dkInit = empty(k, acc),
          dvInit = empty(k, acc),
          dlInit = empty({batch, kvHeads, seqLen, blocks}, f32);
    auto fine = SparseAttentionGradOp::create(
        rewriter, loc,
        TypeRange{dqInit.getType(), dkInit.getType(), dvInit.getType(),
                  dlInit.getType()},
        query, key, op.getValue(), prior, op.getOutput(), op.getLse(),
        op.getOutputGrad(), dqInit, dkInit, dvInit, dlInit,
        op.getBlockSizeAttr(), op.getScaleAttr());
    Value dq = fine.getQueryGrad(), dk = fine.getKeyGrad(),
          dv = fine.getValueGrad();
    Value dw;

    bool routed = op.getRouterGrad() == RouterGrad::Full &&
                  op.getPriorMode() != PriorMode::Flat;
    if (routed) {
      // Router (B3 to B7).
      Value dpInit = empty({batch, heads, seqLen, complete}, f32);
      Value dp = BlockPriorGradOp::create(
                     rewriter, loc, dpInit.getType(), probs,
                     fine.getLogPriorGrad(), dpInit, op.getBlockSizeAttr(),
                     op.getPriorModeAttr(), op.getSigmaAttr(),
                     op.getLocalBlocksAttr(), op.getInitBlocksAttr())
                     .getResult();
      Value dzInit = empty({batch, heads, seqLen, complete}, f32);
      Value dz = EntmaxGradOp::create(rewriter, loc, dzInit.getType(), probs,
                                      dp, dzInit, op.getAlphaAttr(),
                                      rewriter.getI64IntegerAttr(3))
                     .getResult();
      Value dqRouteInit = empty(q, acc);
      Value dkbarInit = empty({batch, kvHeads, complete, headDim}, f32);
      auto route = RouteLogitsGradOp::create(
          rewriter, loc, dqRouteInit.getType(), dkbarInit.getType(), query,
          summaries, dz, dqRouteInit, dkbarInit, op.getBlockSizeAttr(),
          op.getGammaAttr(), op.getScaleAttr());
      Value dkSummaryInit = empty(k, acc);
      Value dwInit =
          w ? empty(tensor::getMixedSizes(rewriter, loc, w), acc) : Value();
      auto summary = SummarizeGradOp::create(
          rewriter, loc, dkSummaryInit.getType(), w ? dwInit.getType() : Type(),
          key, w, route.getSummariesGrad(), dkSummaryInit, dwInit,
          op.getBlockSizeAttr(), op.getScaleAttr());
      dq = arith::AddFOp::create(rewriter, loc, dq, route.getQueryGrad());
      dk = arith::AddFOp::create(rewriter, loc, dk, summary.getKeyGrad());
      dw = summary.getSummaryQueryGrad();
    } else if (w) {
      auto dwType = cast<RankedTensorType>(w.getType()).clone(acc);
      Value zero = arith::ConstantOp::create(rewriter, loc,
                                             rewriter.getFloatAttr(acc, 0.0));
      SmallVector<Value> dynamicSizes;
      for (auto [i, size] : llvm::enumerate(dwType.getShape()))
        if (ShapedType::isDynamic(size))
          dynamicSizes.push_back(tensor::DimOp::create(rewriter, loc, w, i));
      dw = tensor::SplatOp::create(rewriter, loc, dwType, zero, dynamicSizes);
    }

    SmallVector<Value> grads = {convertElements(rewriter, loc, dq, primal),
                                convertElements(rewriter, loc, dk, primal),
                                convertElements(rewriter, loc, dv, primal)};
    if (w)
      grads.push_back(convertElements(rewriter, loc, dw, primal));
    rewriter.replaceOp(op, grads);
    return success();
  }
};

struct DashDecomposePass
    : mlir::dash::impl::DashDecomposeBase<DashDecomposePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateDecomposeAttentionPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

void mlir::dash::populateDecomposeAttentionPatterns(
    RewritePatternSet &patterns) {
  patterns.add<DecomposeAttention, DecomposeAttentionGrad>(
      patterns.getContext());
}
