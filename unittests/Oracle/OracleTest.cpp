//===- OracleTest.cpp - Tests of the double-precision oracle --------------===//
//
// The oracle is what every kernel is judged by, so it is checked here against
// independently written references (dense attention, a projection-based
// sparsemax, softmax as alpha -> 1), hand-computed values, and central finite
// differences of its own forward pass.
//
//===----------------------------------------------------------------------===//

#include "dash/Oracle/Oracle.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <random>

using namespace dash::oracle;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<double> randomVector(std::mt19937_64 &rng, size_t n,
                                 double stddev = 1.0) {
  std::normal_distribution<double> dist(0.0, stddev);
  std::vector<double> x(n);
  for (double &xi : x)
    xi = dist(rng);
  return x;
}

double norm(const std::vector<double> &x) {
  return std::sqrt(std::inner_product(x.begin(), x.end(), x.begin(), 0.0));
}

/// ||a - b|| / ||b||, or ||a - b|| when b is zero.
double relativeError(const std::vector<double> &a,
                     const std::vector<double> &b) {
  EXPECT_EQ(a.size(), b.size());
  std::vector<double> diff(a.size());
  for (size_t i = 0; i < a.size(); ++i)
    diff[i] = a[i] - b[i];
  double scale = norm(b);
  return norm(diff) / (scale > 0.0 ? scale : 1.0);
}

double sum(const std::vector<double> &x) {
  return std::accumulate(x.begin(), x.end(), 0.0);
}

/// Like EXPECT_NEAR, but also accepts equal infinities.
testing::AssertionResult near(double got, double want, double tolerance) {
  if (got == want || std::abs(got - want) <= tolerance)
    return testing::AssertionSuccess();
  return testing::AssertionFailure()
         << got << " differs from " << want << " by more than " << tolerance;
}

struct Inputs {
  std::vector<double> q, k, v, w, dOut;
};

Inputs randomInputs(const Config &config, bool withW, uint64_t seed) {
  std::mt19937_64 rng(seed);
  size_t qSize = config.batch * config.heads * config.seqLen * config.headDim;
  size_t kSize = config.batch * config.kvHeads * config.seqLen * config.headDim;
  Inputs in;
  in.q = randomVector(rng, qSize);
  in.k = randomVector(rng, kSize);
  in.v = randomVector(rng, kSize);
  if (withW)
    in.w = randomVector(rng, config.kvHeads * config.headDim, 0.7);
  in.dOut = randomVector(rng, qSize);
  return in;
}

ForwardResult run(const Config &config, const Inputs &in) {
  return forward(config, in.q, in.k, in.v, in.w);
}

/// Causal softmax attention with an additive bias(b, kvHead, i, j); a bias of
/// -inf drops the key. Written without reference to the oracle's code.
std::vector<double> referenceAttention(
    const Config &config, const Inputs &in,
    const std::function<double(int64_t, int64_t, int64_t, int64_t)> &bias) {
  int64_t n = config.seqLen, d = config.headDim;
  int64_t groupSize = config.heads / config.kvHeads;
  std::vector<double> out(in.q.size(), 0.0);
  for (int64_t b = 0; b < config.batch; ++b)
    for (int64_t h = 0; h < config.heads; ++h) {
      int64_t g = h / groupSize;
      for (int64_t i = 0; i < n; ++i) {
        const double *qi = &in.q[((b * config.heads + h) * n + i) * d];
        std::vector<double> scores;
        std::vector<int64_t> keys;
        for (int64_t j = 0; j <= i; ++j) {
          double bj = bias(b, g, i, j);
          if (bj == -kInf)
            continue;
          const double *kj = &in.k[((b * config.kvHeads + g) * n + j) * d];
          double s = 0.0;
          for (int64_t e = 0; e < d; ++e)
            s += qi[e] * kj[e];
          scores.push_back(config.effectiveScale() * s + bj);
          keys.push_back(j);
        }
        double top = *std::max_element(scores.begin(), scores.end());
        double total = 0.0;
        for (double &s : scores)
          total += s = std::exp(s - top);
        double *oi = &out[((b * config.heads + h) * n + i) * d];
        for (size_t t = 0; t < keys.size(); ++t)
          for (int64_t e = 0; e < d; ++e)
            oi[e] += scores[t] / total *
                     in.v[((b * config.kvHeads + g) * n + keys[t]) * d + e];
      }
    }
  return out;
}

