//===- CudaRuntime.h - Driver-only CUDA runtime -----------------*- C++ -*-===//
//
// Dash's GPU runtime. It has no LLVM dependency and needs only the CUDA
// driver, loaded at run time from libcuda.so.1: hosts without a GPU or a
// driver get an error value, never a link failure. It also implements the
// mgpu* ABI that MLIR's gpu-to-llvm lowering calls, so compiled host code
// can run in process.
//
//===----------------------------------------------------------------------===//

#ifndef DASH_RUNTIME_CUDARUNTIME_H
#define DASH_RUNTIME_CUDARUNTIME_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dash::cuda {

/// Loads the driver and makes device `ordinal`'s primary context current.
/// Returns an empty string on success, else what failed (e.g. "libcuda.so.1
/// not found: ...", or "cuInit failed: CUDA_ERROR_NO_DEVICE (no CUDA-capable
/// device is detected)"). Idempotent.
std::string initialize(int ordinal = 0);

/// The device's name and compute capability, after initialize().
std::string deviceName();
std::pair<int, int> computeCapability();

/// The first error of a CUDA call since the last takeError(), as
/// "<call> failed: <name> (<description>)"; empty when none. The mgpu* ABI
/// has no error channel, so its failures are recorded here.
std::string takeError();

/// Device memory and copies (synchronous). Each returns an empty string on
/// success, else the error.
std::string allocate(void **device, size_t bytes);
std::string release(void *device);
std::string copyToDevice(void *device, const void *host, size_t bytes);
std::string copyToHost(void *host, const void *device, size_t bytes);
/// Copies `height` rows of `widthBytes` from device memory at `src` (rows
/// `srcPitch` bytes apart) to device memory at `dst` (`dstPitch` apart).
std::string copy2D(void *dst, size_t dstPitch, const void *src, size_t srcPitch,
                   size_t widthBytes, size_t height);
std::string synchronize();

/// Times a region on the default stream with CUDA events.
class EventTimer {
public:
  EventTimer();
  ~EventTimer();
  std::string start();
  /// Milliseconds since start(), after the work queued since then finished.
  std::string stop(float &milliseconds);

private:
  void *begin = nullptr, *end = nullptr;
};

/// The mgpu* functions, by name, for JIT symbol registration.
std::vector<std::pair<const char *, void *>> mgpuSymbols();

} // namespace dash::cuda

#endif // DASH_RUNTIME_CUDARUNTIME_H
