//===- DashOps.cpp - Dash dialect and op verifiers -----------------------===//

#include "dash/Dialect/Dash/IR/Dash.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <cstdio>
#include <limits>

using namespace mlir;
using namespace mlir::dash;

#include "dash/Dialect/Dash/IR/DashDialect.cpp.inc"
#include "dash/Dialect/Dash/IR/DashEnums.cpp.inc"
#include "dash/Dialect/Dash/IR/DashInterfaces.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dash/Dialect/Dash/IR/DashAttrs.cpp.inc"

void DashDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dash/Dialect/Dash/IR/DashAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dash/Dialect/Dash/IR/DashOps.cpp.inc"
      >();
}

double mlir::dash::resolveScale(FloatAttr scale, int64_t headDim) {
  if (scale)
    return scale.getValueAsDouble();
  return 1.0 / std::sqrt(static_cast<double>(headDim));
}

//===----------------------------------------------------------------------===//
// Verification helpers
//===----------------------------------------------------------------------===//

namespace {
/// Checks that operands agree on the spec's named sizes (B, H, Hkv, N, D,
/// ...). The first operand that fixes a size is remembered so that a mismatch
/// names both operands and dimensions. Failure is sticky: only the first
/// problem is reported, so every error has exactly one diagnostic.
class ShapeChecker {
public:
  explicit ShapeChecker(Operation *op) : op(op) {}

  /// Requires `value` (called `name`) to be a tensor of `rank` dimensions.
  ShapeChecker &rank(StringRef name, Value value, int64_t rank) {
    if (failed)
      return *this;
    int64_t actual = cast<ShapedType>(value.getType()).getRank();
    if (actual != rank)
      fail() << name << " must have rank " << rank << ", got rank " << actual;
    return *this;
  }

  /// Binds dimension `dim` of `name` to the named size `sym`, checking it
  /// against earlier bindings. Dynamic dimensions bind nothing.
  ShapeChecker &bind(StringRef sym, StringRef name, Value value, unsigned dim) {
    if (failed)
      return *this;
    int64_t size = cast<ShapedType>(value.getType()).getDimSize(dim);
    if (ShapedType::isDynamic(size))
      return *this;
    auto [it, inserted] = bindings.try_emplace(
        sym, Binding{("dimension " + Twine(dim) + " of " + name).str(), size});
    if (!inserted && it->second.size != size)
      fail() << "dimension " << dim << " (" << sym << ") of " << name << " is "
             << size << ", but " << it->second.origin << " is "
             << it->second.size;
    return *this;
  }

  /// Binds `sym` to a size derived from other sizes (e.g. Mc from N), so
  /// later `bind`s are checked against it.
  ShapeChecker &derive(StringRef sym, StringRef from,
                       function_ref<int64_t(int64_t)> fn, StringRef formula) {
    if (failed)
      return *this;
    auto it = bindings.find(from);
    if (it != bindings.end())
      bindings.try_emplace(sym, Binding{(formula + " with " + from + " = " +
                                         Twine(it->second.size))
                                            .str(),
                                        fn(it->second.size)});
    return *this;
  }

  /// Requires size `num` to be a multiple of size `den`.
  ShapeChecker &divisible(StringRef num, StringRef den) {
    if (failed)
      return *this;
    auto n = bindings.find(num), d = bindings.find(den);
    if (n == bindings.end() || d == bindings.end())
      return *this;
    if (d->second.size == 0 || n->second.size % d->second.size != 0)
      fail() << num << " = " << n->second.size << " (" << n->second.origin
             << ") must be a multiple of " << den << " = " << d->second.size
             << " (" << d->second.origin << ")";
    return *this;
  }

  /// Requires size `sym`, when known, to be nonzero; otherwise reports
  /// `message`.
  ShapeChecker &nonZero(StringRef sym, const Twine &message) {
    auto it = bindings.find(sym);
    if (!failed && it != bindings.end() && it->second.size == 0)
      fail() << message;
    return *this;
  }

  /// Requires two values to have the same element type.
  ShapeChecker &sameElementType(StringRef aName, Value a, StringRef bName,
                                Value b) {
    if (failed)
      return *this;
    Type aType = getElementTypeOrSelf(a.getType());
    Type bType = getElementTypeOrSelf(b.getType());
    if (aType != bType)
      fail() << "element type of " << aName << " (" << aType
             << ") must match element type of " << bName << " (" << bType
             << ")";
    return *this;
  }

  /// Requires `cond`; otherwise reports `message`.
  ShapeChecker &require(bool cond, const Twine &message) {
    if (!failed && !cond)
      fail() << message;
    return *this;
  }

  LogicalResult result() const { return failure(failed); }

private:
  struct Binding {
    std::string origin;
    int64_t size;
  };

  InFlightDiagnostic fail() {
    failed = true;
    return op->emitOpError();
  }

  Operation *op;
  bool failed = false;
  llvm::StringMap<Binding> bindings;
};

int64_t floorBlocks(int64_t n, int64_t bk) { return numCompleteBlocks(n, bk); }
int64_t ceilBlocks(int64_t n, int64_t bk) { return numBlocks(n, bk); }

bool isFinite(double x) { return std::isfinite(x); }

/// Attribute values in diagnostics, shortest form ("1.5", "-inf").
std::string str(double x) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", x);
  return buffer;
}

/// Attribute checks shared by the ops. Block-dependent shape derivations run
/// only once block_size is known to be valid.
ShapeChecker &checkBlockSize(ShapeChecker &c, int64_t blockSize) {
  return c.require(blockSize >= 1,
                   "block_size must be >= 1, got " + Twine(blockSize));
}

ShapeChecker &checkScale(ShapeChecker &c, FloatAttr scale) {
  if (!scale)
    return c;
  double value = scale.getValueAsDouble();
  // The GPU kernels scale in float32 (times log2(e) in the fine attention):
  // a scale that is 0 or inf there would make every score NaN.
  return c
      .require(isFinite(value) && value > 0.0,
               "scale must be finite and > 0, got " + str(value))
      .require(value >= std::numeric_limits<float>::min() &&
                   value <= std::numeric_limits<float>::max() / 2,
               "scale must be a normal float32 at most 2^127 (1.2e-38 to "
               "1.7e38), got " +
                   str(value));
}

/// Called once D is bound: the default scale 1/sqrt(D) is infinite for
/// D = 0 and would make every score 0 * inf = NaN.
ShapeChecker &checkDefaultScale(ShapeChecker &c, FloatAttr scale) {
  if (scale)
    return c;
  return c.nonZero("D", "D = 0 needs an explicit scale (the default "
                        "1/sqrt(D) is infinite)");
}

ShapeChecker &checkAlpha(ShapeChecker &c, double alpha) {
  return c.require(isFinite(alpha) && alpha > 1.0,
                   "alpha must be finite and > 1, got " + str(alpha));
}

ShapeChecker &checkPositive(ShapeChecker &c, StringRef name, double value) {
  return c.require(isFinite(value) && value > 0.0,
                   name + " must be finite and > 0, got " + str(value));
}

ShapeChecker &checkNonNegative(ShapeChecker &c, StringRef name, int64_t value) {
  return c.require(value >= 0, name + " must be >= 0, got " + Twine(value));
}

/// Binds B, H, N, D of a query-shaped [B, H, N, D] tensor.
ShapeChecker &bindQueryLike(ShapeChecker &c, StringRef name, Value v) {
  return c.rank(name, v, 4)
      .bind("B", name, v, 0)
      .bind("H", name, v, 1)
      .bind("N", name, v, 2)
      .bind("D", name, v, 3);
}

