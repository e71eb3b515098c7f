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
using utils::IteratorType;
constexpr IteratorType kPar = IteratorType::parallel;
constexpr IteratorType kRed = IteratorType::reduction;
constexpr double kInf = std::numeric_limits<double>::infinity();

using BodyFn =
    function_ref<SmallVector<Value>(ImplicitLocOpBuilder &, ValueRange)>;

/// Small builder vocabulary for the lowerings: constants, filled tensors,
/// generics with a value-returning body, reshapes and element casts.
class Emitter {
public:
  explicit Emitter(ImplicitLocOpBuilder &b) : b(b) {}

  ImplicitLocOpBuilder &builder() { return b; }

  Value floatConst(Type type, double value) {
    return arith::ConstantOp::create(b, type, b.getFloatAttr(type, value));
  }

  Value indexConst(int64_t value) {
    return arith::ConstantIndexOp::create(b, value);
  }

  /// A tensor of `shape` filled with `value`.
  Value filled(ArrayRef<int64_t> shape, Type elementType, double value) {
    Value empty = tensor::EmptyOp::create(b, shape, elementType);
    return fill(empty, value);
  }

  Value fill(Value tensor, double value) {
    Type elementType = getElementTypeOrSelf(tensor);
    Attribute attr = isa<FloatType>(elementType)
                         ? Attribute(b.getFloatAttr(elementType, value))
                         : Attribute(b.getIntegerAttr(
                               elementType, static_cast<int64_t>(value)));
    Value scalar =
        arith::ConstantOp::create(b, elementType, cast<TypedAttr>(attr));
    return linalg::FillOp::create(b, scalar, tensor).getResult(0);
  }

  Value empty(ArrayRef<int64_t> shape, Type elementType) {
    return tensor::EmptyOp::create(b, shape, elementType);
  }

  /// The map `(d0 .. d{numDims-1}) -> (d{dims[0]}, d{dims[1]}, ...)`.
  AffineMap map(unsigned numDims, ArrayRef<unsigned> dims) {
    SmallVector<AffineExpr> exprs;
    for (unsigned d : dims)
      exprs.push_back(b.getAffineDimExpr(d));
    return AffineMap::get(numDims, 0, exprs, b.getContext());
  }

  AffineMap identity(unsigned numDims) {
    return b.getMultiDimIdentityMap(numDims);
  }

  /// A linalg.generic whose body yields what `body` returns.
  SmallVector<Value> generic(ValueRange ins, ValueRange outs,
                             ArrayRef<AffineMap> maps,
                             ArrayRef<IteratorType> iterators, BodyFn body) {
    auto op = linalg::GenericOp::create(
        b, TypeRange(outs), ins, outs, maps, iterators,
        [&](OpBuilder &nested, Location loc, ValueRange args) {
          ImplicitLocOpBuilder nb(loc, nested);
          linalg::YieldOp::create(nb, body(nb, args));
        });
    return SmallVector<Value>(op.getResults());
  }

  Value generic1(ValueRange ins, Value out, ArrayRef<AffineMap> maps,
                 ArrayRef<IteratorType> iterators, BodyFn body) {
    return generic(ins, out, maps, iterators, body).front();
  }

  /// Elementwise op over tensors of identical shape (all identity maps).
  Value elementwise(ValueRange ins, Value out, BodyFn body) {
    unsigned rank = cast<RankedTensorType>(out.getType()).getRank();
    SmallVector<AffineMap> maps(ins.size() + 1, identity(rank));
    return generic1(ins, out, maps, SmallVector<IteratorType>(rank, kPar),
                    body);
  }

  Value expand(Value src, ArrayRef<int64_t> shape,
               ArrayRef<ReassociationIndices> reassociation) {
    auto type = RankedTensorType::get(shape, getElementTypeOrSelf(src));
    return tensor::ExpandShapeOp::create(b, type, src, reassociation);
  }

  Value collapse(Value src, ArrayRef<ReassociationIndices> reassociation) {
    return tensor::CollapseShapeOp::create(b, src, reassociation);
  }

  /// Converts a scalar between float types (extf or truncf).
  Value castFloat(Value v, Type to) {
    Type from = v.getType();
    if (from == to)
      return v;
    if (cast<FloatType>(from).getWidth() < cast<FloatType>(to).getWidth())
      return arith::ExtFOp::create(b, to, v);
    return arith::TruncFOp::create(b, to, v);
  }

