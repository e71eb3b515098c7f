//===- RaiseAttention.cpp - causal attention in linalg to dash.attention -===//
//
// Frontends lower attention to a handful of linalg ops whose grouping and
// spelling vary (named or generic ops, fused or separate elementwise steps,
// reshapes around batched matmuls, masks as selects or additive biases).
// Matching op by op would accept one spelling only, so the output element
// O[b, h, i, x] is instead inlined into one expression over the canonical
// dimensions (b, h, i, j, x) and matched as an expression. Only the causal
// mask needs more than structure: it is evaluated at every (query, key)
// position.
//
//===----------------------------------------------------------------------===//

#include "dash/Conversion/Passes.h"
#include "dash/Dialect/Dash/IR/Dash.h"

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/SetVector.h"

#include <cmath>
#include <deque>
#include <functional>
#include <limits>

namespace mlir::dash {
#define GEN_PASS_DEF_DASHRAISEATTENTION
#include "dash/Conversion/Passes.h.inc"
} // namespace mlir::dash

using namespace mlir;
using namespace mlir::dash;

namespace {

/// Canonical dimensions: batch, head, query, key, and x, which is the head
/// dimension (the reduction of Q K^T and the output column of P V).
enum Dim : unsigned { kB, kH, kI, kJ, kX, kNumDims };

/// Beyond this many expression nodes a value is not attention.
constexpr int64_t kMaxNodes = 4096;
/// Beyond this many positions the mask is not evaluated.
constexpr int64_t kMaxMaskPoints = int64_t(1) << 26;

/// One node of the expression of a tensor element.
struct Expr {
  enum class Kind {
    Leaf,     ///< `value[indices]` (scalars: no indices), not inlined.
    Constant, ///< `attr`.
    Index,    ///< The integer `index`.
    Op,       ///< The scalar op `op` applied to `operands`.
    Reduce,   ///< Reduction with combiner `op` of operands[1] over `dim`
              ///< (a bound variable), starting from operands[0].
    Softmax,  ///< Softmax of operands[0] over `dim`.
  };
  Kind kind;
  Value value;
  SmallVector<AffineExpr, 4> indices;
  Attribute attr;
  AffineExpr index;
  Operation *op = nullptr;
  unsigned dim = 0;
  SmallVector<const Expr *, 2> operands;
};

bool isEqual(const Expr *a, const Expr *b) {
  if (a == b)
    return true;
  if (a->kind != b->kind || a->dim != b->dim ||
      a->operands.size() != b->operands.size())
    return false;
  switch (a->kind) {
  case Expr::Kind::Leaf:
    if (a->value != b->value || a->indices != b->indices)
      return false;
    break;
  case Expr::Kind::Constant:
    if (a->attr != b->attr)
      return false;
    break;
  case Expr::Kind::Index:
    if (a->index != b->index)
      return false;
    break;
  case Expr::Kind::Op:
  case Expr::Kind::Reduce:
    if (a->op->getName() != b->op->getName() ||
        a->op->getAttr("predicate") != b->op->getAttr("predicate"))
      return false;
    break;
  case Expr::Kind::Softmax:
    break;
  }
  return llvm::all_of(llvm::zip_equal(a->operands, b->operands), [](auto pair) {
    return isEqual(std::get<0>(pair), std::get<1>(pair));
  });
}

bool isOp(const Expr *e, StringRef name) {
  return e->kind == Expr::Kind::Op && e->op->getName().getStringRef() == name;
}

/// `e` without the float casts around it.
const Expr *stripCasts(const Expr *e) {
  while (isOp(e, arith::ExtFOp::getOperationName()) ||
         isOp(e, arith::TruncFOp::getOperationName()))
    e = e->operands[0];
  return e;
}

std::optional<double> getFloatConstant(const Expr *e) {
  if (e->kind != Expr::Kind::Constant)
    return std::nullopt;
  if (auto f = dyn_cast<FloatAttr>(e->attr))
    return f.getValueAsDouble();
  return std::nullopt;
}

/// Builds the expressions of tensor elements over the canonical dimensions,
/// inlining the ops that produce them.
class ExprBuilder {
public:
  explicit ExprBuilder(ArrayRef<int64_t> extents)
      : extents(extents.begin(), extents.end()) {}

  /// The element `value[indices]`. `deep` inlines producers recursively;
  /// otherwise the result is a leaf.
  const Expr *read(Value value, ArrayRef<AffineExpr> indices, bool deep);

  /// One step of inlining of a leaf through a layout op, or a multiplication
  /// or division by a constant: the new leaf and the factor it is multiplied
  /// by, or nothing.
  std::optional<std::pair<const Expr *, double>> peel(const Expr *leaf);

  /// `e` simplified with the extents of the canonical dimensions.
  AffineExpr simplify(AffineExpr e) const;

