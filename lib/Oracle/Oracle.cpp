//===- Oracle.cpp - DashAttention forward and backward in double ----------===//
//
// Straight loops over the spec's formulas (F1-F6, B1-B7). Every exponential
// is taken after subtracting a maximum (or a log-sum-exp), so logits of any
// finite size neither overflow nor produce NaN.
//
//===----------------------------------------------------------------------===//

#include "dash/Oracle/Oracle.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

using namespace dash::oracle;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double dot(const double *a, const double *b, int64_t n) {
  double s = 0.0;
  for (int64_t d = 0; d < n; ++d)
    s += a[d] * b[d];
  return s;
}

/// y += s * x.
void axpy(double s, const double *x, double *y, int64_t n) {
  for (int64_t d = 0; d < n; ++d)
    y[d] += s * x[d];
}

/// The sizes every routine needs, derived once from a valid config.
struct Dims {
  int64_t b, h, hkv, n, d, bk, g, m, mc;
  explicit Dims(const Config &c)
      : b(c.batch), h(c.heads), hkv(c.kvHeads), n(c.seqLen), d(c.headDim),
        bk(c.blockSize), g(c.heads / c.kvHeads), m(c.numBlocks()),
        mc(c.numCompleteBlocks()) {}
  /// Row index of (batch, head, token) in a [B, heads, N, ...] tensor.
  int64_t row(int64_t batch, int64_t head, int64_t heads, int64_t token) const {
    return (batch * heads + head) * n + token;
  }
};

/// Spec F4's forced set L_i, for a block c <= c(i): the local window (which
/// always holds the diagonal block c(i)) and the initial blocks.
bool isForced(const Config &config, int64_t ci, int64_t c) {
  return c >= ci - config.localBlocks || c < config.initBlocks;
}

/// Spec F1's pooling weights a_t over the tokens of complete block c of KV
/// head `kvHead`; uniform when W is absent.
std::vector<double> poolingWeights(const Config &config, const Dims &dims,
                                   const std::vector<double> &k,
                                   const std::vector<double> &w, int64_t batch,
                                   int64_t kvHead, int64_t c) {
  std::vector<double> a(dims.bk, 1.0 / dims.bk);
  if (w.empty())
    return a;
  const double *wRow = w.data() + kvHead * dims.d;
  double eMax = -kInf;
  for (int64_t t = 0; t < dims.bk; ++t) {
    const double *kRow =
        k.data() + dims.row(batch, kvHead, dims.hkv, c * dims.bk + t) * dims.d;
    a[t] = config.effectiveScale() * dot(wRow, kRow, dims.d);
    eMax = std::max(eMax, a[t]);
  }
  double sum = 0.0;
  for (double &at : a)
    sum += at = std::exp(at - eMax);
  for (double &at : a)
    at /= sum;
  return a;
}

} // namespace

double Config::effectiveScale() const {
  return scale ? *scale : 1.0 / std::sqrt(static_cast<double>(headDim));
}

int64_t Config::numBlocks() const {
  return seqLen / blockSize + (seqLen % blockSize != 0);
}

int64_t Config::numCompleteBlocks() const { return seqLen / blockSize; }

std::string dash::oracle::validate(const Config &config) {
  if (config.batch < 1 || config.heads < 1 || config.kvHeads < 1 ||
      config.seqLen < 1 || config.headDim < 1)
    return "batch, heads, kvHeads, seqLen and headDim must be at least 1";
  if (config.heads % config.kvHeads != 0)
    return "heads must be a multiple of kvHeads";
  if (config.blockSize < 1)
    return "blockSize must be at least 1";
  if (!(config.alpha > 1.0) || !std::isfinite(config.alpha))
    return "alpha must be finite and greater than 1";
  if (!(config.gamma >= 0.0) || !std::isfinite(config.gamma))
    return "gamma must be finite and nonnegative";
  if (!(config.sigma > 0.0) || !std::isfinite(config.sigma))
    return "sigma must be finite and positive";
  if (config.localBlocks < 0 || config.initBlocks < 0)
    return "localBlocks and initBlocks must be nonnegative";
  if (config.scale && (!(*config.scale > 0.0) || !std::isfinite(*config.scale)))
    return "scale must be finite and positive";
  return "";
}

