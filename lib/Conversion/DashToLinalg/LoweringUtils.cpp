//===- LoweringUtils.cpp - Shared pieces of dash-to-linalg ---------------===//

#include "LoweringUtils.h"

#include "dash/Dialect/Dash/IR/Dash.h"

namespace mlir::dash::lowering {

RowReduction reduceAlong(Emitter &e, ArrayRef<int64_t> shape, unsigned dim) {
  unsigned rank = shape.size();
  RowReduction r;
  r.rowShape.assign(shape.begin(), shape.end());
  r.rowShape.erase(r.rowShape.begin() + dim);
  SmallVector<unsigned> rowDims;
  for (unsigned d = 0; d < rank; ++d)
    if (d != dim)
      rowDims.push_back(d);
  r.full = e.identity(rank);
  r.row = e.map(rank, rowDims);
  r.parallel.assign(rank, kPar);
  r.reduce.assign(rank, kPar);
  r.reduce[dim] = kRed;
  return r;
}

Value leadingSlice(Emitter &e, Value v, ArrayRef<int64_t> sizes) {
  if (llvm::is_contained(sizes, 0))
    return e.empty(sizes, getElementTypeOrSelf(v));
  ImplicitLocOpBuilder &b = e.builder();
  unsigned rank = sizes.size();
  return tensor::ExtractSliceOp::create(
      b, v, SmallVector<OpFoldResult>(rank, b.getIndexAttr(0)),
      getAsIndexOpFoldResult(b.getContext(), sizes),
      SmallVector<OpFoldResult>(rank, b.getIndexAttr(1)));
}

Value blockKeys(Emitter &e, Value key, int64_t blockSize) {
  ArrayRef<int64_t> shape = shapeOf(key);
  int64_t complete = numCompleteBlocks(shape[2], blockSize);
  Value blocks = key;
  if (complete * blockSize != shape[2])
    blocks = leadingSlice(e, key,
                          {shape[0], shape[1], complete * blockSize, shape[3]});
  return e.expand(blocks, {shape[0], shape[1], complete, blockSize, shape[3]},
                  {{0}, {1}, {2, 3}, {4}});
}

Value softmaxLastDim(Emitter &e, Value x, double scale) {
  ArrayRef<int64_t> shape = shapeOf(x);
  Type ct = getElementTypeOrSelf(x);
  SmallVector<int64_t> rowShape(shape.drop_back());
  AffineMap full = e.identity(4), row = e.map(4, {0, 1, 2});
  SmallVector<IteratorType> parallel(4, kPar),
      reduce = {kPar, kPar, kPar, kRed};
  Value rowMax = e.generic1(
      x, e.filled(rowShape, ct, -kInf), {full, row}, reduce,
      [&](ImplicitLocOpBuilder &nb, ValueRange a) {
        return SmallVector<Value>{arith::MaximumFOp::create(nb, a[0], a[1])};
      });
  Value scaleValue = e.floatConst(ct, scale);
  Value exps =
      e.generic1({x, rowMax}, e.empty(shape, ct), {full, row, full}, parallel,
                 [&](ImplicitLocOpBuilder &nb, ValueRange a) {
                   Value shifted = arith::SubFOp::create(nb, a[0], a[1]);
                   Value scaled =
                       arith::MulFOp::create(nb, shifted, scaleValue);
                   return SmallVector<Value>{math::ExpOp::create(nb, scaled)};
                 });
  Value rowSum = e.generic1(
      exps, e.filled(rowShape, ct, 0), {full, row}, reduce,
      [&](ImplicitLocOpBuilder &nb, ValueRange a) {
        return SmallVector<Value>{arith::AddFOp::create(nb, a[0], a[1])};
      });
  return e.generic1({exps, rowSum}, e.empty(shape, ct), {full, row, full},
                    parallel, [&](ImplicitLocOpBuilder &nb, ValueRange a) {
                      return SmallVector<Value>{
                          arith::DivFOp::create(nb, a[0], a[1])};
                    });
}

Value summaryWeights(Emitter &e, Value blocks, Value summaryQuery, double scale,
                     Type ct) {
  ArrayRef<int64_t> shape = shapeOf(blocks);
  Value logits = e.generic1(
      {blocks, summaryQuery},
      e.filled({shape[0], shape[1], shape[2], shape[3]}, ct, 0),
      {e.identity(5), e.map(5, {1, 4}), e.map(5, {0, 1, 2, 3})},
      {kPar, kPar, kPar, kPar, kRed},
      [&](ImplicitLocOpBuilder &nb, ValueRange a) {
        Emitter n(nb);
        Value prod = arith::MulFOp::create(nb, n.castFloat(a[0], ct),
                                           n.castFloat(a[1], ct));
        return SmallVector<Value>{arith::AddFOp::create(nb, a[2], prod)};
      });
  return softmaxLastDim(e, logits, scale);
}

Value summarizeBlocks(Emitter &e, Value blocks, Value weights, Type ct) {
  ArrayRef<int64_t> s = shapeOf(blocks);
  double uniform = 1.0 / static_cast<double>(s[3]);
  SmallVector<Value> ins = {blocks};
  SmallVector<AffineMap> maps = {e.map(5, {0, 1, 2, 4, 3})};
  if (weights) {
    ins.push_back(weights);
    maps.push_back(e.map(5, {0, 1, 2, 4}));
  }
  maps.push_back(e.map(5, {0, 1, 2, 3}));
  return e.generic1(ins, e.filled({s[0], s[1], s[2], s[4]}, ct, 0), maps,
                    {kPar, kPar, kPar, kPar, kRed},
                    [&](ImplicitLocOpBuilder &nb, ValueRange a) {
                      Emitter n(nb);
                      Value k = n.castFloat(a[0], ct);
                      Value weight = weights ? a[1] : n.floatConst(ct, uniform);
                      Value prod = arith::MulFOp::create(nb, k, weight);
                      return SmallVector<Value>{
                          arith::AddFOp::create(nb, a.back(), prod)};
                    });
}

Value isCandidateBlock(ImplicitLocOpBuilder &b, int64_t queryDim,
                       int64_t blockDim, int64_t blockSize) {
  Emitter e(b);
  Value i = linalg::IndexOp::create(b, queryDim);
  Value c = linalg::IndexOp::create(b, blockDim);
  Value end = arith::MulIOp::create(
      b, arith::AddIOp::create(b, c, e.indexConst(1)), e.indexConst(blockSize));
  return arith::CmpIOp::create(b, arith::CmpIPredicate::ule, end, i);
}

Value poolGroups(Emitter &e, Value probs, int64_t kvHeads) {
  Type f32 = e.builder().getF32Type();
  Value split = expandHeads(e, probs, kvHeads);
  ArrayRef<int64_t> s = shapeOf(split);
  int64_t groups = s[2];
  return e.generic1(
      split, e.filled({s[0], s[1], s[3], s[4]}, f32, 0.0),
      {e.map(5, {0, 1, 4, 2, 3}), e.map(5, {0, 1, 2, 3})},
      {kPar, kPar, kPar, kPar, kRed},
      [&](ImplicitLocOpBuilder &nb, ValueRange a) {
        Emitter n(nb);
        Value share = arith::MulFOp::create(
            nb, a[0], n.floatConst(f32, 1.0 / static_cast<double>(groups)));
        return SmallVector<Value>{arith::AddFOp::create(nb, a[1], share)};
      });
}

Value isForcedBlock(ImplicitLocOpBuilder &b, int64_t queryDim, int64_t blockDim,
                    int64_t blockSize, int64_t local, int64_t initial) {
  Emitter e(b);
  Value i = linalg::IndexOp::create(b, queryDim);
  Value c = linalg::IndexOp::create(b, blockDim);
  using P = arith::CmpIPredicate;
  auto cmp = [&](P pred, Value l, Value r) {
    return arith::CmpIOp::create(b, pred, l, r).getResult();
  };
  Value own = arith::DivUIOp::create(b, i, e.indexConst(blockSize));
  Value cPlusLocal = arith::AddIOp::create(b, c, e.indexConst(local));
  Value isLocal = arith::AndIOp::create(b, cmp(P::ule, c, own),
                                        cmp(P::uge, cPlusLocal, own));
  Value isInitial = arith::AndIOp::create(
      b, cmp(P::ult, c, e.indexConst(initial)), cmp(P::ule, c, own));
  return arith::OrIOp::create(b, isLocal, isInitial);
}

Value isInSupport(ImplicitLocOpBuilder &b, Value p) {
  Emitter e(b);
  return arith::CmpFOp::create(b, arith::CmpFPredicate::UGT, p,
                               e.floatConst(p.getType(), 0.0));
}

Value groupedDot(Emitter &e, Value x, Value y, Type ct) {
  SmallVector<int64_t> shape(shapeOf(x).drop_back());
  shape.push_back(shapeOf(y)[2]);
  return e.generic1(
      {x, y}, e.filled(shape, ct, 0.0),
      {e.map(6, {0, 1, 2, 3, 5}), e.map(6, {0, 1, 4, 5}),
       e.map(6, {0, 1, 2, 3, 4})},
      {kPar, kPar, kPar, kPar, kPar, kRed},
      [&](ImplicitLocOpBuilder &nb, ValueRange a) {
        Emitter n(nb);
        Value prod = arith::MulFOp::create(nb, n.castFloat(a[0], ct),
                                           n.castFloat(a[1], ct));
        return SmallVector<Value>{arith::AddFOp::create(nb, a[2], prod)};
      });
}

Value biasedScores(Emitter &e, Value query, Value key, Value logPrior,
                   int64_t blockSize, double scale, Type ct) {
  ImplicitLocOpBuilder &b = e.builder();
  SmallVector<int64_t> scoreShape(shapeOf(query).drop_back());
  scoreShape.push_back(shapeOf(key)[2]);
  Value dot = groupedDot(e, query, key, ct);
  AffineExpr j = b.getAffineDimExpr(4);
  AffineMap priorMap =
      AffineMap::get(5, 0,
                     {b.getAffineDimExpr(0), b.getAffineDimExpr(1),
                      b.getAffineDimExpr(3), j.floorDiv(blockSize)},
                     b.getContext());
  AffineMap full = e.identity(5);
  return e.generic1(
      {dot, logPrior}, e.empty(scoreShape, ct), {full, priorMap, full},
      SmallVector<IteratorType>(5, kPar),
      [&](ImplicitLocOpBuilder &nb, ValueRange a) {
        Emitter n(nb);
        Value i = linalg::IndexOp::create(nb, 3);
        Value j = linalg::IndexOp::create(nb, 4);
        Value causal =
            arith::CmpIOp::create(nb, arith::CmpIPredicate::ule, j, i);
        Value s = arith::AddFOp::create(
            nb, arith::MulFOp::create(nb, a[0], n.floatConst(ct, scale)),
            n.castFloat(a[1], ct));
        return SmallVector<Value>{
            arith::SelectOp::create(nb, causal, s, n.floatConst(ct, -kInf))};
      });
}

Value probabilitiesFromLse(ImplicitLocOpBuilder &b, Value s, Value lse,
                           Type ct) {
  Emitter e(b);
  Value p = math::ExpOp::create(b, arith::SubFOp::create(b, s, lse));
  Value masked = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, lse,
                                       e.floatConst(ct, -kInf));
  return arith::SelectOp::create(b, masked, e.floatConst(ct, 0.0), p);
}

} // namespace mlir::dash::lowering
