//===- GradToLinalg.cpp - dash gradient ops to linalg on tensors ---------===//
//
// The spec's backward formulas (section 3) as linalg.generic chains. Forward
// quantities a gradient needs (scores, pooled probabilities, summary weights)
// are recomputed with the same helpers as the forward lowering.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

#include "dash/Dialect/Dash/IR/Dash.h"

#include "mlir/Dialect/Tensor/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::dash;
using namespace mlir::dash::lowering;

namespace {

/// acc + a * b (* factor), the body of the contractions below.
Value multiplyAdd(ImplicitLocOpBuilder &b, Value acc, Value x, Value y, Type ct,
                  double factor = 1.0) {
  Emitter e(b);
  Value prod = arith::MulFOp::create(b, e.castFloat(x, ct), e.castFloat(y, ct));
  if (factor != 1.0)
    prod = arith::MulFOp::create(b, prod, e.floatConst(ct, factor));
  return arith::AddFOp::create(b, acc, prod);
}

/// Rows per chunk of a two-stage reduction over `rows` rows (a divisor of
/// `rows`), or 0 to reduce in one stage. The generic GPU lowering runs each
/// output element's reduction in one thread, so a reduction over many rows
/// into few outputs (dK/dV, dKbar at long N) leaves the GPU idle; summing
/// chunks first multiplies the threads by the number of chunks. The partial
/// sums take chunks times the output's memory, so there are at most
/// kMaxChunks of them: 16 x 4099 rows take 16 chunks of 4099, not 4099 of
/// 16.
int64_t reductionChunk(int64_t group, int64_t rows) {
  constexpr int64_t kLongReduction = 4096, kMaxChunk = 256, kMinChunk = 16,
                    kMaxChunks = 256;
  if (group * rows <= kLongReduction)
    return 0;
  int64_t smallest = std::max(kMinChunk, (rows + kMaxChunks - 1) / kMaxChunks);
  // The largest chunk up to kMaxChunk, else the smallest above it that still
  // leaves two chunks.
  for (int64_t chunk = kMaxChunk; chunk >= smallest; --chunk)
    if (rows % chunk == 0)
      return chunk;
  for (int64_t chunk = std::max(smallest, kMaxChunk + 1); chunk <= rows / 2;
       ++chunk)
    if (rows % chunk == 0)
      return chunk;
  return 0;
}

/// `sum_{r, i} a[b, g, r, i, j] * x[b, g, r, i, d]` -> [B, Hkv, N, D]: the
/// transposed contractions of dK, dV and dKbar over the heads of a group.
Value contractOverQueries(Emitter &e, Value a, Value x, Type ct,
                          double factor) {
  ArrayRef<int64_t> as = shapeOf(a), xs = shapeOf(x);
  auto body = [&](ImplicitLocOpBuilder &nb, ValueRange v) {
    return SmallVector<Value>{multiplyAdd(nb, v[2], v[0], v[1], ct, factor)};
  };
  int64_t chunk = reductionChunk(as[2], as[3]);
  if (chunk == 0)
    return e.generic1({a, x}, e.filled({as[0], as[1], as[4], xs[4]}, ct, 0.0),
                      {e.map(6, {0, 1, 4, 5, 2}), e.map(6, {0, 1, 4, 5, 3}),
                       e.map(6, {0, 1, 2, 3})},
                      {kPar, kPar, kPar, kPar, kRed, kRed}, body);
  // Rows i = k * chunk + j: partial sums per k, then their sum.
  int64_t chunks = as[3] / chunk;
  auto split = [&](Value v, ArrayRef<int64_t> s) {
    return e.expand(v, {s[0], s[1], s[2], chunks, chunk, s[4]},
                    {{0}, {1}, {2}, {3, 4}, {5}});
  };
  Value partial =
      e.generic1({split(a, as), split(x, xs)},
                 e.filled({as[0], as[1], chunks, as[4], xs[4]}, ct, 0.0),
                 {e.map(7, {0, 1, 5, 2, 6, 3}), e.map(7, {0, 1, 5, 2, 6, 4}),
                  e.map(7, {0, 1, 2, 3, 4})},
                 {kPar, kPar, kPar, kPar, kPar, kRed, kRed}, body);
  return e.generic1(partial, e.filled({as[0], as[1], as[4], xs[4]}, ct, 0.0),
                    {e.map(5, {0, 1, 4, 2, 3}), e.map(5, {0, 1, 2, 3})},
                    {kPar, kPar, kPar, kPar, kRed},
                    [&](ImplicitLocOpBuilder &nb, ValueRange v) {
                      return SmallVector<Value>{
                          arith::AddFOp::create(nb, v[1], v[0])};
                    });
}

/// `sum_j a[b, g, r, i, j] * y[b, g, j, d]` -> [B, Hkv, G, N, D].
Value contractOverKeys(Emitter &e, Value a, Value y, Type ct, double factor) {
  ArrayRef<int64_t> as = shapeOf(a);
  return e.generic1(
      {a, y}, e.filled({as[0], as[1], as[2], as[3], shapeOf(y)[3]}, ct, 0.0),
      {e.map(6, {0, 1, 2, 3, 5}), e.map(6, {0, 1, 5, 4}),
       e.map(6, {0, 1, 2, 3, 4})},
      {kPar, kPar, kPar, kPar, kPar, kRed},
      [&](ImplicitLocOpBuilder &nb, ValueRange v) {
        return SmallVector<Value>{
            multiplyAdd(nb, v[2], v[0], v[1], ct, factor)};
      });
}

/// Lanes of a two-stage sum along the last dimension `dim` of `shape`, or 0
/// to sum in one stage. The generic GPU lowering gives each output element
/// one thread, so a row sum reads its row with a stride of the row length
/// between neighbouring threads; summing columns j, j + 32, ... into 32
/// partial sums first has neighbouring threads read neighbouring columns.
int64_t laneCount(ArrayRef<int64_t> shape, unsigned dim) {
  constexpr int64_t kLanes = 32, kLongRow = 256;
  if (dim + 1 != shape.size() || shape[dim] < kLongRow ||
      shape[dim] % kLanes != 0)
    return 0;
  return kLanes;
}

/// The two row sums `body` accumulates (body(x, y, acc0, acc1) -> acc0,
/// acc1) over the last dimension of `x` and `y`, in two stages of
/// laneCount lanes.
SmallVector<Value> sumRowsByLanes(
    Emitter &e, Value x, Value y, Type ct,
    function_ref<SmallVector<Value>(ImplicitLocOpBuilder &, ValueRange)> body) {
  ArrayRef<int64_t> shape = shapeOf(x);
  unsigned rank = shape.size(), last = rank - 1;
  int64_t lanes = laneCount(shape, last);
  SmallVector<int64_t> split(shape.drop_back());
  split.append({shape.back() / lanes, lanes});
  SmallVector<ReassociationIndices> reassociation;
  for (unsigned d = 0; d < last; ++d)
    reassociation.push_back({static_cast<int64_t>(d)});
  reassociation.push_back({last, last + 1});
  SmallVector<int64_t> partialShape(shape.drop_back());
  partialShape.push_back(lanes);
  // Loops: the row dimensions, the lane (parallel, innermost), the column
  // group k (reduction); column k * lanes + lane.
  SmallVector<unsigned> rowDims, splitDims;
  for (unsigned d = 0; d < last; ++d)
    rowDims.push_back(d);
  splitDims = rowDims;
  splitDims.append({last + 1, last});
  SmallVector<unsigned> partialDims = rowDims;
  partialDims.push_back(last);
  SmallVector<IteratorType> iterators(rank, kPar);
  iterators.push_back(kRed);
  AffineMap input = e.map(rank + 1, splitDims),
            partial = e.map(rank + 1, partialDims);
  SmallVector<Value> partials = e.generic(
      {e.expand(x, split, reassociation), e.expand(y, split, reassociation)},
      {e.filled(partialShape, ct, 0.0), e.filled(partialShape, ct, 0.0)},
      {input, input, partial, partial}, iterators, body);
  SmallVector<IteratorType> finalIterators(last, kPar);
  finalIterators.push_back(kRed);
  AffineMap whole = e.map(rank, partialDims), row = e.map(rank, rowDims);
  return e.generic(partials,
                   {e.filled(shape.drop_back(), ct, 0.0),
                    e.filled(shape.drop_back(), ct, 0.0)},
                   {whole, whole, row, row}, finalIterators,
                   [&](ImplicitLocOpBuilder &nb, ValueRange a) {
                     return SmallVector<Value>{
                         arith::AddFOp::create(nb, a[2], a[0]),
                         arith::AddFOp::create(nb, a[3], a[1])};
                   });
}

/// Zero-pads dimension 2 of `v` up to `size`.
Value padTokens(Emitter &e, Value v, int64_t size) {
  SmallVector<int64_t> shape(shapeOf(v));
  if (shape[2] == size)
    return v;
  shape[2] = size;
  Type elementType = getElementTypeOrSelf(v);
  auto type = RankedTensorType::get(shape, elementType);
  ImplicitLocOpBuilder &b = e.builder();
  return tensor::createPadHighOp(type, v, e.floatConst(elementType, 0.0),
                                 /*nofold=*/false, b.getLoc(), b);
}

//===----------------------------------------------------------------------===//
// dash.sparse_attention_grad
//===----------------------------------------------------------------------===//

struct LowerSparseAttentionGrad : OpRewritePattern<SparseAttentionGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SparseAttentionGradOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Emitter e(b);
    Value key = op.getKey(), value = op.getValue();
    ArrayRef<int64_t> keyShape = shapeOf(key);
    int64_t kvHeads = keyShape[1], seqLen = keyShape[2], headDim = keyShape[3];
    int64_t bk = op.getBlockSize();
    Type ct = computeType(b, {op.getQuery(), key, value});
    double scale = resolveScale(op.getScaleAttr(), headDim);
    Value query = expandHeads(e, op.getQuery(), kvHeads);
    Value out = expandHeads(e, op.getOutput(), kvHeads);
    Value dOut = expandHeads(e, op.getOutputGrad(), kvHeads);
    Value lse = expandHeads(e, op.getLse(), kvHeads);
    SmallVector<int64_t> rowShape(shapeOf(query).drop_back());
    AffineMap full = e.identity(5), row = e.map(5, {0, 1, 2, 3});
    SmallVector<IteratorType> parallel(5, kPar), reduce(5, kPar);
    reduce[4] = kRed;

