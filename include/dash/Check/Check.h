//===- Check.h - Compiled attention against the oracle -----------*- C++
//-*-===//
//
// What every numerical test and dash-run share: seeded inputs, the oracle run
// on exactly the values the compiled code sees, and the spec's comparison.
//
//===----------------------------------------------------------------------===//

#ifndef DASH_CHECK_CHECK_H
#define DASH_CHECK_CHECK_H

#include "dash/JIT/Attention.h"
#include "dash/Oracle/Oracle.h"

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace dash {
/// Test names and failure messages show the configuration, not its bytes.
inline void PrintTo(const AttentionConfig &config, std::ostream *os) {
  *os << config.str();
}
} // namespace dash

namespace dash::check {

/// The oracle's view of a configuration.
oracle::Config toOracle(const AttentionConfig &config);

/// Spec section 4: relative L2 tolerance of the element type.
double tolerance(ElementType type);

/// Host inputs in the config's element type, plus the same values in double
/// for the oracle (after rounding to the element type).
struct AttentionData {
  std::vector<std::vector<char>> buffers; ///< q, k, v[, w] as passed to code.
  std::vector<double> q, k, v, w;         ///< The same values in double.
};

/// Standard normal Q, K, V and (with W) W with standard deviation 0.5, from
/// `seed`.
AttentionData randomInputs(const AttentionConfig &config, uint64_t seed);

/// Fills `buffers` from the double values, rounding to the element type.
void packInputs(const AttentionConfig &config, AttentionData &data);

/// Stores `values` as `type` (f32, f64, bf16 or f16) into `out`.
std::vector<char> encode(const std::vector<double> &values, ElementType type);
/// Reads `count` values of `type` from `data` as double.
std::vector<double> decode(const void *data, size_t count, ElementType type);

/// Draws inputs from `seed`, `seed + 1`, ... until every selection decision of
/// the oracle is at least `minMargin` away from the entmax threshold (spec 4:
/// a decision within rounding of tau may flip in f32, and under the flat
/// prior the output jumps when it does). Fails after `maxTries` draws.
bool drawWithMargin(const AttentionConfig &config, uint64_t seed,
                    double minMargin, int maxTries, AttentionData &data,
                    oracle::ForwardResult &reference, uint64_t &usedSeed);

/// Outputs of a compiled attention, in host buffers.
struct AttentionOutputs {
  std::vector<char> out;       ///< O in the config's element type.
  std::vector<float> lse;      ///< [B, H, N].
  std::vector<int32_t> counts; ///< [B, Hkv, N].
  explicit AttentionOutputs(const AttentionConfig &config);
};

struct Comparison {
  double outRelL2 = 0, lseRelL2 = 0, outMaxAbs = 0;
  int64_t countMismatches = 0; ///< (b, g, i) rows whose |A_i| differs.
  bool finite = true;          ///< No NaN or inf where the oracle is finite.
  double worstRelL2() const;
  /// Within tolerance, counts equal and nothing non-finite.
  bool passes(ElementType type) const;
  std::string str() const;
};

Comparison compare(const AttentionConfig &config,
                   const AttentionOutputs &outputs,
                   const oracle::ForwardResult &reference);

/// An upstream gradient dO (standard normal from `seed`) for the gradient
/// function: `buffer` in the config's element type, `values` the same values
/// in double.
struct OutputGrad {
  std::vector<char> buffer;
  std::vector<double> values;
};
OutputGrad randomOutputGrad(const AttentionConfig &config, uint64_t seed);

/// Results dQ, dK, dV[, dW] of a compiled gradient function.
struct GradientOutputs {
  std::vector<std::vector<char>> buffers;
  explicit GradientOutputs(const AttentionConfig &config);
  std::vector<void *> pointers();
};

struct GradientComparison {
  /// Relative L2 errors of dQ, dK, dV and dW (0 without W).
  double relL2[4] = {0, 0, 0, 0};
  double worstRelL2() const;
  bool passes(ElementType type) const;
  std::string str() const;
};

GradientComparison compareGradients(const AttentionConfig &config,
                                    const GradientOutputs &outputs,
                                    const oracle::Gradients &reference);

/// Mean over (b, g, i) of counts / (floor(i / Bk) + 1).
double density(const AttentionConfig &config,
               const std::vector<int32_t> &counts);

/// ||a - b|| / ||b||; +inf when a has a NaN.
double relativeL2(const std::vector<double> &a, const std::vector<double> &b);

} // namespace dash::check

#endif // DASH_CHECK_CHECK_H