std::vector<double> denseCausal(const Config &config, const Inputs &in) {
  return referenceAttention(
      config, in, [](int64_t, int64_t, int64_t, int64_t) { return 0.0; });
}

/// Relative error of `analytic` against central differences of f at x. Each
/// coordinate costs two evaluations of f, so long vectors are checked on a
/// fixed random sample of coordinates.
double finiteDifferenceError(
    const std::function<double(const std::vector<double> &)> &f,
    std::vector<double> x, const std::vector<double> &analytic) {
  constexpr size_t kMaxCoordinates = 64;
  constexpr double kStep = 1e-6;
  EXPECT_EQ(x.size(), analytic.size());
  std::vector<size_t> coords(x.size());
  std::iota(coords.begin(), coords.end(), 0);
  if (coords.size() > kMaxCoordinates) {
    std::mt19937_64 rng(x.size());
    std::shuffle(coords.begin(), coords.end(), rng);
    coords.resize(kMaxCoordinates);
  }
  std::vector<double> numeric, expected;
  for (size_t i : coords) {
    double xi = x[i];
    x[i] = xi + kStep;
    double up = f(x);
    x[i] = xi - kStep;
    double down = f(x);
    x[i] = xi;
    numeric.push_back((up - down) / (2.0 * kStep));
    expected.push_back(analytic[i]);
  }
  return relativeError(expected, numeric);
}

double dotLoss(const std::vector<double> &out, const std::vector<double> &dO) {
  return std::inner_product(out.begin(), out.end(), dO.begin(), 0.0);
}

//===----------------------------------------------------------------------===//
// Entmax
//===----------------------------------------------------------------------===//

const double kAlphas[] = {1.25, 1.5, 2.0, 3.0};

TEST(EntmaxTest, IsADistribution) {
  std::mt19937_64 rng(1);
  for (double alpha : kAlphas)
    for (int trial = 0; trial < 50; ++trial) {
      std::vector<double> z = randomVector(rng, 1 + trial % 12, 3.0);
      double tau;
      std::vector<double> p = entmax(z, alpha, &tau);
      EXPECT_NEAR(sum(p), 1.0, 1e-12) << "alpha " << alpha;
      for (size_t c = 0; c < z.size(); ++c) {
        EXPECT_GE(p[c], 0.0);
        // p_c = [x_c - tau]_+^(1/(alpha-1)) with the reported tau.
        double gap = std::max((alpha - 1.0) * z[c] - tau, 0.0);
        EXPECT_NEAR(p[c], std::pow(gap, 1.0 / (alpha - 1.0)), 1e-12);
      }
    }
}

TEST(EntmaxTest, MaskedEntriesGetZero) {
  for (double alpha : kAlphas) {
    std::vector<double> z = {0.3, -kInf, 0.1, -kInf, 0.25};
    std::vector<double> p = entmax(z, alpha);
    EXPECT_EQ(p[1], 0.0);
    EXPECT_EQ(p[3], 0.0);
    std::vector<double> unmasked = entmax({0.3, 0.1, 0.25}, alpha);
    EXPECT_NEAR(p[0], unmasked[0], 1e-14);
    EXPECT_NEAR(p[2], unmasked[1], 1e-14);
    EXPECT_NEAR(p[4], unmasked[2], 1e-14);
  }
}

TEST(EntmaxTest, AllMaskedRowGivesZerosAndInfiniteTau) {
  for (double alpha : kAlphas) {
    double tau = 0.0;
    std::vector<double> p = entmax({-kInf, -kInf, -kInf}, alpha, &tau);
    EXPECT_EQ(p, std::vector<double>(3, 0.0));
    EXPECT_EQ(tau, kInf);
    EXPECT_TRUE(entmax({}, alpha, &tau).empty());
    EXPECT_EQ(tau, kInf);
    EXPECT_EQ(entmaxThresholdBisection({-kInf}, alpha), kInf);
  }
}

TEST(EntmaxTest, HandComputedSparsemax) {
  // Support {1, 0.5}: tau = (1 + 0.5 - 1) / 2 = 0.25, and -1 < 0.25.
  double tau;
  std::vector<double> p = entmax({1.0, 0.5, -1.0}, 2.0, &tau);
  EXPECT_NEAR(p[0], 0.75, 1e-15);
  EXPECT_NEAR(p[1], 0.25, 1e-15);
  EXPECT_EQ(p[2], 0.0);
  EXPECT_NEAR(tau, 0.25, 1e-15);
}