    Value scores = biasedScores(e, query, key, op.getLogPrior(), bk, scale, ct);
    Value probs = e.generic1({scores, lse}, e.empty(shapeOf(scores), ct),
                             {full, row, full}, parallel,
                             [&](ImplicitLocOpBuilder &nb, ValueRange a) {
                               Emitter n(nb);
                               return SmallVector<Value>{probabilitiesFromLse(
                                   nb, a[0], n.castFloat(a[1], ct), ct)};
                             });
    // Delta_i = <dO_i, O_i>.
    Value delta = e.generic1(
        {dOut, out}, e.filled(rowShape, ct, 0.0), {full, full, row}, reduce,
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          return SmallVector<Value>{multiplyAdd(nb, a[2], a[0], a[1], ct)};
        });
    // dS_ij = P_ij (<dO_i, V_j> - Delta_i).
    Value dProbs = groupedDot(e, dOut, value, ct);
    Value dScores = e.generic1(
        {probs, dProbs, delta}, e.empty(shapeOf(scores), ct),
        {full, full, row, full}, parallel,
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          Value diff = arith::SubFOp::create(nb, a[1], a[2]);
          return SmallVector<Value>{arith::MulFOp::create(nb, a[0], diff)};
        });

    Value dQuery = contractOverKeys(e, dScores, key, ct, scale);
    Value dKey = contractOverQueries(e, dScores, query, ct, scale);
    Value dValue = contractOverQueries(e, probs, dOut, ct, 1.0);

    // dl[b, g, i, c] = sum_r sum_{j in c} dS: sum the heads, pad the keys to
    // whole blocks, and sum each block.
    ArrayRef<int64_t> s = shapeOf(dScores);
    Value dGroup = e.generic1(
        dScores, e.filled({s[0], s[1], s[3], s[4]}, ct, 0.0),
        {e.map(5, {0, 1, 4, 2, 3}), e.map(5, {0, 1, 2, 3})},
        {kPar, kPar, kPar, kPar, kRed},
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          return SmallVector<Value>{arith::AddFOp::create(nb, a[0], a[1])};
        });
    int64_t blocks = numBlocks(seqLen, bk);
    // A single block is summed whole: padding it to block_size tokens could
    // allocate far more than N (block sizes up to 2^63 - 1 are valid).
    int64_t group = blocks == 1 ? seqLen : bk;
    SmallVector<int64_t> padded = {s[0], s[1], s[3], blocks * group};
    if (blocks * group != seqLen)
      dGroup = tensor::createPadHighOp(RankedTensorType::get(padded, ct),
                                       dGroup, e.floatConst(ct, 0.0),
                                       /*nofold=*/false, b.getLoc(), b);
    Value perBlock = e.expand(dGroup, {s[0], s[1], s[3], blocks, group},
                              {{0}, {1}, {2}, {3, 4}});
    Value dPrior = e.generic1(
        perBlock, e.filled({s[0], s[1], s[3], blocks}, ct, 0.0),
        {e.identity(5), e.map(5, {0, 1, 2, 3})}, {kPar, kPar, kPar, kPar, kRed},
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          return SmallVector<Value>{arith::AddFOp::create(nb, a[0], a[1])};
        });

    rewriter.replaceOp(
        op, {e.castInto(collapseHeads(e, dQuery), op.getQueryGradInit()),
             e.castInto(dKey, op.getKeyGradInit()),
             e.castInto(dValue, op.getValueGradInit()),
             e.castInto(dPrior, op.getLogPriorGradInit())});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// dash.block_prior_grad