/// Binds B, Hkv, N, D of a key-shaped [B, Hkv, N, D] tensor.
ShapeChecker &bindKeyLike(ShapeChecker &c, StringRef name, Value v) {
  return c.rank(name, v, 4)
      .bind("B", name, v, 0)
      .bind("Hkv", name, v, 1)
      .bind("N", name, v, 2)
      .bind("D", name, v, 3);
}

ShapeChecker &bindSummaryQuery(ShapeChecker &c, Value w) {
  if (!w)
    return c;
  return c.rank("summary_query", w, 2)
      .bind("Hkv", "summary_query", w, 0)
      .bind("D", "summary_query", w, 1);
}

/// Derives Mc and M from N once the block size is known to be valid.
ShapeChecker &deriveBlocks(ShapeChecker &c, int64_t blockSize) {
  if (blockSize < 1)
    return c;
  return c
      .derive(
          "Mc", "N", [&](int64_t n) { return floorBlocks(n, blockSize); },
          "floor(N / block_size)")
      .derive(
          "M", "N", [&](int64_t n) { return ceilBlocks(n, blockSize); },
          "ceil(N / block_size)");
}
} // namespace

//===----------------------------------------------------------------------===//
// Op verifiers
//===----------------------------------------------------------------------===//

LogicalResult SummarizeOp::verify() {
  ShapeChecker c(*this);
  checkBlockSize(c, getBlockSize());
  checkScale(c, getScaleAttr());
  bindKeyLike(c, "key", getKey());
  bindSummaryQuery(c, getSummaryQuery());
  if (getSummaryQuery())
    c.sameElementType("summary_query", getSummaryQuery(), "key", getKey());
  deriveBlocks(c, getBlockSize());
  c.rank("init", getInit(), 4)
      .bind("B", "init", getInit(), 0)
      .bind("Hkv", "init", getInit(), 1)
      .bind("Mc", "init", getInit(), 2)
      .bind("D", "init", getInit(), 3);
  return c.result();
}

LogicalResult RouteLogitsOp::verify() {
  ShapeChecker c(*this);
  checkBlockSize(c, getBlockSize());
  checkScale(c, getScaleAttr());
  checkPositive(c, "gamma", getGamma().convertToDouble());
  bindQueryLike(c, "query", getQuery());
  deriveBlocks(c, getBlockSize());
  c.rank("summaries", getSummaries(), 4)
      .bind("B", "summaries", getSummaries(), 0)
      .bind("Hkv", "summaries", getSummaries(), 1)
      .bind("Mc", "summaries", getSummaries(), 2)
      .bind("D", "summaries", getSummaries(), 3)
      .divisible("H", "Hkv");
  c.rank("init", getInit(), 4)
      .bind("B", "init", getInit(), 0)
      .bind("H", "init", getInit(), 1)
      .bind("N", "init", getInit(), 2)
      .bind("Mc", "init", getInit(), 3);
  checkDefaultScale(c, getScaleAttr());
  return c.result();
}

LogicalResult EntmaxOp::verify() {
  ShapeChecker c(*this);
  checkAlpha(c, getAlpha().convertToDouble());
  auto inputType = cast<RankedTensorType>(getInput().getType());
  int64_t rank = inputType.getRank();
  int64_t dim = getDimension();
  c.require(rank >= 1, "input must have rank >= 1");
  c.require(dim >= 0 && dim < rank, "dimension " + Twine(dim) +
                                        " is out of range for input of rank " +
                                        Twine(rank));
  if (c.result().failed())
    return failure();
  if (Value mask = getMask())
    c.require(cast<RankedTensorType>(mask.getType()).getShape() ==
                  inputType.getShape(),
              "mask shape must match input shape");
  c.sameElementType("probs_init", getProbsInit(), "input", getInput())
      .sameElementType("tau_init", getTauInit(), "input", getInput())
      .require(cast<RankedTensorType>(getProbsInit().getType()).getShape() ==
                   inputType.getShape(),
               "probs_init shape must match input shape");
  auto tauShape = cast<RankedTensorType>(getTauInit().getType()).getShape();
  SmallVector<int64_t> expected(inputType.getShape());
  expected.erase(expected.begin() + dim);
  c.require(ArrayRef<int64_t>(expected) == tauShape,
            "tau_init shape must be the input shape without dimension " +
                Twine(dim));
  return c.result();
}

