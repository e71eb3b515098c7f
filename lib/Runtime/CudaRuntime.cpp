//===- CudaRuntime.cpp - Driver-only CUDA runtime ------------------------===//
//
// The CUDA driver API is resolved with dlopen/dlsym so that nothing links
// against libcuda: the few types and constants used are declared here.
//
//===----------------------------------------------------------------------===//

#include "dash/Runtime/CudaRuntime.h"

#include <dlfcn.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <string>

namespace {
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;
using CUmemoryPool = struct CUmemPoolHandle_st *;

/// cuda.h's CUDA_MEMCPY2D.
struct Memcpy2D {
  size_t srcXInBytes, srcY;
  int srcMemoryType;
  const void *srcHost;
  CUdeviceptr srcDevice;
  void *srcArray;
  size_t srcPitch;
  size_t dstXInBytes, dstY;
  int dstMemoryType;
  void *dstHost;
  CUdeviceptr dstDevice;
  void *dstArray;
  size_t dstPitch;
  size_t WidthInBytes, Height;
};
constexpr int kMemoryTypeDevice = 2;

constexpr CUresult kSuccess = 0;
constexpr int kAttributeComputeCapabilityMajor = 75;
constexpr int kAttributeComputeCapabilityMinor = 76;
constexpr int kFunctionAttributeMaxDynamicSharedBytes = 8;
constexpr int kAttributeMemoryPoolsSupported = 115;
constexpr int kMemPoolAttributeReleaseThreshold = 4;
/// Launches above this much dynamic shared memory must opt in.
constexpr int32_t kDefaultSharedLimit = 48 * 1024;

/// Driver entry points, resolved once.
struct Driver {
#define DASH_CUDA_FUNCTIONS(X)                                                 \
  X(cuInit, CUresult (*)(unsigned))                                            \
  X(cuDeviceGet, CUresult (*)(CUdevice *, int))                                \
  X(cuDeviceGetName, CUresult (*)(char *, int, CUdevice))                      \
  X(cuDeviceGetAttribute, CUresult (*)(int *, int, CUdevice))                  \
  X(cuDevicePrimaryCtxRetain, CUresult (*)(CUcontext *, CUdevice))             \
  X(cuCtxSetCurrent, CUresult (*)(CUcontext))                                  \
  X(cuCtxSynchronize, CUresult (*)())                                          \
  X(cuGetErrorName, CUresult (*)(CUresult, const char **))                     \
  X(cuGetErrorString, CUresult (*)(CUresult, const char **))                   \
  X(cuModuleLoadData, CUresult (*)(CUmodule *, const void *))                  \
  X(cuModuleUnload, CUresult (*)(CUmodule))                                    \
  X(cuModuleGetFunction, CUresult (*)(CUfunction *, CUmodule, const char *))   \
  X(cuFuncSetAttribute, CUresult (*)(CUfunction, int, int))                    \
  X(cuLaunchKernel,                                                            \
    CUresult (*)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, \
                 unsigned, unsigned, CUstream, void **, void **))              \
  X(cuStreamCreate, CUresult (*)(CUstream *, unsigned))                        \
  X(cuStreamDestroy_v2, CUresult (*)(CUstream))                                \
  X(cuStreamSynchronize, CUresult (*)(CUstream))                               \
  X(cuStreamWaitEvent, CUresult (*)(CUstream, CUevent, unsigned))              \
  X(cuEventCreate, CUresult (*)(CUevent *, unsigned))                          \
  X(cuEventDestroy_v2, CUresult (*)(CUevent))                                  \
  X(cuEventRecord, CUresult (*)(CUevent, CUstream))                            \
  X(cuEventSynchronize, CUresult (*)(CUevent))                                 \
  X(cuEventElapsedTime, CUresult (*)(float *, CUevent, CUevent))               \
  X(cuMemAlloc_v2, CUresult (*)(CUdeviceptr *, size_t))                        \
  X(cuMemFree_v2, CUresult (*)(CUdeviceptr))                                   \
  X(cuMemcpy, CUresult (*)(CUdeviceptr, CUdeviceptr, size_t))                  \
  X(cuMemcpyAsync, CUresult (*)(CUdeviceptr, CUdeviceptr, size_t, CUstream))   \
  X(cuMemcpyHtoD_v2, CUresult (*)(CUdeviceptr, const void *, size_t))          \
  X(cuMemcpyDtoH_v2, CUresult (*)(void *, CUdeviceptr, size_t))                \
  X(cuMemcpy2DUnaligned_v2, CUresult (*)(const Memcpy2D *))                    \
  X(cuMemsetD32Async, CUresult (*)(CUdeviceptr, unsigned, size_t, CUstream))   \
  X(cuMemsetD16Async,                                                          \
    CUresult (*)(CUdeviceptr, unsigned short, size_t, CUstream))
/// Stream-ordered allocation (CUDA 11.2 and later drivers), used when
/// present.
#define DASH_CUDA_POOL_FUNCTIONS(X)                                            \
  X(cuDeviceGetDefaultMemPool, CUresult (*)(CUmemoryPool *, CUdevice))         \
  X(cuMemPoolSetAttribute, CUresult (*)(CUmemoryPool, int, void *))            \
  X(cuMemAllocAsync, CUresult (*)(CUdeviceptr *, size_t, CUstream))            \
  X(cuMemFreeAsync, CUresult (*)(CUdeviceptr, CUstream))
#define DASH_DECLARE(name, ...)                                                \
  using name##Type = __VA_ARGS__;                                              \
  name##Type name = nullptr;
  DASH_CUDA_FUNCTIONS(DASH_DECLARE)
  DASH_CUDA_POOL_FUNCTIONS(DASH_DECLARE)
#undef DASH_DECLARE
  CUdevice device = 0;
  CUcontext context = nullptr;
  /// Whether the generated code's temporaries come from the device's
  /// default memory pool.
  bool pooled = false;
};