//===----------------------------------------------------------------------===//

struct LowerBlockPriorGrad : OpRewritePattern<BlockPriorGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(BlockPriorGradOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Emitter e(b);
    Type f32 = b.getF32Type();
    ArrayRef<int64_t> gradShape = shapeOf(op.getPriorGrad());
    int64_t kvHeads = gradShape[1];
    Value pooled = poolGroups(e, op.getProbs(), kvHeads);
    SmallVector<int64_t> pooledShape(shapeOf(pooled));
    Value dPrior = op.getPriorGrad();
    if (pooledShape[3] != gradShape[3])
      dPrior = leadingSlice(e, dPrior, pooledShape);

    // dpi = dl / (sigma pi) on routed blocks (S_i minus L_i), else 0; a NaN
    // pi is routed, so its NaN reaches the gradient.
    PriorMode mode = op.getPriorMode();
    double invSigma = mode == PriorMode::Centered
                          ? 1.0 / op.getSigma().convertToDouble()
                          : 1.0;
    int64_t bk = op.getBlockSize(), local = op.getLocalBlocks(),
            initial = op.getInitBlocks();
    Value dPooled = e.elementwise(
        {pooled, dPrior}, e.empty(pooledShape, f32),
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          Emitter n(nb);
          Value zero = n.floatConst(f32, 0.0);
          if (mode == PriorMode::Flat)
            return SmallVector<Value>{zero};
          Value forced = isForcedBlock(nb, 2, 3, bk, local, initial);
          Value inSupport = isInSupport(nb, a[0]);
          Value routed = arith::AndIOp::create(
              nb, inSupport,
              arith::XOrIOp::create(
                  nb, forced,
                  arith::ConstantOp::create(nb, nb.getBoolAttr(true))));
          Value grad = arith::DivFOp::create(
              nb, arith::MulFOp::create(nb, a[1], n.floatConst(f32, invSigma)),
              a[0]);
          return SmallVector<Value>{
              arith::SelectOp::create(nb, routed, grad, zero)};
        });

    // dp[b, g*G + r, i, c] = dpi[b, g, i, c] / G.
    Value init = expandHeads(e, op.getInit(), kvHeads);
    double invGroups = 1.0 / static_cast<double>(shapeOf(init)[2]);
    Value dProbs =
        e.generic1(dPooled, init, {e.map(5, {0, 1, 3, 4}), e.identity(5)},
                   SmallVector<IteratorType>(5, kPar),
                   [&](ImplicitLocOpBuilder &nb, ValueRange a) {
                     Emitter n(nb);
                     return SmallVector<Value>{arith::MulFOp::create(
                         nb, a[0], n.floatConst(f32, invGroups))};
                   });
    rewriter.replaceOp(op, collapseHeads(e, dProbs));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// dash.entmax_grad
