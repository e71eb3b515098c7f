//===- MapParallelLoopsToGPU.cpp - One thread per output element ---------===//

#include "dash/Dialect/Dash/Transforms/Passes.h"

#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/SmallPtrSet.h"

#include <numeric>

namespace mlir::dash {
#define GEN_PASS_DEF_DASHMAPPARALLELLOOPSTOGPU
#include "dash/Dialect/Dash/Transforms/Passes.h.inc"
} // namespace mlir::dash

using namespace mlir;

static gpu::ParallelLoopDimMappingAttr mapTo(MLIRContext *context,
                                             gpu::Processor processor) {
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, context);
  return gpu::ParallelLoopDimMappingAttr::get(context, processor, identity,
                                              identity);
}

/// Marks every dimension of the parallel loops nested in `op` sequential.
static LogicalResult mapNestedSequential(Operation *op) {
  WalkResult result = op->walk([&](scf::ParallelOp nested) {
    SmallVector<gpu::ParallelLoopDimMappingAttr> mapping(
        nested.getNumLoops(),
        mapTo(nested.getContext(), gpu::Processor::Sequential));
    return failed(gpu::setMappingAttr(nested, mapping))
               ? WalkResult::interrupt()
               : WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

namespace {
struct DashMapParallelLoopsToGPUPass
    : mlir::dash::impl::DashMapParallelLoopsToGPUBase<
          DashMapParallelLoopsToGPUPass> {
  using DashMapParallelLoopsToGPUBase::DashMapParallelLoopsToGPUBase;

  void runOnOperation() override {
    if (threadsPerBlock < 1 || threadsPerBlock > 1024) {
      getOperation()->emitError("threads-per-block must be in [1, 1024]");
      return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> outermost;
    getOperation()->walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>() &&
          !loop->getParentOfType<gpu::LaunchOp>())
        outermost.push_back(loop);
    });
    IRRewriter rewriter(&getContext());
    for (scf::ParallelOp loop : outermost) {
      // Nested loops keep running inside the thread.
      for (Operation &op : loop.getBody()->without_terminator())
        if (failed(mapNestedSequential(&op)))
          return signalPassFailure();
      std::vector<unsigned> all(loop.getNumLoops());
      std::iota(all.begin(), all.end(), 0);
      // collapseParallelLoops replaces the loop: the new one is the
      // parallel loop of the block that was not there before.
      Block *parent = loop->getBlock();
      llvm::SmallPtrSet<Operation *, 8> before;
      for (auto existing : parent->getOps<scf::ParallelOp>())
        before.insert(existing);
      rewriter.setInsertionPoint(loop);
      collapseParallelLoops(rewriter, loop, {all});
      scf::ParallelOp collapsed;
      for (auto candidate : parent->getOps<scf::ParallelOp>())
        if (!before.contains(candidate))
          collapsed = candidate;
      if (!collapsed) {
        parent->getParentOp()->emitError(
            "could not collapse a parallel loop for GPU mapping");
        return signalPassFailure();
      }
      auto [blocks, threads] = scf::tileParallelLoop(
          collapsed, {threadsPerBlock}, /*noMinMaxBounds=*/false);
      if (failed(gpu::setMappingAttr(
              blocks, {mapTo(&getContext(), gpu::Processor::BlockX)})) ||
          failed(gpu::setMappingAttr(
              threads, {mapTo(&getContext(), gpu::Processor::ThreadX)})))
        return signalPassFailure();
    }
  }
};
} // namespace