/// Attributes and the probs operand shared by dash.block_prior and its
/// gradient.
template <typename OpTy>
static ShapeChecker &checkBlockPrior(ShapeChecker &c, OpTy op) {
  checkBlockSize(c, op.getBlockSize());
  checkPositive(c, "sigma", op.getSigma().convertToDouble());
  checkNonNegative(c, "local_blocks", op.getLocalBlocks());
  checkNonNegative(c, "init_blocks", op.getInitBlocks());
  c.rank("probs", op.getProbs(), 4)
      .bind("B", "probs", op.getProbs(), 0)
      .bind("H", "probs", op.getProbs(), 1)
      .bind("N", "probs", op.getProbs(), 2);
  deriveBlocks(c, op.getBlockSize());
  return c.bind("Mc", "probs", op.getProbs(), 3);
}

LogicalResult BlockPriorOp::verify() {
  ShapeChecker c(*this);
  checkBlockPrior(c, *this)
      .rank("prior_init", getPriorInit(), 4)
      .bind("B", "prior_init", getPriorInit(), 0)
      .bind("Hkv", "prior_init", getPriorInit(), 1)
      .bind("N", "prior_init", getPriorInit(), 2)
      .bind("M", "prior_init", getPriorInit(), 3)
      .divisible("H", "Hkv")
      .rank("counts_init", getCountsInit(), 3)
      .bind("B", "counts_init", getCountsInit(), 0)
      .bind("Hkv", "counts_init", getCountsInit(), 1)
      .bind("N", "counts_init", getCountsInit(), 2);
  return c.result();
}

/// Shapes and attributes shared by dash.sparse_attention and its gradient.
/// Binds B, Hkv, N, M of a [B, Hkv, N, M] tensor (log-prior and its
/// gradient).
static ShapeChecker &bindPriorLike(ShapeChecker &c, StringRef name, Value v) {
  return c.rank(name, v, 4)
      .bind("B", name, v, 0)
      .bind("Hkv", name, v, 1)
      .bind("N", name, v, 2)
      .bind("M", name, v, 3);
}

template <typename OpTy>
static ShapeChecker &checkSparseAttention(ShapeChecker &c, OpTy op) {
  checkBlockSize(c, op.getBlockSize());
  checkScale(c, op.getScaleAttr());
  bindQueryLike(c, "query", op.getQuery());
  bindKeyLike(c, "key", op.getKey());
  bindKeyLike(c, "value", op.getValue());
  c.divisible("H", "Hkv")
      .sameElementType("key", op.getKey(), "query", op.getQuery())
      .sameElementType("value", op.getValue(), "query", op.getQuery());
  deriveBlocks(c, op.getBlockSize());
  bindPriorLike(c, "log_prior", op.getLogPrior());
  return checkDefaultScale(c, op.getScaleAttr());
}

/// Binds B, H, N of a [B, H, N] tensor (LSE).
static ShapeChecker &bindRowLike(ShapeChecker &c, StringRef name, Value v) {
  return c.rank(name, v, 3)
      .bind("B", name, v, 0)
      .bind("H", name, v, 1)
      .bind("N", name, v, 2);
}

LogicalResult SparseAttentionOp::verify() {
  ShapeChecker c(*this);
  checkSparseAttention(c, *this);
  c.sameElementType("output_init", getOutputInit(), "query", getQuery());
  bindQueryLike(c, "output_init", getOutputInit());
  bindRowLike(c, "lse_init", getLseInit());
  return c.result();
}