  bool exhausted() const { return nodes.size() > kMaxNodes; }
  /// Ops whose results were read: candidates for erasure after a rewrite.
  ArrayRef<Operation *> visitedOps() const { return visited.getArrayRef(); }

private:
  const Expr *make(Expr e) {
    nodes.push_back(std::move(e));
    return &nodes.back();
  }
  const Expr *leaf(Value value, ArrayRef<AffineExpr> indices) {
    Expr e{Expr::Kind::Leaf};
    e.value = value;
    e.indices.assign(indices.begin(), indices.end());
    return make(std::move(e));
  }
  const Expr *constant(Attribute attr) {
    Expr e{Expr::Kind::Constant};
    e.attr = attr;
    return make(std::move(e));
  }
  const Expr *inlineLinalg(linalg::LinalgOp op, OpResult result,
                           ArrayRef<AffineExpr> indices, bool deep);
  const Expr *inlineBody(linalg::LinalgOp op, Value v,
                         ArrayRef<AffineExpr> loops, bool deep);
  std::optional<std::pair<int64_t, int64_t>> bounds(AffineExpr e) const;
  AffineExpr foldWithBounds(AffineExpr e) const;

  SmallVector<int64_t> extents;
  std::deque<Expr> nodes;
  llvm::SetVector<Operation *> visited;
};

std::optional<std::pair<int64_t, int64_t>>
ExprBuilder::bounds(AffineExpr e) const {
  if (auto d = dyn_cast<AffineDimExpr>(e))
    return std::make_pair(int64_t(0), extents[d.getPosition()] - 1);
  if (auto c = dyn_cast<AffineConstantExpr>(e))
    return std::make_pair(c.getValue(), c.getValue());
  auto bin = dyn_cast<AffineBinaryOpExpr>(e);
  if (!bin)
    return std::nullopt;
  auto l = bounds(bin.getLHS()), r = bounds(bin.getRHS());
  if (!l || !r)
    return std::nullopt;
  switch (e.getKind()) {
  case AffineExprKind::Add:
    return std::make_pair(l->first + r->first, l->second + r->second);
  case AffineExprKind::Mul: {
    int64_t a = l->first * r->first, b = l->first * r->second,
            c = l->second * r->first, d = l->second * r->second;
    return std::make_pair(std::min({a, b, c, d}), std::max({a, b, c, d}));
  }
  case AffineExprKind::FloorDiv:
    if (r->first != r->second || r->first <= 0)
      return std::nullopt;
    return std::make_pair(llvm::divideFloorSigned(l->first, r->first),
                          llvm::divideFloorSigned(l->second, r->first));
  case AffineExprKind::Mod:
    if (r->first != r->second || r->first <= 0)
      return std::nullopt;
    return std::make_pair(int64_t(0), r->first - 1);
  default:
    return std::nullopt;
  }
}

/// Splits a sum into its terms, each with its constant coefficient.
static void collectTerms(AffineExpr e,
                         SmallVectorImpl<std::pair<AffineExpr, int64_t>> &out) {
  if (e.getKind() == AffineExprKind::Add) {
    auto bin = cast<AffineBinaryOpExpr>(e);
    collectTerms(bin.getLHS(), out);
    collectTerms(bin.getRHS(), out);
    return;
  }
  if (auto c = dyn_cast<AffineConstantExpr>(e)) {
    out.push_back({getAffineConstantExpr(1, e.getContext()), c.getValue()});
    return;
  }
  if (e.getKind() == AffineExprKind::Mul) {
    auto bin = cast<AffineBinaryOpExpr>(e);
    if (auto c = dyn_cast<AffineConstantExpr>(bin.getRHS())) {
      out.push_back({bin.getLHS(), c.getValue()});
      return;
    }
  }
  out.push_back({e, 1});
}

/// Removes the divisions and remainders that the extents make trivial, e.g.
/// `(b * H + h) floordiv H = b` and `(b * H + h) mod H = h` for `h < H`, which
/// reshapes between [B, H] and [B * H] produce.
AffineExpr ExprBuilder::foldWithBounds(AffineExpr e) const {
  auto bin = dyn_cast<AffineBinaryOpExpr>(e);
  if (!bin)
    return e;
  AffineExpr lhs = foldWithBounds(bin.getLHS());
  AffineExpr rhs = foldWithBounds(bin.getRHS());
  auto divisor = dyn_cast<AffineConstantExpr>(rhs);
  bool isDiv = e.getKind() == AffineExprKind::FloorDiv;
  if ((isDiv || e.getKind() == AffineExprKind::Mod) && divisor &&
      divisor.getValue() > 0) {
    int64_t c = divisor.getValue();
    SmallVector<std::pair<AffineExpr, int64_t>> terms;
    collectTerms(lhs, terms);
    AffineExpr quotient = getAffineConstantExpr(0, e.getContext());
    AffineExpr rest = getAffineConstantExpr(0, e.getContext());
    for (auto [term, coefficient] : terms) {
      if (coefficient % c == 0)
        quotient = quotient + term * (coefficient / c);
      else
        rest = rest + term * coefficient;
    }
    auto restBounds = bounds(rest);
    if (restBounds && restBounds->first >= 0 && restBounds->second < c)
      return simplifyAffineExpr(isDiv ? quotient : rest, kNumDims, 0);
  }
  switch (e.getKind()) {
  case AffineExprKind::Add:
    return lhs + rhs;
  case AffineExprKind::Mul:
    return lhs * rhs;
  case AffineExprKind::FloorDiv:
    return lhs.floorDiv(rhs);
  case AffineExprKind::CeilDiv:
    return lhs.ceilDiv(rhs);
  case AffineExprKind::Mod:
    return lhs % rhs;
  default:
    return e;
  }
}

AffineExpr ExprBuilder::simplify(AffineExpr e) const {
  // A dimension of extent 1 is 0, whether a frontend indexes it or not.
  SmallVector<AffineExpr> dims;
  for (unsigned d = 0; d < kNumDims; ++d)
    dims.push_back(extents[d] == 1 ? getAffineConstantExpr(0, e.getContext())
                                   : getAffineDimExpr(d, e.getContext()));
  e = simplifyAffineExpr(e.replaceDims(dims), kNumDims, 0);
  return simplifyAffineExpr(foldWithBounds(e), kNumDims, 0);
}

const Expr *ExprBuilder::read(Value value, ArrayRef<AffineExpr> rawIndices,
                              bool deep) {
  SmallVector<AffineExpr, 4> indices;
  for (AffineExpr e : rawIndices)
    indices.push_back(simplify(e));
  Operation *def = value.getDefiningOp();
  if (def)
    visited.insert(def);
  if (exhausted())
    return leaf(value, indices);

  auto tensorType = dyn_cast<RankedTensorType>(value.getType());
  if (!tensorType) {
    Attribute attr;
    if (matchPattern(value, m_Constant(&attr)))
      return constant(attr);
    return leaf(value, {});
  }
  if (!tensorType.hasStaticShape())
    return leaf(value, indices);

  DenseElementsAttr dense;
  if (matchPattern(value, m_Constant(&dense)) && dense.isSplat())
    return constant(dense.getSplatValue<Attribute>());

  // Reshapes: rewrite the indices into the source's.
  if (auto expand = dyn_cast_or_null<tensor::ExpandShapeOp>(def)) {
    SmallVector<AffineExpr> source;
    for (ReassociationIndices group : expand.getReassociationIndices()) {
      AffineExpr linear = getAffineConstantExpr(0, value.getContext());
      for (int64_t d : group)
        linear = linear * tensorType.getDimSize(d) + indices[d];
      source.push_back(linear);
    }
    return read(expand.getSrc(), source, deep);
  }
  if (auto collapse = dyn_cast_or_null<tensor::CollapseShapeOp>(def)) {
    auto sourceType = collapse.getSrcType();
    if (!sourceType.hasStaticShape())
      return leaf(value, indices);
    SmallVector<AffineExpr> source;
    for (auto [index, group] :
         llvm::zip_equal(indices, collapse.getReassociationIndices())) {
      int64_t stride = 1;
      SmallVector<AffineExpr> members;
      for (int64_t d : llvm::reverse(group)) {
        int64_t size = sourceType.getDimSize(d);
        members.push_back(index.floorDiv(stride) % size);
        stride *= size;
      }
      source.append(members.rbegin(), members.rend());
    }
    return read(collapse.getSrc(), source, /*deep=*/deep);
  }

  if (!deep)
    return leaf(value, indices);
  if (auto softmax = dyn_cast_or_null<linalg::SoftmaxOp>(def)) {
    // The normalised dimension must be a plain canonical dimension.
    auto normalized = dyn_cast<AffineDimExpr>(indices[softmax.getDimension()]);
    if (!normalized)
      return leaf(value, indices);
    Expr e{Expr::Kind::Softmax};
    e.dim = normalized.getPosition();
    e.operands.push_back(read(softmax.getInput(), indices, deep));
    return make(std::move(e));
  }
  if (auto linalgOp = dyn_cast_or_null<linalg::LinalgOp>(def)) {
    if (linalgOp.hasPureTensorSemantics())
      if (const Expr *e =
              inlineLinalg(linalgOp, cast<OpResult>(value), indices, deep))
        return e;
  }
  return leaf(value, indices);
}

const Expr *ExprBuilder::inlineLinalg(linalg::LinalgOp op, OpResult result,
                                      ArrayRef<AffineExpr> indices, bool deep) {
  OpOperand *init = op.getDpsInitOperand(result.getResultNumber());
  AffineMap outputMap = op.getMatchingIndexingMap(init);
  MLIRContext *context = op.getContext();

  // Solve the loop variables from the output indices.
  SmallVector<AffineExpr> loops(op.getNumLoops());
  for (auto [index, outExpr] :
       llvm::zip_equal(indices, outputMap.getResults())) {
    if (auto d = dyn_cast<AffineDimExpr>(outExpr)) {
      AffineExpr &loop = loops[d.getPosition()];
      if (loop && loop != index)
        return nullptr;
      loop = index;
    } else if (outExpr != index) {
      return nullptr;
    }
  }

  // At most one reduction loop, bound to the first canonical dimension (j
  // or x) that the output indices do not use.
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  std::optional<unsigned> reduction;
  for (unsigned l = 0, e = loops.size(); l < e; ++l) {
    if (loops[l])
      continue;
    if (iterators[l] != utils::IteratorType::reduction || reduction)
      return nullptr;
    reduction = l;
  }
  std::optional<unsigned> bound;
  if (reduction) {
    for (unsigned d : {kJ, kX}) {
      if (llvm::none_of(indices,
                        [&](AffineExpr e) { return e.isFunctionOfDim(d); })) {
        bound = d;
        break;
      }
    }
    if (!bound)
      return nullptr;
    loops[*reduction] = getAffineDimExpr(*bound, context);
  }

  // Contractions stop the inlining: their operands are the leaves that
  // name Q, K, P and V.
  bool contraction = linalg::isaContractionOpInterface(op);
  Value yielded =
      op.getBlock()->getTerminator()->getOperand(result.getResultNumber());
  if (!reduction)
    return inlineBody(op, yielded, loops, deep && !contraction);

  // A reduction: `yielded = combiner(out, body)`.
  Operation *combiner = yielded.getDefiningOp();
  BlockArgument out = op.getMatchingBlockArgument(init);
  if (!combiner || combiner->getNumOperands() != 2 ||
      combiner->getNumResults() != 1 ||
      !llvm::is_contained(combiner->getOperands(), out))
    return nullptr;
  Value bodyValue = combiner->getOperand(0) == out ? combiner->getOperand(1)
                                                   : combiner->getOperand(0);
  if (bodyValue == out)
    return nullptr;
  const Expr *body = inlineBody(op, bodyValue, loops, deep && !contraction);
  if (!body)
    return nullptr;
  Expr e{Expr::Kind::Reduce};
  e.op = combiner;
  e.dim = *bound;
  e.operands = {read(init->get(), indices, /*deep=*/true), body};
  return make(std::move(e));
}

const Expr *ExprBuilder::inlineBody(linalg::LinalgOp op, Value v,
                                    ArrayRef<AffineExpr> loops, bool deep) {
  if (exhausted())
    return nullptr;
  Block *block = op.getBlock();
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (arg.getOwner() != block)
      return read(v, {}, deep);
    OpOperand *operand = op.getMatchingOpOperand(arg);
    AffineMap map = op.getMatchingIndexingMap(operand);
    SmallVector<AffineExpr> indices;
    for (AffineExpr e : map.getResults())
      indices.push_back(e.replaceDims(loops));
    return read(operand->get(), indices, deep);
  }
  Operation *def = v.getDefiningOp();
  if (def->getBlock() != block)
    return read(v, {}, deep);
  if (auto index = dyn_cast<linalg::IndexOp>(def)) {
    Expr e{Expr::Kind::Index};
    e.index = simplify(loops[index.getDim()]);
    return make(std::move(e));
  }
  Attribute attr;
  if (matchPattern(v, m_Constant(&attr)))
    return constant(attr);
  if (def->getNumResults() != 1 || def->getNumRegions() != 0 ||
      !isa<arith::ArithDialect, math::MathDialect>(def->getDialect()))
    return nullptr;
  Expr e{Expr::Kind::Op};
  e.op = def;
  for (Value operand : def->getOperands()) {
    const Expr *sub = inlineBody(op, operand, loops, deep);
    if (!sub)
      return nullptr;
    e.operands.push_back(sub);
  }
  return make(std::move(e));
}