TEST(EntmaxTest, HandComputedEntmax15) {
  // x = [0.5, 0]: (0.5 - t)^2 + t^2 = 1 gives t = (1 - sqrt 7) / 4, so
  // p = [(4 + sqrt 7) / 8, (4 - sqrt 7) / 8].
  double tau;
  std::vector<double> p = entmax({1.0, 0.0}, 1.5, &tau);
  EXPECT_NEAR(tau, (1.0 - std::sqrt(7.0)) / 4.0, 1e-15);
  EXPECT_NEAR(p[0], (4.0 + std::sqrt(7.0)) / 8.0, 1e-15);
  EXPECT_NEAR(p[1], (4.0 - std::sqrt(7.0)) / 8.0, 1e-15);
  // x = [1.5, 0]: the top entry alone has t = 0.5 > 0, so it takes it all.
  p = entmax({3.0, 0.0}, 1.5, &tau);
  EXPECT_EQ(p, (std::vector<double>{1.0, 0.0}));
  EXPECT_NEAR(tau, 0.5, 1e-15);
}

TEST(EntmaxTest, SingleEntryGetsAllMass) {
  for (double alpha : kAlphas) {
    double tau;
    std::vector<double> p = entmax({-kInf, 1234.5, -kInf}, alpha, &tau);
    EXPECT_NEAR(p[1], 1.0, 1e-12);
    EXPECT_NEAR(tau, (alpha - 1.0) * 1234.5 - 1.0, 1e-9);
  }
}

/// Euclidean projection onto the simplex by Michelot's algorithm: drop
/// entries at or below the current threshold until none are left to drop.
std::vector<double> michelotSparsemax(const std::vector<double> &z) {
  std::vector<bool> active(z.size(), true);
  for (;;) {
    double total = 0.0;
    int64_t size = 0;
    for (size_t c = 0; c < z.size(); ++c)
      if (active[c]) {
        total += z[c];
        ++size;
      }
    double tau = (total - 1.0) / size;
    bool changed = false;
    for (size_t c = 0; c < z.size(); ++c)
      if (active[c] && z[c] <= tau) {
        active[c] = false;
        changed = true;
      }
    if (!changed) {
      std::vector<double> p(z.size(), 0.0);
      for (size_t c = 0; c < z.size(); ++c)
        if (active[c])
          p[c] = z[c] - tau;
      return p;
    }
  }
}

TEST(EntmaxTest, Alpha2IsSparsemax) {
  std::mt19937_64 rng(2);
  for (int trial = 0; trial < 100; ++trial) {
    std::vector<double> z = randomVector(rng, 1 + trial % 10, 1.0);
    std::vector<double> p = entmax(z, 2.0), ref = michelotSparsemax(z);
    for (size_t c = 0; c < z.size(); ++c)
      EXPECT_NEAR(p[c], ref[c], 1e-14);
  }
}

TEST(EntmaxTest, AlphaNearOneApproachesSoftmax) {
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 10; ++trial) {
    std::vector<double> z = randomVector(rng, 6, 1.0);
    std::vector<double> p = entmax(z, 1.0001);
    double top = *std::max_element(z.begin(), z.end()), total = 0.0;
    std::vector<double> softmax(z.size());
    for (size_t c = 0; c < z.size(); ++c)
      total += softmax[c] = std::exp(z[c] - top);
    for (size_t c = 0; c < z.size(); ++c)
      EXPECT_NEAR(p[c], softmax[c] / total, 1e-3);
  }
}

TEST(EntmaxTest, SortedThresholdMatchesBisection) {
  std::mt19937_64 rng(4);
  for (double alpha : {1.5, 2.0})
    for (int trial = 0; trial < 100; ++trial) {
      std::vector<double> z = randomVector(rng, 1 + trial % 16, 2.0);
      if (trial % 3 == 0)
        z[0] = -kInf;
      double tau;
      entmax(z, alpha, &tau);
      EXPECT_TRUE(near(tau, entmaxThresholdBisection(z, alpha), 1e-12));
    }
}

TEST(EntmaxTest, LargeLogitsStayFinite) {
  for (double alpha : kAlphas) {
    double tau;
    std::vector<double> p =
        entmax({1e4, 1e4 - 0.5, -2e4, 1e4 + 0.25, -kInf}, alpha, &tau);
    EXPECT_TRUE(std::isfinite(tau));
    EXPECT_NEAR(sum(p), 1.0, 1e-9);
    for (double pc : p)
      EXPECT_TRUE(std::isfinite(pc));
  }
}

