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
  patterns.add<DecomposeAttention>(patterns.getContext());
}
