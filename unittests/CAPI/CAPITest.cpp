//===- CAPITest.cpp - The C API, used as a C program would ---------------===//
//
// Compiles and runs attention through libDashC.so and compares with the
// oracle; checks the cache and that every misuse gives a status and a
// message naming the problem instead of a crash.
//
//===----------------------------------------------------------------------===//

#include "CAPITestUtils.h"

#include <dlfcn.h>

using namespace dash;
using namespace dash::capitest;

namespace {

TEST(CAPIDefaults, MatchTheSpec) {
  DashAttentionConfig config;
  dashAttentionConfigInit(&config);
  EXPECT_EQ(config.block_size, 64);
  EXPECT_EQ(config.alpha, 1.5);
  EXPECT_EQ(config.gamma, 1.0);
  EXPECT_EQ(config.sigma, 1.0);
  EXPECT_EQ(config.prior, DASH_PRIOR_CENTERED);
  EXPECT_EQ(config.dtype, DASH_DTYPE_F32);
  EXPECT_TRUE(std::isnan(config.scale));
  EXPECT_EQ(config.with_summary_query, 0);
  EXPECT_EQ(config.router_grad, 1);
  EXPECT_EQ(dashGetApiVersion(), DASH_C_API_VERSION);
}

TEST_F(CAPI, ForwardAndBackwardMatchTheOracle) {
  config.with_summary_query = 1;
  oracle::Config reference = oracleConfig();
  DashKernel kernel = nullptr;
  ASSERT_EQ(dashCompile(context, &config, DASH_TARGET_CPU, &kernel),
            DASH_STATUS_OK)
      << lastError();

  size_t qSize = this->qSize(), kvSize = this->kvSize(), rows = this->rows();
  auto [q, k, v, w, expected] = drawInputs();
  std::vector<float> qf = toFloat(q), kf = toFloat(k), vf = toFloat(v),
                     wf = toFloat(w), o(qSize), lse(rows);
  std::vector<int32_t> counts(countRows());
  ASSERT_EQ(dashForward(kernel, qf.data(), kf.data(), vf.data(), wf.data(),
                        o.data(), lse.data(), counts.data(), nullptr),
            DASH_STATUS_OK)
      << lastError();
  EXPECT_LE(relativeL2(o, expected.out), kTolerance);
  EXPECT_LE(relativeL2(lse, expected.lse), kTolerance);
  EXPECT_EQ(std::vector<int64_t>(counts.begin(), counts.end()),
            expected.counts);

  std::vector<double> dO = random(qSize, 1.0);
  std::vector<float> dOf = toFloat(dO), dq(qSize), dk(kvSize), dv(kvSize),
                     dw(w.size());
  ASSERT_EQ(dashBackward(kernel, qf.data(), kf.data(), vf.data(), wf.data(),
                         dOf.data(), dq.data(), dk.data(), dv.data(), dw.data(),
                         nullptr),
            DASH_STATUS_OK)
      << lastError();
  oracle::Gradients grads =
      oracle::backward(reference, q, k, v, w, expected, dO);
  EXPECT_LE(relativeL2(dq, grads.dq), kTolerance);
  EXPECT_LE(relativeL2(dk, grads.dk), kTolerance);
  EXPECT_LE(relativeL2(dv, grads.dv), kTolerance);
  EXPECT_LE(relativeL2(dw, grads.dw), kTolerance);
  dashKernelRelease(kernel);
}

TEST_F(CAPI, LseAndCountsAreOptional) {
  DashKernel kernel = nullptr;
  ASSERT_EQ(dashCompile(context, &config, DASH_TARGET_CPU, &kernel),
            DASH_STATUS_OK)
      << lastError();
  size_t qSize = config.batch * config.heads * config.seq_len * config.head_dim;
  size_t kvSize =
      config.batch * config.kv_heads * config.seq_len * config.head_dim;
  std::vector<float> q = toFloat(random(qSize, 1.0)),
                     k = toFloat(random(kvSize, 1.0)),
                     v = toFloat(random(kvSize, 1.0)), full(qSize),
                     bare(qSize, NAN),
                     lse(config.batch * config.heads * config.seq_len);
  std::vector<int32_t> counts(config.batch * config.kv_heads * config.seq_len);
  ASSERT_EQ(dashForward(kernel, q.data(), k.data(), v.data(), nullptr,
                        full.data(), lse.data(), counts.data(), nullptr),
            DASH_STATUS_OK);
  ASSERT_EQ(dashForward(kernel, q.data(), k.data(), v.data(), nullptr,
                        bare.data(), nullptr, nullptr, nullptr),
            DASH_STATUS_OK)
      << lastError();
  EXPECT_EQ(full, bare);
  dashKernelRelease(kernel);
}

TEST_F(CAPI, CacheSharesKernelsByConfigAndTarget) {
  DashKernel first = nullptr, second = nullptr, third = nullptr;
  ASSERT_EQ(dashCompile(context, &config, DASH_TARGET_CPU, &first),
            DASH_STATUS_OK);
  ASSERT_EQ(dashCompile(context, &config, DASH_TARGET_CPU, &second),
            DASH_STATUS_OK);
  EXPECT_EQ(dashContextCachedKernels(context), 1);
  // A difference far below what a printed double shows is another kernel.
  config.gamma = std::nextafter(config.gamma, 3.0);
  ASSERT_EQ(dashCompile(context, &config, DASH_TARGET_CPU, &third),
            DASH_STATUS_OK);
  EXPECT_EQ(dashContextCachedKernels(context), 2);

  DashAttentionConfig back;
  DashTarget target;
  ASSERT_EQ(dashKernelGetConfig(third, &back, &target), DASH_STATUS_OK);
  EXPECT_EQ(back.gamma, config.gamma);
  EXPECT_EQ(target, DASH_TARGET_CPU);
  dashKernelRelease(first);
  dashKernelRelease(second);
  dashKernelRelease(third);
}

TEST_F(CAPI, KernelsOutliveTheirContext) {
  DashKernel kernel = nullptr;
  ASSERT_EQ(dashCompile(context, &config, DASH_TARGET_CPU, &kernel),
            DASH_STATUS_OK);
  dashContextDestroy(context);
  context = nullptr;
  size_t qSize = config.batch * config.heads * config.seq_len * config.head_dim;
  size_t kvSize =
      config.batch * config.kv_heads * config.seq_len * config.head_dim;
  std::vector<float> q(qSize, 0.5f), kv(kvSize, 0.25f), o(qSize);
  EXPECT_EQ(dashForward(kernel, q.data(), kv.data(), kv.data(), nullptr,
                        o.data(), nullptr, nullptr, nullptr),
            DASH_STATUS_OK);
  // Every key has the same value: whatever is selected averages to it.
  EXPECT_LE(relativeL2(o, std::vector<double>(qSize, 0.25)), kTolerance);
  dashKernelRelease(kernel);
}

TEST_F(CAPI, NullArgumentsAreReportedNotDereferenced) {
  DashKernel kernel = nullptr;
  EXPECT_EQ(dashContextCreate(nullptr), DASH_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(dashGetLastError(nullptr)).find("context is NULL"),
            std::string::npos);
  EXPECT_EQ(dashCompile(nullptr, &config, DASH_TARGET_CPU, &kernel),
            DASH_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(dashCompile(context, nullptr, DASH_TARGET_CPU, &kernel),
            DASH_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "dashCompile: config is NULL");
  EXPECT_EQ(dashCompile(context, &config, DASH_TARGET_CPU, nullptr),
            DASH_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "dashCompile: kernel is NULL");
  EXPECT_EQ(dashForward(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                        nullptr, nullptr, nullptr),
            DASH_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(std::string(dashGetLastError(nullptr)),
            "dashForward: kernel is NULL");
  EXPECT_EQ(dashBackward(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                         nullptr, nullptr, nullptr, nullptr, nullptr),
            DASH_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(dashKernelGetConfig(nullptr, nullptr, nullptr),
            DASH_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(dashContextCachedKernels(nullptr), 0);
  dashAttentionConfigInit(nullptr);
  dashKernelRelease(nullptr);
  dashContextDestroy(nullptr);

  ASSERT_EQ(dashCompile(context, &config, DASH_TARGET_CPU, &kernel),
            DASH_STATUS_OK);
  float buffer[1];
  EXPECT_EQ(dashForward(kernel, buffer, nullptr, buffer, nullptr, buffer,
                        nullptr, nullptr, nullptr),
            DASH_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "dashForward: k is NULL");
  // W is an input only of kernels compiled with a summary query.
  EXPECT_EQ(dashForward(kernel, buffer, buffer, buffer, buffer, buffer, nullptr,
                        nullptr, nullptr),
            DASH_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(lastError().find("w must be NULL"), std::string::npos)
      << lastError();
  EXPECT_EQ(dashBackward(kernel, buffer, buffer, buffer, nullptr, nullptr,
                         buffer, buffer, buffer, nullptr, nullptr),
            DASH_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "dashBackward: dO is NULL");
  dashKernelRelease(kernel);
}

TEST_F(CAPI, InvalidConfigurationsNameTheProblem) {
  DashKernel kernel = reinterpret_cast<DashKernel>(0x1);
  config.heads = 3; // Not a multiple of kv_heads = 2.
  EXPECT_EQ(dashCompile(context, &config, DASH_TARGET_CPU, &kernel),
            DASH_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kernel, nullptr);
  EXPECT_NE(lastError().find("invalid attention configuration"),
            std::string::npos)
      << lastError();
  EXPECT_NE(lastError().find("must be a multiple of Hkv = 2"),
            std::string::npos)
      << lastError();

  config.heads = 4;
  config.seq_len = 0;
  EXPECT_EQ(dashCompile(context, &config, DASH_TARGET_CPU, &kernel),
            DASH_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(lastError().find("sequence length must be >= 1, got 0"),
            std::string::npos)
      << lastError();

  config.seq_len = 40;
  config.prior = 7;
  EXPECT_EQ(dashCompile(context, &config, DASH_TARGET_CPU, &kernel),
            DASH_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(lastError().find("got 7"), std::string::npos) << lastError();

  config.prior = DASH_PRIOR_RAW;
  config.alpha = 1.0;
  EXPECT_EQ(dashCompile(context, &config, DASH_TARGET_CPU, &kernel),
            DASH_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(lastError().find("alpha"), std::string::npos) << lastError();

  config.alpha = 1.5;
  EXPECT_EQ(dashCompile(context, &config, static_cast<DashTarget>(5), &kernel),
            DASH_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(lastError().find("got 5"), std::string::npos) << lastError();
  EXPECT_EQ(dashContextCachedKernels(context), 0);
}

TEST_F(CAPI, ConfigurationTooLargeForMemoryIsACompileError) {
  // N = 2^21: the CPU lowering's dense fine-attention scores
  // [1, 2, 2, N, N] in f32 take 64 TiB; compiling says so instead of the
  // kernel crashing in malloc.
  config.seq_len = int64_t(1) << 21;
  config.block_size = 4096;
  DashKernel kernel = reinterpret_cast<DashKernel>(0x1);
  EXPECT_EQ(dashCompile(context, &config, DASH_TARGET_CPU, &kernel),
            DASH_STATUS_COMPILE_ERROR);
  EXPECT_EQ(kernel, nullptr);
  EXPECT_NE(lastError().find("of temporary buffers per call (the largest is "
                             "memref<1x2x2x2097152x2097152xf32>, 64.0 TiB"),
            std::string::npos)
      << lastError();
  EXPECT_NE(lastError().find("of memory available on this machine"),
            std::string::npos)
      << lastError();
}

TEST_F(CAPI, CudaWithoutADriverIsUnavailable) {
  if (void *driver = dlopen("libcuda.so.1", RTLD_NOW)) {
    dlclose(driver);
    GTEST_SKIP() << "the CUDA driver is installed";
  }
  DashKernel kernel = nullptr;
  EXPECT_EQ(dashCompile(context, &config, DASH_TARGET_CUDA, &kernel),
            DASH_STATUS_CUDA_UNAVAILABLE);
  EXPECT_EQ(kernel, nullptr);
  EXPECT_NE(lastError().find("DASH_TARGET_CUDA: libcuda.so.1"),
            std::string::npos)
      << lastError();
}

} // namespace
