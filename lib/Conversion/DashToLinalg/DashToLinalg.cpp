//===- DashToLinalg.cpp - dash stage ops to linalg on tensors ------------===//
//
// Each stage op becomes a short chain of linalg.generic ops on tensors. The
// query heads of a KV group are exposed by expanding H into [Hkv, G], so the
// head-to-group mapping is a plain projection in the indexing maps.
//
//===----------------------------------------------------------------------===//

#include "dash/Conversion/Passes.h"
#include "dash/Dialect/Dash/IR/Dash.h"
#include "dash/Dialect/Dash/Transforms/Passes.h"

#include "LoweringUtils.h"

#include "mlir/Dialect/Tensor/Utils/Utils.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <limits>

namespace mlir::dash {
#define GEN_PASS_DEF_DASHTOLINALG
#include "dash/Conversion/Passes.h.inc"
} // namespace mlir::dash

using namespace mlir;
using namespace mlir::dash;

namespace {
using namespace mlir::dash::lowering;

//===----------------------------------------------------------------------===//
// dash.summarize
//===----------------------------------------------------------------------===//

struct LowerSummarize : OpRewritePattern<SummarizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SummarizeOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Emitter e(b);
    Value key = op.getKey(), w = op.getSummaryQuery();
    int64_t bk = op.getBlockSize();
    Type ct = computeType(b, {key, w, op.getInit()});
    Value blocks = blockKeys(e, key, bk);
    ArrayRef<int64_t> s = shapeOf(blocks);