//===----------------------------------------------------------------------===//

struct LowerEntmaxGrad : OpRewritePattern<EntmaxGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(EntmaxGradOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Emitter e(b);
    Value probs = op.getProbs(), dProbs = op.getProbsGrad();
    ArrayRef<int64_t> shape = shapeOf(probs);
    unsigned dim = op.getDimension();
    Type ct = computeType(b, {probs, dProbs});
    double exponent = 2.0 - op.getAlpha().convertToDouble();
    // Named references, not structured bindings: lambdas below capture them.
    RowReduction indexing = reduceAlong(e, shape, dim);
    const SmallVector<int64_t> &rowShape = indexing.rowShape;
    AffineMap full = indexing.full, row = indexing.row;
    ArrayRef<IteratorType> parallel = indexing.parallel,
                           reduce = indexing.reduce;

    // u = p^(2 - alpha) on the support, 0 off it; a NaN p makes its row's
    // gradient NaN.
    auto weight = [&](ImplicitLocOpBuilder &nb, Value p) -> Value {
      Emitter n(nb);
      Value zero = n.floatConst(ct, 0.0);
      Value onSupport = isInSupport(nb, p);
      Value u;
      if (exponent == 0.0)
        u = n.floatConst(ct, 1.0);
      else if (exponent == 0.5)
        u = math::SqrtOp::create(nb, p);
      else
        u = math::PowFOp::create(nb, p, n.floatConst(ct, exponent));
      return arith::SelectOp::create(nb, onSupport, u, zero);
    };
    auto addWeights = [&](ImplicitLocOpBuilder &nb, ValueRange a) {
      Emitter n(nb);
      Value u = weight(nb, n.castFloat(a[0], ct));
      Value ud = arith::MulFOp::create(nb, u, n.castFloat(a[1], ct));
      return SmallVector<Value>{arith::AddFOp::create(nb, a[2], u),
                                arith::AddFOp::create(nb, a[3], ud)};
    };
    SmallVector<Value> sums =
        laneCount(shape, dim)
            ? sumRowsByLanes(e, probs, dProbs, ct, addWeights)
            : e.generic(
                  {probs, dProbs},
                  {e.filled(rowShape, ct, 0.0), e.filled(rowShape, ct, 0.0)},
                  {full, full, row, row}, reduce, addWeights);
    // dz = u (dp - sum(u dp) / sum(u)); an empty support gives 0.
    Type outType = getElementTypeOrSelf(op.getInit());
    Value dInput = e.generic1(
        {probs, dProbs, sums[0], sums[1]}, op.getInit(),
        {full, full, row, row, full}, parallel,
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          Emitter n(nb);
          Value u = weight(nb, n.castFloat(a[0], ct));
          Value mean = arith::DivFOp::create(nb, a[3], a[2]);
          Value centered =
              arith::SubFOp::create(nb, n.castFloat(a[1], ct), mean);
          Value dz = arith::MulFOp::create(nb, u, centered);
          Value empty = arith::CmpFOp::create(nb, arith::CmpFPredicate::OEQ,
                                              a[2], n.floatConst(ct, 0.0));
          dz = arith::SelectOp::create(nb, empty, n.floatConst(ct, 0.0), dz);
          return SmallVector<Value>{n.castFloat(dz, outType)};
        });
    rewriter.replaceOp(op, dInput);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// dash.route_logits_grad
