//===- CAPITestUtils.h - Shared helpers of the C API tests ------*- C++ -*-===//

#ifndef DASH_UNITTESTS_CAPI_CAPITESTUTILS_H
#define DASH_UNITTESTS_CAPI_CAPITESTUTILS_H

#include "dash-c/Dash.h"

#include "dash/Oracle/Oracle.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace dash::capitest {

inline std::vector<float> toFloat(const std::vector<double> &values) {
  return std::vector<float>(values.begin(), values.end());
}

/// ||a - b|| / ||b||, NaN in `a` included.
inline double relativeL2(const std::vector<float> &a,
                         const std::vector<double> &b) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return std::isnan(diff) ? INFINITY : std::sqrt(diff / norm);
}

/// Spec section 4, f32.
constexpr double kTolerance = 1e-4;

/// A fresh directory under the system's temporary directory, removed with
/// its contents at destruction: tests never touch the user's cache.
class TemporaryDirectory {
public:
  TemporaryDirectory() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "dash-capi-XXXXXX").string();
    if (mkdtemp(pattern.data()))
      directory = pattern;
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    if (!directory.empty())
      std::filesystem::remove_all(directory, ignored);
  }
  const std::string &path() const { return directory; }

private:
  std::string directory;
};

/// A function around one dash.attention with the shapes of the CAPI
/// fixture's configuration.
constexpr const char *kAttentionFunction = R"mlir(
func.func @full(%q: tensor<1x4x40x16xf32>, %k: tensor<1x2x40x16xf32>,
                %v: tensor<1x2x40x16xf32>)
    -> (tensor<1x4x40x16xf32>, tensor<1x4x40xf32>, tensor<1x2x40xi32>) {
  %o, %lse, %counts = dash.attention %q, %k, %v
      {block_size = 8, gamma = 2.0, prior_mode = #dash.prior_mode<raw>}
      : tensor<1x4x40x16xf32>, tensor<1x2x40x16xf32>, tensor<1x2x40x16xf32>
      -> tensor<1x4x40x16xf32> lse tensor<1x4x40xf32> counts tensor<1x2x40xi32>
  return %o, %lse, %counts
      : tensor<1x4x40x16xf32>, tensor<1x4x40xf32>, tensor<1x2x40xi32>
}
)mlir";

/// A context whose disk cache is a temporary directory, and a small
/// configuration with a raw prior.
class CAPI : public testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(cacheDir.path().empty()) << "cannot create a directory";
    ASSERT_EQ(dashContextCreate(&context), DASH_STATUS_OK);
    ASSERT_EQ(dashContextSetCacheDir(context, cacheDir.path().c_str()),
              DASH_STATUS_OK);
    dashAttentionConfigInit(&config);
    config.batch = 1;
    config.heads = 4;
    config.kv_heads = 2;
    config.seq_len = 40;
    config.head_dim = 16;
    config.block_size = 8;
    config.gamma = 2.0;
    config.prior = DASH_PRIOR_RAW;
  }
  void TearDown() override { dashContextDestroy(context); }

  /// The oracle's view of `config`.
  oracle::Config oracleConfig() const {
    oracle::Config c;
    c.batch = config.batch;
    c.heads = config.heads;
    c.kvHeads = config.kv_heads;
    c.seqLen = config.seq_len;
    c.headDim = config.head_dim;
    c.blockSize = config.block_size;
    c.gamma = config.gamma;
    c.prior = oracle::PriorMode::Raw;
    return c;
  }

  size_t qSize() const {
    return config.batch * config.heads * config.seq_len * config.head_dim;
  }
  size_t kvSize() const {
    return config.batch * config.kv_heads * config.seq_len * config.head_dim;
  }
  size_t rows() const { return config.batch * config.heads * config.seq_len; }
  size_t countRows() const {
    return config.batch * config.kv_heads * config.seq_len;
  }

  /// Values rounded to f32, so that the oracle sees what the kernel sees.
  std::vector<double> random(size_t count, double stddev) {
    std::normal_distribution<double> normal(0.0, stddev);
    std::vector<double> values(count);
    for (double &value : values)
      value = static_cast<float>(normal(rng));
    return values;
  }

  /// Inputs whose selection decisions are clear of the entmax threshold, so
  /// that rounding cannot flip a block count, with the oracle's outputs.
  struct Inputs {
    std::vector<double> q, k, v, w;
    oracle::ForwardResult expected;
  };
  Inputs drawInputs() {
    Inputs in;
    for (int attempt = 0; attempt < 50; ++attempt) {
      in.q = random(qSize(), 1.0);
      in.k = random(kvSize(), 1.0);
      in.v = random(kvSize(), 1.0);
      in.w = config.with_summary_query
                 ? random(config.kv_heads * config.head_dim, 0.5)
                 : std::vector<double>();
      in.expected = oracle::forward(oracleConfig(), in.q, in.k, in.v, in.w);
      if (in.expected.minMargin >= 1e-3)
        return in;
    }
    ADD_FAILURE() << "no inputs with a clear margin";
    return in;
  }

  std::string lastError() const { return dashGetLastError(context); }

  /// Another context (the caller destroys it) with the same disk cache.
  DashContext freshContext() const {
    DashContext fresh = nullptr;
    EXPECT_EQ(dashContextCreate(&fresh), DASH_STATUS_OK);
    EXPECT_EQ(dashContextSetCacheDir(fresh, cacheDir.path().c_str()),
              DASH_STATUS_OK);
    return fresh;
  }

  TemporaryDirectory cacheDir;
  DashContext context = nullptr;
  DashAttentionConfig config;
  std::mt19937_64 rng{11};
};

} // namespace dash::capitest

#endif // DASH_UNITTESTS_CAPI_CAPITESTUTILS_H