Driver driver;
std::mutex mutex;
std::string loadError;
bool loaded = false;
std::string firstError;

/// "<call> failed: <NAME> (<description>)".
std::string describe(const char *call, CUresult result) {
  const char *name = "unknown error", *text = "";
  if (driver.cuGetErrorName)
    driver.cuGetErrorName(result, &name);
  if (driver.cuGetErrorString)
    driver.cuGetErrorString(result, &text);
  return std::string(call) + " failed: " + name + " (" + text + ")";
}

/// Returns the error text of `result` (empty on success).
std::string check(const char *call, CUresult result) {
  return result == kSuccess ? std::string() : describe(call, result);
}

/// Records the first error of a call made through the mgpu ABI.
bool record(const char *call, CUresult result) {
  if (result == kSuccess)
    return true;
  std::lock_guard<std::mutex> lock(mutex);
  if (firstError.empty())
    firstError = describe(call, result);
  return false;
}

/// Whether an error was recorded since the last takeError().
bool failed() {
  std::lock_guard<std::mutex> lock(mutex);
  return !firstError.empty();
}

bool recordMissingDriver(const char *call) {
  std::lock_guard<std::mutex> lock(mutex);
  if (firstError.empty())
    firstError = std::string(call) + " failed: the CUDA driver is not " +
                 "initialised (" +
                 (loadError.empty() ? "call initialize()" : loadError) + ")";
  return false;
}

#define DASH_CALL(name, ...) record(#name, driver.name(__VA_ARGS__))
} // namespace

namespace dash::cuda {

/// Reads DASH_CUDA_POOL_RETAIN_BYTES (decimal bytes; unset: no cap) into
/// `bytes`, or returns why it cannot: a typo must not silently become a cap
/// of 0 or of everything.
static std::string readPoolRetainBytes(uint64_t &bytes) {
  bytes = std::numeric_limits<uint64_t>::max();
  const char *value = std::getenv("DASH_CUDA_POOL_RETAIN_BYTES");
  if (!value)
    return "";
  std::string text(value);
  bool digits = !text.empty() &&
                text.find_first_not_of("0123456789") == std::string::npos;
  errno = 0;
  unsigned long long parsed = digits ? std::strtoull(value, nullptr, 10) : 0;
  if (!digits || errno == ERANGE)
    return "DASH_CUDA_POOL_RETAIN_BYTES must be a number of bytes (decimal "
           "digits below 2^64), got '" +
           text + "'";
  bytes = parsed;
  return "";
}

/// The generated code allocates and frees its temporaries (some of them GiB)
/// on every call; cuMemAlloc and cuMemFree map and unmap them each time and
/// cuMemFree synchronises. The default memory pool keeps freed memory for
/// the next call instead, up to DASH_CUDA_POOL_RETAIN_BYTES (default: all).
static void usePoolIfSupported(void *library, uint64_t retain) {
#define DASH_RESOLVE_OPTIONAL(name, ...)                                       \
  driver.name = reinterpret_cast<Driver::name##Type>(dlsym(library, #name));   \
  if (!driver.name)                                                            \
    return;
  DASH_CUDA_POOL_FUNCTIONS(DASH_RESOLVE_OPTIONAL)
#undef DASH_RESOLVE_OPTIONAL
  int supported = 0;
  CUmemoryPool pool = nullptr;
  if (driver.cuDeviceGetAttribute(&supported, kAttributeMemoryPoolsSupported,
                                  driver.device) != kSuccess ||
      !supported ||
      driver.cuDeviceGetDefaultMemPool(&pool, driver.device) != kSuccess)
    return;
  driver.pooled =
      driver.cuMemPoolSetAttribute(pool, kMemPoolAttributeReleaseThreshold,
                                   &retain) == kSuccess;
}

std::string initialize(int ordinal) {
  std::lock_guard<std::mutex> lock(mutex);
  if (loaded)
    return "";
  if (!loadError.empty())
    return loadError;
  uint64_t poolRetainBytes = 0;
  loadError = readPoolRetainBytes(poolRetainBytes);
  if (!loadError.empty())
    return loadError;
  // libcuda.so.1 is what driver-only hosts ship (libcuda.so is a dev link).
  void *library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *why = dlerror();
    loadError = std::string("libcuda.so.1 not found: ") +
                (why ? why : "no CUDA driver on this host");
    return loadError;
  }
#define DASH_RESOLVE(name, ...)                                                \
  driver.name = reinterpret_cast<Driver::name##Type>(dlsym(library, #name));   \
  if (!driver.name) {                                                          \
    loadError = "the CUDA driver lacks " #name;                                \
    return loadError;                                                          \
  }
  DASH_CUDA_FUNCTIONS(DASH_RESOLVE)
#undef DASH_RESOLVE
  std::string error = check("cuInit", driver.cuInit(0));
  if (error.empty())
    error = check("cuDeviceGet", driver.cuDeviceGet(&driver.device, ordinal));
  if (error.empty())
    error =
        check("cuDevicePrimaryCtxRetain",
              driver.cuDevicePrimaryCtxRetain(&driver.context, driver.device));
  if (error.empty())
    error = check("cuCtxSetCurrent", driver.cuCtxSetCurrent(driver.context));
  if (!error.empty()) {
    loadError = error;
    return error;
  }
  usePoolIfSupported(library, poolRetainBytes);
  loaded = true;
  return "";
}

std::string deviceName() {
  char name[256] = {0};
  if (!loaded || driver.cuDeviceGetName(name, sizeof(name), driver.device))
    return "unknown";
  return name;
}

std::pair<int, int> computeCapability() {
  int major = 0, minor = 0;
  if (loaded) {
    driver.cuDeviceGetAttribute(&major, kAttributeComputeCapabilityMajor,
                                driver.device);
    driver.cuDeviceGetAttribute(&minor, kAttributeComputeCapabilityMinor,
                                driver.device);
  }
  return {major, minor};
}

std::string takeError() {
  std::lock_guard<std::mutex> lock(mutex);
  std::string error;
  error.swap(firstError);
  return error;
}

static std::string notLoaded() {
  return loadError.empty() ? "the CUDA runtime is not initialised" : loadError;
}

std::string allocate(void **device, size_t bytes) {
  if (!loaded)
    return notLoaded();
  CUdeviceptr pointer = 0;
  std::string error =
      check("cuMemAlloc", driver.cuMemAlloc_v2(&pointer, bytes ? bytes : 1));
  *device = reinterpret_cast<void *>(pointer);
  return error;
}

std::string release(void *device) {
  if (!loaded)
    return notLoaded();
  return check("cuMemFree",
               driver.cuMemFree_v2(reinterpret_cast<CUdeviceptr>(device)));
}

std::string copyToDevice(void *device, const void *host, size_t bytes) {
  if (!loaded)
    return notLoaded();
  return check("cuMemcpyHtoD",
               driver.cuMemcpyHtoD_v2(reinterpret_cast<CUdeviceptr>(device),
                                      host, bytes));
}

std::string copyToHost(void *host, const void *device, size_t bytes) {
  if (!loaded)
    return notLoaded();
  return check("cuMemcpyDtoH",
               driver.cuMemcpyDtoH_v2(
                   host, reinterpret_cast<CUdeviceptr>(device), bytes));
}

