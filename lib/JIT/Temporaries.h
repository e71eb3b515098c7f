//===- Temporaries.h - Buffers compiled code allocates ----------*- C++ -*-===//
//
// The CPU lowering evaluates the fine attention densely, with [B, H, N, N]
// temporaries. Their sizes are known at compile time: a configuration too
// large for this machine fails to compile with an error naming the size,
// instead of crashing in malloc (or wrapping the size computation) later.
//
//===----------------------------------------------------------------------===//

#ifndef DASH_LIB_JIT_TEMPORARIES_H
#define DASH_LIB_JIT_TEMPORARIES_H

#include "dash/JIT/CpuFunction.h"

#include "mlir/Pass/PassInstrumentation.h"

#include <cstdint>
#include <memory>
#include <string>

namespace dash {

/// The buffers compiled code allocates on each call (in device memory for
/// CUDA): every memref.alloc once tensors have become buffers. The buffer
/// deallocation pipeline frees them at the end of their block, so their sum
/// bounds the peak.
struct Temporaries {
  /// Total bytes; UINT64_MAX when the sum overflows.
  uint64_t bytes = 0;
  /// The largest buffer: its type and bytes (UINT64_MAX when its size in
  /// bytes overflows 64 bits).
  std::string largest;
  uint64_t largestBytes = 0;
};

/// Records in `temporaries` the buffers of the module a pass manager lowers,
/// after dash-memref-copy-to-linalg (the last step the pipelines share
/// before leaving buffers for loops).
std::unique_ptr<mlir::PassInstrumentation>
countTemporaries(Temporaries &temporaries);

/// An error when a temporary's size in bytes overflows 64 bits (the
/// generated code would allocate a wrapped size), or, for the CPU, when the
/// temporaries exceed the memory this machine has available.
llvm::Error checkTemporaries(const Temporaries &temporaries, Target target);

/// Memory a new allocation can take now: MemAvailable plus free swap,
/// within the cgroup's memory.max (Linux); else the physical memory.
uint64_t availableHostMemory();

/// "1.5 GiB (1610612736 bytes)".
std::string formatBytes(uint64_t bytes);

} // namespace dash

#endif // DASH_LIB_JIT_TEMPORARIES_H
