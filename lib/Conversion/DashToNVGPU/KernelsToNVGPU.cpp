//===- KernelsToNVGPU.cpp - dash-kernels-to-nvgpu -------------------------===//
//
// Builds the block-list and fine-attention kernels of each
// dash.sparse_attention_kernel, with the block lists in temporary buffers,
// the block lists, their inverse and the dQ and dK/dV kernels of each
// dash.sparse_attention_grad_kernel, the summary-split and router
// kernels of each dash.router_kernel, and the two products of each
// dash.route_logits_grad_kernel. Runs after buffer deallocation, so it
// frees its temporaries itself.
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

/// Temporary buffers of a pattern's kernels.
class Temporaries {
public:
  explicit Temporaries(ImplicitLocOpBuilder &b) : b(b) {}
  /// Frees them after the kernels built so far.
  void free() {
    for (Value buffer : buffers)
      memref::DeallocOp::create(b, buffer);
  }
  Value get(ArrayRef<int64_t> shape, Type elementType) {
    buffers.push_back(
        memref::AllocOp::create(b, MemRefType::get(shape, elementType)));
    return buffers.back();
  }

private:
  ImplicitLocOpBuilder &b;
  SmallVector<Value> buffers;
};

/// A pattern whose kernels multiply with warpgroup mma when asked.
template <typename Op> struct WarpgroupAwarePattern : OpRewritePattern<Op> {
  WarpgroupAwarePattern(MLIRContext *context, bool warpgroupMma)
      : OpRewritePattern<Op>(context), warpgroupMma(warpgroupMma) {}

  bool warpgroupMma;
};

struct SparseAttentionKernelToNVGPU
    : WarpgroupAwarePattern<SparseAttentionKernelOp> {
  using WarpgroupAwarePattern::WarpgroupAwarePattern;

  LogicalResult matchAndRewrite(SparseAttentionKernelOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    ArrayRef<int64_t> priorShape = op.getLogPrior().getType().getShape();
    nvgpu_kernels::TilePacking packing(op.getQuery(), op.getLogPrior());
    int64_t tiles = packing.tiles;
    Temporaries temporaries(b);
    nvgpu_kernels::FineAttentionOperands operands;
    operands.query = op.getQuery();
    operands.key = op.getKey();
    operands.value = op.getValue();
    operands.logPrior = op.getLogPrior();
    operands.lists = temporaries.get(
        {priorShape[0], priorShape[1], tiles, priorShape[3]}, b.getI32Type());
    operands.counts =
        temporaries.get({priorShape[0], priorShape[1], tiles}, b.getI32Type());
    operands.output = op.getOutput();
    operands.lse = op.getLse();
    operands.scale =
        resolveScale(op.getScaleAttr(), op.getQuery().getType().getDimSize(3));
    operands.warpgroupMma = warpgroupMma;
    nvgpu_kernels::buildBlockListKernel(b, packing, operands.logPrior,
                                        operands.lists, operands.counts);
    nvgpu_kernels::buildFineAttentionKernel(b, operands);
    temporaries.free();
    rewriter.eraseOp(op);
    return success();
  }
};

struct SparseAttentionGradKernelToNVGPU
    : WarpgroupAwarePattern<SparseAttentionGradKernelOp> {
  using WarpgroupAwarePattern::WarpgroupAwarePattern;

  LogicalResult matchAndRewrite(SparseAttentionGradKernelOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    ArrayRef<int64_t> priorShape = op.getLogPrior().getType().getShape();
    int64_t batch = priorShape[0], kvHeads = priorShape[1],
            blocks = priorShape[3];
    nvgpu_kernels::TilePacking packing(op.getQuery(), op.getLogPrior());
    int64_t tiles = packing.tiles;
    Type i32 = b.getI32Type();
    Temporaries temporaries(b);
    nvgpu_kernels::FineAttentionGradOperands operands;
    operands.query = op.getQuery();
    operands.key = op.getKey();
    operands.value = op.getValue();
    operands.logPrior = op.getLogPrior();
    operands.output = op.getOutput();
    operands.lse = op.getLse();
    operands.outputGrad = op.getOutputGrad();
    operands.lists = temporaries.get({batch, kvHeads, tiles, blocks}, i32);
    operands.counts = temporaries.get({batch, kvHeads, tiles}, i32);
    Value tileBlocks =
        temporaries.get({batch, kvHeads, blocks, tiles}, b.getI8Type());
    operands.inverseLists =
        temporaries.get({batch, kvHeads, blocks, tiles}, i32);
    operands.inverseCounts = temporaries.get({batch, kvHeads, blocks}, i32);
    operands.delta =
        temporaries.get(op.getLse().getType().getShape(), b.getF32Type());
    operands.queryGrad = op.getQueryGrad();
    operands.keyGrad = op.getKeyGrad();
    operands.valueGrad = op.getValueGrad();
    operands.logPriorGrad = op.getLogPriorGrad();
    operands.scale =
        resolveScale(op.getScaleAttr(), op.getQuery().getType().getDimSize(3));
    operands.warpgroupMma = warpgroupMma;
    nvgpu_kernels::buildFillKernel(b, operands.logPriorGrad, 0.0);
    if (packing.keyValueGradAdds()) {
      nvgpu_kernels::buildFillKernel(b, operands.keyGrad, 0.0);
      nvgpu_kernels::buildFillKernel(b, operands.valueGrad, 0.0);
    }
    nvgpu_kernels::buildBlockListKernel(b, packing, operands.logPrior,
                                        operands.lists, operands.counts,
                                        tileBlocks);
    nvgpu_kernels::buildInverseBlockListKernel(
        b, packing, tileBlocks, operands.inverseLists, operands.inverseCounts);
    nvgpu_kernels::buildQueryGradKernel(b, operands);
    nvgpu_kernels::buildKeyValueGradKernel(b, operands);
    temporaries.free();
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
    Temporaries temporaries(b);
    operands.parts = temporaries.get(partsShape, queryType.getElementType());
    operands.logPrior = op.getLogPrior();
    operands.counts = op.getCounts();
    operands.probs = op.getProbs();
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
    temporaries.free();
    rewriter.eraseOp(op);
    return success();
  }
};

struct RouteLogitsGradKernelToNVGPU
    : OpRewritePattern<RouteLogitsGradKernelOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RouteLogitsGradKernelOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    nvgpu_kernels::RouteLogitsGradOperands operands;
    operands.query = op.getQuery();
    operands.summaries = op.getSummaries();
    operands.logitsGrad = op.getLogitsGrad();
    operands.queryGrad = op.getQueryGrad();
    operands.summariesGrad = op.getSummariesGrad();
    operands.factor =
        op.getGamma().convertToDouble() *
        resolveScale(op.getScaleAttr(), op.getQuery().getType().getDimSize(3));
    nvgpu_kernels::buildRouteLogitsGradQueryKernel(b, operands);
    nvgpu_kernels::buildFillKernel(b, operands.summariesGrad, 0.0);
    nvgpu_kernels::buildRouteLogitsGradSummariesKernel(b, operands);
    rewriter.eraseOp(op);
    return success();
  }
};

struct DashKernelsToNVGPUPass
    : dash::impl::DashKernelsToNVGPUBase<DashKernelsToNVGPUPass> {
  using DashKernelsToNVGPUBase::DashKernelsToNVGPUBase;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns
        .add<SparseAttentionKernelToNVGPU, SparseAttentionGradKernelToNVGPU>(
            &getContext(), warpgroupMma);
    patterns.add<RouterKernelToNVGPU, RouteLogitsGradKernelToNVGPU>(
        &getContext());
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace
