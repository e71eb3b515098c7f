//===- MemRefCopyToLinalg.cpp - memref.copy as linalg.copy ---------------===//

#include "dash/Dialect/Dash/Transforms/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::dash {
#define GEN_PASS_DEF_DASHMEMREFCOPYTOLINALG
#include "dash/Dialect/Dash/Transforms/Passes.h.inc"
} // namespace mlir::dash

using namespace mlir;

namespace {
struct DashMemRefCopyToLinalgPass
    : mlir::dash::impl::DashMemRefCopyToLinalgBase<DashMemRefCopyToLinalgPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    getOperation()->walk([&](memref::CopyOp copy) {
      rewriter.setInsertionPoint(copy);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(),
                                                  copy.getTarget());
    });
  }
};
} // namespace
