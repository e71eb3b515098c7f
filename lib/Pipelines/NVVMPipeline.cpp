//===- NVVMPipeline.cpp - dash-nvvm-pipeline -----------------------------===//
//
// dash ops -> linalg on tensors -> one-shot bufferization -> parallel loops
// -> one GPU thread per output element -> outlined kernels -> NVVM -> PTX or
// cubin embedded in host LLVM code that calls the mgpu* runtime ABI. Every
// dash op (forward and gradient) runs on the GPU through it; the fine
// attention of eligible shapes (bf16/f16, block 64, D 64 or 128) instead
// runs on the tensor-core kernels of dash-kernels-to-nvgpu.
//
//===----------------------------------------------------------------------===//

#include "TensorToBuffers.h"
#include "dash/Conversion/Passes.h"
#include "dash/Dialect/Dash/Transforms/Passes.h"
#include "dash/Pipelines/Pipelines.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

#include <cstdlib>

using namespace mlir;

/// Shared memory the CTAs of one SM can use on `chip`, 0 where unknown.
static int64_t sharedMemoryPerSM(StringRef chip) {
  constexpr int64_t kKiB = 1024;
  if (chip.starts_with("sm_90"))
    return 228 * kKiB;
  if (chip == "sm_80" || chip == "sm_87")
    return 164 * kKiB;
  if (chip == "sm_86" || chip == "sm_89")
    return 100 * kKiB;
  return 0;
}

void mlir::dash::buildNVVMPipeline(OpPassManager &pm,
                                   const NVVMPipelineOptions &options) {
  TensorToBuffersOptions steps;
  steps.differentiate = options.differentiate;
  steps.fuseElementwise = true;
  steps.resultsToOutParams = true;
  steps.tensorCoreKernels = options.tensorCores;
  dash::addTensorToBuffers(pm, steps);
  if (options.tensorCores) {
    DashKernelsToNVGPUOptions kernelOptions;
    // wgmma exists only in the architecture-specific sm_90a target.
    kernelOptions.warpgroupMma = StringRef(options.chip) == "sm_90a";
    pm.addNestedPass<func::FuncOp>(createDashKernelsToNVGPU(kernelOptions));
  }
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  DashMapParallelLoopsToGPUOptions mapping;
  mapping.threadsPerBlock = options.threadsPerBlock;
  pm.addPass(createDashMapParallelLoopsToGPU(mapping));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createConvertParallelLoopToGpuPass());
  pm.addNestedPass<func::FuncOp>(createDashHostBuffersToGPU());
  // Constants and index arithmetic move into the launches first, or the
  // outlined kernels would take them as arguments and fold nothing.
  pm.addPass(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  DashKernelOccupancyOptions occupancy;
  occupancy.sharedMemoryPerSM = sharedMemoryPerSM(options.chip);
  pm.addPass(createDashKernelOccupancy(occupancy));
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());

  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.features = options.features;
  target.optLevel = options.optLevel;
  pm.addPass(createGpuNVVMAttachTarget(target));
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(createStripDebugInfoPass());
  kernels.addPass(createConvertNVGPUToNVVMPass());
  kernels.addPass(createConvertGpuOpsToNVVMOps());
  kernels.addPass(LLVM::createNVVMOptimizeForTargetPass());
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createCSEPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());

  if (options.cWrappers)
    pm.addNestedPass<func::FuncOp>(LLVM::createLLVMRequestCWrappersPass());
  pm.addPass(createGpuToLLVMConversionPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = options.format;
  std::string toolkit = options.toolkit;
  if (toolkit.empty()) {
    const char *home = std::getenv("CUDA_HOME");
    toolkit = home ? home : "/usr/local/cuda";
  }
  binary.toolkitPath = toolkit;
  pm.addPass(createGpuModuleToBinaryPass(binary));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}