std::vector<double> dash::oracle::fineAttention(
    const Config &config, const std::vector<double> &q,
    const std::vector<double> &k, const std::vector<double> &v,
    const std::vector<double> &logPrior, std::vector<double> *lse) {
  assert(validate(config).empty() && "invalid config");
  Dims dims(config);
  double scale = config.effectiveScale();
  std::vector<double> out(q.size(), 0.0);
  if (lse)
    lse->assign(dims.b * dims.h * dims.n, 0.0);
  std::vector<double> s;
  for (int64_t b = 0; b < dims.b; ++b)
    for (int64_t h = 0; h < dims.h; ++h)
      for (int64_t i = 0; i < dims.n; ++i) {
        int64_t gh = h / dims.g;
        int64_t qRow = dims.row(b, h, dims.h, i);
        const double *qi = q.data() + qRow * dims.d;
        const double *l =
            logPrior.data() + dims.row(b, gh, dims.hkv, i) * dims.m;
        // s[j] for j <= i; -inf marks tokens of unselected blocks.
        s.assign(i + 1, -kInf);
        double sMax = -kInf;
        for (int64_t j = 0; j <= i; ++j) {
          double lc = l[j / dims.bk];
          if (lc == -kInf)
            continue;
          s[j] =
              scale * dot(qi, k.data() + dims.row(b, gh, dims.hkv, j) * dims.d,
                          dims.d) +
              lc;
          sMax = std::max(sMax, s[j]);
        }
        double sum = 0.0;
        double *oi = out.data() + qRow * dims.d;
        for (int64_t j = 0; j <= i; ++j) {
          if (s[j] == -kInf)
            continue;
          double e = std::exp(s[j] - sMax);
          sum += e;
          axpy(e, v.data() + dims.row(b, gh, dims.hkv, j) * dims.d, oi, dims.d);
        }
        for (int64_t d = 0; d < dims.d; ++d)
          oi[d] /= sum;
        if (lse)
          (*lse)[qRow] = sMax + std::log(sum);
      }
  return out;
}

FineGradients dash::oracle::fineAttentionGrad(
    const Config &config, const std::vector<double> &q,
    const std::vector<double> &k, const std::vector<double> &v,
    const std::vector<double> &logPrior, const std::vector<double> &dOut) {
  Dims dims(config);
  double scale = config.effectiveScale();
  std::vector<double> lse;
  std::vector<double> out = fineAttention(config, q, k, v, logPrior, &lse);
  FineGradients grads;
  grads.dq.assign(q.size(), 0.0);
  grads.dk.assign(k.size(), 0.0);
  grads.dv.assign(v.size(), 0.0);
  grads.dLogPrior.assign(logPrior.size(), 0.0);
  for (int64_t b = 0; b < dims.b; ++b)
    for (int64_t h = 0; h < dims.h; ++h)
      for (int64_t i = 0; i < dims.n; ++i) {
        int64_t gh = h / dims.g;
        int64_t qRow = dims.row(b, h, dims.h, i);
        if (lse[qRow] == -kInf)
          continue;
        int64_t priorRow = dims.row(b, gh, dims.hkv, i) * dims.m;
        const double *qi = q.data() + qRow * dims.d;
        const double *dOi = dOut.data() + qRow * dims.d;
        double delta = dot(dOi, out.data() + qRow * dims.d, dims.d);
        for (int64_t j = 0; j <= i; ++j) {
          int64_t c = j / dims.bk;
          double lc = logPrior[priorRow + c];
          if (lc == -kInf)
            continue;
          int64_t kRow = dims.row(b, gh, dims.hkv, j);
          const double *kj = k.data() + kRow * dims.d;
          double p = std::exp(scale * dot(qi, kj, dims.d) + lc - lse[qRow]);
          double dS = p * (dot(dOi, v.data() + kRow * dims.d, dims.d) - delta);
          axpy(scale * dS, kj, grads.dq.data() + qRow * dims.d, dims.d);
          axpy(scale * dS, qi, grads.dk.data() + kRow * dims.d, dims.d);
          axpy(p, dOi, grads.dv.data() + kRow * dims.d, dims.d);
          grads.dLogPrior[priorRow + c] += dS;
        }
      }
  return grads;
}

