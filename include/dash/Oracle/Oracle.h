//===- Oracle.h - Double-precision DashAttention reference ------*- C++ -*-===//
//
// The DashAttention contract (shared/spec/dashattention.md), forward F1-F6 and
// backward B1-B7, in plain double-precision C++. Compiled kernels are checked
// against it, so it favours directness over speed and uses only the standard
// library.
//
// All tensors are dense row-major std::vector<double>: Q, O and dO are
// [B, H, N, D], K and V are [B, Hkv, N, D], the summary query W is [Hkv, D]
// (an empty vector means absent).
//
//===----------------------------------------------------------------------===//

#ifndef DASH_ORACLE_ORACLE_H
#define DASH_ORACLE_ORACLE_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dash::oracle {

/// How the pooled router probabilities bias the fine attention (spec F5).
enum class PriorMode { Raw, Centered, Flat };

struct Config {
  int64_t batch = 1, heads = 1, kvHeads = 1, seqLen = 1, headDim = 16;
  int64_t blockSize = 64;
  double alpha = 1.5, gamma = 1.0, sigma = 1.0;
  PriorMode prior = PriorMode::Centered;
  int64_t localBlocks = 0, initBlocks = 0;
  /// Softmax scale; 1/sqrt(headDim) when unset.
  std::optional<double> scale;
  /// False is the spec's router_grad = none: the gradient stops at pi.
  bool routerGrad = true;

  double effectiveScale() const;
  /// M = ceil(N / Bk).
  int64_t numBlocks() const;
  /// Mc = floor(N / Bk): only complete blocks get a summary.
  int64_t numCompleteBlocks() const;
};

/// Returns an empty string for a valid config, otherwise what is wrong.
std::string validate(const Config &config);

struct ForwardResult {
  std::vector<double> out;       ///< O [B, H, N, D].
  std::vector<double> lse;       ///< [B, H, N].
  std::vector<int64_t> counts;   ///< |A_i| per [B, Hkv, N].
  std::vector<double> summaries; ///< Kbar [B, Hkv, Mc, D].
  std::vector<double> logits;    ///< z [B, H, N, Mc], -inf off C_i.
  std::vector<double> probs;     ///< p [B, H, N, Mc].
  /// [B, H, N], in x = (alpha - 1) z space; +inf for an empty C_i.
  std::vector<double> tau;
  std::vector<double> pooled;   ///< pi [B, Hkv, N, Mc].
  std::vector<double> logPrior; ///< l [B, Hkv, N, M], -inf off A_i.
  /// The centring term of the centered prior per [B, Hkv, N]: the mean of
  /// log pi over S_i (0 for other priors or an empty S_i).
  std::vector<double> centering;
  /// Mean over (b, g, i) of |A_i| / (c(i) + 1).
  double density = 0.0;
  /// Min over candidates (b, h, i, c) of |x_c - tau|: how close any selection
  /// decision is to flipping; +inf when there is no candidate.
  double minMargin = 0.0;
};

/// Spec F1-F6. `centering`, when given ([B, Hkv, N]), replaces the mean of
/// log pi in the centered prior; the backward pass treats that term as a
/// constant, so finite-difference checks of it hold the term fixed this way.
ForwardResult forward(const Config &config, const std::vector<double> &q,
                      const std::vector<double> &k,
                      const std::vector<double> &v,
                      const std::vector<double> &w,
                      const std::vector<double> *centering = nullptr);

/// Spec F2-F5 (the router) on given summaries Kbar [B, Hkv, Mc, D]: every
/// field of ForwardResult but `out` and `lse`; `centering` as for forward.
/// Costs O(N Mc D) per head where F6 costs O(N^2 D), so routers can be
/// checked at long sequences.
ForwardResult route(const Config &config, const std::vector<double> &q,
                    const std::vector<double> &summaries,
                    const std::vector<double> *centering = nullptr);

/// Spec F6 alone: causal attention over the blocks where `logPrior`
/// ([B, Hkv, N, M]) is finite, biased by it. Returns O; fills `lse` if given.
std::vector<double> fineAttention(const Config &config,
                                  const std::vector<double> &q,
                                  const std::vector<double> &k,
                                  const std::vector<double> &v,
                                  const std::vector<double> &logPrior,
                                  std::vector<double> *lse = nullptr);

/// Spec B1 and B2 for fine attention alone (dash.sparse_attention_grad):
/// the gradients of `fineAttention` for the upstream gradient `dOut`.
/// `dLogPrior` ([B, Hkv, N, M]) sums dS over each selected block and the G
/// heads of the group; it is zero where the log-prior is -inf, as are the
/// gradients of rows without any key.
struct FineGradients {
  std::vector<double> dq, dk, dv, dLogPrior;
};
FineGradients fineAttentionGrad(const Config &config,
                                const std::vector<double> &q,
                                const std::vector<double> &k,
                                const std::vector<double> &v,
                                const std::vector<double> &logPrior,
                                const std::vector<double> &dOut);

struct Gradients {
  std::vector<double> dq, dk, dv;
  std::vector<double> dw; ///< Empty when W is absent; summed over batch.
};

/// Spec B1-B7 at the point `fwd` (which must come from forward() on the same
/// inputs), for the upstream gradient `dOut` [B, H, N, D].
Gradients backward(const Config &config, const std::vector<double> &q,
                   const std::vector<double> &k, const std::vector<double> &v,
                   const std::vector<double> &w, const ForwardResult &fwd,
                   const std::vector<double> &dOut);

/// alpha-entmax along one row (spec F3); entries equal to -inf are masked
/// out (p = 0). `tau` receives the threshold in x = (alpha - 1) z space, +inf
/// for an all-masked row. The threshold is exact: sort-based for alpha 1.5
/// and 2, bisection to machine precision otherwise.
std::vector<double> entmax(const std::vector<double> &z, double alpha,
                           double *tau = nullptr);

/// The entmax threshold of `z` (in x space) found by bisection whatever
/// alpha is, to cross-check the sort-based solutions.
double entmaxThresholdBisection(const std::vector<double> &z, double alpha);

/// Closed-form entmax vector-Jacobian product (spec B5) at the solved point
/// `p`: returns dL/dz given dL/dp.
std::vector<double> entmaxBackward(const std::vector<double> &p,
                                   const std::vector<double> &dp, double alpha);

} // namespace dash::oracle

#endif // DASH_ORACLE_ORACLE_H
