//===- Passes.h - Dash conversion passes --------------------------*- C++
//-*-===//

#ifndef DASH_CONVERSION_PASSES_H
#define DASH_CONVERSION_PASSES_H

#include "dash/Dialect/Dash/IR/Dash.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace mlir::dash {

#define GEN_PASS_DECL
#include "dash/Conversion/Passes.h.inc"

/// Patterns lowering the dash stage ops to linalg on tensors (static shapes).
void populateDashToLinalgPatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "dash/Conversion/Passes.h.inc"

} // namespace mlir::dash

#endif // DASH_CONVERSION_PASSES_H