std::string copy2D(void *dst, size_t dstPitch, const void *src, size_t srcPitch,
                   size_t widthBytes, size_t height) {
  if (!loaded)
    return notLoaded();
  Memcpy2D copy = {};
  copy.srcMemoryType = copy.dstMemoryType = kMemoryTypeDevice;
  copy.srcDevice = reinterpret_cast<CUdeviceptr>(src);
  copy.srcPitch = srcPitch;
  copy.dstDevice = reinterpret_cast<CUdeviceptr>(dst);
  copy.dstPitch = dstPitch;
  copy.WidthInBytes = widthBytes;
  copy.Height = height;
  // The unaligned variant: cuMemcpy2D may reject device-to-device pitches
  // that cuMemAllocPitch did not choose, and strided tensors have any.
  return check("cuMemcpy2DUnaligned", driver.cuMemcpy2DUnaligned_v2(&copy));
}

std::string synchronize() {
  if (!loaded)
    return notLoaded();
  return check("cuCtxSynchronize", driver.cuCtxSynchronize());
}

EventTimer::EventTimer() {
  if (loaded) {
    driver.cuEventCreate(reinterpret_cast<CUevent *>(&begin), 0);
    driver.cuEventCreate(reinterpret_cast<CUevent *>(&end), 0);
  }
}

EventTimer::~EventTimer() {
  if (begin)
    driver.cuEventDestroy_v2(static_cast<CUevent>(begin));
  if (end)
    driver.cuEventDestroy_v2(static_cast<CUevent>(end));
}

std::string EventTimer::start() {
  if (!begin)
    return notLoaded();
  return check("cuEventRecord",
               driver.cuEventRecord(static_cast<CUevent>(begin), nullptr));
}

std::string EventTimer::stop(float &milliseconds) {
  if (!end)
    return notLoaded();
  std::string error =
      check("cuEventRecord",
            driver.cuEventRecord(static_cast<CUevent>(end), nullptr));
  if (error.empty())
    error = check("cuEventSynchronize",
                  driver.cuEventSynchronize(static_cast<CUevent>(end)));
  if (error.empty())
    error = check("cuEventElapsedTime",
                  driver.cuEventElapsedTime(&milliseconds,
                                            static_cast<CUevent>(begin),
                                            static_cast<CUevent>(end)));
  return error;
}

} // namespace dash::cuda

//===----------------------------------------------------------------------===//
// The mgpu* ABI called by code from MLIR's gpu-to-llvm lowering.
//===----------------------------------------------------------------------===//

