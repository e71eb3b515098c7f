//===- KernelsToNVGPU.cpp - dash-kernels-to-nvgpu -------------------------===//
//
// Builds the block-list and fine-attention kernels of each
// dash.sparse_attention_kernel, with the block lists in temporary buffers,
// and the summary-split and router kernels of each dash.router_kernel.
// Runs after buffer deallocation, so it frees its temporaries itself.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"
#include "Kernels.h"

#include "dash/Conversion/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mlir::dash {
#define GEN_PASS_DEF_DASHKERNELSTONVGPU
#include "dash/Conversion/Passes.h.inc"
} // namespace mlir::dash

using namespace mlir;
using namespace mlir::dash;

namespace {

struct SparseAttentionKernelToNVGPU
    : OpRewritePattern<SparseAttentionKernelOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SparseAttentionKernelOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    ArrayRef<int64_t> priorShape = op.getLogPrior().getType().getShape();
    int64_t tiles = llvm::divideCeil(priorShape[2], nvgpu_kernels::kTileRows);
    auto alloc = [&](ArrayRef<int64_t> shape) -> Value {
      return memref::AllocOp::create(b, MemRefType::get(shape, b.getI32Type()));
    };
    nvgpu_kernels::FineAttentionOperands operands;
    operands.query = op.getQuery();
    operands.key = op.getKey();
    operands.value = op.getValue();
    operands.logPrior = op.getLogPrior();
    operands.lists =
        alloc({priorShape[0], priorShape[1], tiles, priorShape[3]});
    operands.counts = alloc({priorShape[0], priorShape[1], tiles});
    operands.output = op.getOutput();
    operands.lse = op.getLse();
    operands.scale =
        resolveScale(op.getScaleAttr(), op.getQuery().getType().getDimSize(3));
    nvgpu_kernels::buildBlockListKernel(b, operands.logPrior, operands.lists,
                                        operands.counts);
    nvgpu_kernels::buildFineAttentionKernel(b, operands);
    memref::DeallocOp::create(b, operands.lists);
    memref::DeallocOp::create(b, operands.counts);
    rewriter.eraseOp(op);
    return success();
  }
};

struct RouterKernelToNVGPU : OpRewritePattern<RouterKernelOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RouterKernelOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    MemRefType queryType = op.getQuery().getType();
    SmallVector<int64_t> partsShape = {3};
    llvm::append_range(partsShape, op.getSummaries().getType().getShape());
    nvgpu_kernels::RouterOperands operands;
    operands.query = op.getQuery();
    operands.summaries = op.getSummaries();
    operands.parts = memref::AllocOp::create(
        b, MemRefType::get(partsShape, queryType.getElementType()));
    operands.logPrior = op.getLogPrior();
    operands.counts = op.getCounts();
    operands.blockSize = op.getBlockSize();
    operands.localBlocks = op.getLocalBlocks();
    operands.initBlocks = op.getInitBlocks();
    operands.factor = op.getGamma().convertToDouble() *
                      resolveScale(op.getScaleAttr(), queryType.getDimSize(3));
    operands.alpha = op.getAlpha().convertToDouble();
    operands.sigma = op.getSigma().convertToDouble();
    operands.priorMode = op.getPriorMode();
    nvgpu_kernels::buildSummarySplitKernel(b, operands.summaries,
                                           operands.parts);
    nvgpu_kernels::buildRouterKernel(b, operands);
    memref::DeallocOp::create(b, operands.parts);
    rewriter.eraseOp(op);
    return success();
  }
};

struct DashKernelsToNVGPUPass
    : dash::impl::DashKernelsToNVGPUBase<DashKernelsToNVGPUPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<SparseAttentionKernelToNVGPU, RouterKernelToNVGPU>(
        &getContext());
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace
