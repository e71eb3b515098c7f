//===- CudaAttentionTest.cpp - CUDA-compiled attention vs the oracle -----===//
//
// The forward and gradient functions compiled through dash-nvvm-pipeline and
// run through the driver-only runtime, against the double-precision oracle.
// Skipped (reported as such) where no CUDA driver or GPU is present.
//
//===----------------------------------------------------------------------===//

#include "EdgeCaseTest.h"

#include "dash/Check/Check.h"
#include "dash/JIT/CpuFunction.h"
#include "dash/Runtime/CudaRuntime.h"

#include "gtest/gtest.h"

#include <cstdlib>
#include <iostream>

using namespace dash;

namespace {

class CudaAttention : public testing::TestWithParam<AttentionConfig> {
protected:
  void SetUp() override {
    std::string why = test::unavailable(Target::Cuda);
    if (!why.empty())
      GTEST_SKIP() << why;
  }
};

void checkOnDevice(const AttentionConfig &config, uint64_t seed,
                   const CompileOptions &options) {
  auto forward = CpuFunction::compileAttention(config, options);
  ASSERT_TRUE(static_cast<bool>(forward))
      << llvm::toString(forward.takeError());
  auto gradient = CpuFunction::compileAttentionGrad(config, options);
  ASSERT_TRUE(static_cast<bool>(gradient))
      << llvm::toString(gradient.takeError());

  check::AttentionData data;
  oracle::ForwardResult reference;
  uint64_t used = 0;
  ASSERT_TRUE(
      check::drawWithMargin(config, seed, 2e-6, 50, data, reference, used))
      << "no input with a clear selection margin for " << config.str();
  std::vector<const void *> inputs;
  for (const auto &buffer : data.buffers)
    inputs.push_back(buffer.data());

  check::AttentionOutputs outputs(config);
  llvm::Error error = (*forward)->call(
      inputs, {outputs.out.data(), outputs.lse.data(), outputs.counts.data()});
  ASSERT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
  check::Comparison result = check::compare(config, outputs, reference);
  EXPECT_TRUE(result.passes(config.dtype))
      << config.str() << " seed " << used << ": " << result.str();

  check::OutputGrad dOut = check::randomOutputGrad(config, used + 1000);
  oracle::Gradients expected =
      oracle::backward(check::toOracle(config), data.q, data.k, data.v, data.w,
                       reference, dOut.values);
  check::GradientOutputs grads(config);
  inputs.push_back(dOut.buffer.data());
  error = (*gradient)->call(inputs, grads.pointers());
  ASSERT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
  check::GradientComparison gradResult =
      check::compareGradients(config, grads, expected);
  EXPECT_TRUE(gradResult.passes(config.dtype))
      << config.str() << " seed " << used << ": " << gradResult.str();
  // The record of a GPU run (docs/results/) quotes these lines.
  std::cout << "[ RESULT   ] " << config.str() << " | " << result.str() << " | "
            << gradResult.str() << std::endl;
}

TEST_P(CudaAttention, ForwardAndBackwardMatchOracle) {
  checkOnDevice(GetParam(), 3, test::optionsFor(Target::Cuda));
}

// On an sm_90 device the fine attention runs on warpgroup mma (sm_90a);
// code built for plain sm_90 runs the mma.sync kernels of older chips,
// which keeps them checked there.
class CudaAttentionMmaSync : public CudaAttention {};

TEST_P(CudaAttentionMmaSync, ForwardAndBackwardMatchOracle) {
  CompileOptions options = test::optionsFor(Target::Cuda);
  if (options.chip != "sm_90a")
    GTEST_SKIP() << "needs an sm_90 device (on " << options.chip
                 << " the main matrix runs mma.sync)";
  options.chip = "sm_90";
  checkOnDevice(GetParam(), 5, options);
}

AttentionConfig make(int64_t n, int64_t kvHeads, int64_t groups, int64_t d,
                     ElementType dtype, Prior prior, bool withW,
                     double gamma = 4.0) {
  AttentionConfig c;
  c.batch = 1;
  c.kvHeads = kvHeads;
  c.heads = kvHeads * groups;
  c.seqLen = n;
  c.headDim = d;
  c.blockSize = 64;
  c.dtype = dtype;
  c.prior = prior;
  c.withSummaryQuery = withW;
  c.gamma = gamma;
  return c;
}

/// `c` with another alpha and forced blocks.
AttentionConfig withRouting(AttentionConfig c, double alpha, int64_t local,
                            int64_t initial) {
  c.alpha = alpha;
  c.localBlocks = local;
  c.initBlocks = initial;
  return c;
}

// Covers N in {64, 200, 1000, 1024, 4096}, G in {1, 2, 3, 4, 8, 16, 32}, D in
// {64, 128}, f32, bf16 and f16 (each with and without W), every prior mode,
// alpha in {1.25, 1.5, 2}, forced local and initial blocks. The 16-bit
// configurations (block 64, D 64 or 128) run the router and the fine
// attention on the tensor-core kernels (the router's tiles: 1 to 64 tokens
// of all G heads); gamma 0.25 keeps most blocks.
INSTANTIATE_TEST_SUITE_P(
    Matrix, CudaAttention,
    testing::Values(
        make(64, 2, 1, 64, ElementType::F32, Prior::Raw, false),
        make(1000, 1, 8, 64, ElementType::F32, Prior::Centered, true),
        make(1000, 2, 1, 128, ElementType::BF16, Prior::Flat, true),
        make(1000, 1, 8, 128, ElementType::BF16, Prior::Raw, false),
        make(4096, 1, 1, 64, ElementType::F32, Prior::Centered, false),
        make(4096, 1, 1, 128, ElementType::BF16, Prior::Raw, true),
        make(200, 2, 4, 64, ElementType::BF16, Prior::Centered, true),
        make(64, 1, 1, 64, ElementType::F16, Prior::Raw, false),
        make(1000, 2, 2, 128, ElementType::F16, Prior::Flat, false, 0.25),
        make(4096, 2, 4, 64, ElementType::BF16, Prior::Centered, false, 0.25),
        withRouting(make(1024, 2, 16, 128, ElementType::BF16, Prior::Centered,
                         true),
                    2.0, 1, 1),
        withRouting(make(1000, 1, 4, 64, ElementType::F16, Prior::Raw, false),
                    1.25, 0, 2),
        make(1024, 1, 32, 64, ElementType::BF16, Prior::Flat, false, 1.0),
        // f16 with W: dW through the bf16 routing-logit gradient products.
        make(1000, 2, 4, 128, ElementType::F16, Prior::Centered, true),
        // G = 3 does not divide 64: tiles of one head, whose dK and dV the
        // three heads of a group add.
        make(1000, 2, 3, 64, ElementType::BF16, Prior::Raw, true)),
    [](const testing::TestParamInfo<AttentionConfig> &info) {
      return std::to_string(info.index);
    });

INSTANTIATE_TEST_SUITE_P(
    Matrix, CudaAttentionMmaSync,
    testing::Values(make(1024, 2, 16, 128, ElementType::BF16, Prior::Centered,
                         false, 0.25),
                    make(1000, 2, 3, 64, ElementType::F16, Prior::Raw, true)),
    [](const testing::TestParamInfo<AttentionConfig> &info) {
      return std::to_string(info.index);
    });

TEST(CudaCompile, CompilesAndRunsOrFailsCleanly) {
  // Compiling needs no GPU (ptxas comes from the toolkit); running without a
  // driver is an error value naming the missing piece.
  AttentionConfig config =
      make(64, 1, 2, 16, ElementType::F32, Prior::Raw, false);
  CompileOptions options;
  options.target = Target::Cuda;
  auto function = CpuFunction::compileAttention(config, options);
  ASSERT_TRUE(static_cast<bool>(function))
      << llvm::toString(function.takeError());
  EXPECT_EQ((*function)->target(), Target::Cuda);
  if (!cuda::initialize().empty()) {
    check::AttentionData data = check::randomInputs(config, 1);
    check::AttentionOutputs outputs(config);
    llvm::Error error = (*function)->call(
        {data.buffers[0].data(), data.buffers[1].data(),
         data.buffers[2].data()},
        {outputs.out.data(), outputs.lse.data(), outputs.counts.data()});
    ASSERT_TRUE(static_cast<bool>(error));
    EXPECT_NE(llvm::toString(std::move(error)).find("libcuda.so.1"),
              std::string::npos);
  }
}

TEST(CudaRuntime, ReportsMissingDeviceCleanly) {
  // Without a driver initialize() fails with a message instead of crashing;
  // with one it succeeds and a second call is a no-op.
  std::string first = cuda::initialize(), second = cuda::initialize();
  EXPECT_EQ(first, second);
  if (!first.empty()) {
    void *buffer = nullptr;
    EXPECT_FALSE(cuda::allocate(&buffer, 16).empty());
  }
}

} // namespace
