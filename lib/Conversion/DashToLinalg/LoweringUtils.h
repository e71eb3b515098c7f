//===- LoweringUtils.h - Shared pieces of dash-to-linalg ---------*- C++
//-*-===//
//
// The builder vocabulary of the dash-to-linalg patterns (forward and
// gradient) and the computations both directions share.
//
//===----------------------------------------------------------------------===//

#ifndef DASH_LIB_CONVERSION_DASHTOLINALG_LOWERINGUTILS_H
#define DASH_LIB_CONVERSION_DASHTOLINALG_LOWERINGUTILS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/TypeUtilities.h"

#include <limits>

namespace mlir::dash::lowering {
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

inline ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

/// f64 when any input is f64, else f32 (spec 4: router math in f32).
inline Type computeType(Builder &b, ValueRange values) {
  for (Value v : values)
    if (v && getElementTypeOrSelf(v).isF64())
      return b.getF64Type();
  return b.getF32Type();
}

/// Reassociation that splits dimension 1 (heads) into [Hkv, G].
inline SmallVector<ReassociationIndices> splitHeads(unsigned rank) {
  SmallVector<ReassociationIndices> r = {{0}, {1, 2}};
  for (unsigned d = 2; d < rank; ++d)
    r.push_back({static_cast<int64_t>(d + 1)});
  return r;
}

/// [B, H, ...] viewed as [B, Hkv, G, ...].
inline Value expandHeads(Emitter &e, Value v, int64_t kvHeads) {
  SmallVector<int64_t> shape(shapeOf(v));
  int64_t groups = shape[1] / kvHeads;
  shape[1] = groups;
  shape.insert(shape.begin() + 1, kvHeads);
  return e.expand(v, shape, splitHeads(shape.size() - 1));
}

inline Value collapseHeads(Emitter &e, Value v) {
  return e.collapse(v, splitHeads(shapeOf(v).size() - 1));
}

/// Indexing of a reduction along one dimension of a tensor: the shape and
/// map of the reduced ("row") tensor and the iterator lists.
struct RowReduction {
  SmallVector<int64_t> rowShape;
  AffineMap full, row;
  SmallVector<IteratorType> parallel, reduce;
};
RowReduction reduceAlong(Emitter &e, ArrayRef<int64_t> shape, unsigned dim);

/// The part of `v` of the given `sizes` that starts at index 0. A part
/// without elements is a tensor.empty: tensor.extract_slice rejects offset 0
/// into a dimension of size 0.
Value leadingSlice(Emitter &e, Value v, ArrayRef<int64_t> sizes);

/// Complete blocks of `key` [B, Hkv, N, D] as [B, Hkv, Mc, Bk, D].
Value blockKeys(Emitter &e, Value key, int64_t blockSize);

/// softmax(scale * x) along the last of four dimensions.
Value softmaxLastDim(Emitter &e, Value x, double scale);

/// Summary weights a [B, Hkv, Mc, Bk] of each block's tokens: softmax of
/// scale * <W_g, K_t> (spec F1).
Value summaryWeights(Emitter &e, Value blocks, Value summaryQuery, double scale,
                     Type ct);

/// Kbar [B, Hkv, Mc, D] = sum_t a_t K_t over `blocks` [B, Hkv, Mc, Bk, D];
/// uniform weights 1/Bk when `weights` is null.
Value summarizeBlocks(Emitter &e, Value blocks, Value weights, Type ct);

/// Inside a linalg body whose loop `queryDim` runs over queries i and loop
/// `blockDim` over blocks c: whether c is a routing candidate of i,
/// (c + 1) * Bk <= i (spec F2).
Value isCandidateBlock(ImplicitLocOpBuilder &b, int64_t queryDim,
                       int64_t blockDim, int64_t blockSize);

/// pi [B, Hkv, N, Mc]: the mean of probs [B, H, N, Mc] over each group.
Value poolGroups(Emitter &e, Value probs, int64_t kvHeads);

/// Inside a linalg body, as isCandidateBlock: whether block c is forced for
/// query i (spec F4): its own block, the `local` blocks before it, or one of
/// the first `initial` blocks.
Value isForcedBlock(ImplicitLocOpBuilder &b, int64_t queryDim, int64_t blockDim,
                    int64_t blockSize, int64_t local, int64_t initial);

/// Whether a probability `p` is in the support: p > 0 or NaN. A NaN (from a
/// NaN input) must reach every output and gradient that depends on it, not
/// drop the block as an ordered comparison would.
Value isInSupport(ImplicitLocOpBuilder &b, Value p);

/// dot[b, g, r, i, j] = <x[b, g, r, i, :], y[b, g, j, :]> in `ct`: a head-split
/// query-like tensor [B, Hkv, G, N, D] against [B, Hkv, J, D].
Value groupedDot(Emitter &e, Value x, Value y, Type ct);

/// s [B, Hkv, G, N, N] = scale <Q_i, K_j> + l[c(j)] for j <= i, -inf
/// otherwise, from the head-split query [B, Hkv, G, N, D].
Value biasedScores(Emitter &e, Value query, Value key, Value logPrior,
                   int64_t blockSize, double scale, Type ct);

/// exp(s - lse), zero for rows without a selected key (lse = -inf).
Value probabilitiesFromLse(ImplicitLocOpBuilder &b, Value s, Value lse,
                           Type ct);

/// Patterns lowering the gradient ops (GradToLinalg.cpp).
void populateGradientPatterns(RewritePatternSet &patterns);

} // namespace mlir::dash::lowering

#endif // DASH_LIB_CONVERSION_DASHTOLINALG_LOWERINGUTILS_H
