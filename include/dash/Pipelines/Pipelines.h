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

/// Options of `dash-nvvm-pipeline`: dash ops on tensors to host LLVM code
/// that launches NVIDIA kernels embedded as PTX or cubin.
struct NVVMPipelineOptions : public PassPipelineOptions<NVVMPipelineOptions> {
  PassOptions::Option<bool> differentiate{
      *this, "differentiate",
      llvm::cl::desc("First generate the gradient functions of functions "
                     "marked dash.differentiate (dash-differentiate)"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("Target chip: sm_80, sm_90a, ..."),
      llvm::cl::init("sm_90a")};
  PassOptions::Option<std::string> features{
      *this, "features",
      llvm::cl::desc("PTX features; +ptx80 works for sm_80 and sm_90a with "
                     "CUDA 13"),
      llvm::cl::init("+ptx80")};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("Kernel format: isa (PTX text), bin (cubin), fatbin"),
      llvm::cl::init("bin")};
  PassOptions::Option<int> optLevel{
      *this, "opt-level", llvm::cl::desc("Optimisation level of the kernels"),
      llvm::cl::init(3)};
  PassOptions::Option<int64_t> threadsPerBlock{
      *this, "threads-per-block",
      llvm::cl::desc("Threads per block of the generic kernels"),
      llvm::cl::init(256)};
  PassOptions::Option<bool> cWrappers{
      *this, "c-wrappers",
      llvm::cl::desc("Emit _mlir_ciface_ wrappers (memref descriptors by "
                     "pointer) for every host function"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> tensorCores{
      *this, "tensor-cores",
      llvm::cl::desc("Run eligible dash.sparse_attention ops (bf16/f16, "
                     "block 64, D 64 or 128) on the tensor-core kernels of "
                     "dash-kernels-to-nvgpu"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> toolkit{
      *this, "toolkit",
      llvm::cl::desc("CUDA toolkit (libdevice, ptxas); default: $CUDA_HOME "
                     "or /usr/local/cuda"),
      llvm::cl::init("")};
};

/// Adds `dash-nvvm-pipeline` to `pm` (anchored on builtin.module).
void buildNVVMPipeline(OpPassManager &pm, const NVVMPipelineOptions &options);

/// Adds `dash-cpu-pipeline` to `pm` (anchored on builtin.module).
void buildCPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options);

/// Registers every dash pipeline with the global pass registry.
void registerDashPipelines();

} // namespace dash
} // namespace mlir

#endif // DASH_PIPELINES_PIPELINES_H
