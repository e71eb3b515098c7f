//===- DashTransformOps.h - Transform dialect extension ---------*- C++ -*-===//
//
// `transform.dash.*`: decompose and lower dash ops from a transform script.
//
//===----------------------------------------------------------------------===//

#ifndef DASH_DIALECT_DASH_TRANSFORMOPS_DASHTRANSFORMOPS_H
#define DASH_DIALECT_DASH_TRANSFORMOPS_DASHTRANSFORMOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Transform/IR/TransformDialect.h"
#include "mlir/Dialect/Transform/IR/TransformTypes.h"
#include "mlir/Dialect/Transform/Interfaces/TransformInterfaces.h"
#include "mlir/IR/OpImplementation.h"

namespace mlir {
class DialectRegistry;
namespace dash {

/// Registers the `transform.dash.*` ops with the transform dialect.
void registerTransformDialectExtension(DialectRegistry &registry);

} // namespace dash
} // namespace mlir

#define GET_OP_CLASSES
#include "dash/Dialect/Dash/TransformOps/DashTransformOps.h.inc"

#endif // DASH_DIALECT_DASH_TRANSFORMOPS_DASHTRANSFORMOPS_H