std::optional<std::pair<const Expr *, double>>
ExprBuilder::peel(const Expr *leaf) {
  auto op = leaf->value.getDefiningOp<linalg::LinalgOp>();
  if (!op || !op.hasPureTensorSemantics() || op.getNumReductionLoops() != 0 ||
      op.getNumDpsInputs() < 1)
    return std::nullopt;
  const Expr *e = inlineLinalg(op, cast<OpResult>(leaf->value), leaf->indices,
                               /*deep=*/false);
  if (!e)
    return std::nullopt;
  if (e->kind == Expr::Kind::Leaf && isa<RankedTensorType>(e->value.getType()))
    return std::make_pair(e, 1.0);
  bool mul = isOp(e, arith::MulFOp::getOperationName());
  if (!mul && !isOp(e, arith::DivFOp::getOperationName()))
    return std::nullopt;
  const Expr *lhs = e->operands[0], *rhs = e->operands[1];
  if (mul && lhs->kind == Expr::Kind::Constant)
    std::swap(lhs, rhs);
  std::optional<double> factor = getFloatConstant(rhs);
  if (lhs->kind != Expr::Kind::Leaf || !factor || *factor == 0.0)
    return std::nullopt;
  return std::make_pair(lhs, mul ? *factor : 1.0 / *factor);
}