ForwardResult dash::oracle::forward(const Config &config,
                                    const std::vector<double> &q,
                                    const std::vector<double> &k,
                                    const std::vector<double> &v,
                                    const std::vector<double> &w,
                                    const std::vector<double> *centering) {
  assert(validate(config).empty() && "invalid config");
  Dims dims(config);
  assert(q.size() == size_t(dims.b * dims.h * dims.n * dims.d) &&
         k.size() == size_t(dims.b * dims.hkv * dims.n * dims.d) &&
         v.size() == k.size() &&
         (w.empty() || w.size() == size_t(dims.hkv * dims.d)) &&
         "tensor sizes do not match the config");
  // F1: block summaries.
  std::vector<double> summaries(dims.b * dims.hkv * dims.mc * dims.d, 0.0);
  for (int64_t b = 0; b < dims.b; ++b)
    for (int64_t g = 0; g < dims.hkv; ++g)
      for (int64_t c = 0; c < dims.mc; ++c) {
        std::vector<double> a = poolingWeights(config, dims, k, w, b, g, c);
        double *kBar =
            summaries.data() + ((b * dims.hkv + g) * dims.mc + c) * dims.d;
        for (int64_t t = 0; t < dims.bk; ++t)
          axpy(a[t],
               k.data() + dims.row(b, g, dims.hkv, c * dims.bk + t) * dims.d,
               kBar, dims.d);
      }

  ForwardResult r = route(config, q, summaries, centering);
  // F6: fine attention.
  r.out = fineAttention(config, q, k, v, r.logPrior, &r.lse);
  return r;
}

