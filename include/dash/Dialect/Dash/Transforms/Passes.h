//===- Passes.h - Dash dialect passes -----------------------------*- C++
//-*-===//

#ifndef DASH_DIALECT_DASH_TRANSFORMS_PASSES_H
#define DASH_DIALECT_DASH_TRANSFORMS_PASSES_H

#include "dash/Dialect/Dash/IR/Dash.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Pass/Pass.h"

namespace mlir::dash {

#define GEN_PASS_DECL
#include "dash/Dialect/Dash/Transforms/Passes.h.inc"

/// Rewrites `dash.attention` into the stage ops.
void populateDecomposeAttentionPatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "dash/Dialect/Dash/Transforms/Passes.h.inc"

} // namespace mlir::dash

#endif // DASH_DIALECT_DASH_TRANSFORMS_PASSES_H