//===----------------------------------------------------------------------===//
// Evaluation of the masked logits at one position
//===----------------------------------------------------------------------===//

/// An abstract value: `a * S + c` for the scores S (floats; `a = 0` for
/// constants), an integer or a boolean.
struct AbstractValue {
  enum class Kind { Score, Int, Bool, Unknown } kind = Kind::Unknown;
  double a = 0, c = 0;
  int64_t i = 0;

  static AbstractValue score(double a, double c) {
    if (std::isnan(a) || std::isnan(c))
      return {};
    return {Kind::Score, a, c, 0};
  }
  static AbstractValue integer(int64_t i) { return {Kind::Int, 0, 0, i}; }
  static AbstractValue boolean(bool b) { return {Kind::Bool, 0, 0, b}; }
  bool isScore() const { return kind == Kind::Score; }
  bool isConstant() const { return kind == Kind::Score && a == 0.0; }
};

class MaskEvaluator {
public:
  MaskEvaluator(const Expr *scores, double scoresInit)
      : scores(scores), scoresInit(scoresInit) {}

  AbstractValue eval(const Expr *e, ArrayRef<int64_t> point) const;

private:
  AbstractValue evalOp(const Expr *e, ArrayRef<int64_t> point) const;

  const Expr *scores;
  double scoresInit;
};

/// `e` at `point` (without creating affine expressions: this runs at every
/// position of the mask).
int64_t evalAffine(AffineExpr e, ArrayRef<int64_t> point) {
  if (auto d = dyn_cast<AffineDimExpr>(e))
    return point[d.getPosition()];
  if (auto c = dyn_cast<AffineConstantExpr>(e))
    return c.getValue();
  auto bin = cast<AffineBinaryOpExpr>(e);
  int64_t l = evalAffine(bin.getLHS(), point);
  int64_t r = evalAffine(bin.getRHS(), point);
  switch (e.getKind()) {
  case AffineExprKind::Add:
    return l + r;
  case AffineExprKind::Mul:
    return l * r;
  case AffineExprKind::FloorDiv:
    return llvm::divideFloorSigned(l, r);
  case AffineExprKind::CeilDiv:
    return llvm::divideCeilSigned(l, r);
  default:
    return llvm::mod(l, r);
  }
}

AbstractValue fromAttr(Attribute attr) {
  if (auto f = dyn_cast<FloatAttr>(attr))
    return AbstractValue::score(0.0, f.getValueAsDouble());
  if (auto i = dyn_cast<IntegerAttr>(attr)) {
    if (i.getType().isInteger(1))
      return AbstractValue::boolean(i.getValue().getBoolValue());
    return AbstractValue::integer(i.getValue().getSExtValue());
  }
  return {};
}

AbstractValue MaskEvaluator::eval(const Expr *e,
                                  ArrayRef<int64_t> point) const {
  switch (e->kind) {
  case Expr::Kind::Constant:
    return fromAttr(e->attr);
  case Expr::Kind::Index:
    return AbstractValue::integer(evalAffine(e->index, point));
  case Expr::Kind::Leaf: {
    DenseElementsAttr dense;
    if (e->indices.empty() || !matchPattern(e->value, m_Constant(&dense)))
      return {};
    ArrayRef<int64_t> shape = dense.getType().getShape();
    int64_t flat = 0;
    for (auto [index, size] : llvm::zip_equal(e->indices, shape))
      flat = flat * size + evalAffine(index, point);
    Type type = dense.getElementType();
    if (isa<FloatType>(type))
      return AbstractValue::score(
          0.0, dense.getValues<APFloat>()[flat].convertToDouble());
    APInt value = dense.getValues<APInt>()[flat];
    if (type.isInteger(1))
      return AbstractValue::boolean(value.getBoolValue());
    return AbstractValue::integer(value.getSExtValue());
  }
  case Expr::Kind::Reduce:
    if (isEqual(e, scores))
      return AbstractValue::score(1.0, scoresInit);
    return {};
  case Expr::Kind::Softmax:
    return {};
  case Expr::Kind::Op:
    return evalOp(e, point);
  }
  return {};
}

AbstractValue MaskEvaluator::evalOp(const Expr *e,
                                    ArrayRef<int64_t> point) const {
  SmallVector<AbstractValue, 3> v;
  for (const Expr *operand : e->operands) {
    v.push_back(eval(operand, point));
    if (v.back().kind == AbstractValue::Kind::Unknown)
      return {};
  }
  auto allOf = [&](AbstractValue::Kind kind) {
    return llvm::all_of(v,
                        [&](const AbstractValue &x) { return x.kind == kind; });
  };
  Operation *op = e->op;
  // Floats: a * S + c stays affine in S.
  if (isa<arith::AddFOp, arith::SubFOp>(op) &&
      allOf(AbstractValue::Kind::Score)) {
    double sign = isa<arith::AddFOp>(op) ? 1.0 : -1.0;
    return AbstractValue::score(v[0].a + sign * v[1].a, v[0].c + sign * v[1].c);
  }
  if (isa<arith::MulFOp>(op) && allOf(AbstractValue::Kind::Score)) {
    if (v[1].isConstant())
      std::swap(v[0], v[1]);
    if (!v[0].isConstant() || !std::isfinite(v[0].c))
      return {};
    return AbstractValue::score(v[0].c * v[1].a, v[0].c * v[1].c);
  }
  if (isa<arith::DivFOp>(op) && allOf(AbstractValue::Kind::Score)) {
    if (!v[1].isConstant() || v[1].c == 0.0 || !std::isfinite(v[1].c))
      return {};
    return AbstractValue::score(v[0].a / v[1].c, v[0].c / v[1].c);
  }
  if (isa<arith::NegFOp>(op) && v[0].isScore())
    return AbstractValue::score(-v[0].a, -v[0].c);
  if (isa<arith::ExtFOp, arith::TruncFOp, arith::IndexCastOp,
          arith::IndexCastUIOp, arith::ExtSIOp, arith::ExtUIOp>(op))
    return v[0];
  if (isa<arith::SIToFPOp, arith::UIToFPOp>(op) &&
      v[0].kind == AbstractValue::Kind::Int)
    return AbstractValue::score(0.0, double(v[0].i));
  if (isa<arith::SelectOp>(op) && v[0].kind == AbstractValue::Kind::Bool)
    return v[0].i ? v[1] : v[2];
  if (auto cmp = dyn_cast<arith::CmpIOp>(op)) {
    if (!allOf(AbstractValue::Kind::Int))
      return {};
    APInt lhs(64, v[0].i, /*isSigned=*/true), rhs(64, v[1].i, true);
    return AbstractValue::boolean(
        arith::applyCmpPredicate(cmp.getPredicate(), lhs, rhs));
  }
  if (isa<arith::AddIOp, arith::SubIOp, arith::MulIOp>(op) &&
      allOf(AbstractValue::Kind::Int)) {
    if (isa<arith::AddIOp>(op))
      return AbstractValue::integer(v[0].i + v[1].i);
    if (isa<arith::SubIOp>(op))
      return AbstractValue::integer(v[0].i - v[1].i);
    return AbstractValue::integer(v[0].i * v[1].i);
  }
  if (isa<arith::AndIOp, arith::OrIOp, arith::XOrIOp>(op) &&
      allOf(AbstractValue::Kind::Bool)) {
    bool l = v[0].i, r = v[1].i;
    if (isa<arith::AndIOp>(op))
      return AbstractValue::boolean(l && r);
    if (isa<arith::OrIOp>(op))
      return AbstractValue::boolean(l || r);
    return AbstractValue::boolean(l != r);
  }
  return {};
}

