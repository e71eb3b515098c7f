//===- DashInterfaces.td - Dash op interfaces ---------------*- tablegen -*-===//

#ifndef DASH_DIALECT_DASH_IR_DASHINTERFACES_TD
#define DASH_DIALECT_DASH_IR_DASHINTERFACES_TD

include "mlir/IR/OpBase.td"

def Dash_DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::mlir::dash";
  let description = [{
    An op that builds its own vector-Jacobian product (VJP): given the
    gradient of a scalar loss with respect to each of its results, it emits
    the ops computing the gradient with respect to each of its operands.
    `dash-differentiate` composes these products in reverse order to
    differentiate whole functions.
  }];
  let methods = [
    InterfaceMethod<[{
        Emits the VJP at the builder's insertion point. `resultGrads` has one
        entry per result, null where that result has no gradient.
        `operandGrads` receives one entry per operand, null where the operand
        gets no gradient (destinations, masks, constants of the op). Fails,
        with a diagnostic on the op, when a result gradient it cannot
        propagate is given.
      }],
      "::llvm::LogicalResult", "buildVectorJacobianProduct",
      (ins "::mlir::OpBuilder &":$builder,
           "::llvm::ArrayRef<::mlir::Value>":$resultGrads,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>
  ];
}

#endif // DASH_DIALECT_DASH_IR_DASHINTERFACES_TD