//===----------------------------------------------------------------------===//

struct LowerRouteLogitsGrad : OpRewritePattern<RouteLogitsGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RouteLogitsGradOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Emitter e(b);
    Value summaries = op.getSummaries();
    int64_t kvHeads = shapeOf(summaries)[1], headDim = shapeOf(summaries)[3];
    Type ct = computeType(b, {op.getQuery(), summaries});
    double factor = op.getGamma().convertToDouble() *
                    resolveScale(op.getScaleAttr(), headDim);
    int64_t bk = op.getBlockSize();
    Value query = expandHeads(e, op.getQuery(), kvHeads);
    Value dLogits = expandHeads(e, op.getLogitsGrad(), kvHeads);

    // Logits outside the candidate set are the constant -inf.
    Value dMasked = e.elementwise(
        dLogits, e.empty(shapeOf(dLogits), ct),
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          Emitter n(nb);
          Value candidate = isCandidateBlock(nb, 3, 4, bk);
          return SmallVector<Value>{arith::SelectOp::create(
              nb, candidate, n.castFloat(a[0], ct), n.floatConst(ct, 0.0))};
        });
    Value dQuery = contractOverKeys(e, dMasked, summaries, ct, factor);
    Value dSummaries = contractOverQueries(e, dMasked, query, ct, factor);
    rewriter.replaceOp(
        op, {e.castInto(collapseHeads(e, dQuery), op.getQueryGradInit()),
             e.castInto(dSummaries, op.getSummariesGradInit())});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// dash.summarize_grad
//===----------------------------------------------------------------------===//

