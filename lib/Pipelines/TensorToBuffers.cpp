//===- TensorToBuffers.cpp - Pipeline steps shared by all targets --------===//

#include "TensorToBuffers.h"

#include "dash/Conversion/Passes.h"
#include "dash/Dialect/Dash/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::dash::addTensorToBuffers(OpPassManager &pm,
                                    const TensorToBuffersOptions &options) {
  if (options.differentiate)
    pm.addPass(dash::createDashDifferentiate());
  pm.addPass(dash::createDashDecompose());
  if (options.tensorCoreKernels) {
    pm.addNestedPass<func::FuncOp>(dash::createDashRouterToKernel());
    pm.addNestedPass<func::FuncOp>(dash::createDashSparseAttentionToKernel());
  }
  pm.addPass(dash::createDashToLinalg());
  pm.addPass(createConvertElementwiseToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  if (options.fuseElementwise)
    pm.addPass(createLinalgElementwiseOpFusionPass());
  pm.addPass(createCSEPass());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  if (options.resultsToOutParams) {
    bufferization::BufferResultsToOutParamsPassOptions outParams;
    outParams.hoistStaticAllocs = true;
    outParams.modifyPublicFunctions = true;
    pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  }
  bufferization::BufferDeallocationPipelineOptions deallocation;
  bufferization::buildBufferDeallocationPipeline(pm, deallocation);
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addPass(dash::createDashMemRefCopyToLinalg());
}