/// What the tensor-core kernels of the fine attention and its gradient
/// implement: static shapes and tensorCoreKernelLimits.
template <typename OpTy>
static ShapeChecker &checkKernelLimits(ShapeChecker &c, OpTy op) {
  for (Value operand : op->getOperands())
    c.require(cast<ShapedType>(operand.getType()).hasStaticShape(),
              "the tensor-core kernels need static shapes");
  std::string limits =
      tensorCoreKernelLimits(op.getQuery().getType(), op.getBlockSize());
  return c.require(limits.empty(), limits);
}

LogicalResult SparseAttentionKernelOp::verify() {
  ShapeChecker c(*this);
  checkSparseAttention(c, *this);
  c.sameElementType("output", getOutput(), "query", getQuery());
  bindQueryLike(c, "output", getOutput());
  bindRowLike(c, "lse", getLse());
  return checkKernelLimits(c, *this).result();
}

LogicalResult SparseAttentionGradKernelOp::verify() {
  ShapeChecker c(*this);
  checkSparseAttention(c, *this);
  c.sameElementType("output", getOutput(), "query", getQuery())
      .sameElementType("output_grad", getOutputGrad(), "query", getQuery());
  bindQueryLike(c, "output", getOutput());
  bindRowLike(c, "lse", getLse());
  bindQueryLike(c, "output_grad", getOutputGrad());
  bindQueryLike(c, "query_grad", getQueryGrad());
  bindKeyLike(c, "key_grad", getKeyGrad());
  bindKeyLike(c, "value_grad", getValueGrad());
  bindPriorLike(c, "log_prior_grad", getLogPriorGrad());
  return checkKernelLimits(c, *this).result();
}

std::string mlir::dash::tensorCoreKernelLimits(ShapedType query,
                                               int64_t blockSize) {
  Type element = query.getElementType();
  if (!element.isBF16() && !element.isF16())
    return "the tensor-core kernels need bf16 or f16 operands";
  if (blockSize != 64)
    return "block_size must be 64";
  int64_t headDim = query.getDimSize(3);
  if (headDim != 64 && headDim != 128)
    return "head dimension must be 64 or 128, got " + std::to_string(headDim);
  return "";
}

RouterKernelTile mlir::dash::routerKernelTile(int64_t group,
                                              int64_t completeBlocks,
                                              int64_t headDim) {
  // Rows are padded to 8 mod 32 floats: the 8 lanes of each of a warp's 4
  // rows then read 32 distinct banks while solving entmax.
  constexpr int64_t kSharedBudget = 160 * 1024, kMaxRows = 64;
  static_assert(kRouterLanesPerRow == 8, "the padding assumes 8 lanes a row");
  RouterKernelTile tile;
  tile.rowStride = llvm::alignTo(std::max<int64_t>(completeBlocks, 1), 32) + 8;
  // Most tokens first: each CTA reads the group's summaries once.
  for (int64_t tokens = 64; tokens >= 1; tokens /= 2) {
    int64_t rows = group * tokens;
    if (rows % 16 != 0 || rows > kMaxRows)
      continue;
    int64_t warps = rows * kRouterLanesPerRow / 32;
    int64_t warpsPerToken = std::max<int64_t>(1, warps / tokens);
    int64_t queryOffset = llvm::alignTo(
        (rows * (tile.rowStride + 1) + 3 * tokens * warpsPerToken) * 4, 16);
    int64_t bytes = queryOffset + rows * (headDim + 8) * 2;
    if (bytes > kSharedBudget)
      continue;
    tile.tokens = tokens;
    tile.rows = rows;
    tile.warps = warps;
    tile.warpsPerToken = warpsPerToken;
    tile.queryOffset = queryOffset;
    tile.sharedBytes = bytes;
    return tile;
  }
  return RouterKernelTile{};
}

