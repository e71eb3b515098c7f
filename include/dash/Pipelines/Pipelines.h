//===- Pipelines.h - Dash pass pipelines --------------------------*- C++
//-*-===//

#ifndef DASH_PIPELINES_PIPELINES_H
#define DASH_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"

namespace mlir {
class OpPassManager;
namespace dash {

/// Options of `dash-cpu-pipeline`: dash ops on tensors to the LLVM dialect.
struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {
  PassOptions::Option<bool> differentiate{
      *this, "differentiate",
      llvm::cl::desc("First generate the gradient functions of functions "
                     "marked dash.differentiate (dash-differentiate)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> fuseElementwise{
      *this, "fuse-elementwise",
      llvm::cl::desc("Fuse elementwise linalg ops into their consumers "
                     "before bufferization"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> resultsToOutParams{
      *this, "results-to-out-params",
      llvm::cl::desc("Return results through caller-provided buffers "
                     "(the calling convention of the JIT)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> cWrappers{
      *this, "c-wrappers",
      llvm::cl::desc("Emit _mlir_ciface_ wrappers (memref descriptors by "
                     "pointer) for every function"),
      llvm::cl::init(true)};
};

/// Adds `dash-cpu-pipeline` to `pm` (anchored on builtin.module).
void buildCPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options);

/// Registers every dash pipeline with the global pass registry.
void registerDashPipelines();

} // namespace dash
} // namespace mlir

#endif // DASH_PIPELINES_PIPELINES_H