  /// `src` converted elementwise to the element type of `init`.
  Value castInto(Value src, Value init) {
    Type to = getElementTypeOrSelf(init);
    if (getElementTypeOrSelf(src) == to)
      return src;
    return elementwise(src, init,
                       [&](ImplicitLocOpBuilder &nb, ValueRange args) {
                         Emitter e(nb);
                         return SmallVector<Value>{e.castFloat(args[0], to)};
                       });
  }

private:
  ImplicitLocOpBuilder &b;
};

ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

/// f64 when any input is f64, else f32 (spec 4: router math in f32).
Type computeType(Builder &b, ValueRange values) {
  for (Value v : values)
    if (v && getElementTypeOrSelf(v).isF64())
      return b.getF64Type();
  return b.getF32Type();
}

/// Reassociation that splits dimension 1 (heads) into [Hkv, G].
SmallVector<ReassociationIndices> splitHeads(unsigned rank) {
  SmallVector<ReassociationIndices> r = {{0}, {1, 2}};
  for (unsigned d = 2; d < rank; ++d)
    r.push_back({static_cast<int64_t>(d + 1)});
  return r;
}

/// [B, H, ...] viewed as [B, Hkv, G, ...].
Value expandHeads(Emitter &e, Value v, int64_t kvHeads) {
  SmallVector<int64_t> shape(shapeOf(v));
  int64_t groups = shape[1] / kvHeads;
  shape[1] = groups;
  shape.insert(shape.begin() + 1, kvHeads);
  return e.expand(v, shape, splitHeads(shape.size() - 1));
}

Value collapseHeads(Emitter &e, Value v) {
  return e.collapse(v, splitHeads(shapeOf(v).size() - 1));
}

//===----------------------------------------------------------------------===//
// dash.summarize
//===----------------------------------------------------------------------===//