std::string mlir::dash::routerKernelLimits(ShapedType query, int64_t kvHeads,
                                           int64_t blockSize, double alpha) {
  if (std::string limits = tensorCoreKernelLimits(query, blockSize);
      !limits.empty())
    return limits;
  if (!(alpha > 1.0 && alpha <= 2.0))
    return "alpha must be in (1, 2], got " + str(alpha);
  if (kvHeads < 1 || query.getDimSize(1) % kvHeads != 0)
    return "H must be a multiple of Hkv";
  int64_t group = query.getDimSize(1) / kvHeads;
  int64_t complete = numCompleteBlocks(query.getDimSize(2), blockSize);
  if (routerKernelTile(group, complete, query.getDimSize(3)).tokens == 0)
    return "no tile of G = " + std::to_string(group) +
           " heads fits: G times a power of two up to 64 must be a multiple "
           "of 16, and the rows' " +
           std::to_string(complete) +
           " logits and queries must fit in shared memory";
  return "";
}

LogicalResult RouterKernelOp::verify() {
  ShapeChecker c(*this);
  checkBlockSize(c, getBlockSize());
  checkScale(c, getScaleAttr());
  checkPositive(c, "gamma", getGamma().convertToDouble());
  checkAlpha(c, getAlpha().convertToDouble());
  checkPositive(c, "sigma", getSigma().convertToDouble());
  checkNonNegative(c, "local_blocks", getLocalBlocks());
  checkNonNegative(c, "init_blocks", getInitBlocks());
  bindQueryLike(c, "query", getQuery());
  deriveBlocks(c, getBlockSize());
  c.rank("summaries", getSummaries(), 4)
      .bind("B", "summaries", getSummaries(), 0)
      .bind("Hkv", "summaries", getSummaries(), 1)
      .bind("Mc", "summaries", getSummaries(), 2)
      .bind("D", "summaries", getSummaries(), 3)
      .divisible("H", "Hkv")
      .rank("log_prior", getLogPrior(), 4)
      .bind("B", "log_prior", getLogPrior(), 0)
      .bind("Hkv", "log_prior", getLogPrior(), 1)
      .bind("N", "log_prior", getLogPrior(), 2)
      .bind("M", "log_prior", getLogPrior(), 3)
      .rank("counts", getCounts(), 3)
      .bind("B", "counts", getCounts(), 0)
      .bind("Hkv", "counts", getCounts(), 1)
      .bind("N", "counts", getCounts(), 2);
  if (Value probs = getProbs())
    c.rank("probs", probs, 4)
        .bind("B", "probs", probs, 0)
        .bind("H", "probs", probs, 1)
        .bind("N", "probs", probs, 2)
        .bind("Mc", "probs", probs, 3);
  checkDefaultScale(c, getScaleAttr());
  for (Value operand : getOperation()->getOperands())
    c.require(cast<ShapedType>(operand.getType()).hasStaticShape(),
              "the router kernel needs static shapes");
  if (failed(c.result()))
    return failure();
  std::string limits = routerKernelLimits(
      getQuery().getType(), getSummaries().getType().getDimSize(1),
      getBlockSize(), getAlpha().convertToDouble());
  return c.require(limits.empty(), limits).result();
}

LogicalResult SparseAttentionGradOp::verify() {
  ShapeChecker c(*this);
  checkSparseAttention(c, *this);
  bindQueryLike(c, "output", getOutput());
  bindRowLike(c, "lse", getLse());
  bindQueryLike(c, "output_grad", getOutputGrad());
  bindQueryLike(c, "query_grad_init", getQueryGradInit());
  bindKeyLike(c, "key_grad_init", getKeyGradInit());
  bindKeyLike(c, "value_grad_init", getValueGradInit());
  return bindPriorLike(c, "log_prior_grad_init", getLogPriorGradInit())
      .result();
}

