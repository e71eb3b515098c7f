//===- HostBuffersToGPU.cpp - Temporary buffers in device memory ---------===//

#include "dash/Dialect/Dash/Transforms/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::dash {
#define GEN_PASS_DEF_DASHHOSTBUFFERSTOGPU
#include "dash/Dialect/Dash/Transforms/Passes.h.inc"
} // namespace mlir::dash

using namespace mlir;

namespace {
struct DashHostBuffersToGPUPass
    : mlir::dash::impl::DashHostBuffersToGPUBase<DashHostBuffersToGPUPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    SmallVector<Value> constants;
    getOperation()->walk([&](Operation *op) {
      if (op->getParentOfType<gpu::LaunchOp>())
        return;
      rewriter.setInsertionPoint(op);
      // gpu-to-llvm lowers only the async forms: each becomes its own
      // stream, waited on at once.
      Location loc = op->getLoc();
      auto tokenType = gpu::AsyncTokenType::get(&getContext());
      auto start = [&] {
        return gpu::WaitOp::create(rewriter, loc, tokenType, ValueRange())
            .getAsyncToken();
      };
      auto finish = [&](Value token) {
        gpu::WaitOp::create(rewriter, loc, Type(), ValueRange{token});
      };
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        auto device = gpu::AllocOp::create(
            rewriter, loc, alloc.getType(), tokenType, ValueRange{start()},
            alloc.getDynamicSizes(), alloc.getSymbolOperands(),
            /*hostShared=*/false);
        finish(device.getAsyncToken());
        rewriter.replaceOp(alloc, device.getMemref());
      } else if (auto global = dyn_cast<memref::GetGlobalOp>(op)) {
        // Constants (e.g. folded splats) live in host memory: kernels read a
        // device copy, freed when the function returns.
        rewriter.setInsertionPointAfter(global);
        auto device = gpu::AllocOp::create(
            rewriter, loc, global.getType(), tokenType, ValueRange{start()},
            ValueRange(), ValueRange(), /*hostShared=*/false);
        auto copy = gpu::MemcpyOp::create(
            rewriter, loc, tokenType, ValueRange{device.getAsyncToken()},
            device.getMemref(), global.getResult());
        finish(copy.getAsyncToken());
        rewriter.replaceAllUsesExcept(global.getResult(), device.getMemref(),
                                      copy);
        constants.push_back(device.getMemref());
      } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        auto device = gpu::DeallocOp::create(
            rewriter, loc, tokenType, ValueRange{start()}, dealloc.getMemref());
        finish(device.getAsyncToken());
        rewriter.eraseOp(dealloc);
      }
    });
    getOperation()->walk([&](func::ReturnOp ret) {
      rewriter.setInsertionPoint(ret);
      auto tokenType = gpu::AsyncTokenType::get(&getContext());
      for (Value buffer : constants) {
        Value start =
            gpu::WaitOp::create(rewriter, ret.getLoc(), tokenType, ValueRange())
                .getAsyncToken();
        auto free = gpu::DeallocOp::create(rewriter, ret.getLoc(), tokenType,
                                           ValueRange{start}, buffer);
        gpu::WaitOp::create(rewriter, ret.getLoc(), Type(),
                            ValueRange{free.getAsyncToken()});
      }
    });
  }
};
} // namespace