//===----------------------------------------------------------------------===//
// Matching
//===----------------------------------------------------------------------===//

/// A raised attention: the operands of dash.attention and its scale.
struct AttentionMatch {
  Value query, key, value;
  double scale;
};

/// The softmax over j of `p`'s argument, or null.
const Expr *matchSoftmax(const Expr *p) {
  p = stripCasts(p);
  if (p->kind == Expr::Kind::Softmax)
    return p->dim == kJ ? p->operands[0] : nullptr;
  if (!isOp(p, arith::DivFOp::getOperationName()))
    return nullptr;
  const Expr *numerator = p->operands[0], *sum = p->operands[1];
  if (sum->kind != Expr::Kind::Reduce || sum->dim != kJ ||
      !isa<arith::AddFOp>(sum->op) ||
      getFloatConstant(sum->operands[0]) != 0.0 ||
      !isEqual(numerator, sum->operands[1]) ||
      !isOp(numerator, math::ExpOp::getOperationName()))
    return nullptr;
  const Expr *x = numerator->operands[0];
  // exp(x - max_j x): the maximum only guards against overflow.
  if (isOp(x, arith::SubFOp::getOperationName())) {
    const Expr *max = x->operands[1];
    if (max->kind == Expr::Kind::Reduce && max->dim == kJ &&
        isa<arith::MaxNumFOp, arith::MaximumFOp>(max->op) &&
        isEqual(x->operands[0], max->operands[1]))
      return x->operands[0];
  }
  return x;
}

/// The contraction `sum_j P V` or `sum_x Q K`: its two operands, or nothing.
std::optional<std::pair<const Expr *, const Expr *>>
matchContraction(const Expr *e, unsigned dim) {
  if (e->kind != Expr::Kind::Reduce || e->dim != dim ||
      !isa<arith::AddFOp>(e->op))
    return std::nullopt;
  const Expr *product = stripCasts(e->operands[1]);
  if (!isOp(product, arith::MulFOp::getOperationName()))
    return std::nullopt;
  return std::make_pair(stripCasts(product->operands[0]),
                        stripCasts(product->operands[1]));
}

/// Finds the scores contraction (sum over x) in the logits.
const Expr *findScores(const Expr *e) {
  if (matchContraction(e, kX))
    return e;
  for (const Expr *operand : e->operands)
    if (const Expr *found = findScores(operand))
      return found;
  return nullptr;
}

class AttentionMatcher {
public:
  AttentionMatcher(Value output, ArrayRef<int64_t> extents)
      : output(output), extents(extents.begin(), extents.end()),
        builder(extents) {}

  /// Fails when `output` is not attention, and sets `rejection` to the reason
  /// when it is attention that cannot be raised.
  FailureOr<AttentionMatch> match(std::optional<std::string> &rejection);

  ArrayRef<Operation *> visitedOps() const { return builder.visitedOps(); }

private:
  AffineExpr dim(unsigned d) {
    return getAffineDimExpr(d, output.getContext());
  }
  /// Peels layout ops and constant factors off `leaf` and returns the deepest
  /// tensor of shape [B, heads, N, D] read at (b, h(heads), i or j, x), with
  /// the factor applied on the way to it.
  std::optional<std::pair<Value, double>>
  findOperand(const Expr *leaf, unsigned tokenDim, bool allowGroups);
  LogicalResult checkCausal(const Expr *logits, const Expr *scores,
                            double &scale, std::string &reason);

  Value output;
  SmallVector<int64_t> extents;
  ExprBuilder builder;
};