struct LowerSummarizeGrad : OpRewritePattern<SummarizeGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SummarizeGradOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Emitter e(b);
    Value key = op.getKey(), w = op.getSummaryQuery();
    Value dSummaries = op.getSummariesGrad();
    int64_t bk = op.getBlockSize();
    Type ct = computeType(b, {key, w, dSummaries});
    Value blocks = blockKeys(e, key, bk);
    ArrayRef<int64_t> s = shapeOf(blocks);
    AffineMap full = e.identity(5), token = e.map(5, {0, 1, 2, 3}),
              feature = e.map(5, {0, 1, 2, 4});
    SmallVector<IteratorType> parallel(5, kPar);

    Value dBlocks, dWeights;
    if (!w) {
      // Mean pooling: dK_t = dKbar_c / Bk.
      double uniform = 1.0 / static_cast<double>(bk);
      dBlocks = e.generic1(
          dSummaries, e.empty(s, ct), {feature, full}, parallel,
          [&](ImplicitLocOpBuilder &nb, ValueRange a) {
            Emitter n(nb);
            return SmallVector<Value>{arith::MulFOp::create(
                nb, n.castFloat(a[0], ct), n.floatConst(ct, uniform))};
          });
    } else {
      double scale = resolveScale(op.getScaleAttr(), s[4]);
      Value weights = summaryWeights(e, blocks, w, scale, ct);
      Value summaries = summarizeBlocks(e, blocks, weights, ct);
      // de_t = a_t <dKbar_c, K_t - Kbar_c>.
      Value dots = e.generic1(
          {dSummaries, blocks, summaries},
          e.filled({s[0], s[1], s[2], s[3]}, ct, 0.0),
          {feature, full, feature, token}, {kPar, kPar, kPar, kPar, kRed},
          [&](ImplicitLocOpBuilder &nb, ValueRange a) {
            Emitter n(nb);
            Value diff = arith::SubFOp::create(nb, n.castFloat(a[1], ct), a[2]);
            return SmallVector<Value>{multiplyAdd(nb, a[3], a[0], diff, ct)};
          });
      Value dLogits = e.elementwise(
          {weights, dots}, e.empty(shapeOf(weights), ct),
          [&](ImplicitLocOpBuilder &nb, ValueRange a) {
            return SmallVector<Value>{arith::MulFOp::create(nb, a[0], a[1])};
          });
      // dK_t = a_t dKbar_c + scale de_t W_g.
      dBlocks =
          e.generic1({weights, dSummaries, dLogits, w}, e.empty(s, ct),
                     {token, feature, token, e.map(5, {1, 4}), full}, parallel,
                     [&](ImplicitLocOpBuilder &nb, ValueRange a) {
                       Emitter n(nb);
                       Value direct = arith::MulFOp::create(
                           nb, a[0], n.castFloat(a[1], ct));
                       return SmallVector<Value>{
                           multiplyAdd(nb, direct, a[2], a[3], ct, scale)};
                     });
      // dW_g = scale sum_{b, c, t} de_t K_t.
      dWeights = e.generic1(
          {dLogits, blocks}, e.filled({s[1], s[4]}, ct, 0.0),
          {e.map(5, {2, 0, 3, 4}), e.map(5, {2, 0, 3, 4, 1}), e.map(5, {0, 1})},
          {kPar, kPar, kRed, kRed, kRed},
          [&](ImplicitLocOpBuilder &nb, ValueRange a) {
            return SmallVector<Value>{
                multiplyAdd(nb, a[2], a[0], a[1], ct, scale)};
          });
    }
    // Tokens of the partial last block have no summary: zero gradient.
    Value dKey = e.collapse(dBlocks, {{0}, {1}, {2, 3}, {4}});
    dKey = padTokens(e, dKey, shapeOf(key)[2]);
    SmallVector<Value> results = {e.castInto(dKey, op.getKeyGradInit())};
    if (w)
      results.push_back(e.castInto(dWeights, op.getSummaryQueryGradInit()));
    rewriter.replaceOp(op, results);
    return success();
  }
};

} // namespace

void mlir::dash::lowering::populateGradientPatterns(
    RewritePatternSet &patterns) {
  patterns.add<LowerSparseAttentionGrad, LowerBlockPriorGrad, LowerEntmaxGrad,
               LowerRouteLogitsGrad, LowerSummarizeGrad>(patterns.getContext());
}