/// Attributes and input shapes shared by dash.attention and its gradient.
template <typename OpTy>
static ShapeChecker &checkAttention(ShapeChecker &c, OpTy op) {
  checkAlpha(c, op.getAlpha().convertToDouble());
  checkBlockSize(c, op.getBlockSize());
  checkScale(c, op.getScaleAttr());
  checkPositive(c, "gamma", op.getGamma().convertToDouble());
  checkPositive(c, "sigma", op.getSigma().convertToDouble());
  checkNonNegative(c, "local_blocks", op.getLocalBlocks());
  checkNonNegative(c, "init_blocks", op.getInitBlocks());
  bindQueryLike(c, "query", op.getQuery());
  bindKeyLike(c, "key", op.getKey());
  bindKeyLike(c, "value", op.getValue());
  bindSummaryQuery(c, op.getSummaryQuery());
  c.divisible("H", "Hkv")
      .sameElementType("key", op.getKey(), "query", op.getQuery())
      .sameElementType("value", op.getValue(), "query", op.getQuery());
  if (op.getSummaryQuery())
    c.sameElementType("summary_query", op.getSummaryQuery(), "query",
                      op.getQuery());
  return checkDefaultScale(c, op.getScaleAttr());
}

LogicalResult AttentionOp::verify() {
  ShapeChecker c(*this);
  checkAttention(c, *this);
  c.sameElementType("output", getOutput(), "query", getQuery());
  bindQueryLike(c, "output", getOutput());
  if (Value lse = getLse())
    bindRowLike(c, "lse", lse);
  if (Value counts = getCounts())
    c.rank("counts", counts, 3)
        .bind("B", "counts", counts, 0)
        .bind("Hkv", "counts", counts, 1)
        .bind("N", "counts", counts, 2);
  return c.result();
}

LogicalResult AttentionGradOp::verify() {
  ShapeChecker c(*this);
  checkAttention(c, *this);
  bindQueryLike(c, "output", getOutput());
  bindRowLike(c, "lse", getLse());
  bindQueryLike(c, "output_grad", getOutputGrad());
  c.sameElementType("query_grad", getQueryGrad(), "query", getQuery())
      .sameElementType("key_grad", getKeyGrad(), "query", getQuery())
      .sameElementType("value_grad", getValueGrad(), "query", getQuery());
  bindQueryLike(c, "query_grad", getQueryGrad());
  bindKeyLike(c, "key_grad", getKeyGrad());
  bindKeyLike(c, "value_grad", getValueGrad());
  c.require(static_cast<bool>(getSummaryQuery()) ==
                static_cast<bool>(getSummaryQueryGrad()),
            "summary_query_grad must be returned exactly when summary_query "
            "is given");
  if (Value dw = getSummaryQueryGrad()) {
    c.rank("summary_query_grad", dw, 2)
        .bind("Hkv", "summary_query_grad", dw, 0)
        .bind("D", "summary_query_grad", dw, 1)
        .sameElementType("summary_query_grad", dw, "query", getQuery());
  }
  return c.result();
}

LogicalResult SummarizeGradOp::verify() {
  ShapeChecker c(*this);
  checkBlockSize(c, getBlockSize());
  checkScale(c, getScaleAttr());
  bindKeyLike(c, "key", getKey());
  bindSummaryQuery(c, getSummaryQuery());
  deriveBlocks(c, getBlockSize());
  c.rank("summaries_grad", getSummariesGrad(), 4)
      .bind("B", "summaries_grad", getSummariesGrad(), 0)
      .bind("Hkv", "summaries_grad", getSummariesGrad(), 1)
      .bind("Mc", "summaries_grad", getSummariesGrad(), 2)
      .bind("D", "summaries_grad", getSummariesGrad(), 3);
  bindKeyLike(c, "key_grad_init", getKeyGradInit());
  c.require(static_cast<bool>(getSummaryQuery()) ==
                static_cast<bool>(getSummaryQueryGradInit()),
            "summary_query_grad_init must be given exactly when "
            "summary_query is given");
  if (Value dw = getSummaryQueryGradInit())
    c.rank("summary_query_grad_init", dw, 2)
        .bind("Hkv", "summary_query_grad_init", dw, 0)
        .bind("D", "summary_query_grad_init", dw, 1);
  return c.result();
}