    // Kbar_c = sum_t a_t K_t with a uniform without W (mean pooling).
    Value weights =
        w ? summaryWeights(e, blocks, w, resolveScale(op.getScaleAttr(), s[4]),
                           ct)
          : Value();
    Value summaries = summarizeBlocks(e, blocks, weights, ct);
    rewriter.replaceOp(op, e.castInto(summaries, op.getInit()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// dash.route_logits
//===----------------------------------------------------------------------===//

struct LowerRouteLogits : OpRewritePattern<RouteLogitsOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RouteLogitsOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Emitter e(b);
    Value summaries = op.getSummaries();
    int64_t kvHeads = shapeOf(summaries)[1];
    int64_t headDim = shapeOf(summaries)[3];
    Type ct = computeType(b, {op.getQuery(), summaries});
    Value query = expandHeads(e, op.getQuery(), kvHeads);
    // dot[b, g, r, i, c] = <Q[b, g*G + r, i], Kbar[b, g, c]>.
    Value dot = groupedDot(e, query, summaries, ct);

    // Candidates of query i are the blocks c with (c + 1) * Bk <= i.
    double factor = op.getGamma().convertToDouble() *
                    resolveScale(op.getScaleAttr(), headDim);
    int64_t bk = op.getBlockSize();
    Value init = expandHeads(e, op.getInit(), kvHeads);
    Value logits =
        e.elementwise(dot, init, [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          Emitter n(nb);
          Value candidate = isCandidateBlock(nb, 3, 4, bk);
          Type f32 = nb.getF32Type();
          Value z = n.castFloat(
              arith::MulFOp::create(nb, a[0], n.floatConst(ct, factor)), f32);
          return SmallVector<Value>{arith::SelectOp::create(
              nb, candidate, z, n.floatConst(f32, -kInf))};
        });
    rewriter.replaceOp(op, collapseHeads(e, logits));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// dash.entmax
//===----------------------------------------------------------------------===//

struct LowerEntmax : OpRewritePattern<EntmaxOp> {
  using OpRewritePattern::OpRewritePattern;

  /// Halvings of the bracket [max x - 1, max x]: enough to reach the last bit
  /// of the compute type (the bracket is shifted to [-1, 0]).
  static int64_t bisectionSteps(Type ct) { return ct.isF64() ? 60 : 32; }

  LogicalResult matchAndRewrite(EntmaxOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Emitter e(b);
    Value input = op.getInput(), mask = op.getMask();
    ArrayRef<int64_t> shape = shapeOf(input);
    unsigned rank = shape.size();
    unsigned dim = op.getDimension();
    Type ct = computeType(b, {input});
    double alpha = op.getAlpha().convertToDouble();

    // Named references, not structured bindings: lambdas below capture them.
    RowReduction indexing = reduceAlong(e, shape, dim);
    const SmallVector<int64_t> &rowShape = indexing.rowShape;
    AffineMap full = indexing.full, row = indexing.row;
    ArrayRef<IteratorType> parallel = indexing.parallel,
                           reduce = indexing.reduce;

    // x = (alpha - 1) z, -inf where masked.
    SmallVector<Value> xIns = {input};
    if (mask)
      xIns.push_back(mask);
    Value x = e.elementwise(
        xIns, e.empty(shape, ct), [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          Emitter n(nb);
          Value v = arith::MulFOp::create(nb, n.castFloat(a[0], ct),
                                          n.floatConst(ct, alpha - 1.0));
          if (mask)
            v = arith::SelectOp::create(nb, a[1], v, n.floatConst(ct, -kInf));
          return SmallVector<Value>{v};
        });
    Value rowMax = e.generic1(
        x, e.filled(rowShape, ct, -kInf), {full, row}, reduce,
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          return SmallVector<Value>{arith::MaximumFOp::create(nb, a[0], a[1])};
        });
    // y = x - max x, so the threshold lies in [-1, 0] at full precision.
    Value y = e.generic1({x, rowMax}, e.empty(shape, ct), {full, row, full},
                         parallel, [&](ImplicitLocOpBuilder &nb, ValueRange a) {
                           return SmallVector<Value>{
                               arith::SubFOp::create(nb, a[0], a[1])};
                         });

    double exponent = 1.0 / (alpha - 1.0);
    // [y - t]_+ ^ (1 / (alpha - 1)).
    auto powered = [&](ImplicitLocOpBuilder &nb, Value yv, Value t) {
      Emitter n(nb);
      Value d = arith::MaximumFOp::create(nb, arith::SubFOp::create(nb, yv, t),
                                          n.floatConst(ct, 0.0));
      if (exponent == 1.0)
        return d;
      if (exponent == 2.0)
        return Value(arith::MulFOp::create(nb, d, d));
      return Value(math::PowFOp::create(nb, d, n.floatConst(ct, exponent)));
    };
    auto midpoint = [&](ImplicitLocOpBuilder &nb, Value lo, Value hi) {
      Emitter n(nb);
      return arith::MulFOp::create(nb, arith::AddFOp::create(nb, lo, hi),
                                   n.floatConst(ct, 0.5));
    };

    // Bisection: keep sum_c [y_c - lo]_+^e >= 1 > sum_c [y_c - hi]_+^e.
    Value lo0 = e.filled(rowShape, ct, -1.0);
    Value hi0 = e.filled(rowShape, ct, 0.0);
    auto loop = scf::ForOp::create(
        b, e.indexConst(0), e.indexConst(bisectionSteps(ct)), e.indexConst(1),
        ValueRange{lo0, hi0},
        [&](OpBuilder &nested, Location loc, Value, ValueRange iter) {
          ImplicitLocOpBuilder nb(loc, nested);
          Emitter n(nb);
          Value lo = iter[0], hi = iter[1];
          Value mid = n.elementwise(
              {lo, hi}, n.empty(rowShape, ct),
              [&](ImplicitLocOpBuilder &bb, ValueRange a) {
                return SmallVector<Value>{midpoint(bb, a[0], a[1])};
              });
          Value mass = n.generic1(
              {y, mid}, n.filled(rowShape, ct, 0.0), {full, row, row}, reduce,
              [&](ImplicitLocOpBuilder &bb, ValueRange a) {
                return SmallVector<Value>{
                    arith::AddFOp::create(bb, a[2], powered(bb, a[0], a[1]))};
              });
          // Updated in place so the loop bufferizes without copies.
          SmallVector<Value> next = n.generic(
              {mid, mass}, {lo, hi},
              SmallVector<AffineMap>(4, n.identity(rank - 1)),
              SmallVector<IteratorType>(rank - 1, kPar),
              [&](ImplicitLocOpBuilder &bb, ValueRange a) {
                Emitter m(bb);
                Value tooLow = arith::CmpFOp::create(
                    bb, arith::CmpFPredicate::OGE, a[1], m.floatConst(ct, 1.0));
                return SmallVector<Value>{
                    arith::SelectOp::create(bb, tooLow, a[0], a[2]),
                    arith::SelectOp::create(bb, tooLow, a[3], a[0])};
              });
          scf::YieldOp::create(nb, next);
        });
    Value lo = loop.getResult(0), hi = loop.getResult(1);

    // p = [y - tau]_+^e renormalised; an empty slice (max = -inf) gives p = 0
    // and tau = +inf.
    Value unnormalized =
        e.generic1({y, lo, hi}, e.empty(shape, ct), {full, row, row, full},
                   parallel, [&](ImplicitLocOpBuilder &nb, ValueRange a) {
                     return SmallVector<Value>{
                         powered(nb, a[0], midpoint(nb, a[1], a[2]))};
                   });
    Value total = e.generic1(
        unnormalized, e.filled(rowShape, ct, 0.0), {full, row}, reduce,
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          return SmallVector<Value>{arith::AddFOp::create(nb, a[0], a[1])};
        });
    Type outType = getElementTypeOrSelf(op.getProbsInit());
    auto isEmpty = [&](ImplicitLocOpBuilder &nb, Value m) {
      Emitter n(nb);
      return arith::CmpFOp::create(nb, arith::CmpFPredicate::OEQ, m,
                                   n.floatConst(ct, -kInf));
    };
    Value probs =
        e.generic1({unnormalized, total, rowMax}, op.getProbsInit(),
                   {full, row, row, full}, parallel,
                   [&](ImplicitLocOpBuilder &nb, ValueRange a) {
                     Emitter n(nb);
                     Value p = arith::DivFOp::create(nb, a[0], a[1]);
                     p = arith::SelectOp::create(nb, isEmpty(nb, a[2]),
                                                 n.floatConst(ct, 0.0), p);
                     return SmallVector<Value>{n.castFloat(p, outType)};
                   });
    Value tau = e.generic1(
        {lo, hi, rowMax}, op.getTauInit(),
        SmallVector<AffineMap>(4, e.identity(rank - 1)),
        SmallVector<IteratorType>(rank - 1, kPar),
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          Emitter n(nb);
          Value t = arith::AddFOp::create(nb, a[2], midpoint(nb, a[0], a[1]));
          t = arith::SelectOp::create(nb, isEmpty(nb, a[2]),
                                      n.floatConst(ct, kInf), t);
          return SmallVector<Value>{n.castFloat(t, outType)};
        });
    rewriter.replaceOp(op, {probs, tau});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// dash.block_prior
//===----------------------------------------------------------------------===//

struct LowerBlockPrior : OpRewritePattern<BlockPriorOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(BlockPriorOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Emitter e(b);
    Type f32 = b.getF32Type();
    ArrayRef<int64_t> priorShape = shapeOf(op.getPriorInit());
    int64_t kvHeads = priorShape[1];
    Value pooled = poolGroups(e, op.getProbs(), kvHeads);
    SmallVector<int64_t> pooledShape(shapeOf(pooled));
    SmallVector<int64_t> rowShape(priorShape.drop_back());

    PriorMode mode = op.getPriorMode();
    AffineMap full = e.identity(4), row = e.map(4, {0, 1, 2});
    // Centered prior: mean of log pi over the support S_i.
    Value meanLog;
    if (mode == PriorMode::Centered) {
      SmallVector<Value> sums = e.generic(
          pooled, {e.filled(rowShape, f32, 0.0), e.filled(rowShape, f32, 0.0)},
          {full, row, row}, {kPar, kPar, kPar, kRed},
          [&](ImplicitLocOpBuilder &nb, ValueRange a) {
            Emitter n(nb);
            Value in = isInSupport(nb, a[0]);
            Value logPi = math::LogOp::create(nb, a[0]);
            Value one = n.floatConst(f32, 1.0), zero = n.floatConst(f32, 0.0);
            return SmallVector<Value>{
                arith::AddFOp::create(
                    nb, a[1], arith::SelectOp::create(nb, in, logPi, zero)),
                arith::AddFOp::create(
                    nb, a[2], arith::SelectOp::create(nb, in, one, zero))};
          });
      meanLog = e.elementwise(
          sums, e.empty(rowShape, f32),
          [&](ImplicitLocOpBuilder &nb, ValueRange a) {
            Emitter n(nb);
            Value count =
                arith::MaximumFOp::create(nb, a[1], n.floatConst(f32, 1.0));
            return SmallVector<Value>{arith::DivFOp::create(nb, a[0], count)};
          });
    }

    // The partial last block has no pi: pad with 0 (never in the support).
    int64_t blocks = priorShape[3];
    if (pooledShape[3] != blocks) {
      auto paddedType = RankedTensorType::get(priorShape, f32);
      pooled =
          tensor::createPadHighOp(paddedType, pooled, e.floatConst(f32, 0.0),
                                  /*nofold=*/false, b.getLoc(), b);
    }

    int64_t bk = op.getBlockSize();
    int64_t local = op.getLocalBlocks(), initial = op.getInitBlocks();
    double invSigma = 1.0 / op.getSigma().convertToDouble();
    SmallVector<Value> priorIns = {pooled};
    SmallVector<AffineMap> priorMaps = {full};
    if (meanLog) {
      priorIns.push_back(meanLog);
      priorMaps.push_back(row);
    }
    priorMaps.push_back(full);
    Value prior = e.generic1(
        priorIns, op.getPriorInit(), priorMaps, {kPar, kPar, kPar, kPar},
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          Emitter n(nb);
          Value forced = isForcedBlock(nb, 2, 3, bk, local, initial);

          Value pi = a[0];
          Value value = n.floatConst(f32, 0.0);
          if (mode != PriorMode::Flat) {
            value = math::LogOp::create(nb, pi);
            if (mode == PriorMode::Centered)
              value = arith::MulFOp::create(
                  nb, arith::SubFOp::create(nb, value, a[1]),
                  n.floatConst(f32, invSigma));
          }
          Value selected = arith::SelectOp::create(
              nb, isInSupport(nb, pi), value, n.floatConst(f32, -kInf));
          return SmallVector<Value>{arith::SelectOp::create(
              nb, forced, n.floatConst(f32, 0.0), selected)};
        });

    Value counts = e.generic1(
        prior, e.fill(op.getCountsInit(), 0), {full, row},
        {kPar, kPar, kPar, kRed}, [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          Emitter n(nb);
          Value isSelected = arith::CmpFOp::create(
              nb, arith::CmpFPredicate::ONE, a[0], n.floatConst(f32, -kInf));
          Value one = arith::ExtUIOp::create(nb, nb.getI32Type(), isSelected);
          return SmallVector<Value>{arith::AddIOp::create(nb, a[1], one)};
        });
    rewriter.replaceOp(op, {prior, counts});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// dash.sparse_attention
//===----------------------------------------------------------------------===//

struct LowerSparseAttention : OpRewritePattern<SparseAttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SparseAttentionOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Emitter e(b);
    Value key = op.getKey(), value = op.getValue();
    auto keyShape = shapeOf(key);
    int64_t kvHeads = keyShape[1], headDim = keyShape[3];
    Type ct = computeType(b, {op.getQuery(), key, value});
    Value query = expandHeads(e, op.getQuery(), kvHeads);
    SmallVector<int64_t> rowShape(shapeOf(query).drop_back());

    Value scores =
        biasedScores(e, query, key, op.getLogPrior(), op.getBlockSize(),
                     resolveScale(op.getScaleAttr(), headDim), ct);
    AffineMap full = e.identity(5), row = e.map(5, {0, 1, 2, 3});
    SmallVector<IteratorType> reduce(5, kPar);
    reduce[4] = kRed;
    Value rowMax = e.generic1(
        scores, e.filled(rowShape, ct, -kInf), {full, row}, reduce,
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          return SmallVector<Value>{arith::MaximumFOp::create(nb, a[0], a[1])};
        });
    // A row with no selected key (possible only for a hand-written prior)
    // gets lse = -inf and O = 0 instead of NaN.
    Value rowSum = e.generic1(
        {scores, rowMax}, e.filled(rowShape, ct, 0.0), {full, row, row}, reduce,
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          return SmallVector<Value>{arith::AddFOp::create(
              nb, a[2], probabilitiesFromLse(nb, a[0], a[1], ct))};
        });
    Value lse = e.elementwise({rowMax, rowSum}, e.empty(rowShape, ct),
                              [&](ImplicitLocOpBuilder &nb, ValueRange a) {
                                return SmallVector<Value>{arith::AddFOp::create(
                                    nb, a[0], math::LogOp::create(nb, a[1]))};
                              });

    // O[b, g, r, i, d] = sum_j exp(s[.., i, j] - lse) V[b, g, j, d] over the
    // keys the query attends to: a masked key (s = -inf) is skipped rather
    // than multiplied by 0, so a NaN in V reaches only the rows that see it.
    SmallVector<int64_t> outShape(rowShape);
    outShape.push_back(headDim);
    Value out = e.generic1(
        {scores, lse, value}, e.filled(outShape, ct, 0.0),
        {e.map(6, {0, 1, 2, 3, 5}), e.map(6, {0, 1, 2, 3}),
         e.map(6, {0, 1, 5, 4}), e.map(6, {0, 1, 2, 3, 4})},
        {kPar, kPar, kPar, kPar, kPar, kRed},
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          Emitter n(nb);
          Value p = probabilitiesFromLse(nb, a[0], a[1], ct);
          Value prod = arith::MulFOp::create(nb, p, n.castFloat(a[2], ct));
          Value sum = arith::AddFOp::create(nb, a[3], prod);
          Value masked = arith::CmpFOp::create(nb, arith::CmpFPredicate::OEQ,
                                               a[0], n.floatConst(ct, -kInf));
          return SmallVector<Value>{
              arith::SelectOp::create(nb, masked, a[3], sum)};
        });
    Value output = e.castInto(collapseHeads(e, out), op.getOutputInit());
    Value lseOut = e.castInto(collapseHeads(e, lse), op.getLseInit());
    rewriter.replaceOp(op, {output, lseOut});
    return success();
  }
};

} // namespace

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