ForwardResult dash::oracle::route(const Config &config,
                                  const std::vector<double> &q,
                                  const std::vector<double> &summaries,
                                  const std::vector<double> *centering) {
  assert(validate(config).empty() && "invalid config");
  Dims dims(config);
  assert(q.size() == size_t(dims.b * dims.h * dims.n * dims.d) &&
         summaries.size() == size_t(dims.b * dims.hkv * dims.mc * dims.d) &&
         "tensor sizes do not match the config");
  double routeScale = config.gamma * config.effectiveScale();
  ForwardResult r;
  r.summaries = summaries;

  // F2, F3: routing logits and entmax per query head.
  r.logits.assign(dims.b * dims.h * dims.n * dims.mc, -kInf);
  r.probs.assign(r.logits.size(), 0.0);
  r.tau.assign(dims.b * dims.h * dims.n, kInf);
  r.minMargin = kInf;
  for (int64_t b = 0; b < dims.b; ++b)
    for (int64_t h = 0; h < dims.h; ++h)
      for (int64_t i = 0; i < dims.n; ++i) {
        int64_t qRow = dims.row(b, h, dims.h, i);
        int64_t candidates = i / dims.bk;
        std::vector<double> z(dims.mc, -kInf);
        for (int64_t c = 0; c < candidates; ++c)
          z[c] = routeScale *
                 dot(q.data() + qRow * dims.d,
                     r.summaries.data() +
                         ((b * dims.hkv + h / dims.g) * dims.mc + c) * dims.d,
                     dims.d);
        double tau;
        std::vector<double> p = entmax(z, config.alpha, &tau);
        std::copy(z.begin(), z.end(), r.logits.data() + qRow * dims.mc);
        std::copy(p.begin(), p.end(), r.probs.data() + qRow * dims.mc);
        r.tau[qRow] = tau;
        for (int64_t c = 0; c < candidates; ++c)
          r.minMargin = std::min(r.minMargin,
                                 std::abs((config.alpha - 1.0) * z[c] - tau));
      }

  // F4, F5: group pooling, selection and log-prior.
  r.pooled.assign(dims.b * dims.hkv * dims.n * dims.mc, 0.0);
  r.logPrior.assign(dims.b * dims.hkv * dims.n * dims.m, -kInf);
  r.counts.assign(dims.b * dims.hkv * dims.n, 0);
  r.centering.assign(r.counts.size(), 0.0);
  double densitySum = 0.0;
  for (int64_t b = 0; b < dims.b; ++b)
    for (int64_t g = 0; g < dims.hkv; ++g)
      for (int64_t i = 0; i < dims.n; ++i) {
        int64_t gRow = dims.row(b, g, dims.hkv, i);
        double *pi = r.pooled.data() + gRow * dims.mc;
        for (int64_t h = g * dims.g; h < (g + 1) * dims.g; ++h)
          axpy(1.0 / dims.g,
               r.probs.data() + dims.row(b, h, dims.h, i) * dims.mc, pi,
               dims.mc);
        int64_t ci = i / dims.bk;
        // Blocks c >= c(i) are never candidates, so pi > 0 implies c < c(i).
        double logSum = 0.0;
        int64_t support = 0;
        for (int64_t c = 0; c < ci; ++c)
          if (pi[c] > 0.0) {
            logSum += std::log(pi[c]);
            ++support;
          }
        if (config.prior == PriorMode::Centered)
          r.centering[gRow] = centering ? (*centering)[gRow]
                                        : (support ? logSum / support : 0.0);
        double *l = r.logPrior.data() + gRow * dims.m;
        for (int64_t c = 0; c <= ci; ++c) {
          if (isForced(config, ci, c))
            l[c] = 0.0;
          else if (pi[c] > 0.0)
            l[c] = config.prior == PriorMode::Flat ? 0.0
                   : config.prior == PriorMode::Raw
                       ? std::log(pi[c])
                       : (std::log(pi[c]) - r.centering[gRow]) / config.sigma;
          else
            continue;
          ++r.counts[gRow];
        }
        densitySum += double(r.counts[gRow]) / (ci + 1);
      }
  r.density = densitySum / r.counts.size();

  return r;
}

Gradients dash::oracle::backward(const Config &config,
                                 const std::vector<double> &q,
                                 const std::vector<double> &k,
                                 const std::vector<double> &v,
                                 const std::vector<double> &w,
                                 const ForwardResult &fwd,
                                 const std::vector<double> &dOut) {
  assert(validate(config).empty() && "invalid config");
  Dims dims(config);
  assert(dOut.size() == q.size() && fwd.out.size() == q.size() &&
         "tensor sizes do not match the config");
  double scale = config.effectiveScale();
  double routeScale = config.gamma * scale;
  // A flat prior makes the output piecewise constant in pi.
  bool router = config.routerGrad && config.prior != PriorMode::Flat;
  Gradients grads;
  grads.dq.assign(q.size(), 0.0);
  grads.dk.assign(k.size(), 0.0);
  grads.dv.assign(v.size(), 0.0);
  grads.dw.assign(w.size(), 0.0);
  std::vector<double> dKbar(fwd.summaries.size(), 0.0);

  for (int64_t b = 0; b < dims.b; ++b)
    for (int64_t g = 0; g < dims.hkv; ++g)
      for (int64_t i = 0; i < dims.n; ++i) {
        int64_t gRow = dims.row(b, g, dims.hkv, i);
        int64_t ci = i / dims.bk;
        const double *l = fwd.logPrior.data() + gRow * dims.m;
        const double *pi = fwd.pooled.data() + gRow * dims.mc;
        // B2's R on S_i \ L_i, where the prior carries a gradient.
        std::vector<double> rSum(dims.mc, 0.0);
        auto biased = [&](int64_t c) {
          return router && c < ci && pi[c] > 0.0 && !isForced(config, ci, c);
        };

        // B1, and R for B2, per query head of the group.
        for (int64_t h = g * dims.g; h < (g + 1) * dims.g; ++h) {
          int64_t qRow = dims.row(b, h, dims.h, i);
          const double *qi = q.data() + qRow * dims.d;
          const double *dOi = dOut.data() + qRow * dims.d;
          double *dQi = grads.dq.data() + qRow * dims.d;
          double delta = dot(dOi, fwd.out.data() + qRow * dims.d, dims.d);
          double lse = fwd.lse[qRow];
          for (int64_t j = 0; j <= i; ++j) {
            int64_t c = j / dims.bk;
            if (l[c] == -kInf)
              continue;
            int64_t kRow = dims.row(b, g, dims.hkv, j);
            const double *kj = k.data() + kRow * dims.d;
            double s0 = scale * dot(qi, kj, dims.d);
            double p = std::exp(s0 + l[c] - lse);
            double dP = dot(dOi, v.data() + kRow * dims.d, dims.d);
            double dS = p * (dP - delta);
            axpy(scale * dS, kj, dQi, dims.d);
            axpy(scale * dS, qi, grads.dk.data() + kRow * dims.d, dims.d);
            axpy(p, dOi, grads.dv.data() + kRow * dims.d, dims.d);
            if (biased(c))
              rSum[c] += std::exp(s0 - lse) * (dP - delta);
          }
        }
        if (!router)
          continue;

        // B2, B3: dpi = dl / (sigma pi) with dl = exp(l) R, folded into one
        // exponent so that a tiny pi is never divided by (raw: l = log pi).
        std::vector<double> dpi(dims.mc, 0.0);
        double invSigma =
            config.prior == PriorMode::Centered ? 1.0 / config.sigma : 1.0;
        for (int64_t c = 0; c < ci; ++c)
          if (biased(c))
            dpi[c] = rSum[c] * std::exp(l[c] - std::log(pi[c])) * invSigma;

        // B4-B6 per query head.
        for (double &x : dpi)
          x /= dims.g;
        for (int64_t h = g * dims.g; h < (g + 1) * dims.g; ++h) {
          int64_t qRow = dims.row(b, h, dims.h, i);
          std::vector<double> p(fwd.probs.data() + qRow * dims.mc,
                                fwd.probs.data() + (qRow + 1) * dims.mc);
          std::vector<double> dz = entmaxBackward(p, dpi, config.alpha);
          for (int64_t c = 0; c < ci; ++c) {
            int64_t cRow = (b * dims.hkv + g) * dims.mc + c;
            axpy(routeScale * dz[c], fwd.summaries.data() + cRow * dims.d,
                 grads.dq.data() + qRow * dims.d, dims.d);
            axpy(routeScale * dz[c], q.data() + qRow * dims.d,
                 dKbar.data() + cRow * dims.d, dims.d);
          }
        }
      }
  if (!router)
    return grads;

  // B7: through the block summaries.
  std::vector<double> diff(dims.d);
  for (int64_t b = 0; b < dims.b; ++b)
    for (int64_t g = 0; g < dims.hkv; ++g)
      for (int64_t c = 0; c < dims.mc; ++c) {
        int64_t cRow = (b * dims.hkv + g) * dims.mc + c;
        const double *kBar = fwd.summaries.data() + cRow * dims.d;
        const double *dKb = dKbar.data() + cRow * dims.d;
        std::vector<double> a = poolingWeights(config, dims, k, w, b, g, c);
        for (int64_t t = 0; t < dims.bk; ++t) {
          int64_t kRow = dims.row(b, g, dims.hkv, c * dims.bk + t);
          const double *kt = k.data() + kRow * dims.d;
          axpy(a[t], dKb, grads.dk.data() + kRow * dims.d, dims.d);
          if (w.empty())
            continue;
          for (int64_t d = 0; d < dims.d; ++d)
            diff[d] = kt[d] - kBar[d];
          double de = a[t] * dot(dKb, diff.data(), dims.d);
          axpy(scale * de, w.data() + g * dims.d,
               grads.dk.data() + kRow * dims.d, dims.d);
          axpy(scale * de, kt, grads.dw.data() + g * dims.d, dims.d);
        }
      }
  return grads;
}
