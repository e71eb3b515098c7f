//===- Aot.h - Ahead-of-time artifacts ---------------------------*- C++
//-*-===//
//
// An AOT artifact lets a host without MLIR run a compiled function: a
// directory with `kernel.so` (the host code, optimised and
// position-independent, with the kernels embedded as cubin/PTX; it calls the
// mgpu* ABI through slots the loader fills) and `manifest.txt` (entry point,
// argument and result layouts, imports, and every kernel launch with its grid
// and block sizes). `dash-aot-run` loads and runs it, linked only to the
// driver-only runtime (dash/Runtime/Artifact.h); the disk kernel cache
// (dash/JIT/KernelCache.h) stores artifacts and loads them the same way.
//
//===----------------------------------------------------------------------===//

#ifndef DASH_JIT_AOT_H
#define DASH_JIT_AOT_H

#include "dash/JIT/CpuFunction.h"

namespace dash {

/// The features of the host CPU (llvm::sys::getHostCPUName()) that
/// kernel.so is compiled for, as "+feature,-feature,...".
std::string hostCpuFeatures();

/// Compiles function `entry` of `module` (consumed) for `options.target` and
/// writes the artifact into `directory` (created if needed). Linking the
/// shared object needs a C++ compiler driver on PATH (`c++`).
/// `inputNames`/`outputNames` name the arguments and results in the
/// manifest (the runner reads and writes `<name>.npy`); by default argN and
/// resultN.
llvm::Error writeAotArtifact(mlir::ModuleOp module, llvm::StringRef entry,
                             const CompileOptions &options,
                             llvm::StringRef directory,
                             llvm::ArrayRef<std::string> inputNames = {},
                             llvm::ArrayRef<std::string> outputNames = {});

/// The artifact of the attention function of `config`, or of its gradient
/// function when `gradient` is set.
llvm::Error writeAttentionAot(const AttentionConfig &config, bool gradient,
                              const CompileOptions &options,
                              llvm::StringRef directory);

} // namespace dash

#endif // DASH_JIT_AOT_H
