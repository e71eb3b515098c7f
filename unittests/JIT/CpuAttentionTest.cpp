//===- CpuAttentionTest.cpp - CPU-compiled attention vs the oracle -------===//
//
// Every configuration is compiled through dash-cpu-pipeline, run on fresh
// seeded inputs and compared with the double-precision oracle: O and LSE by
// relative L2 (spec 4 tolerances) and the selected-block counts exactly.
//
//===----------------------------------------------------------------------===//

#include "dash/Check/Check.h"
#include "dash/JIT/CpuFunction.h"

#include "gtest/gtest.h"

#include <map>
#include <set>

using namespace dash;

namespace {

/// Selection decisions closer than this to tau (in x units) can flip under
/// f32 rounding of the logits and of tau (about 1e-7 here); inputs are drawn
/// until every decision is farther away (spec 4).
constexpr double kMinMargin = 2e-6;

/// The factor levels. The test runs a covering set in which every
/// pair of levels of any two factors occurs at least once.
struct Levels {
  std::vector<int64_t> seqLen = {1, 17, 64, 200, 513};
  std::vector<int64_t> block = {16, 64};
  std::vector<int64_t> groups = {1, 4};
  std::vector<int64_t> headDim = {16, 64};
  std::vector<double> alpha = {1.25, 1.5, 2.0};
  std::vector<Prior> prior = {Prior::Raw, Prior::Centered, Prior::Flat};
  std::vector<bool> withW = {false, true};
};

std::vector<size_t> levelCounts() {
  Levels l;
  return {l.seqLen.size(), l.block.size(), l.groups.size(), l.headDim.size(),
          l.alpha.size(),  l.prior.size(), l.withW.size()};
}

AttentionConfig makeConfig(const std::vector<size_t> &index) {
  Levels l;
  AttentionConfig c;
  c.batch = 1;
  c.kvHeads = 2;
  c.heads = c.kvHeads * l.groups[index[2]];
  c.seqLen = l.seqLen[index[0]];
  c.blockSize = l.block[index[1]];
  c.headDim = l.headDim[index[3]];
  c.alpha = l.alpha[index[4]];
  c.prior = l.prior[index[5]];
  c.withSummaryQuery = l.withW[index[6]];
  c.sigma = 1.0;
  return c;
}

/// Greedy all-pairs covering of the factor levels (deterministic).
std::vector<AttentionConfig> pairwiseConfigs() {
  std::vector<size_t> counts = levelCounts();
  size_t factors = counts.size();
  using Pair = std::tuple<size_t, size_t, size_t, size_t>;
  std::set<Pair> uncovered;
  for (size_t f = 0; f < factors; ++f)
    for (size_t g = f + 1; g < factors; ++g)
      for (size_t a = 0; a < counts[f]; ++a)
        for (size_t b = 0; b < counts[g]; ++b)
          uncovered.insert({f, a, g, b});
  std::vector<std::vector<size_t>> all(1);
  for (size_t f = 0; f < factors; ++f) {
    std::vector<std::vector<size_t>> next;
    for (auto &partial : all)
      for (size_t a = 0; a < counts[f]; ++a) {
        next.push_back(partial);
        next.back().push_back(a);
      }
    all = std::move(next);
  }
  auto newlyCovered = [&](const std::vector<size_t> &row) {
    size_t n = 0;
    for (size_t f = 0; f < factors; ++f)
      for (size_t g = f + 1; g < factors; ++g)
        n += uncovered.count({f, row[f], g, row[g]});
    return n;
  };
  std::vector<AttentionConfig> configs;
  while (!uncovered.empty()) {
    const std::vector<size_t> *best = &all.front();
    size_t bestGain = 0;
    for (const auto &row : all)
      if (size_t gain = newlyCovered(row); gain > bestGain) {
        best = &row;
        bestGain = gain;
      }
    for (size_t f = 0; f < factors; ++f)
      for (size_t g = f + 1; g < factors; ++g)
        uncovered.erase({f, (*best)[f], g, (*best)[g]});
    configs.push_back(makeConfig(*best));
  }
  return configs;
}

void runAgainstOracle(const AttentionConfig &config, uint64_t seed) {
  auto function = CpuFunction::compileAttention(config);
  ASSERT_TRUE(static_cast<bool>(function))
      << llvm::toString(function.takeError());
  check::AttentionData data;
  oracle::ForwardResult reference;
  uint64_t usedSeed = 0;
  ASSERT_TRUE(check::drawWithMargin(config, seed, kMinMargin, 50, data,
                                    reference, usedSeed))
      << "no input with a clear selection margin for " << config.str();
  check::AttentionOutputs outputs(config);
  std::vector<const void *> inputs;
  for (const auto &buffer : data.buffers)
    inputs.push_back(buffer.data());
  llvm::Error error = (*function)->call(
      inputs, {outputs.out.data(), outputs.lse.data(), outputs.counts.data()});
  ASSERT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
  check::Comparison result = check::compare(config, outputs, reference);
  EXPECT_TRUE(result.passes(config.dtype))
      << config.str() << " seed " << usedSeed << ": " << result.str();
}

/// The compiled gradient function (forward recomputed inside) against the
/// oracle's backward pass for a random upstream gradient.
void runGradientAgainstOracle(const AttentionConfig &config, uint64_t seed) {
  auto function = CpuFunction::compileAttentionGrad(config);
  ASSERT_TRUE(static_cast<bool>(function))
      << llvm::toString(function.takeError());
  check::AttentionData data;
  oracle::ForwardResult reference;
  uint64_t usedSeed = 0;
  ASSERT_TRUE(check::drawWithMargin(config, seed, kMinMargin, 50, data,
                                    reference, usedSeed))
      << "no input with a clear selection margin for " << config.str();
  check::OutputGrad dOut = check::randomOutputGrad(config, usedSeed + 1000);
  oracle::Gradients expected =
      oracle::backward(check::toOracle(config), data.q, data.k, data.v, data.w,
                       reference, dOut.values);
  check::GradientOutputs outputs(config);
  std::vector<const void *> inputs;
  for (const auto &buffer : data.buffers)
    inputs.push_back(buffer.data());
  inputs.push_back(dOut.buffer.data());
  llvm::Error error = (*function)->call(inputs, outputs.pointers());
  ASSERT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
  check::GradientComparison result =
      check::compareGradients(config, outputs, expected);
  EXPECT_TRUE(result.passes(config.dtype))
      << config.str() << " seed " << usedSeed << ": " << result.str();
}

class CpuAttentionPairwise : public testing::TestWithParam<AttentionConfig> {};

TEST_P(CpuAttentionPairwise, MatchesOracle) { runAgainstOracle(GetParam(), 7); }

TEST_P(CpuAttentionPairwise, GradientsMatchOracle) {
  runGradientAgainstOracle(GetParam(), 7);
}

INSTANTIATE_TEST_SUITE_P(Matrix, CpuAttentionPairwise,
                         testing::ValuesIn(pairwiseConfigs()),
                         [](const testing::TestParamInfo<AttentionConfig> &i) {
                           return std::to_string(i.index);
                         });

TEST(CpuAttentionPairwise, CoversEveryLevelPair) {
  // 5 x 3 is the largest pair of factors, so at least 15 configurations.
  EXPECT_GE(pairwiseConfigs().size(), 15u);
}

AttentionConfig baseConfig() {
  AttentionConfig c;
  c.batch = 2;
  c.heads = 4;
  c.kvHeads = 2;
  c.seqLen = 150;
  c.headDim = 16;
  c.blockSize = 16;
  c.prior = Prior::Raw;
  c.withSummaryQuery = true;
  return c;
}

TEST(CpuAttention, LocalAndInitialBlocks) {
  AttentionConfig c = baseConfig();
  c.localBlocks = 2;
  c.initBlocks = 1;
  runAgainstOracle(c, 11);
}

TEST(CpuAttention, SparseRoutingAndExplicitScale) {
  AttentionConfig c = baseConfig();
  c.gamma = 8.0;
  c.scale = 0.3;
  c.prior = Prior::Centered;
  c.sigma = 0.5;
  runAgainstOracle(c, 13);
}

TEST(CpuAttention, GroupOfAllHeads) {
  AttentionConfig c = baseConfig();
  c.kvHeads = 1;
  c.alpha = 3.0;
  runAgainstOracle(c, 17);
}

TEST(CpuAttention, Bf16) {
  AttentionConfig c = baseConfig();
  c.dtype = ElementType::BF16;
  runAgainstOracle(c, 19);
}

TEST(CpuAttentionGrad, LocalAndInitialBlocks) {
  AttentionConfig c = baseConfig();
  c.localBlocks = 1;
  c.initBlocks = 2;
  c.prior = Prior::Centered;
  runGradientAgainstOracle(c, 23);
}

TEST(CpuAttentionGrad, RouterGradNone) {
  AttentionConfig c = baseConfig();
  c.routerGrad = false;
  runGradientAgainstOracle(c, 29);
}

TEST(CpuAttentionGrad, Bf16) {
  AttentionConfig c = baseConfig();
  c.dtype = ElementType::BF16;
  runGradientAgainstOracle(c, 31);
}

TEST(CpuAttention, RejectsInvalidConfig) {
  AttentionConfig c = baseConfig();
  c.heads = 3;
  auto function = CpuFunction::compileAttention(c);
  ASSERT_FALSE(static_cast<bool>(function));
  EXPECT_NE(llvm::toString(function.takeError()).find("must be a multiple of"),
            std::string::npos);
}

TEST(CpuAttention, RejectsWrongArgumentCount) {
  AttentionConfig c = baseConfig();
  auto function = CpuFunction::compileAttention(c);
  ASSERT_TRUE(static_cast<bool>(function));
  llvm::Error error = (*function)->call({nullptr}, {});
  ASSERT_TRUE(static_cast<bool>(error));
  EXPECT_NE(llvm::toString(std::move(error)).find("takes 4 inputs"),
            std::string::npos);
}
} // namespace
