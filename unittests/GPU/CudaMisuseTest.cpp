//===- CudaMisuseTest.cpp - CUDA compile and run errors ------------------===//
//
// Misuse of the CUDA target gives an error value naming the problem, never a
// crash: an unsupported chip and a missing toolkit fail to compile (no GPU
// needed), and a function whose buffers exceed the card's memory fails to
// run, leaving the device usable (skipped without a GPU).
//
//===----------------------------------------------------------------------===//

#include "EdgeCaseTest.h"

#include "dash/Check/Check.h"
#include "dash/Runtime/CudaRuntime.h"

#include "gtest/gtest.h"

#include <cstdlib>
#include <iostream>
#include <optional>

using namespace dash;

namespace {

AttentionConfig smallConfig() {
  AttentionConfig c;
  c.heads = 2;
  c.kvHeads = 1;
  c.seqLen = 64;
  c.headDim = 16;
  c.blockSize = 16;
  return c;
}

/// The error of compiling `config` for CUDA with `options`, printed for the
/// record of GPU runs.
std::string compileError(const AttentionConfig &config,
                         const CompileOptions &options, const char *what) {
  auto function = CpuFunction::compileAttention(config, options);
  if (function) {
    ADD_FAILURE() << what << ": compiled";
    return "";
  }
  std::string message = llvm::toString(function.takeError());
  std::cout << "[ RESULT   ] " << what << ": " << message << std::endl;
  return message;
}

/// Sets an environment variable for the scope of a test.
class ScopedEnv {
public:
  ScopedEnv(const char *name, const char *value) : name(name) {
    if (const char *old = std::getenv(name))
      saved = old;
    setenv(name, value, /*overwrite=*/1);
  }
  ~ScopedEnv() {
    if (saved)
      setenv(name, saved->c_str(), 1);
    else
      unsetenv(name);
  }

private:
  const char *name;
  std::optional<std::string> saved;
};

TEST(CudaMisuse, UnsupportedChip) {
  // Needs no GPU: ptxas rejects the chip.
  CompileOptions options;
  options.target = Target::Cuda;
  options.chip = "sm_20";
  std::string message = compileError(smallConfig(), options, "chip sm_20");
  EXPECT_CONTAINS(message, "dash-nvvm-pipeline failed");
  EXPECT_CONTAINS(message, "sm_20");
}

TEST(CudaMisuse, NoToolkit) {
  // The toolkit (ptxas, libdevice) is found through $CUDA_HOME, then $PATH;
  // both point nowhere here.
  ScopedEnv home("CUDA_HOME", "/nonexistent/cuda");
  ScopedEnv path("PATH", "/nonexistent/bin");
  CompileOptions options;
  options.target = Target::Cuda;
  std::string message = compileError(smallConfig(), options, "no toolkit");
  EXPECT_CONTAINS(message, "dash-nvvm-pipeline failed");
  EXPECT_CONTAINS(message, "/nonexistent/cuda");
}

TEST(CudaMisuse, OutOfDeviceMemory) {
  std::string why = test::unavailable(Target::Cuda);
  if (!why.empty())
    GTEST_SKIP() << why;
  // N = 2^18: the dense fine-attention scores [1, 1, 4, N, N] in f32 take
  // 1 TiB, more than any card has, while Q, K, V and O fit.
  AttentionConfig huge = smallConfig();
  huge.heads = 4;
  huge.seqLen = int64_t(1) << 18;
  huge.headDim = 8;
  huge.blockSize = 4096;
  CompileOptions options = test::optionsFor(Target::Cuda);
  auto function = CpuFunction::compileAttention(huge, options);
  ASSERT_TRUE(static_cast<bool>(function))
      << llvm::toString(function.takeError());
  check::AttentionData data = check::randomInputs(huge, 1);
  check::AttentionOutputs outputs(huge);
  llvm::Error error = (*function)->call(
      {data.buffers[0].data(), data.buffers[1].data(), data.buffers[2].data()},
      {outputs.out.data(), outputs.lse.data(), outputs.counts.data()});
  ASSERT_TRUE(static_cast<bool>(error)) << "a 1 TiB buffer was allocated";
  std::string message = llvm::toString(std::move(error));
  std::cout << "[ RESULT   ] out of device memory: " << message << std::endl;
  EXPECT_CONTAINS(message, "CUDA_ERROR_OUT_OF_MEMORY");
  EXPECT_CONTAINS(message, "1.0 TiB");

  // Nothing ran on the missing buffer: the device still computes correctly.
  AttentionConfig small = smallConfig();
  auto again = CpuFunction::compileAttention(small, options);
  ASSERT_TRUE(static_cast<bool>(again)) << llvm::toString(again.takeError());
  check::AttentionData smallData = check::randomInputs(small, 2);
  check::AttentionOutputs smallOutputs(small);
  error =
      (*again)->call({smallData.buffers[0].data(), smallData.buffers[1].data(),
                      smallData.buffers[2].data()},
                     {smallOutputs.out.data(), smallOutputs.lse.data(),
                      smallOutputs.counts.data()});
  ASSERT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
  oracle::ForwardResult reference =
      oracle::forward(check::toOracle(small), smallData.q, smallData.k,
                      smallData.v, smallData.w);
  check::Comparison result = check::compare(small, smallOutputs, reference);
  EXPECT_TRUE(result.passes(small.dtype)) << result.str();
  std::cout << "[ RESULT   ] after the failure: " << small.str() << " | "
            << result.str() << std::endl;
}

} // namespace
