//===- CpuFunction.h - Functions compiled for the host CPU ------*- C++ -*-===//
//
// In-process JIT: a module with dash ops goes through dash-cpu-pipeline to
// the LLVM dialect and then to machine code with MLIR's ExecutionEngine.
//
//===----------------------------------------------------------------------===//

#ifndef DASH_JIT_CPUFUNCTION_H
#define DASH_JIT_CPUFUNCTION_H

#include "dash/JIT/Attention.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <memory>

namespace mlir {
class ExecutionEngine;
class MLIRContext;
} // namespace mlir

namespace dash {

namespace aot {
class Library;
} // namespace aot

/// Where compiled code runs.
enum class Target { Cpu, Cuda };

struct CompileOptions {
  Target target = Target::Cpu;
  /// CUDA only: the chip and PTX features (dash-nvvm-pipeline options).
  std::string chip = "sm_90a";
  std::string features = "+ptx80";
};

/// A function on tensors with static shapes, compiled in process: for the
/// host CPU, or for CUDA (host code that launches the kernels through the
/// driver-only runtime). Arguments and results are dense row-major buffers
/// owned by the caller.
class CpuFunction {
public:
  ~CpuFunction();

  /// Compiles function `entry` of `module` (which is consumed). Fails with
  /// the located diagnostics of the pipeline when it cannot be compiled.
  static llvm::Expected<std::unique_ptr<CpuFunction>>
  compile(mlir::ModuleOp module, llvm::StringRef entry,
          const CompileOptions &options = {});

  /// Compiles function `entry` of MLIR source text.
  static llvm::Expected<std::unique_ptr<CpuFunction>>
  compileSource(llvm::StringRef source, llvm::StringRef entry,
                const CompileOptions &options = {});

  /// Compiles function `entry` of the MLIR source in `path`.
  static llvm::Expected<std::unique_ptr<CpuFunction>>
  compileFile(llvm::StringRef path, llvm::StringRef entry,
              const CompileOptions &options = {});

  /// Compiles the attention function of `config` (buildAttentionModule).
  static llvm::Expected<std::unique_ptr<CpuFunction>>
  compileAttention(const AttentionConfig &config,
                   const CompileOptions &options = {});

  /// Compiles the gradient function of `config` (buildAttentionGradModule).
  static llvm::Expected<std::unique_ptr<CpuFunction>>
  compileAttentionGrad(const AttentionConfig &config,
                       const CompileOptions &options = {});

  /// Loads the ahead-of-time artifact in `directory` (dash/JIT/Aot.h):
  /// code compiled earlier, possibly by another process.
  static llvm::Expected<std::unique_ptr<CpuFunction>>
  load(llvm::StringRef directory);

  Target target() const { return compiledFor; }

  llvm::ArrayRef<TensorSpec> inputs() const { return inputSpecs; }
  llvm::ArrayRef<TensorSpec> outputs() const { return outputSpecs; }
  /// Seconds spent lowering and generating code (0 for a loaded artifact).
  double compileSeconds() const { return compileTime; }
  /// Bytes of the buffers the code allocates on each call (in device memory
  /// for CUDA), at most; compiling for the CPU fails when they exceed the
  /// memory available. 0 for a loaded artifact.
  uint64_t temporaryBytes() const { return temporaryBufferBytes; }

  /// Runs the function on host buffers: `inputs[i]` points at
  /// inputs()[i].numBytes() bytes, `outputs[i]` at outputs()[i].numBytes()
  /// writable bytes. For CUDA the buffers are staged through device memory.
  llvm::Error call(llvm::ArrayRef<const void *> inputs,
                   llvm::ArrayRef<void *> outputs) const;

  /// Runs the function on buffers where its code runs: host memory for the
  /// CPU, device memory for CUDA (what timing loops call).
  llvm::Error callInPlace(llvm::ArrayRef<const void *> inputs,
                          llvm::ArrayRef<void *> outputs) const;

private:
  CpuFunction() = default;

  /// The code: JIT-compiled in this process, or a loaded artifact.
  std::unique_ptr<mlir::ExecutionEngine> engine;
  std::shared_ptr<const aot::Library> library;
  std::string entryName;
  std::vector<TensorSpec> inputSpecs, outputSpecs;
  double compileTime = 0.0;
  uint64_t temporaryBufferBytes = 0;
  Target compiledFor = Target::Cpu;
};

/// A context with every dialect, extension and translation that dash
/// pipelines and CpuFunction::compile need.
std::unique_ptr<mlir::MLIRContext> createCompilerContext();

} // namespace dash

#endif // DASH_JIT_CPUFUNCTION_H
