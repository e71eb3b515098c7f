//===- Passes.h - Dash conversion passes --------------------------*- C++
//-*-===//

#ifndef DASH_CONVERSION_PASSES_H
#define DASH_CONVERSION_PASSES_H

#include "dash/Dialect/Dash/IR/Dash.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
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