TEST(EntmaxTest, BackwardMatchesFiniteDifferences) {
  std::mt19937_64 rng(5);
  for (double alpha : kAlphas) {
    int checked = 0;
    while (checked < 10) {
      std::vector<double> z = randomVector(rng, 7, 1.5 / (alpha - 1.0));
      z[3] = -kInf;
      double tau;
      std::vector<double> p = entmax(z, alpha, &tau);
      // Keep every entry clear of the threshold, so the support is fixed
      // within the step.
      double margin = kInf;
      int support = 0;
      for (double zc : z)
        if (zc != -kInf) {
          margin = std::min(margin, std::abs((alpha - 1.0) * zc - tau));
          support += (alpha - 1.0) * zc > tau;
        }
      if (margin < 0.05 || support < 2)
        continue;
      ++checked;
      std::vector<double> dp = randomVector(rng, z.size());
      std::vector<double> dz = entmaxBackward(p, dp, alpha);
      EXPECT_EQ(dz[3], 0.0);
      auto f = [&](const std::vector<double> &x) {
        return std::inner_product(dp.begin(), dp.end(),
                                  entmax(x, alpha).begin(), 0.0);
      };
      // The masked entry stays at -inf under the step.
      EXPECT_LE(finiteDifferenceError(f, z, dz), 1e-6) << "alpha " << alpha;
      EXPECT_NEAR(sum(dz), 0.0, 1e-12);
    }
  }
}

//===----------------------------------------------------------------------===//
// Config
//===----------------------------------------------------------------------===//

TEST(ConfigTest, DerivedSizes) {
  Config config;
  config.seqLen = 130;
  config.headDim = 64;
  EXPECT_EQ(config.numBlocks(), 3);
  EXPECT_EQ(config.numCompleteBlocks(), 2);
  EXPECT_DOUBLE_EQ(config.effectiveScale(), 0.125);
  config.scale = 0.5;
  EXPECT_EQ(config.effectiveScale(), 0.5);
}

TEST(ConfigTest, ValidateAcceptsDefaults) { EXPECT_EQ(validate(Config()), ""); }

TEST(ConfigTest, ValidateRejectsBadConfigs) {
  std::vector<std::function<void(Config &)>> breakers = {
      [](Config &c) { c.batch = 0; },
      [](Config &c) { c.heads = 0; },
      [](Config &c) { c.kvHeads = 0; },
      [](Config &c) { c.seqLen = 0; },
      [](Config &c) { c.headDim = 0; },
      [](Config &c) {
        c.heads = 6;
        c.kvHeads = 4;
      },
      [](Config &c) { c.blockSize = 0; },
      [](Config &c) { c.alpha = 1.0; },
      [](Config &c) { c.alpha = std::nan(""); },
      [](Config &c) { c.alpha = kInf; },
      [](Config &c) { c.gamma = -1.0; },
      [](Config &c) { c.sigma = 0.0; },
      [](Config &c) { c.sigma = kInf; },
      [](Config &c) { c.localBlocks = -1; },
      [](Config &c) { c.initBlocks = -1; },
      [](Config &c) { c.scale = 0.0; },
  };
  for (size_t i = 0; i < breakers.size(); ++i) {
    Config config;
    breakers[i](config);
    EXPECT_NE(validate(config), "") << "breaker " << i;
  }
}

//===----------------------------------------------------------------------===//
// Forward
//===----------------------------------------------------------------------===//

Config smallConfig(int64_t batch, int64_t heads, int64_t kvHeads, int64_t n,
                   int64_t blockSize, int64_t headDim) {
  Config config;
  config.batch = batch;
  config.heads = heads;
  config.kvHeads = kvHeads;
  config.seqLen = n;
  config.blockSize = blockSize;
  config.headDim = headDim;
  return config;
}

TEST(ForwardTest, AllBlocksForcedIsDenseCausal) {
  for (PriorMode prior :
       {PriorMode::Raw, PriorMode::Centered, PriorMode::Flat}) {
    Config config = smallConfig(2, 4, 2, 37, 8, 8);
    config.prior = prior;
    config.gamma = 5.0;
    config.initBlocks = config.numBlocks();
    Inputs in = randomInputs(config, /*withW=*/true, 10);
    ForwardResult r = run(config, in);
    EXPECT_LE(relativeError(r.out, denseCausal(config, in)), 1e-13);
    EXPECT_DOUBLE_EQ(r.density, 1.0);
  }
}

TEST(ForwardTest, UniformRoutingWithFlatPriorIsDenseCausal) {
  // gamma = 0 makes every candidate's probability positive.
  Config config = smallConfig(1, 2, 2, 40, 8, 4);
  config.prior = PriorMode::Flat;
  config.gamma = 0.0;
  Inputs in = randomInputs(config, /*withW=*/false, 11);
  ForwardResult r = run(config, in);
  EXPECT_LE(relativeError(r.out, denseCausal(config, in)), 1e-13);
  EXPECT_DOUBLE_EQ(r.density, 1.0);
  // Uniform 1.5-entmax over |C| <= 4 candidates: x - tau = |C|^(-1/2).
  EXPECT_NEAR(r.minMargin, 0.5, 1e-14);
}

TEST(ForwardTest, BlockZeroQueriesAttendOnlyTheirBlock) {
  Config config = smallConfig(1, 2, 1, 40, 8, 4);
  config.gamma = 4.0;
  Inputs in = randomInputs(config, /*withW=*/true, 12);
  ForwardResult r = run(config, in);
  std::vector<double> dense = denseCausal(config, in);
  int64_t m = config.numBlocks(), d = config.headDim;
  for (int64_t h = 0; h < config.heads; ++h)
    for (int64_t i = 0; i < config.blockSize; ++i) {
      int64_t row = h * config.seqLen + i;
      EXPECT_EQ(r.tau[row], kInf);
      for (int64_t e = 0; e < d; ++e)
        EXPECT_NEAR(r.out[row * d + e], dense[row * d + e], 1e-14);
    }
  for (int64_t i = 0; i < config.blockSize; ++i) {
    EXPECT_EQ(r.counts[i], 1);
    EXPECT_EQ(r.logPrior[i * m], 0.0);
    for (int64_t c = 1; c < m; ++c)
      EXPECT_EQ(r.logPrior[i * m + c], -kInf);
  }
}

TEST(ForwardTest, SequenceShorterThanABlock) {
  Config config = smallConfig(2, 2, 1, 5, 8, 4);
  Inputs in = randomInputs(config, /*withW=*/true, 13);
  ForwardResult r = run(config, in);
  EXPECT_TRUE(r.summaries.empty());
  EXPECT_TRUE(r.logits.empty());
  EXPECT_EQ(r.logPrior.size(), size_t(2 * 1 * 5 * 1));
  EXPECT_EQ(r.minMargin, kInf);
  EXPECT_DOUBLE_EQ(r.density, 1.0);
  EXPECT_LE(relativeError(r.out, denseCausal(config, in)), 1e-13);
}

struct ForwardCase {
  const char *name;
  int64_t batch, heads, kvHeads, seqLen, blockSize, headDim;
  PriorMode prior;
  double alpha;
  bool withW;
  int64_t localBlocks, initBlocks;
};

void PrintTo(const ForwardCase &fc, std::ostream *os) { *os << fc.name; }

class ForwardStagesTest : public testing::TestWithParam<ForwardCase> {};

Config configFor(const ForwardCase &fc) {
  Config config = smallConfig(fc.batch, fc.heads, fc.kvHeads, fc.seqLen,
                              fc.blockSize, fc.headDim);
  config.prior = fc.prior;
  config.alpha = fc.alpha;
  config.gamma = 4.0;
  config.sigma = 0.7;
  config.localBlocks = fc.localBlocks;
  config.initBlocks = fc.initBlocks;
  return config;
}

// Recomputes every stage from the previous stage's output with the spec's
// formulas, written independently of the oracle.
TEST_P(ForwardStagesTest, StagesFollowTheSpec) {
  const ForwardCase &fc = GetParam();
  Config config = configFor(fc);
  Inputs in = randomInputs(config, fc.withW, 14);
  ForwardResult r = run(config, in);
  int64_t n = config.seqLen, d = config.headDim, bk = config.blockSize;
  int64_t m = config.numBlocks(), mc = config.numCompleteBlocks();
  int64_t groupSize = config.heads / config.kvHeads;
  double scale = config.effectiveScale();
  ASSERT_EQ(r.summaries.size(), size_t(config.batch * config.kvHeads * mc * d));
  ASSERT_EQ(r.logPrior.size(), size_t(config.batch * config.kvHeads * n * m));

  // F1.
  for (int64_t b = 0; b < config.batch; ++b)
    for (int64_t g = 0; g < config.kvHeads; ++g)
      for (int64_t c = 0; c < mc; ++c) {
        std::vector<double> e(bk, 0.0);
        for (int64_t t = 0; t < bk; ++t)
          for (int64_t x = 0; x < d && fc.withW; ++x)
            e[t] += scale * in.w[g * d + x] *
                    in.k[((b * config.kvHeads + g) * n + c * bk + t) * d + x];
        double top = *std::max_element(e.begin(), e.end()), total = 0.0;
        for (double &et : e)
          total += et = std::exp(et - top);
        for (int64_t x = 0; x < d; ++x) {
          double kBar = 0.0;
          for (int64_t t = 0; t < bk; ++t)
            kBar += e[t] / total *
                    in.k[((b * config.kvHeads + g) * n + c * bk + t) * d + x];
          EXPECT_NEAR(r.summaries[((b * config.kvHeads + g) * mc + c) * d + x],
                      kBar, 1e-14);
        }
      }

  // F2, F3.
  int candidates = 0, dropped = 0;
  double minMargin = kInf;
  for (int64_t b = 0; b < config.batch; ++b)
    for (int64_t h = 0; h < config.heads; ++h)
      for (int64_t i = 0; i < n; ++i) {
        int64_t row = (b * config.heads + h) * n + i;
        int64_t g = h / groupSize;
        std::vector<double> z(mc);
        for (int64_t c = 0; c < mc; ++c) {
          z[c] = -kInf;
          if (c < i / bk) {
            z[c] = 0.0;
            for (int64_t x = 0; x < d; ++x)
              z[c] += config.gamma * scale * in.q[row * d + x] *
                      r.summaries[((b * config.kvHeads + g) * mc + c) * d + x];
          }
          EXPECT_TRUE(near(r.logits[row * mc + c], z[c], 1e-13));
        }
        double tau;
        std::vector<double> p = entmax(z, config.alpha, &tau);
        EXPECT_TRUE(near(r.tau[row], tau, 1e-13));
        for (int64_t c = 0; c < mc; ++c) {
          EXPECT_NEAR(r.probs[row * mc + c], p[c], 1e-13);
          if (z[c] != -kInf) {
            ++candidates;
            dropped += p[c] == 0.0;
            minMargin = std::min(minMargin,
                                 std::abs((config.alpha - 1.0) * z[c] - tau));
          }
        }
      }
  EXPECT_NEAR(r.minMargin, minMargin, 1e-13);
  // The cases are sized so that routing is neither empty nor dense.
  EXPECT_GT(candidates, 0);
  EXPECT_GT(dropped, 0);
  EXPECT_LT(dropped, candidates);

  // F4, F5, and counts and density from the log-prior.
  double density = 0.0;
  for (int64_t b = 0; b < config.batch; ++b)
    for (int64_t g = 0; g < config.kvHeads; ++g)
      for (int64_t i = 0; i < n; ++i) {
        int64_t row = (b * config.kvHeads + g) * n + i;
        int64_t ci = i / bk;
        std::vector<double> pi(mc, 0.0);
        for (int64_t h = g * groupSize; h < (g + 1) * groupSize; ++h)
          for (int64_t c = 0; c < mc; ++c)
            pi[c] +=
                r.probs[((b * config.heads + h) * n + i) * mc + c] / groupSize;
        std::vector<bool> forced(m, false), support(m, false);
        forced[ci] = true;
        for (int64_t c = ci - config.localBlocks; c < ci; ++c)
          if (c >= 0)
            forced[c] = true;
        for (int64_t c = 0; c < config.initBlocks && c <= ci; ++c)
          forced[c] = true;
        double meanLog = 0.0;
        int supportSize = 0;
        for (int64_t c = 0; c < mc; ++c) {
          EXPECT_NEAR(r.pooled[row * mc + c], pi[c], 1e-15);
          if (pi[c] > 0.0) {
            support[c] = true;
            meanLog += std::log(pi[c]);
            ++supportSize;
          }
        }
        if (supportSize)
          meanLog /= supportSize;
        int64_t count = 0;
        for (int64_t c = 0; c < m; ++c) {
          double expected = -kInf;
          if (forced[c])
            expected = 0.0;
          else if (support[c] && fc.prior == PriorMode::Raw)
            expected = std::log(pi[c]);
          else if (support[c] && fc.prior == PriorMode::Centered)
            expected = (std::log(pi[c]) - meanLog) / config.sigma;
          else if (support[c])
            expected = 0.0;
          double got = r.logPrior[row * m + c];
          EXPECT_TRUE(near(got, expected, 1e-12));
          count += got != -kInf;
        }
        EXPECT_EQ(r.counts[row], count);
        density += double(count) / (ci + 1);
      }
  EXPECT_NEAR(r.density, density / (config.batch * config.kvHeads * n), 1e-15);

  // F6.
  std::vector<double> ref = referenceAttention(
      config, in, [&](int64_t b, int64_t g, int64_t i, int64_t j) {
        return r.logPrior[((b * config.kvHeads + g) * n + i) * m + j / bk];
      });
  EXPECT_LE(relativeError(r.out, ref), 1e-13);
  for (double lse : r.lse)
    EXPECT_TRUE(std::isfinite(lse));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ForwardStagesTest,
    testing::Values(ForwardCase{"MultipleOfBlock", 1, 2, 1, 48, 8, 4,
                                PriorMode::Centered, 1.5, true, 0, 0},
                    ForwardCase{"PartialLastBlock", 2, 2, 1, 45, 8, 4,
                                PriorMode::Raw, 1.5, true, 0, 0},
                    ForwardCase{"GroupOfOne", 1, 3, 3, 41, 8, 6,
                                PriorMode::Flat, 2.0, false, 0, 0},
                    ForwardCase{"OneKvHead", 2, 4, 1, 40, 8, 4,
                                PriorMode::Centered, 1.25, true, 1, 1},
                    ForwardCase{"LocalAndInit", 1, 4, 2, 64, 8, 4,
                                PriorMode::Raw, 3.0, false, 2, 1}),
    [](const testing::TestParamInfo<ForwardCase> &info) {
      return info.param.name;
    });

TEST(ForwardTest, LargeLogitsStayFinite) {
  Config config = smallConfig(1, 2, 1, 40, 8, 4);
  config.gamma = 50.0;
  config.prior = PriorMode::Raw;
  Inputs in = randomInputs(config, /*withW=*/true, 15);
  for (double &x : in.q)
    x *= 100.0;
  for (double &x : in.k)
    x *= 100.0;
  ForwardResult r = run(config, in);
  double maxLogit = 0.0;
  for (double z : r.logits)
    if (z != -kInf)
      maxLogit = std::max(maxLogit, std::abs(z));
  EXPECT_GT(maxLogit, 1e4);
  Gradients grads = backward(config, in.q, in.k, in.v, in.w, r, in.dOut);
  for (const std::vector<double> *t :
       {&r.out, &r.lse, &r.probs, &r.pooled, &grads.dq, &grads.dk, &grads.dv,
        &grads.dw})
    for (double x : *t)
      EXPECT_TRUE(std::isfinite(x));
}

//===----------------------------------------------------------------------===//
// Backward
//===----------------------------------------------------------------------===//

struct BackwardCase {
  const char *name;
  int64_t batch, heads, kvHeads, seqLen, headDim;
  PriorMode prior;
  double alpha, sigma;
  bool withW;
  int64_t localBlocks, initBlocks;
};

void PrintTo(const BackwardCase &bc, std::ostream *os) { *os << bc.name; }

class BackwardFiniteDifferenceTest
    : public testing::TestWithParam<BackwardCase> {};

TEST_P(BackwardFiniteDifferenceTest, MatchesFiniteDifferences) {
  const BackwardCase &bc = GetParam();
  Config config =
      smallConfig(bc.batch, bc.heads, bc.kvHeads, bc.seqLen, 8, bc.headDim);
  config.prior = bc.prior;
  config.alpha = bc.alpha;
  config.gamma = 4.0;
  config.sigma = bc.sigma;
  config.localBlocks = bc.localBlocks;
  config.initBlocks = bc.initBlocks;

  // Draw until every selection decision is clear of the threshold, so the
  // support stays fixed within a finite-difference step.
  Inputs in;
  ForwardResult base;
  for (uint64_t seed = 100;; ++seed) {
    ASSERT_LT(seed, 150u) << "no draw with a clear margin";
    in = randomInputs(config, bc.withW, seed);
    base = run(config, in);
    if (base.minMargin > 1e-4)
      break;
  }
  // The router term must actually be exercised: some block biased by the
  // prior (in S_i but not forced).
  int biased = 0;
  int64_t m = config.numBlocks();
  for (size_t row = 0; row < base.counts.size(); ++row)
    for (int64_t c = 0; c < m; ++c) {
      double l = base.logPrior[row * m + c];
      biased += l != -kInf && l != 0.0;
    }
  if (bc.prior != PriorMode::Flat) {
    EXPECT_GT(biased, 0);
  }

  Gradients grads = backward(config, in.q, in.k, in.v, in.w, base, in.dOut);
  // The backward treats the centring term as a constant: hold it fixed.
  auto loss = [&](const Inputs &x) {
    ForwardResult r = forward(config, x.q, x.k, x.v, x.w, &base.centering);
    EXPECT_EQ(r.counts, base.counts) << "selection moved within the step";
    return dotLoss(r.out, in.dOut);
  };
  auto error = [&](std::vector<double> Inputs::*field,
                   const std::vector<double> &analytic) {
    return finiteDifferenceError(
        [&](const std::vector<double> &x) {
          Inputs perturbed = in;
          perturbed.*field = x;
          return loss(perturbed);
        },
        in.*field, analytic);
  };
  EXPECT_LE(error(&Inputs::q, grads.dq), 1e-6);
  EXPECT_LE(error(&Inputs::k, grads.dk), 1e-6);
  EXPECT_LE(error(&Inputs::v, grads.dv), 1e-6);
  ASSERT_EQ(grads.dw.size(), in.w.size());
  if (bc.withW) {
    EXPECT_LE(error(&Inputs::w, grads.dw), 1e-6);
  }
  // Under a flat prior W only moves the selection, which the margin pins.
  if (bc.prior == PriorMode::Flat) {
    EXPECT_EQ(grads.dw, std::vector<double>(in.w.size(), 0.0));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Priors, BackwardFiniteDifferenceTest,
    testing::Values(BackwardCase{"Raw15", 1, 2, 1, 40, 4, PriorMode::Raw, 1.5,
                                 1.0, true, 0, 0},
                    BackwardCase{"Raw2Local", 2, 4, 2, 37, 8, PriorMode::Raw,
                                 2.0, 1.0, true, 1, 0},
                    BackwardCase{"RawNoW", 1, 2, 2, 40, 4, PriorMode::Raw, 1.5,
                                 1.0, false, 0, 0},
                    BackwardCase{"Centered15Init", 1, 4, 2, 40, 4,
                                 PriorMode::Centered, 1.5, 1.0, true, 0, 1},
                    BackwardCase{"Centered125NoW", 2, 2, 2, 37, 6,
                                 PriorMode::Centered, 1.25, 1.0, false, 0, 0},
                    BackwardCase{"Centered2Sigma05", 1, 4, 1, 40, 4,
                                 PriorMode::Centered, 2.0, 0.5, true, 1, 1},
                    BackwardCase{"Flat15", 1, 4, 1, 40, 4, PriorMode::Flat, 1.5,
                                 1.0, true, 0, 0},
                    BackwardCase{"Flat3NoW", 1, 2, 2, 37, 4, PriorMode::Flat,
                                 3.0, 1.0, false, 0, 0}),
    [](const testing::TestParamInfo<BackwardCase> &info) {
      return info.param.name;
    });

TEST(BackwardTest, NoRouterGradientIsFineAttentionOnly) {
  Config config = smallConfig(1, 4, 2, 40, 8, 4);
  config.prior = PriorMode::Raw;
  config.gamma = 4.0;
  Inputs in = randomInputs(config, /*withW=*/true, 16);
  ForwardResult base = run(config, in);
  Gradients full = backward(config, in.q, in.k, in.v, in.w, base, in.dOut);
  config.routerGrad = false;
  Gradients fine = backward(config, in.q, in.k, in.v, in.w, base, in.dOut);
  EXPECT_EQ(fine.dw, std::vector<double>(in.w.size(), 0.0));
  EXPECT_EQ(fine.dv, full.dv);
  EXPECT_GT(relativeError(fine.dq, full.dq), 1e-3) << "router term is absent";

  // With the log-prior held fixed, only the fine attention depends on Q, K.
  auto error = [&](std::vector<double> Inputs::*field,
                   const std::vector<double> &analytic) {
    return finiteDifferenceError(
        [&](const std::vector<double> &x) {
          Inputs perturbed = in;
          perturbed.*field = x;
          return dotLoss(fineAttention(config, perturbed.q, perturbed.k,
                                       perturbed.v, base.logPrior),
                         in.dOut);
        },
        in.*field, analytic);
  };
  EXPECT_LE(error(&Inputs::q, fine.dq), 1e-6);
  EXPECT_LE(error(&Inputs::k, fine.dk), 1e-6);
  EXPECT_LE(error(&Inputs::v, fine.dv), 1e-6);
}

} // namespace
