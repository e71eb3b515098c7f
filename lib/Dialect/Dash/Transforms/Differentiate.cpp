//===- Differentiate.cpp - Reverse-mode differentiation of functions -----===//
//
// Builds the vector-Jacobian product of a function: the forward ops are
// cloned into `<name>_grad`, then every op on the path to the results emits
// its own VJP in reverse order and operand gradients are summed.
//
//===----------------------------------------------------------------------===//

#include "dash/Dialect/Dash/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::dash {
#define GEN_PASS_DEF_DASHDIFFERENTIATE
#include "dash/Dialect/Dash/Transforms/Passes.h.inc"
} // namespace mlir::dash

using namespace mlir;
using namespace mlir::dash;

static constexpr StringLiteral kDifferentiateAttr = "dash.differentiate";

/// Values that carry gradients: ranked tensors of floats.
static bool isDifferentiable(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && isa<FloatType>(tensor.getElementType());
}

/// A zero tensor shaped like `like`.
static Value zerosLike(OpBuilder &b, Location loc, Value like) {
  auto type = cast<RankedTensorType>(like.getType());
  Value zero = arith::ConstantOp::create(
      b, loc, b.getFloatAttr(type.getElementType(), 0.0));
  SmallVector<Value> dynamicSizes;
  for (auto [i, size] : llvm::enumerate(type.getShape()))
    if (ShapedType::isDynamic(size))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, like, i));
  return tensor::SplatOp::create(b, loc, type, zero, dynamicSizes);
}

/// VJPs of the elementwise arith ops on tensors: fills `grads` (one per
/// operand) from the result gradient `g`. Returns false for other ops.
static bool elementwiseVJP(OpBuilder &b, Operation *op, Value g,
                           SmallVectorImpl<Value> &grads) {
  Location loc = op->getLoc();
  grads.assign(op->getNumOperands(), Value());
  auto cast = [&](Value v, Type to) -> Value {
    if (v.getType() == to)
      return v;
    if (getElementTypeOrSelf(to).getIntOrFloatBitWidth() <
        getElementTypeOrSelf(v).getIntOrFloatBitWidth())
      return arith::TruncFOp::create(b, loc, to, v);
    return arith::ExtFOp::create(b, loc, to, v);
  };
  return llvm::TypeSwitch<Operation *, bool>(op)
      .Case([&](arith::AddFOp) {
        grads[0] = grads[1] = g;
        return true;
      })
      .Case([&](arith::SubFOp) {
        grads[0] = g;
        grads[1] = arith::NegFOp::create(b, loc, g);
        return true;
      })
      .Case([&](arith::MulFOp mul) {
        grads[0] = arith::MulFOp::create(b, loc, g, mul.getRhs());
        grads[1] = arith::MulFOp::create(b, loc, g, mul.getLhs());
        return true;
      })
      .Case([&](arith::DivFOp div) {
        // d(a/b) = da / b - a db / b^2.
        grads[0] = arith::DivFOp::create(b, loc, g, div.getRhs());
        Value quotient = arith::MulFOp::create(b, loc, grads[0], div);
        grads[1] = arith::NegFOp::create(
            b, loc, arith::DivFOp::create(b, loc, quotient, div.getRhs()));
        return true;
      })
      .Case([&](arith::NegFOp) {
        grads[0] = arith::NegFOp::create(b, loc, g);
        return true;
      })
      .Case<arith::ExtFOp, arith::TruncFOp>([&](Operation *convert) {
        grads[0] = cast(g, convert->getOperand(0).getType());
        return true;
      })
      .Default([](Operation *) { return false; });
}

