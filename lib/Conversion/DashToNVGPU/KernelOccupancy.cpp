//===- KernelOccupancy.cpp - dash-kernel-occupancy ------------------------===//
//
// Moves the `dash.min_ctas_per_sm` hint of a kernel body to its gpu.func as
// `nvvm.minctasm`, within what shared memory allows (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

#include "dash/Conversion/Passes.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"

namespace mlir::dash {
#define GEN_PASS_DEF_DASHKERNELOCCUPANCY
#include "dash/Conversion/Passes.h.inc"
} // namespace mlir::dash

using namespace mlir;
using namespace mlir::dash;

namespace {

/// Shared memory the driver reserves for each resident CTA.
constexpr int64_t kReservedSharedPerCta = 1024;

struct DashKernelOccupancyPass
    : dash::impl::DashKernelOccupancyBase<DashKernelOccupancyPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // The largest dynamic shared memory each kernel is launched with.
    llvm::DenseMap<Operation *, int64_t> sharedBytes;
    SymbolTableCollection symbols;
    module.walk([&](gpu::LaunchFuncOp launch) {
      Operation *kernel =
          symbols.lookupNearestSymbolFrom(launch, launch.getKernelAttr());
      int64_t bytes = 0;
      if (Value size = launch.getDynamicSharedMemorySize())
        bytes = getConstantIntValue(size).value_or(0);
      int64_t &largest = sharedBytes[kernel];
      largest = std::max(largest, bytes);
    });

    StringRef hintName = nvgpu_kernels::kMinCtasPerSMAttrName;
    WalkResult result = module.walk([&](gpu::GPUFuncOp func) {
      std::optional<int64_t> hint = takeHint(func, hintName);
      if (!hint)
        return WalkResult::advance();
      if (*hint == 0)
        return WalkResult::interrupt();
      int64_t perCta = sharedBytes.lookup(func) + kReservedSharedPerCta;
      int64_t ctas = std::min(*hint, sharedMemoryPerSM / perCta);
      if (ctas > 0)
        func->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                      Builder(func).getI32IntegerAttr(ctas));
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }

  /// Removes the hints of `func`'s body and returns their value: none
  /// without one, 0 after an error.
  static std::optional<int64_t> takeHint(gpu::GPUFuncOp func,
                                         StringRef hintName) {
    std::optional<int64_t> ctas;
    WalkResult result = func.walk([&](Operation *op) {
      Attribute hint = op->getDiscardableAttr(hintName);
      if (!hint)
        return WalkResult::advance();
      auto value = dyn_cast<IntegerAttr>(hint);
      if (!value || value.getInt() < 1) {
        op->emitError() << hintName << " must be a positive integer, got "
                        << hint;
        return WalkResult::interrupt();
      }
      if (ctas && *ctas != value.getInt()) {
        op->emitError() << "a second " << hintName << " (" << value.getInt()
                        << ") differs from the kernel's first (" << *ctas
                        << ")";
        return WalkResult::interrupt();
      }
      ctas = value.getInt();
      op->removeDiscardableAttr(hintName);
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return 0;
    return ctas;
  }
};

} // namespace
