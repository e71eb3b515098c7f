//===- Internal.h - State shared by the C API's files -----------*- C++ -*-===//
//
// Handles are heap objects holding shared state, so that kernels and
// functions outlive their context safely and cached code is shared by every
// handle compiled from the same key.
//
//===----------------------------------------------------------------------===//

#ifndef DASH_LIB_CAPI_INTERNAL_H
#define DASH_LIB_CAPI_INTERNAL_H

#include "dash-c/Dash.h"

#include "dash/JIT/CpuFunction.h"
#include "dash/JIT/KernelCache.h"

#include "llvm/ADT/ArrayRef.h"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace dash::capi {

/// Compiled code and how it was obtained.
struct Compiled {
  std::unique_ptr<CpuFunction> function;
  CompileInfo info;
};

/// One compiled attention configuration: the forward function, and the
/// backward function once a caller needed it.
struct KernelState {
  AttentionConfig config;
  DashAttentionConfig cConfig;
  DashTarget target;
  CompileOptions options;
  /// The disk cache as it was at compile time: the backward pass goes where
  /// the forward pass went.
  DiskCache cache;
  Compiled forward;
  std::mutex backwardMutex;
  Compiled backward;
};

/// One compiled function of an MLIR module.
struct FunctionState {
  DashTarget target;
  Compiled code;
};

struct ContextState {
  std::mutex errorMutex;
  std::string lastError;
  /// Held while compiling: concurrent compilations of one key must not both
  /// miss the cache.
  std::mutex cacheMutex;
  std::map<std::string, std::shared_ptr<KernelState>> cache;
  std::map<std::string, std::shared_ptr<FunctionState>> functions;
  DiskCache disk{DiskCache::defaultDirectory()};

  DashStatus fail(DashStatus status, std::string message) {
    std::lock_guard<std::mutex> lock(errorMutex);
    lastError = std::move(message);
    return status;
  }
};

/// Milliseconds since `start`.
inline double millisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - start)
      .count();
}

/// Records an error of a call that had no context to record it in.
DashStatus failWithoutContext(DashStatus status, std::string message);

/// The options of `target`: for CUDA, the driver is initialised and the
/// chip is the device's, as dash-run picks it. Empty on success.
std::string compileOptions(DashTarget target, CompileOptions &options,
                           DashStatus &status);

/// `info` as the C API reports it; `lookupMs` is set for handles served by
/// the in-memory cache.
void describe(const Compiled &code, bool fromMemory, double lookupMs,
              DashKernelInfo &info);

/// Runs `function` where it was compiled for, mapping failures to statuses;
/// for CUDA, a non-null `stream` is synchronised first.
DashStatus run(ContextState &state, const CpuFunction &function,
               llvm::ArrayRef<const void *> inputs,
               llvm::ArrayRef<void *> outputs, void *stream);

/// Temporary buffers of one call: host memory for the CPU, device memory
/// for CUDA, freed when the call returns.
class Scratch {
public:
  explicit Scratch(bool onDevice) : onDevice(onDevice) {}
  Scratch(const Scratch &) = delete;
  Scratch &operator=(const Scratch &) = delete;
  ~Scratch();
  /// Fresh memory of `bytes`; null with `error` set when the device is out
  /// of memory.
  void *allocate(size_t bytes, std::string &error);
  bool device() const { return onDevice; }

private:
  bool onDevice;
  std::vector<std::vector<char>> hostBuffers;
  std::vector<void *> deviceBuffers;
};

/// Empty when `strides` (in elements, one per dimension of `shape`; null
/// means contiguous) place every element of a tensor at its own
/// non-negative offset, else why not, naming `function` and `name`.
std::string checkStrides(const char *function, const char *name,
                         llvm::ArrayRef<int64_t> shape, const int64_t *strides);

/// Whether `strides` (null included) are the row-major strides of `shape`.
bool isContiguous(llvm::ArrayRef<int64_t> shape, const int64_t *strides);

/// Copies a tensor of `shape` between layouts (element strides; null is
/// row-major), in host or device memory as `scratch` works. Empty on
/// success.
std::string copyStrided(const Scratch &scratch, void *dst,
                        const int64_t *dstStrides, const void *src,
                        const int64_t *srcStrides,
                        llvm::ArrayRef<int64_t> shape, size_t elementSize);

} // namespace dash::capi

struct DashContextImpl {
  std::shared_ptr<dash::capi::ContextState> state;
};

#endif // DASH_LIB_CAPI_INTERNAL_H
