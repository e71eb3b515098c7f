//===- FunctionTest.cpp - Functions of MLIR modules in the C API ---------===//
//
// dashFunctionCompile / dashFunctionCall on a module with a single stage op
// (dash.sparse_attention) and one with dash.attention, against the oracle;
// the signature queries; and every mismatched argument.
//
//===----------------------------------------------------------------------===//

#include "CAPITestUtils.h"

using namespace dash;
using namespace dash::capitest;

namespace {

/// A single stage op, with the shapes of the fixture's configuration: B = 1,
/// H = 4, Hkv = 2, N = 40, D = 16, block size 8 (M = 5 blocks).
const std::string kModule = std::string(R"mlir(
func.func @fine(%q: tensor<1x4x40x16xf32>, %k: tensor<1x2x40x16xf32>,
                %v: tensor<1x2x40x16xf32>, %prior: tensor<1x2x40x5xf32>)
    -> (tensor<1x4x40x16xf32>, tensor<1x4x40xf32>) {
  %oi = tensor.empty() : tensor<1x4x40x16xf32>
  %li = tensor.empty() : tensor<1x4x40xf32>
  %o, %lse = dash.sparse_attention
      ins(%q, %k, %v, %prior : tensor<1x4x40x16xf32>, tensor<1x2x40x16xf32>,
          tensor<1x2x40x16xf32>, tensor<1x2x40x5xf32>)
      outs(%oi, %li : tensor<1x4x40x16xf32>, tensor<1x4x40xf32>)
      {block_size = 8}
  return %o, %lse : tensor<1x4x40x16xf32>, tensor<1x4x40xf32>
}
)mlir") + kAttentionFunction;

DashTensorArg tensorArg(void *data, int32_t dtype, std::vector<int64_t> shape) {
  DashTensorArg arg{};
  arg.data = data;
  arg.dtype = dtype;
  arg.rank = static_cast<int32_t>(shape.size());
  std::copy(shape.begin(), shape.end(), arg.shape);
  return arg;
}

class Function : public CAPI {
protected:
  DashStatus compile(const char *entry, DashFunction *function,
                     const std::string &source = kModule) {
    return dashFunctionCompile(context, source.data(), source.size(), entry,
                               DASH_TARGET_CPU, function);
  }
};

TEST_F(Function, SparseAttentionMatchesTheOracle) {
  DashFunction function = nullptr;
  ASSERT_EQ(compile("fine", &function), DASH_STATUS_OK) << lastError();
  int32_t inputs = 0, outputs = 0;
  ASSERT_EQ(dashFunctionGetSignature(function, &inputs, &outputs),
            DASH_STATUS_OK);
  EXPECT_EQ(inputs, 4);
  EXPECT_EQ(outputs, 2);
  DashTensorArg prior;
  ASSERT_EQ(dashFunctionGetArgument(function, 3, &prior), DASH_STATUS_OK);
  EXPECT_EQ(prior.dtype, DASH_DTYPE_F32);
  EXPECT_EQ(std::vector<int64_t>(prior.shape, prior.shape + prior.rank),
            (std::vector<int64_t>{1, 2, 40, 5}));
  EXPECT_EQ(prior.data, nullptr);

  // A log-prior with unselected (-inf) blocks; the query's own block is
  // always selected.
  const int64_t blocks = 5;
  std::vector<double> q = random(qSize(), 1.0), k = random(kvSize(), 1.0),
                      v = random(kvSize(), 1.0),
                      logPrior = random(countRows() * blocks, 1.0);
  std::uniform_real_distribution<double> uniform;
  for (size_t row = 0; row < countRows(); ++row)
    for (int64_t c = 0; c < blocks; ++c)
      if (c != static_cast<int64_t>(row % config.seq_len) / 8 &&
          uniform(rng) < 0.3)
        logPrior[row * blocks + c] = -INFINITY;
  std::vector<double> lseExpected;
  std::vector<double> expected =
      oracle::fineAttention(oracleConfig(), q, k, v, logPrior, &lseExpected);

  std::vector<float> qf = toFloat(q), kf = toFloat(k), vf = toFloat(v),
                     pf = toFloat(logPrior), o(qSize()), lse(rows());
  DashTensorArg args[] = {tensorArg(qf.data(), DASH_DTYPE_F32, {1, 4, 40, 16}),
                          tensorArg(kf.data(), DASH_DTYPE_F32, {1, 2, 40, 16}),
                          tensorArg(vf.data(), DASH_DTYPE_F32, {1, 2, 40, 16}),
                          tensorArg(pf.data(), DASH_DTYPE_F32, {1, 2, 40, 5}),
                          tensorArg(o.data(), DASH_DTYPE_F32, {1, 4, 40, 16}),
                          tensorArg(lse.data(), DASH_DTYPE_F32, {1, 4, 40})};
  ASSERT_EQ(dashFunctionCall(function, 6, args, nullptr), DASH_STATUS_OK)
      << lastError();
  EXPECT_LE(relativeL2(o, expected), kTolerance);
  EXPECT_LE(relativeL2(lse, lseExpected), kTolerance);

  DashKernelInfo info;
  ASSERT_EQ(dashFunctionGetInfo(function, &info), DASH_STATUS_OK);
  EXPECT_EQ(info.source, DASH_KERNEL_SOURCE_COMPILED);
  EXPECT_GT(info.compile_ms, 0.0);
  DashFunction again = nullptr;
  ASSERT_EQ(compile("fine", &again), DASH_STATUS_OK);
  ASSERT_EQ(dashFunctionGetInfo(again, &info), DASH_STATUS_OK);
  EXPECT_EQ(info.source, DASH_KERNEL_SOURCE_MEMORY_CACHE);
  // Another context: the disk cache.
  DashContext fresh = freshContext();
  DashFunction loaded = nullptr;
  ASSERT_EQ(dashFunctionCompile(fresh, kModule.data(), kModule.size(), "fine",
                                DASH_TARGET_CPU, &loaded),
            DASH_STATUS_OK)
      << dashGetLastError(fresh);
  ASSERT_EQ(dashFunctionGetInfo(loaded, &info), DASH_STATUS_OK);
  EXPECT_EQ(info.source, DASH_KERNEL_SOURCE_DISK_CACHE);
  std::vector<float> o2(qSize()), lse2(rows());
  args[4].data = o2.data();
  args[5].data = lse2.data();
  ASSERT_EQ(dashFunctionCall(loaded, 6, args, nullptr), DASH_STATUS_OK)
      << dashGetLastError(fresh);
  EXPECT_EQ(o2, o);
  EXPECT_EQ(lse2, lse);
  dashContextDestroy(fresh);
  for (DashFunction f : {function, again, loaded})
    dashFunctionRelease(f);
}

TEST_F(Function, AttentionWithCountsMatchesTheOracle) {
  DashFunction function = nullptr;
  ASSERT_EQ(compile("full", &function), DASH_STATUS_OK) << lastError();
  DashTensorArg counts;
  ASSERT_EQ(dashFunctionGetArgument(function, 5, &counts), DASH_STATUS_OK);
  EXPECT_EQ(counts.dtype, DASH_DTYPE_I32);
  EXPECT_EQ(counts.rank, 3);

  Inputs in = drawInputs();
  std::vector<float> q = toFloat(in.q), k = toFloat(in.k), v = toFloat(in.v),
                     o(qSize()), lse(rows());
  std::vector<int32_t> c(countRows());
  DashTensorArg args[] = {tensorArg(q.data(), DASH_DTYPE_F32, {1, 4, 40, 16}),
                          tensorArg(k.data(), DASH_DTYPE_F32, {1, 2, 40, 16}),
                          tensorArg(v.data(), DASH_DTYPE_F32, {1, 2, 40, 16}),
                          tensorArg(o.data(), DASH_DTYPE_F32, {1, 4, 40, 16}),
                          tensorArg(lse.data(), DASH_DTYPE_F32, {1, 4, 40}),
                          tensorArg(c.data(), DASH_DTYPE_I32, {1, 2, 40})};
  ASSERT_EQ(dashFunctionCall(function, 6, args, nullptr), DASH_STATUS_OK)
      << lastError();
  EXPECT_LE(relativeL2(o, in.expected.out), kTolerance);
  EXPECT_LE(relativeL2(lse, in.expected.lse), kTolerance);
  EXPECT_EQ(std::vector<int64_t>(c.begin(), c.end()), in.expected.counts);
  dashFunctionRelease(function);
}

TEST_F(Function, MismatchedArgumentsAreNamed) {
  DashFunction function = nullptr;
  ASSERT_EQ(compile("full", &function), DASH_STATUS_OK) << lastError();
  std::vector<float> buffer(qSize());
  std::vector<DashTensorArg> args = {
      tensorArg(buffer.data(), DASH_DTYPE_F32, {1, 4, 40, 16}),
      tensorArg(buffer.data(), DASH_DTYPE_F32, {1, 2, 40, 16}),
      tensorArg(buffer.data(), DASH_DTYPE_F32, {1, 2, 40, 16}),
      tensorArg(buffer.data(), DASH_DTYPE_F32, {1, 4, 40, 16}),
      tensorArg(buffer.data(), DASH_DTYPE_F32, {1, 4, 40}),
      tensorArg(buffer.data(), DASH_DTYPE_I32, {1, 2, 40})};
  auto expectProblem = [&](std::vector<DashTensorArg> call, int32_t count,
                           const std::string &message) {
    EXPECT_EQ(dashFunctionCall(function, count, call.data(), nullptr),
              DASH_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(lastError().find(message), std::string::npos) << lastError();
  };
  expectProblem(args, 5,
                "takes 6 arguments (3 inputs, then 3 outputs for its "
                "results), got 5");
  auto wrong = args;
  wrong[5].dtype = DASH_DTYPE_F32;
  expectProblem(wrong, 6,
                "argument 5 (output 2) must be i32 [1, 2, 40], got f32 "
                "[1, 2, 40]");
  wrong = args;
  wrong[1].shape[2] = 41;
  expectProblem(wrong, 6,
                "argument 1 (input 1) must be f32 [1, 2, 40, 16], got f32 "
                "[1, 2, 41, 16]");
  wrong = args;
  wrong[0].rank = 3;
  expectProblem(wrong, 6,
                "argument 0 (input 0) must be f32 [1, 4, 40, 16], "
                "got f32 [1, 4, 40]");
  wrong[0].rank = 99;
  expectProblem(wrong, 6, "got rank 99");
  wrong = args;
  wrong[2].data = nullptr;
  expectProblem(wrong, 6, "argument 2 (input 2) has NULL data");
  EXPECT_EQ(dashFunctionCall(function, 6, nullptr, nullptr),
            DASH_STATUS_INVALID_ARGUMENT);
  DashTensorArg arg;
  EXPECT_EQ(dashFunctionGetArgument(function, 6, &arg),
            DASH_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(lastError().find("index 6 is out of range"), std::string::npos);
  dashFunctionRelease(function);
}

TEST_F(Function, CompileErrorsAreLocated) {
  DashFunction function = reinterpret_cast<DashFunction>(0x1);
  EXPECT_EQ(compile("fine", &function, "func.func @fine( {"),
            DASH_STATUS_COMPILE_ERROR);
  EXPECT_EQ(function, nullptr);
  EXPECT_NE(lastError().find("cannot parse the MLIR source"), std::string::npos)
      << lastError();
  EXPECT_NE(lastError().find("loc("), std::string::npos) << lastError();
  EXPECT_EQ(compile("missing", &function), DASH_STATUS_COMPILE_ERROR);
  EXPECT_NE(lastError().find("no function named 'missing'"), std::string::npos)
      << lastError();
  std::string invalid = kModule;
  invalid.replace(invalid.find("block_size = 8}"), 15, "block_size = 0}");
  EXPECT_EQ(compile("fine", &function, invalid), DASH_STATUS_COMPILE_ERROR);
  EXPECT_NE(lastError().find("block_size"), std::string::npos) << lastError();
  EXPECT_EQ(dashFunctionCompile(context, nullptr, 0, "fine", DASH_TARGET_CPU,
                                &function),
            DASH_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "dashFunctionCompile: source is NULL");
  EXPECT_EQ(dashFunctionCompile(context, kModule.data(), 10, "fine",
                                static_cast<DashTarget>(7), &function),
            DASH_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(lastError().find("got 7"), std::string::npos);
  EXPECT_EQ(dashFunctionGetSignature(nullptr, nullptr, nullptr),
            DASH_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(dashFunctionCall(nullptr, 0, nullptr, nullptr),
            DASH_STATUS_INVALID_ARGUMENT);
  dashFunctionRelease(nullptr);
}

} // namespace