namespace {
struct DashToLinalgPass : mlir::dash::impl::DashToLinalgBase<DashToLinalgPass> {
  void runOnOperation() override {
    WalkResult dynamic = getOperation()->walk([](Operation *op) {
      if (!isa<DashDialect>(op->getDialect()))
        return WalkResult::advance();
      for (Type type :
           llvm::concat<Type>(op->getOperandTypes(), op->getResultTypes())) {
        auto tensor = dyn_cast<RankedTensorType>(type);
        if (tensor && !tensor.hasStaticShape()) {
          op->emitOpError("dash-to-linalg needs static shapes, got ") << tensor;
          return WalkResult::interrupt();
        }
      }
      return WalkResult::advance();
    });
    if (dynamic.wasInterrupted())
      return signalPassFailure();

    RewritePatternSet patterns(&getContext());
    populateDecomposeAttentionPatterns(patterns);
    populateDashToLinalgPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    WalkResult left = getOperation()->walk([](Operation *op) {
      // Ops on buffers are kernels built by later passes.
      if (!isa<DashDialect>(op->getDialect()) ||
          isa<SparseAttentionKernelOp, SparseAttentionGradKernelOp,
              RouterKernelOp, RouteLogitsGradKernelOp>(op))
        return WalkResult::advance();
      op->emitOpError("could not be lowered by dash-to-linalg");
      return WalkResult::interrupt();
    });
    if (left.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace

void mlir::dash::populateDashToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerSummarize, LowerRouteLogits, LowerEntmax, LowerBlockPrior,
               LowerSparseAttention>(patterns.getContext());
  lowering::populateGradientPatterns(patterns);
}