struct LowerSummarize : OpRewritePattern<SummarizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SummarizeOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Emitter e(b);
    Value key = op.getKey(), weights = op.getSummaryQuery();
    auto [batch, kvHeads, seqLen, headDim] = unpack4(shapeOf(key));
    int64_t bk = op.getBlockSize();
    int64_t complete = numCompleteBlocks(seqLen, bk);
    Type ct = computeType(b, {key, weights, op.getInit()});
    double scale = resolveScale(op.getScaleAttr(), headDim);

    // Keys of the complete blocks as [B, Hkv, Mc, Bk, D].
    Value blockKeys = key;
    if (complete * bk != seqLen)
      blockKeys = tensor::ExtractSliceOp::create(
          b, key, SmallVector<OpFoldResult>(4, b.getIndexAttr(0)),
          getAsIndexOpFoldResult(b.getContext(),
                                 {batch, kvHeads, complete * bk, headDim}),
          SmallVector<OpFoldResult>(4, b.getIndexAttr(1)));
    blockKeys = e.expand(blockKeys, {batch, kvHeads, complete, bk, headDim},
                         {{0}, {1}, {2, 3}, {4}});

    // Per-token weights a_t: uniform without W, softmax of scale <W, K_t>.
    Value tokenWeights;
    if (weights) {
      Value logits = e.generic1(
          {blockKeys, weights}, e.filled({batch, kvHeads, complete, bk}, ct, 0),
          {e.identity(5), e.map(5, {1, 4}), e.map(5, {0, 1, 2, 3})},
          {kPar, kPar, kPar, kPar, kRed},
          [&](ImplicitLocOpBuilder &nb, ValueRange a) {
            Emitter n(nb);
            Value prod = arith::MulFOp::create(nb, n.castFloat(a[0], ct),
                                               n.castFloat(a[1], ct));
            return SmallVector<Value>{arith::AddFOp::create(nb, a[2], prod)};
          });
      tokenWeights = softmaxLastDim(e, logits, scale);
    }

    double uniform = 1.0 / static_cast<double>(bk);
    Value summaries = e.generic1(
        tokenWeights ? ValueRange{blockKeys, tokenWeights}
                     : ValueRange{blockKeys},
        e.filled({batch, kvHeads, complete, headDim}, ct, 0),
        tokenWeights ? ArrayRef<AffineMap>{e.map(5, {0, 1, 2, 4, 3}),
                                           e.map(5, {0, 1, 2, 4}),
                                           e.map(5, {0, 1, 2, 3})}
                     : ArrayRef<AffineMap>{e.map(5, {0, 1, 2, 4, 3}),
                                           e.map(5, {0, 1, 2, 3})},
        {kPar, kPar, kPar, kPar, kRed},
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          Emitter n(nb);
          Value k = n.castFloat(a[0], ct);
          Value w = tokenWeights ? a[1] : n.floatConst(ct, uniform);
          Value prod = arith::MulFOp::create(nb, k, w);
          return SmallVector<Value>{arith::AddFOp::create(nb, a.back(), prod)};
        });
    rewriter.replaceOp(op, e.castInto(summaries, op.getInit()));
    return success();
  }

  static std::tuple<int64_t, int64_t, int64_t, int64_t>
  unpack4(ArrayRef<int64_t> s) {
    return {s[0], s[1], s[2], s[3]};
  }

  /// softmax(scale * x) along the last of four dimensions.
  static Value softmaxLastDim(Emitter &e, Value x, double scale) {
    ImplicitLocOpBuilder &b = e.builder();
    ArrayRef<int64_t> shape = shapeOf(x);
    Type ct = getElementTypeOrSelf(x);
    SmallVector<int64_t> rowShape(shape.drop_back());
    AffineMap full = e.identity(4), row = e.map(4, {0, 1, 2});
    SmallVector<IteratorType> reduce = {kPar, kPar, kPar, kRed};
    Value rowMax = e.generic1(
        x, e.filled(rowShape, ct, -kInf), {full, row}, reduce,
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          return SmallVector<Value>{arith::MaximumFOp::create(nb, a[0], a[1])};
        });
    Value scaleValue = e.floatConst(ct, scale);
    Value exps = e.generic1(
        {x, rowMax}, e.empty(shape, ct), {full, row, full},
        {kPar, kPar, kPar, kPar}, [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          Value shifted = arith::SubFOp::create(nb, a[0], a[1]);
          Value scaled = arith::MulFOp::create(nb, shifted, scaleValue);
          return SmallVector<Value>{math::ExpOp::create(nb, scaled)};
        });
    Value rowSum = e.generic1(
        exps, e.filled(rowShape, ct, 0), {full, row}, reduce,
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          return SmallVector<Value>{arith::AddFOp::create(nb, a[0], a[1])};
        });
    (void)b;
    return e.generic1(
        {exps, rowSum}, e.empty(shape, ct), {full, row, full},
        {kPar, kPar, kPar, kPar}, [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          return SmallVector<Value>{arith::DivFOp::create(nb, a[0], a[1])};
        });
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
    SmallVector<int64_t> outShape(shapeOf(query).drop_back());
    outShape.push_back(shapeOf(summaries)[2]);

    // dot[b, g, r, i, c] = <Q[b, g*G + r, i], Kbar[b, g, c]>.
    Value dot = e.generic1(
        {query, summaries}, e.filled(outShape, ct, 0),
        {e.map(6, {0, 1, 2, 3, 5}), e.map(6, {0, 1, 4, 5}),
         e.map(6, {0, 1, 2, 3, 4})},
        {kPar, kPar, kPar, kPar, kPar, kRed},
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          Emitter n(nb);
          Value prod = arith::MulFOp::create(nb, n.castFloat(a[0], ct),
                                             n.castFloat(a[1], ct));
          return SmallVector<Value>{arith::AddFOp::create(nb, a[2], prod)};
        });

    // Candidates of query i are the blocks c with (c + 1) * Bk <= i.
    double factor = op.getGamma().convertToDouble() *
                    resolveScale(op.getScaleAttr(), headDim);
    int64_t bk = op.getBlockSize();
    Value init = expandHeads(e, op.getInit(), kvHeads);
    Value logits =
        e.elementwise(dot, init, [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          Emitter n(nb);
          Value i = linalg::IndexOp::create(nb, 3);
          Value c = linalg::IndexOp::create(nb, 4);
          Value end = arith::MulIOp::create(
              nb, arith::AddIOp::create(nb, c, n.indexConst(1)),
              n.indexConst(bk));
          Value candidate =
              arith::CmpIOp::create(nb, arith::CmpIPredicate::ule, end, i);
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

    SmallVector<int64_t> rowShape(shape);
    rowShape.erase(rowShape.begin() + dim);
    SmallVector<unsigned> rowDims;
    for (unsigned d = 0; d < rank; ++d)
      if (d != dim)
        rowDims.push_back(d);
    AffineMap full = e.identity(rank), row = e.map(rank, rowDims);
    SmallVector<IteratorType> parallel(rank, kPar), reduce(rank, kPar);
    reduce[dim] = kRed;

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
    Value probs = expandHeads(e, op.getProbs(), kvHeads);
    int64_t groups = shapeOf(probs)[2];
    SmallVector<int64_t> pooledShape = {priorShape[0], kvHeads, priorShape[2],
                                        shapeOf(probs)[4]};
    SmallVector<int64_t> rowShape(priorShape.drop_back());

    // pi[b, g, i, c] = mean_r p[b, g, r, i, c].
    Value pooled = e.generic1(
        probs, e.filled(pooledShape, f32, 0.0),
        {e.map(5, {0, 1, 4, 2, 3}), e.map(5, {0, 1, 2, 3})},
        {kPar, kPar, kPar, kPar, kRed},
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          Emitter n(nb);
          Value share = arith::MulFOp::create(
              nb, a[0], n.floatConst(f32, 1.0 / static_cast<double>(groups)));
          return SmallVector<Value>{arith::AddFOp::create(nb, a[1], share)};
        });

    PriorMode mode = op.getPriorMode();
    AffineMap full = e.identity(4), row = e.map(4, {0, 1, 2});
    auto inSupport = [&](ImplicitLocOpBuilder &nb, Value pi) {
      Emitter n(nb);
      return arith::CmpFOp::create(nb, arith::CmpFPredicate::OGT, pi,
                                   n.floatConst(f32, 0.0));
    };
    // Centered prior: mean of log pi over the support S_i.
    Value meanLog;
    if (mode == PriorMode::Centered) {
      SmallVector<Value> sums = e.generic(
          pooled, {e.filled(rowShape, f32, 0.0), e.filled(rowShape, f32, 0.0)},
          {full, row, row}, {kPar, kPar, kPar, kRed},
          [&](ImplicitLocOpBuilder &nb, ValueRange a) {
            Emitter n(nb);
            Value in = inSupport(nb, a[0]);
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
          Value i = linalg::IndexOp::create(nb, 2);
          Value c = linalg::IndexOp::create(nb, 3);
          Value own = arith::DivUIOp::create(nb, i, n.indexConst(bk));
          auto cmp = [&](arith::CmpIPredicate pred, Value l, Value r) {
            return arith::CmpIOp::create(nb, pred, l, r).getResult();
          };
          using P = arith::CmpIPredicate;
          // L_i: own block, `local` blocks before it, the first `initial`.
          Value cPlusLocal = arith::AddIOp::create(nb, c, n.indexConst(local));
          Value isLocal = arith::AndIOp::create(nb, cmp(P::ule, c, own),
                                                cmp(P::uge, cPlusLocal, own));
          Value isInitial = arith::AndIOp::create(
              nb, cmp(P::ult, c, n.indexConst(initial)), cmp(P::ule, c, own));
          Value forced = arith::OrIOp::create(nb, isLocal, isInitial);

          Value pi = a[0];
          Value value = n.floatConst(f32, 0.0);
          if (mode != PriorMode::Flat) {
            value = math::LogOp::create(nb, pi);
            if (mode == PriorMode::Centered)
              value = arith::MulFOp::create(
                  nb, arith::SubFOp::create(nb, value, a[1]),
                  n.floatConst(f32, invSigma));
          }
          Value selected = arith::SelectOp::create(nb, inSupport(nb, pi), value,
                                                   n.floatConst(f32, -kInf));
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
    int64_t kvHeads = keyShape[1], seqLen = keyShape[2], headDim = keyShape[3];
    Type ct = computeType(b, {op.getQuery(), key, value});
    Value query = expandHeads(e, op.getQuery(), kvHeads);
    SmallVector<int64_t> rowShape(shapeOf(query).drop_back());
    SmallVector<int64_t> scoreShape(rowShape);
    scoreShape.push_back(seqLen);

    // dot[b, g, r, i, j] = <Q[b, g*G + r, i], K[b, g, j]>.
    Value dot = e.generic1(
        {query, key}, e.filled(scoreShape, ct, 0.0),
        {e.map(6, {0, 1, 2, 3, 5}), e.map(6, {0, 1, 4, 5}),
         e.map(6, {0, 1, 2, 3, 4})},
        {kPar, kPar, kPar, kPar, kPar, kRed},
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          Emitter n(nb);
          Value prod = arith::MulFOp::create(nb, n.castFloat(a[0], ct),
                                             n.castFloat(a[1], ct));
          return SmallVector<Value>{arith::AddFOp::create(nb, a[2], prod)};
        });

    // s = scale * dot + l[c(j)] for j <= i, -inf otherwise.
    int64_t bk = op.getBlockSize();
    AffineExpr j = b.getAffineDimExpr(4);
    AffineMap priorMap =
        AffineMap::get(5, 0,
                       {b.getAffineDimExpr(0), b.getAffineDimExpr(1),
                        b.getAffineDimExpr(3), j.floorDiv(bk)},
                       b.getContext());
    double scale = resolveScale(op.getScaleAttr(), headDim);
    AffineMap full = e.identity(5), row = e.map(5, {0, 1, 2, 3});
    SmallVector<IteratorType> parallel(5, kPar), reduce(5, kPar);
    reduce[4] = kRed;
    Value scores = e.generic1(
        {dot, op.getLogPrior()}, e.empty(scoreShape, ct),
        {full, priorMap, full}, parallel,
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          Emitter n(nb);
          Value causal = arith::CmpIOp::create(nb, arith::CmpIPredicate::ule,
                                               linalg::IndexOp::create(nb, 4),
                                               linalg::IndexOp::create(nb, 3));
          Value s = arith::AddFOp::create(
              nb, arith::MulFOp::create(nb, a[0], n.floatConst(ct, scale)),
              n.castFloat(a[1], ct));
          return SmallVector<Value>{
              arith::SelectOp::create(nb, causal, s, n.floatConst(ct, -kInf))};
        });

    Value rowMax = e.generic1(
        scores, e.filled(rowShape, ct, -kInf), {full, row}, reduce,
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          return SmallVector<Value>{arith::MaximumFOp::create(nb, a[0], a[1])};
        });
    // A row with no selected key (possible only for a hand-written prior)
    // gets lse = -inf and O = 0 instead of NaN.
    auto isMasked = [&](ImplicitLocOpBuilder &nb, Value m) {
      Emitter n(nb);
      return arith::CmpFOp::create(nb, arith::CmpFPredicate::OEQ, m,
                                   n.floatConst(ct, -kInf));
    };
    Value rowSum = e.generic1(
        {scores, rowMax}, e.filled(rowShape, ct, 0.0), {full, row, row}, reduce,
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          Emitter n(nb);
          Value p =
              math::ExpOp::create(nb, arith::SubFOp::create(nb, a[0], a[1]));
          p = arith::SelectOp::create(nb, isMasked(nb, a[1]),
                                      n.floatConst(ct, 0.0), p);
          return SmallVector<Value>{arith::AddFOp::create(nb, a[2], p)};
        });
    Value lse = e.elementwise({rowMax, rowSum}, e.empty(rowShape, ct),
                              [&](ImplicitLocOpBuilder &nb, ValueRange a) {
                                return SmallVector<Value>{arith::AddFOp::create(
                                    nb, a[0], math::LogOp::create(nb, a[1]))};
                              });

    // O[b, g, r, i, d] = sum_j exp(s[.., i, j] - lse) V[b, g, j, d].
    SmallVector<int64_t> outShape(rowShape);
    outShape.push_back(headDim);
    Value out = e.generic1(
        {scores, lse, value}, e.filled(outShape, ct, 0.0),
        {e.map(6, {0, 1, 2, 3, 5}), e.map(6, {0, 1, 2, 3}),
         e.map(6, {0, 1, 5, 4}), e.map(6, {0, 1, 2, 3, 4})},
        {kPar, kPar, kPar, kPar, kPar, kRed},
        [&](ImplicitLocOpBuilder &nb, ValueRange a) {
          Emitter n(nb);
          Value p =
              math::ExpOp::create(nb, arith::SubFOp::create(nb, a[0], a[1]));
          p = arith::SelectOp::create(nb, isMasked(nb, a[1]),
                                      n.floatConst(ct, 0.0), p);
          Value prod = arith::MulFOp::create(nb, p, n.castFloat(a[2], ct));
          return SmallVector<Value>{arith::AddFOp::create(nb, a[3], prod)};
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
      if (!isa<DashDialect>(op->getDialect()))
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
}