extern "C" {

CUmodule mgpuModuleLoad(void *data, size_t /*size*/) {
  CUmodule module = nullptr;
  if (!loaded)
    return recordMissingDriver("cuModuleLoadData"), nullptr;
  DASH_CALL(cuModuleLoadData, &module, data);
  return module;
}

CUmodule mgpuModuleLoadJIT(void *data, int /*optLevel*/) {
  // PTX is JIT-compiled by the driver on load.
  return mgpuModuleLoad(data, 0);
}

void mgpuModuleUnload(CUmodule module) {
  if (loaded && module)
    DASH_CALL(cuModuleUnload, module);
}

CUfunction mgpuModuleGetFunction(CUmodule module, const char *name) {
  CUfunction function = nullptr;
  if (loaded && module)
    DASH_CALL(cuModuleGetFunction, &function, module, name);
  return function;
}

void mgpuLaunchKernel(CUfunction function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, CUstream stream,
                      void **params, void **extra, size_t /*paramsCount*/) {
  // After a failed load, lookup or allocation (already recorded) the kernel
  // would get null pointers, and a fault would leave the context unusable.
  if (!loaded || !function || failed())
    return;
  if (smem > kDefaultSharedLimit &&
      !DASH_CALL(cuFuncSetAttribute, function,
                 kFunctionAttributeMaxDynamicSharedBytes, smem))
    return;
  DASH_CALL(cuLaunchKernel, function, gridX, gridY, gridZ, blockX, blockY,
            blockZ, smem, stream, params, extra);
}

CUstream mgpuStreamCreate() {
  CUstream stream = nullptr;
  // A blocking stream orders with the legacy default stream, so events
  // recorded there bracket the kernels.
  if (loaded)
    DASH_CALL(cuStreamCreate, &stream, 0);
  return stream;
}

void mgpuStreamDestroy(CUstream stream) {
  if (loaded && stream)
    DASH_CALL(cuStreamDestroy_v2, stream);
}

void mgpuStreamSynchronize(CUstream stream) {
  if (loaded)
    DASH_CALL(cuStreamSynchronize, stream);
}

void mgpuStreamWaitEvent(CUstream stream, CUevent event) {
  if (loaded)
    DASH_CALL(cuStreamWaitEvent, stream, event, 0);
}

CUevent mgpuEventCreate() {
  CUevent event = nullptr;
  if (loaded)
    DASH_CALL(cuEventCreate, &event, 0);
  return event;
}

void mgpuEventDestroy(CUevent event) {
  if (loaded && event)
    DASH_CALL(cuEventDestroy_v2, event);
}

void mgpuEventSynchronize(CUevent event) {
  if (loaded)
    DASH_CALL(cuEventSynchronize, event);
}

void mgpuEventRecord(CUevent event, CUstream stream) {
  if (loaded)
    DASH_CALL(cuEventRecord, event, stream);
}

void *mgpuMemAlloc(uint64_t bytes, CUstream /*stream*/, bool /*hostShared*/) {
  CUdeviceptr pointer = 0;
  if (!loaded)
    return recordMissingDriver("cuMemAlloc"), nullptr;
  // Zero-size buffers (empty tensors) still get a distinct pointer. Pool
  // allocations are ordered on the legacy stream, which every launch's
  // (blocking) stream synchronises with.
  if (driver.pooled)
    DASH_CALL(cuMemAllocAsync, &pointer, bytes ? bytes : 1, nullptr);
  else
    DASH_CALL(cuMemAlloc_v2, &pointer, bytes ? bytes : 1);
  return reinterpret_cast<void *>(pointer);
}

void mgpuMemFree(void *pointer, CUstream /*stream*/) {
  if (!loaded || !pointer)
    return;
  if (driver.pooled)
    DASH_CALL(cuMemFreeAsync, reinterpret_cast<CUdeviceptr>(pointer), nullptr);
  else
    DASH_CALL(cuMemFree_v2, reinterpret_cast<CUdeviceptr>(pointer));
}

void mgpuMemcpy(void *dst, void *src, size_t bytes, CUstream stream) {
  if (loaded)
    DASH_CALL(cuMemcpyAsync, reinterpret_cast<CUdeviceptr>(dst),
              reinterpret_cast<CUdeviceptr>(src), bytes, stream);
}

void mgpuMemset32(void *dst, unsigned value, size_t count, CUstream stream) {
  if (loaded)
    DASH_CALL(cuMemsetD32Async, reinterpret_cast<CUdeviceptr>(dst), value,
              count, stream);
}

void mgpuMemset16(void *dst, unsigned short value, size_t count,
                  CUstream stream) {
  if (loaded)
    DASH_CALL(cuMemsetD16Async, reinterpret_cast<CUdeviceptr>(dst), value,
              count, stream);
}

void mgpuSetDefaultDevice(int32_t device) { dash::cuda::initialize(device); }

} // extern "C"

std::vector<std::pair<const char *, void *>> dash::cuda::mgpuSymbols() {
  return {
#define DASH_SYMBOL(name) {#name, reinterpret_cast<void *>(&name)}
      DASH_SYMBOL(mgpuModuleLoad),       DASH_SYMBOL(mgpuModuleLoadJIT),
      DASH_SYMBOL(mgpuModuleUnload),     DASH_SYMBOL(mgpuModuleGetFunction),
      DASH_SYMBOL(mgpuLaunchKernel),     DASH_SYMBOL(mgpuStreamCreate),
      DASH_SYMBOL(mgpuStreamDestroy),    DASH_SYMBOL(mgpuStreamSynchronize),
      DASH_SYMBOL(mgpuStreamWaitEvent),  DASH_SYMBOL(mgpuEventCreate),
      DASH_SYMBOL(mgpuEventDestroy),     DASH_SYMBOL(mgpuEventSynchronize),
      DASH_SYMBOL(mgpuEventRecord),      DASH_SYMBOL(mgpuMemAlloc),
      DASH_SYMBOL(mgpuMemFree),          DASH_SYMBOL(mgpuMemcpy),
      DASH_SYMBOL(mgpuMemset32),         DASH_SYMBOL(mgpuMemset16),
      DASH_SYMBOL(mgpuSetDefaultDevice),
#undef DASH_SYMBOL
  };
}