std::optional<std::pair<Value, double>>
AttentionMatcher::findOperand(const Expr *leaf, unsigned tokenDim,
                              bool allowGroups) {
  std::optional<std::pair<Value, double>> best;
  double factor = 1.0;
  while (leaf && leaf->kind == Expr::Kind::Leaf) {
    auto type = dyn_cast<RankedTensorType>(leaf->value.getType());
    if (type && type.hasStaticShape() && type.getRank() == 4) {
      ArrayRef<int64_t> shape = type.getShape();
      int64_t heads = shape[1];
      bool headsOk = heads == extents[kH] ||
                     (allowGroups && heads > 0 && extents[kH] % heads == 0);
      if (headsOk && shape[0] == extents[kB] && shape[2] == extents[kI] &&
          shape[3] == extents[kX]) {
        AffineExpr head = heads == extents[kH]
                              ? dim(kH)
                              : dim(kH).floorDiv(extents[kH] / heads);
        SmallVector<AffineExpr> expected = {dim(kB), head, dim(tokenDim),
                                            dim(kX)};
        for (AffineExpr &e : expected)
          e = builder.simplify(e);
        if (ArrayRef<AffineExpr>(leaf->indices) == ArrayRef(expected))
          best = std::make_pair(leaf->value, factor);
      }
    }
    auto next = builder.peel(leaf);
    if (!next)
      break;
    leaf = next->first;
    factor *= next->second;
  }
  return best;
}

LogicalResult AttentionMatcher::checkCausal(const Expr *logits,
                                            const Expr *scores, double &scale,
                                            std::string &reason) {
  std::optional<double> init = 0.0;
  if (const Expr *initExpr = scores->operands[0];
      initExpr->kind != Expr::Kind::Constant ||
      !(init = getFloatConstant(initExpr))) {
    reason = "the scores accumulate into a non-constant tensor";
    return failure();
  }
  MaskEvaluator evaluator(scores, *init);

  // The dimensions the mask depends on besides i and j.
  bool usesB = false, usesH = false;
  std::function<void(const Expr *)> collect = [&](const Expr *e) {
    auto note = [&](AffineExpr a) {
      usesB |= a.isFunctionOfDim(kB);
      usesH |= a.isFunctionOfDim(kH);
    };
    if (e->kind == Expr::Kind::Index)
      note(e->index);
    if (e->kind == Expr::Kind::Leaf)
      llvm::for_each(e->indices, note);
    if (e != scores)
      llvm::for_each(e->operands, collect);
  };
  collect(logits);
  int64_t batches = usesB ? extents[kB] : 1, heads = usesH ? extents[kH] : 1;
  int64_t n = extents[kI];
  if (batches * heads * n * n > kMaxMaskPoints) {
    reason = "the mask is too large to check";
    return failure();
  }

  Type elementType = getElementTypeOrSelf(output.getType());
  double lowest =
      -APFloat::getLargest(cast<FloatType>(elementType).getFloatSemantics())
           .convertToDouble();
  std::optional<double> factor;
  SmallVector<int64_t, kNumDims> point(kNumDims, 0);
  for (point[kB] = 0; point[kB] < batches; ++point[kB]) {
    for (point[kH] = 0; point[kH] < heads; ++point[kH]) {
      for (point[kI] = 0; point[kI] < n; ++point[kI]) {
        for (point[kJ] = 0; point[kJ] < n; ++point[kJ]) {
          AbstractValue v = evaluator.eval(logits, point);
          if (!v.isScore()) {
            reason = "the mask or scale is not a compile-time function of "
                     "the positions";
            return failure();
          }
          if (point[kJ] > point[kI]) {
            if (!(v.c <= lowest)) {
              reason = "the attention is not causal (DashAttention is)";
              return failure();
            }
            continue;
          }
          if (v.c <= lowest) {
            reason =
                "the mask hides keys at or before the query (DashAttention "
                "attends to all of them)";
            return failure();
          }
          if (v.c != 0.0 || !(v.a > 0.0) || (factor && *factor != v.a)) {
            reason = "the logits are not a uniform positive scaling of Q K^T "
                     "on and below the diagonal";
            return failure();
          }
          factor = v.a;
        }
      }
    }
  }
  scale = *factor;
  return success();
}

