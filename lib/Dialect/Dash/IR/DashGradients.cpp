//===- DashGradients.cpp - Vector-Jacobian products of the dash ops ------===//
//
// DifferentiableOpInterface of each forward op: it emits the matching
// gradient op (spec section 3) with fresh destinations. Gradients have the
// element type of their primal value.
//
//===----------------------------------------------------------------------===//

#include "dash/Dialect/Dash/IR/Dash.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::dash;

/// A destination shaped and typed like `like`.
static Value emptyLike(OpBuilder &b, Location loc, Value like) {
  return tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, like),
                                 getElementTypeOrSelf(like));
}

/// Fails on `op` when the gradient of result `index` (`what`) is given: Dash
/// does not propagate it.
static LogicalResult rejectGradient(Operation *op, ArrayRef<Value> resultGrads,
                                    unsigned index, StringRef what) {
  if (!resultGrads[index])
    return success();
  return op->emitOpError("cannot propagate a gradient through its ")
         << what << " result";
}

LogicalResult
SummarizeOp::buildVectorJacobianProduct(OpBuilder &b,
                                        ArrayRef<Value> resultGrads,
                                        SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(getNumOperands(), Value());
  if (!resultGrads[0])
    return success();
  Location loc = getLoc();
  Value w = getSummaryQuery();
  Value dwInit = w ? emptyLike(b, loc, w) : Value();
  auto grad = SummarizeGradOp::create(
      b, loc, getKey().getType(), w ? w.getType() : Type(), getKey(), w,
      resultGrads[0], emptyLike(b, loc, getKey()), dwInit, getBlockSizeAttr(),
      getScaleAttr());
  operandGrads[0] = grad.getKeyGrad();
  if (w)
    operandGrads[1] = grad.getSummaryQueryGrad();
  return success();
}

LogicalResult RouteLogitsOp::buildVectorJacobianProduct(
    OpBuilder &b, ArrayRef<Value> resultGrads,
    SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(getNumOperands(), Value());
  if (!resultGrads[0])
    return success();
  Location loc = getLoc();
  auto grad = RouteLogitsGradOp::create(
      b, loc, getQuery().getType(), getSummaries().getType(), getQuery(),
      getSummaries(), resultGrads[0], emptyLike(b, loc, getQuery()),
      emptyLike(b, loc, getSummaries()), getBlockSizeAttr(), getGammaAttr(),
      getScaleAttr());
  operandGrads[0] = grad.getQueryGrad();
  operandGrads[1] = grad.getSummariesGrad();
  return success();
}

LogicalResult
EntmaxOp::buildVectorJacobianProduct(OpBuilder &b, ArrayRef<Value> resultGrads,
                                     SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(getNumOperands(), Value());
  if (failed(rejectGradient(*this, resultGrads, 1, "tau")))
    return failure();
  if (!resultGrads[0])
    return success();
  Location loc = getLoc();
  operandGrads[0] =
      EntmaxGradOp::create(b, loc, getInput().getType(), getProbs(),
                           resultGrads[0], emptyLike(b, loc, getInput()),
                           getAlphaAttr(), getDimensionAttr())
          .getResult();
  return success();
}

LogicalResult
BlockPriorOp::buildVectorJacobianProduct(OpBuilder &b,
                                         ArrayRef<Value> resultGrads,
                                         SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(getNumOperands(), Value());
  if (!resultGrads[0])
    return success();
  Location loc = getLoc();
  operandGrads[0] =
      BlockPriorGradOp::create(
          b, loc, getProbs().getType(), getProbs(), resultGrads[0],
          emptyLike(b, loc, getProbs()), getBlockSizeAttr(), getPriorModeAttr(),
          getSigmaAttr(), getLocalBlocksAttr(), getInitBlocksAttr())
          .getResult();
  return success();
}

LogicalResult SparseAttentionOp::buildVectorJacobianProduct(
    OpBuilder &b, ArrayRef<Value> resultGrads,
    SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(getNumOperands(), Value());
  if (failed(rejectGradient(*this, resultGrads, 1, "lse")))
    return failure();
  if (!resultGrads[0])
    return success();
  Location loc = getLoc();
  auto grad = SparseAttentionGradOp::create(
      b, loc,
      TypeRange{getQuery().getType(), getKey().getType(), getValue().getType(),
                getLogPrior().getType()},
      getQuery(), getKey(), getValue(), getLogPrior(), getOutput(), getLse(),
      resultGrads[0], emptyLike(b, loc, getQuery()),
      emptyLike(b, loc, getKey()), emptyLike(b, loc, getValue()),
      emptyLike(b, loc, getLogPrior()), getBlockSizeAttr(), getScaleAttr());
  for (unsigned i = 0; i < 4; ++i)
    operandGrads[i] = grad.getResult(i);
  return success();
}

LogicalResult
AttentionOp::buildVectorJacobianProduct(OpBuilder &b,
                                        ArrayRef<Value> resultGrads,
                                        SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(getNumOperands(), Value());
  if (getLse() && failed(rejectGradient(*this, resultGrads, 1, "lse")))
    return failure();
  if (!resultGrads[0])
    return success();
  if (!getLse())
    return emitOpError("needs its lse result to be differentiated");
  Value w = getSummaryQuery();
  auto grad = AttentionGradOp::create(
      b, getLoc(), getQuery().getType(), getKey().getType(),
      getValue().getType(), w ? w.getType() : Type(), getQuery(), getKey(),
      getValue(), w, getOutput(), getLse(), resultGrads[0], getAlphaAttr(),
      getBlockSizeAttr(), getGammaAttr(), getSigmaAttr(), getPriorModeAttr(),
      getLocalBlocksAttr(), getInitBlocksAttr(), getScaleAttr(),
      getRouterGradAttr());
  operandGrads[0] = grad.getQueryGrad();
  operandGrads[1] = grad.getKeyGrad();
  operandGrads[2] = grad.getValueGrad();
  if (w)
    operandGrads[3] = grad.getSummaryQueryGrad();
  return success();
}