/// Builds `<func>_grad` next to `func`.
static LogicalResult differentiate(func::FuncOp func) {
  if (!func.getBody().hasOneBlock())
    return func.emitOpError("dash-differentiate supports functions with a "
                            "single block");
  MLIRContext *context = func.getContext();
  OpBuilder b(context);
  b.setInsertionPointAfter(func);
  Location loc = func.getLoc();

  FunctionType type = func.getFunctionType();
  SmallVector<Type> argTypes(type.getInputs());
  SmallVector<unsigned> cotangentOf; // Result index of each cotangent arg.
  for (auto [i, t] : llvm::enumerate(type.getResults()))
    if (isDifferentiable(t)) {
      argTypes.push_back(t);
      cotangentOf.push_back(i);
    }
  SmallVector<Type> gradTypes;
  for (Type t : type.getInputs())
    if (isDifferentiable(t))
      gradTypes.push_back(t);
  auto grad = func::FuncOp::create(b, loc, (func.getName() + "_grad").str(),
                                   b.getFunctionType(argTypes, gradTypes));
  grad->setAttr(SymbolTable::getVisibilityAttrName(),
                func->getAttr(SymbolTable::getVisibilityAttrName()));
  Block *entry = grad.addEntryBlock();

  // Forward pass.
  IRMapping mapping;
  for (auto [from, to] : llvm::zip(func.getArguments(), entry->getArguments()))
    mapping.map(from, to);
  b.setInsertionPointToEnd(entry);
  auto forwardReturn =
      cast<func::ReturnOp>(func.getBody().front().getTerminator());
  SmallVector<Operation *> forward;
  for (Operation &op : func.getBody().front().without_terminator())
    forward.push_back(b.clone(op, mapping));

  // A dash.attention needs its LSE for the backward pass: request it.
  for (Operation *&op : forward) {
    auto attention = dyn_cast<AttentionOp>(op);
    if (!attention || attention.getLse())
      continue;
    b.setInsertionPoint(attention);
    auto query = cast<RankedTensorType>(attention.getQuery().getType());
    auto lseType =
        RankedTensorType::get(query.getShape().drop_back(), b.getF32Type());
    Value counts = attention.getCounts();
    auto withLse = AttentionOp::create(
        b, attention.getLoc(), attention.getOutput().getType(), lseType,
        counts ? counts.getType() : Type(), attention.getQuery(),
        attention.getKey(), attention.getValue(), attention.getSummaryQuery(),
        attention.getAlphaAttr(), attention.getBlockSizeAttr(),
        attention.getGammaAttr(), attention.getSigmaAttr(),
        attention.getPriorModeAttr(), attention.getLocalBlocksAttr(),
        attention.getInitBlocksAttr(), attention.getScaleAttr(),
        attention.getRouterGradAttr());
    attention.getOutput().replaceAllUsesWith(withLse.getOutput());
    if (counts)
      counts.replaceAllUsesWith(withLse.getCounts());
    attention.erase();
    op = withLse;
  }
  b.setInsertionPointToEnd(entry);

  // Reverse pass: adjoints of values, summed over their uses.
  DenseMap<Value, Value> adjoint;
  auto accumulate = [&](Value value, Value g) {
    if (!g || !isDifferentiable(value.getType()))
      return;
    auto [it, inserted] = adjoint.try_emplace(value, g);
    if (!inserted)
      it->second = arith::AddFOp::create(b, loc, it->second, g);
  };
  for (auto [arg, result] : llvm::enumerate(cotangentOf))
    accumulate(mapping.lookup(forwardReturn.getOperand(result)),
               entry->getArgument(type.getNumInputs() + arg));

  for (Operation *op : llvm::reverse(forward)) {
    SmallVector<Value> resultGrads;
    for (Value result : op->getResults())
      resultGrads.push_back(adjoint.lookup(result));
    if (llvm::all_of(resultGrads, [](Value g) { return !g; }))
      continue;
    SmallVector<Value> operandGrads;
    if (auto differentiable = dyn_cast<DifferentiableOpInterface>(op)) {
      if (failed(differentiable.buildVectorJacobianProduct(b, resultGrads,
                                                           operandGrads)))
        return failure();
    } else if (op->getNumResults() != 1 ||
               !elementwiseVJP(b, op, resultGrads[0], operandGrads)) {
      if (llvm::none_of(op->getOperandTypes(), isDifferentiable))
        continue;
      return op->emitOpError("cannot be differentiated by dash-differentiate");
    }
    for (auto [operand, g] : llvm::zip(op->getOperands(), operandGrads))
      accumulate(operand, g);
  }

  SmallVector<Value> grads;
  for (BlockArgument arg :
       entry->getArguments().take_front(type.getNumInputs()))
    if (isDifferentiable(arg.getType())) {
      Value g = adjoint.lookup(arg);
      grads.push_back(g ? g : zerosLike(b, loc, arg));
    }
  func::ReturnOp::create(b, loc, grads);
  return success();
}

namespace {
struct DashDifferentiatePass
    : mlir::dash::impl::DashDifferentiateBase<DashDifferentiatePass> {
  using DashDifferentiateBase::DashDifferentiateBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> selected;
    if (functions.empty()) {
      for (auto func : module.getOps<func::FuncOp>())
        if (func->hasAttr(kDifferentiateAttr))
          selected.push_back(func);
    } else {
      for (const std::string &name : functions) {
        auto func = module.lookupSymbol<func::FuncOp>(name);
        if (!func) {
          module.emitError("dash-differentiate: no function named '")
              << name << "'";
          return signalPassFailure();
        }
        selected.push_back(func);
      }
    }
    for (func::FuncOp func : selected) {
      if (module.lookupSymbol((func.getName() + "_grad").str())) {
        func.emitOpError("already has a gradient function '")
            << func.getName() << "_grad'";
        return signalPassFailure();
      }
      if (failed(differentiate(func)))
        return signalPassFailure();
    }
  }
};
} // namespace
