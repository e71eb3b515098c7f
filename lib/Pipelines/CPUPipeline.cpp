//===- CPUPipeline.cpp - dash-cpu-pipeline -------------------------------===//
//
// dash ops -> linalg on tensors -> one-shot bufferization -> loops -> LLVM.
//
//===----------------------------------------------------------------------===//

#include "TensorToBuffers.h"
#include "dash/Conversion/Passes.h"
#include "dash/Dialect/Dash/Transforms/Passes.h"
#include "dash/Pipelines/Pipelines.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::dash::buildCPUPipeline(OpPassManager &pm,
                                  const CPUPipelineOptions &options) {
  TensorToBuffersOptions steps;
  steps.differentiate = options.differentiate;
  steps.fuseElementwise = options.fuseElementwise;
  steps.resultsToOutParams = options.resultsToOutParams;
  addTensorToBuffers(pm, steps);
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  if (options.cWrappers)
    pm.addNestedPass<func::FuncOp>(LLVM::createLLVMRequestCWrappersPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::dash::registerDashPipelines() {
  PassPipelineRegistration<CPUPipelineOptions>(
      "dash-cpu-pipeline",
      "Lower dash ops on tensors to the LLVM dialect for the host CPU",
      buildCPUPipeline);
  PassPipelineRegistration<NVVMPipelineOptions>(
      "dash-nvvm-pipeline",
      "Lower dash ops on tensors to NVIDIA kernels (PTX or cubin) and host "
      "LLVM code that launches them",
      buildNVVMPipeline);
}
