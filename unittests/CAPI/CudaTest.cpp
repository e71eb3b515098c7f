//===- CudaTest.cpp - The C API on CUDA (skipped without a GPU) ----------===//
//
// On a GPU host: the disk cache of CUDA kernels (kernel.so with embedded
// cubins, its runtime imports bound by the loader), strided device tensors
// (packed with 2-D driver copies) and module functions on device buffers,
// each against the oracle or against the contiguous call. Device memory is
// handled through (the test's own copy of) Dash's driver-only runtime.
//
//===----------------------------------------------------------------------===//

#include "CAPITestUtils.h"

#include "dash/Runtime/CudaRuntime.h"

#include <dlfcn.h>

using namespace dash;
using namespace dash::capitest;

namespace {

/// Device copies of host vectors, freed at the end of the test.
class DeviceBuffers {
public:
  ~DeviceBuffers() {
    for (void *buffer : buffers)
      cuda::release(buffer);
  }
  template <typename T> void *upload(const std::vector<T> &host) {
    void *device = allocate(host.size() * sizeof(T));
    EXPECT_EQ(cuda::copyToDevice(device, host.data(), host.size() * sizeof(T)),
              "");
    return device;
  }
  void *allocate(size_t bytes) {
    void *device = nullptr;
    EXPECT_EQ(cuda::allocate(&device, bytes), "");
    buffers.push_back(device);
    return device;
  }
  template <typename T> std::vector<T> download(void *device, size_t count) {
    std::vector<T> host(count);
    EXPECT_EQ(cuda::copyToHost(host.data(), device, count * sizeof(T)), "");
    return host;
  }

private:
  std::vector<void *> buffers;
};

class CudaCAPI : public CAPI {
protected:
  void SetUp() override {
    if (void *driver = dlopen("libcuda.so.1", RTLD_NOW))
      dlclose(driver);
    else
      GTEST_SKIP() << "no CUDA driver on this host";
    if (std::string error = cuda::initialize(); !error.empty())
      GTEST_SKIP() << "no usable GPU: " << error;
    CAPI::SetUp();
  }

  DashKernelInfo infoOf(DashKernel kernel) {
    DashKernelInfo info;
    EXPECT_EQ(dashKernelGetInfo(kernel, DASH_PASS_FORWARD, &info),
              DASH_STATUS_OK);
    return info;
  }
};

TEST_F(CudaCAPI, DiskCacheStridesAndOracle) {
  DashKernel kernel = nullptr;
  ASSERT_EQ(dashCompile(context, &config, DASH_TARGET_CUDA, &kernel),
            DASH_STATUS_OK)
      << lastError();
  EXPECT_EQ(infoOf(kernel).source, DASH_KERNEL_SOURCE_COMPILED);
  EXPECT_STREQ(infoOf(kernel).cache_note, "");
  Inputs in = drawInputs();
  DeviceBuffers device;
  void *q = device.upload(toFloat(in.q)), *k = device.upload(toFloat(in.k)),
       *v = device.upload(toFloat(in.v));
  void *o = device.allocate(qSize() * sizeof(float));
  ASSERT_EQ(dashForward(kernel, q, k, v, nullptr, o, nullptr, nullptr, nullptr),
            DASH_STATUS_OK)
      << lastError();
  std::vector<float> out = device.download<float>(o, qSize());
  EXPECT_LE(relativeL2(out, in.expected.out), kTolerance);

  // A fresh context loads the CUDA kernel from disk: same results.
  DashContext fresh = freshContext();
  DashKernel loaded = nullptr;
  ASSERT_EQ(dashCompile(fresh, &config, DASH_TARGET_CUDA, &loaded),
            DASH_STATUS_OK)
      << dashGetLastError(fresh);
  EXPECT_EQ(infoOf(loaded).source, DASH_KERNEL_SOURCE_DISK_CACHE);
  void *o2 = device.allocate(qSize() * sizeof(float));
  ASSERT_EQ(
      dashForward(loaded, q, k, v, nullptr, o2, nullptr, nullptr, nullptr),
      DASH_STATUS_OK)
      << dashGetLastError(fresh);
  EXPECT_EQ(device.download<float>(o2, qSize()), out);
  dashContextDestroy(fresh);

  // q stored [B, N, H, D] (D stride 1: one 2-D copy per head) and k stored
  // [B, Hkv, D, N] (D stride N: one copy per row).
  int64_t n = config.seq_len, d = config.head_dim, h = config.heads,
          hkv = config.kv_heads;
  std::vector<float> qHost = toFloat(in.q), kHost = toFloat(in.k);
  std::vector<float> qTokenMajor(qHost.size()), kFeatureMajor(kHost.size());
  for (int64_t head = 0; head < h; ++head)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t e = 0; e < d; ++e)
        qTokenMajor[(i * h + head) * d + e] = qHost[(head * n + i) * d + e];
  for (int64_t head = 0; head < hkv; ++head)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t e = 0; e < d; ++e)
        kFeatureMajor[(head * d + e) * n + i] = kHost[(head * n + i) * d + e];
  int64_t qStrides[] = {n * h * d, d, h * d, 1};
  int64_t kStrides[] = {hkv * d * n, d * n, 1, n};
  void *qs = device.upload(qTokenMajor), *ks = device.upload(kFeatureMajor);
  void *o3 = device.allocate(qSize() * sizeof(float));
  ASSERT_EQ(dashForwardStrided(kernel, qs, qStrides, ks, kStrides, v, nullptr,
                               nullptr, o3, nullptr, nullptr, nullptr, nullptr),
            DASH_STATUS_OK)
      << lastError();
  EXPECT_EQ(device.download<float>(o3, qSize()), out);
  dashKernelRelease(kernel);
  dashKernelRelease(loaded);
}

TEST_F(CudaCAPI, FunctionsRunOnDeviceBuffers) {
  const std::string source = kAttentionFunction;
  DashFunction function = nullptr;
  ASSERT_EQ(dashFunctionCompile(context, source.data(), source.size(), "full",
                                DASH_TARGET_CUDA, &function),
            DASH_STATUS_OK)
      << lastError();
  Inputs in = drawInputs();
  DeviceBuffers device;
  DashTensorArg args[6] = {};
  void *data[] = {device.upload(toFloat(in.q)),
                  device.upload(toFloat(in.k)),
                  device.upload(toFloat(in.v)),
                  device.allocate(qSize() * sizeof(float)),
                  device.allocate(rows() * sizeof(float)),
                  device.allocate(countRows() * sizeof(int32_t))};
  for (int32_t i = 0; i < 6; ++i) {
    ASSERT_EQ(dashFunctionGetArgument(function, i, &args[i]), DASH_STATUS_OK);
    args[i].data = data[i];
  }
  ASSERT_EQ(dashFunctionCall(function, 6, args, nullptr), DASH_STATUS_OK)
      << lastError();
  EXPECT_LE(
      relativeL2(device.download<float>(data[3], qSize()), in.expected.out),
      kTolerance);
  std::vector<int32_t> counts = device.download<int32_t>(data[5], countRows());
  EXPECT_EQ(std::vector<int64_t>(counts.begin(), counts.end()),
            in.expected.counts);
  dashFunctionRelease(function);
}

} // namespace
