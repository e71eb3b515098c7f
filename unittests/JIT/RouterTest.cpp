//===- RouterTest.cpp - The router alone against the oracle ---------------===//
//
// Random Q (rounded to the case's type) and f32 summaries, the raw prior
// (so that l = log pi compares as pi = exp(l)), gamma 4 for a sparse
// selection. Rows with a decision within f32's reach of the entmax threshold
// are left out (spec 4), and so are their counts.
//
//===----------------------------------------------------------------------===//

#include "RouterTest.h"

#include "dash/Check/Check.h"
#include "dash/Oracle/Oracle.h"

#include <cmath>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>

namespace dash::test {

void PrintTo(const RouterCase &routerCase, std::ostream *os) {
  *os << (routerCase.target == Target::Cpu ? "cpu" : "cuda") << "_H"
      << routerCase.heads << "_Hkv" << routerCase.kvHeads << "_N"
      << routerCase.seqLen << "_D" << routerCase.headDim << "_"
      << elementTypeName(routerCase.dtype);
}

void RouterMatchesOracle::SetUp() {
  std::string why = unavailable(GetParam().target);
  if (!why.empty())
    GTEST_SKIP() << why;
}

namespace {

constexpr int64_t kBlock = 64;
constexpr double kGamma = 4.0, kAlpha = 1.5;
/// Rows with a decision closer than this to tau (in x = (alpha - 1) z) are
/// not compared.
constexpr double kMargin = 1e-4;
/// Absolute, on pi = exp(l).
constexpr double kPooledTolerance = 1e-5;

std::string routerSource(const RouterCase &c) {
  int64_t blocks = c.seqLen / kBlock;
  auto tensor = [](std::initializer_list<int64_t> shape, const char *type) {
    std::ostringstream os;
    os << "tensor<";
    for (int64_t size : shape)
      os << size << "x";
    os << type << ">";
    return os.str();
  };
  std::string query =
      tensor({1, c.heads, c.seqLen, c.headDim}, elementTypeName(c.dtype));
  std::string summaries = tensor({1, c.kvHeads, blocks, c.headDim}, "f32");
  std::string logits = tensor({1, c.heads, c.seqLen, blocks}, "f32");
  std::string tau = tensor({1, c.heads, c.seqLen}, "f32");
  std::string prior = tensor({1, c.kvHeads, c.seqLen, blocks}, "f32");
  std::string counts = tensor({1, c.kvHeads, c.seqLen}, "i32");
  std::ostringstream os;
  os << std::fixed << std::setprecision(2); // MLIR float literals need a dot.
  os << "func.func @router(%q: " << query << ", %kbar: " << summaries
     << ") -> (" << prior << ", " << counts << ") {\n"
     << "  %z0 = tensor.empty() : " << logits << "\n"
     << "  %z = dash.route_logits ins(%q, %kbar : " << query << ", "
     << summaries << ") outs(%z0 : " << logits
     << ") {block_size = 64, gamma = " << kGamma << " : f64}\n"
     << "  %p0 = tensor.empty() : " << logits << "\n"
     << "  %t0 = tensor.empty() : " << tau << "\n"
     << "  %p, %tau = dash.entmax ins(%z : " << logits
     << ") outs(%p0, %t0 : " << logits << ", " << tau << ") {alpha = " << kAlpha
     << " : f64, dimension = 3}\n"
     << "  %l0 = tensor.empty() : " << prior << "\n"
     << "  %c0 = tensor.empty() : " << counts << "\n"
     << "  %prior, %counts = dash.block_prior ins(%p : " << logits
     << ") outs(%l0, %c0 : " << prior << ", " << counts
     << ") {block_size = 64, prior_mode = #dash.prior_mode<raw>}\n"
     << "  return %prior, %counts : " << prior << ", " << counts << "\n}\n";
  return os.str();
}

/// Standard normal values rounded to `type`: the buffer and its values.
std::pair<std::vector<char>, std::vector<double>>
randomTensor(size_t count, ElementType type, std::mt19937_64 &rng) {
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> values(count);
  for (double &x : values)
    x = normal(rng);
  std::vector<char> buffer = check::encode(values, type);
  return {buffer, check::decode(buffer.data(), count, type)};
}

/// The attention configuration whose router the case's function is.
AttentionConfig attentionConfig(const RouterCase &c) {
  AttentionConfig config;
  config.heads = c.heads;
  config.kvHeads = c.kvHeads;
  config.seqLen = c.seqLen;
  config.headDim = c.headDim;
  config.blockSize = kBlock;
  config.alpha = kAlpha;
  config.gamma = kGamma;
  config.prior = Prior::Raw;
  config.dtype = c.dtype;
  return config;
}

/// Whether a head of KV head `g` has a decision for token `i` within
/// kMargin of its threshold.
bool nearThreshold(const oracle::ForwardResult &reference, const RouterCase &c,
                   int64_t g, int64_t i) {
  int64_t group = c.heads / c.kvHeads, blocks = c.seqLen / kBlock;
  for (int64_t h = g * group; h < (g + 1) * group; ++h) {
    int64_t qRow = h * c.seqLen + i;
    for (int64_t b = 0; b < i / kBlock; ++b)
      if (std::abs((kAlpha - 1.0) * reference.logits[qRow * blocks + b] -
                   reference.tau[qRow]) < kMargin)
        return true;
  }
  return false;
}

/// The first block of prior row `row` whose log-prior differs from the
/// oracle's (as pi = exp(l)), or -1.
int64_t firstDifference(const std::vector<float> &prior,
                        const oracle::ForwardResult &reference, int64_t row,
                        int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b) {
    double expected = reference.logPrior[row * blocks + b];
    double got = prior[row * blocks + b];
    bool matches =
        std::isinf(expected)
            ? got == expected
            : std::abs(std::exp(got) - std::exp(expected)) <= kPooledTolerance;
    if (!matches)
      return b;
  }
  return -1;
}

} // namespace

TEST_P(RouterMatchesOracle, PriorAndCounts) {
  const RouterCase &c = GetParam();
  int64_t blocks = c.seqLen / kBlock;
  std::mt19937_64 rng(11);
  auto [queryBuffer, query] =
      randomTensor(c.heads * c.seqLen * c.headDim, c.dtype, rng);
  auto [summaryBuffer, summaries] =
      randomTensor(c.kvHeads * blocks * c.headDim, ElementType::F32, rng);

  auto router = CpuFunction::compileSource(routerSource(c), "router",
                                           optionsFor(c.target));
  ASSERT_TRUE(static_cast<bool>(router)) << llvm::toString(router.takeError());
  std::vector<float> prior(c.kvHeads * c.seqLen * blocks);
  std::vector<int32_t> counts(c.kvHeads * c.seqLen);
  llvm::Error error =
      (*router)->call({queryBuffer.data(), summaryBuffer.data()},
                      {prior.data(), counts.data()});
  ASSERT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));

  oracle::ForwardResult reference =
      oracle::route(check::toOracle(attentionConfig(c)), query, summaries);
  int64_t compared = 0, skipped = 0, mismatches = 0;
  std::ostringstream first;
  for (int64_t g = 0; g < c.kvHeads; ++g)
    for (int64_t i = 0; i < c.seqLen; ++i) {
      if (nearThreshold(reference, c, g, i)) {
        ++skipped;
        continue;
      }
      ++compared;
      int64_t row = g * c.seqLen + i;
      int64_t differs = firstDifference(prior, reference, row, blocks);
      if (counts[row] == reference.counts[row] && differs < 0)
        continue;
      // Only the first mismatch is described.
      if (mismatches++ > 0)
        continue;
      first << "KV head " << g << ", token " << i << ": count " << counts[row]
            << " (oracle " << reference.counts[row] << ")";
      if (differs >= 0)
        first << ", log-prior of block " << differs << " "
              << prior[row * blocks + differs] << " (oracle "
              << reference.logPrior[row * blocks + differs] << ")";
    }
  EXPECT_EQ(mismatches, 0) << mismatches << " of " << compared
                           << " rows differ; first: " << first.str();
  // Most rows are clear of the threshold, so the comparison covers them.
  EXPECT_GT(compared, skipped);
  std::cout << "[ RESULT   ] rows compared " << compared << ", skipped "
            << skipped << " (a decision within " << kMargin
            << " of tau), oracle density " << reference.density << std::endl;
}

} // namespace dash::test