FailureOr<AttentionMatch>
AttentionMatcher::match(std::optional<std::string> &rejection) {
  // O[b, h, i, x] = sum_j P[b, h, i, j] V[b, g(h), j, x].
  const Expr *root = builder.read(output, {dim(kB), dim(kH), dim(kI), dim(kX)},
                                  /*deep=*/true);
  auto pv = matchContraction(root, kJ);
  if (!pv || getFloatConstant(root->operands[0]) != 0.0)
    return failure();
  SmallVector<AffineExpr> pIndices = {dim(kB), dim(kH), dim(kI), dim(kJ)};
  for (AffineExpr &e : pIndices)
    e = builder.simplify(e);
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto [p, v] = attempt == 0 ? *pv : std::make_pair(pv->second, pv->first);
    if (p->kind != Expr::Kind::Leaf || v->kind != Expr::Kind::Leaf ||
        ArrayRef<AffineExpr>(p->indices) != ArrayRef(pIndices))
      continue;
    const Expr *probs = builder.read(p->value, p->indices, /*deep=*/true);
    const Expr *logits = matchSoftmax(probs);
    if (!logits)
      continue;
    const Expr *scores = findScores(logits);
    if (!scores)
      continue;

    // From here on this is attention: say why it is not raised.
    auto reject = [&](const Twine &reason) -> FailureOr<AttentionMatch> {
      rejection = reason.str();
      return failure();
    };
    if (builder.exhausted())
      return reject("the attention is too large an expression");
    auto [a, b] = *matchContraction(scores, kX);
    AttentionMatch match;
    auto query = findOperand(a, kI, /*allowGroups=*/false);
    auto key = findOperand(b, kJ, /*allowGroups=*/true);
    if (!query || !key) {
      query = findOperand(b, kI, false);
      key = findOperand(a, kJ, true);
    }
    auto value = findOperand(v, kJ, /*allowGroups=*/true);
    if (!query || !key || !value)
      return reject("Q, K and V are not [B, H or Hkv, N, D] tensors of one "
                    "sequence length and head dimension");
    if (value->second != 1.0)
      return reject("V is scaled");
    match.query = query->first;
    match.key = key->first;
    match.value = value->first;
    if (match.key.getType() != match.value.getType())
      return reject("K and V differ in shape or element type");
    Type elementType = getElementTypeOrSelf(output.getType());
    if (getElementTypeOrSelf(match.query.getType()) != elementType ||
        getElementTypeOrSelf(match.key.getType()) != elementType)
      return reject("Q, K, V and the output differ in element type");

    std::string reason;
    double logitScale = 1.0;
    if (failed(checkCausal(logits, scores, logitScale, reason)))
      return reject(reason);
    match.scale = logitScale * query->second * key->second;
    return match;
  }
  return failure();
}

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

struct DashRaiseAttentionPass
    : mlir::dash::impl::DashRaiseAttentionBase<DashRaiseAttentionPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<std::pair<Value, AttentionMatch>> found;
    llvm::SetVector<Operation *> visited;
    getOperation()->walk([&](Operation *op) {
      if (!isa<linalg::LinalgOp, tensor::ExpandShapeOp>(op) ||
          op->getNumResults() != 1)
        return;
      Value output = op->getResult(0);
      auto type = dyn_cast<RankedTensorType>(output.getType());
      if (!type || type.getRank() != 4 || !type.hasStaticShape() ||
          !isa<FloatType>(type.getElementType()))
        return;
      ArrayRef<int64_t> s = type.getShape();
      AttentionMatcher matcher(output, {s[0], s[1], s[2], s[2], s[3]});
      std::optional<std::string> rejection;
      FailureOr<AttentionMatch> match = matcher.match(rejection);
      if (failed(match)) {
        if (rejection)
          op->emitRemark("dash-raise-attention: not raised: ") << *rejection;
        return;
      }
      // A copy or reshape of a raised output matches as well: keep the
      // first (innermost) match only.
      if (llvm::any_of(matcher.visitedOps(), [&](Operation *visitedOp) {
            return llvm::any_of(found, [&](auto &f) {
              return f.first.getDefiningOp() == visitedOp;
            });
          }))
        return;
      found.push_back({output, *match});
      visited.insert_range(matcher.visitedOps());
    });

    IRRewriter rewriter(&getContext());
    for (auto &[output, match] : found) {
      rewriter.setInsertionPointAfterValue(output);
      Builder &b = rewriter;
      auto attention = AttentionOp::create(
          rewriter, output.getLoc(), output.getType(), Type(), Type(),
          match.query, match.key, match.value, Value(),
          b.getF64FloatAttr(alpha), b.getI64IntegerAttr(blockSize),
          b.getF64FloatAttr(gamma), b.getF64FloatAttr(sigma),
          PriorModeAttr::get(&getContext(), prior),
          b.getI64IntegerAttr(localBlocks), b.getI64IntegerAttr(initBlocks),
          b.getF64FloatAttr(match.scale),
          RouterGradAttr::get(&getContext(), RouterGrad::Full));
      // Options out of range (e.g. alpha <= 1) are reported by the verifier.
      if (failed(verify(attention)))
        return signalPassFailure();
      rewriter.replaceAllUsesWith(output, attention.getOutput());
    }

    // The dense attention is dead unless something else reads parts of it;
    // erasing an op may leave its operands' producers (e.g. tensor.empty)
    // dead in turn.
    SmallVector<Operation *> worklist(visited.begin(), visited.end());
    llvm::DenseSet<Operation *> erased;
    while (!found.empty() && !worklist.empty()) {
      Operation *op = worklist.pop_back_val();
      if (erased.contains(op) || !isOpTriviallyDead(op))
        continue;
      // Values captured by the op's regions count as well.
      op->walk([&](Operation *nested) {
        for (Value operand : nested->getOperands())
          if (Operation *def = operand.getDefiningOp();
              def && !op->isAncestor(def))
            worklist.push_back(def);
      });
      erased.insert(op);
      rewriter.eraseOp(op);
    }
  }
};

} // namespace