/// Shapes of the routing-logit gradient: query, summaries, logits_grad and
/// the two gradients `queryGrad` (query-like) and `summariesGrad`.
template <typename OpTy>
static ShapeChecker &
checkRouteLogitsGrad(ShapeChecker &c, OpTy op, StringRef queryGradName,
                     Value queryGrad, StringRef summariesGradName,
                     Value summariesGrad) {
  checkBlockSize(c, op.getBlockSize());
  checkScale(c, op.getScaleAttr());
  checkPositive(c, "gamma", op.getGamma().convertToDouble());
  bindQueryLike(c, "query", op.getQuery());
  deriveBlocks(c, op.getBlockSize());
  auto bindSummaries = [&](StringRef name, Value v) -> ShapeChecker & {
    return c.rank(name, v, 4)
        .bind("B", name, v, 0)
        .bind("Hkv", name, v, 1)
        .bind("Mc", name, v, 2)
        .bind("D", name, v, 3);
  };
  bindSummaries("summaries", op.getSummaries()).divisible("H", "Hkv");
  c.rank("logits_grad", op.getLogitsGrad(), 4)
      .bind("B", "logits_grad", op.getLogitsGrad(), 0)
      .bind("H", "logits_grad", op.getLogitsGrad(), 1)
      .bind("N", "logits_grad", op.getLogitsGrad(), 2)
      .bind("Mc", "logits_grad", op.getLogitsGrad(), 3);
  bindQueryLike(c, queryGradName, queryGrad);
  return bindSummaries(summariesGradName, summariesGrad);
}

LogicalResult RouteLogitsGradKernelOp::verify() {
  ShapeChecker c(*this);
  checkRouteLogitsGrad(c, *this, "query_grad", getQueryGrad(), "summaries_grad",
                       getSummariesGrad());
  c.require(getSummaries().getType().getDimSize(2) >= 1,
            "the kernel needs at least one complete block");
  return checkKernelLimits(c, *this).result();
}

LogicalResult RouteLogitsGradOp::verify() {
  ShapeChecker c(*this);
  checkRouteLogitsGrad(c, *this, "query_grad_init", getQueryGradInit(),
                       "summaries_grad_init", getSummariesGradInit());
  return c.result();
}

LogicalResult EntmaxGradOp::verify() {
  ShapeChecker c(*this);
  checkAlpha(c, getAlpha().convertToDouble());
  ArrayRef<int64_t> shape =
      cast<RankedTensorType>(getProbs().getType()).getShape();
  int64_t dim = getDimension();
  c.require(dim >= 0 && dim < static_cast<int64_t>(shape.size()),
            "dimension " + Twine(dim) + " is out of range for probs of rank " +
                Twine(shape.size()));
  c.require(cast<RankedTensorType>(getProbsGrad().getType()).getShape() ==
                shape,
            "probs_grad shape must match probs shape")
      .require(cast<RankedTensorType>(getInit().getType()).getShape() == shape,
               "init shape must match probs shape");
  return c.result();
}

LogicalResult BlockPriorGradOp::verify() {
  ShapeChecker c(*this);
  checkBlockPrior(c, *this)
      .rank("prior_grad", getPriorGrad(), 4)
      .bind("B", "prior_grad", getPriorGrad(), 0)
      .bind("Hkv", "prior_grad", getPriorGrad(), 1)
      .bind("N", "prior_grad", getPriorGrad(), 2)
      .bind("M", "prior_grad", getPriorGrad(), 3)
      .divisible("H", "Hkv")
      .require(cast<RankedTensorType>(getInit().getType()).getShape() ==
                   cast<RankedTensorType>(getProbs().getType()).getShape(),
               "init shape must match probs shape");
  return c.result();
}

#define GET_OP_CLASSES
#include "dash/Dialect/Dash/IR/DashOps.cpp.inc"
