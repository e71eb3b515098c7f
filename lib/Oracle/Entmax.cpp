//===- Entmax.cpp - Exact alpha-entmax and its VJP ------------------------===//
//
// Rows are shifted so that their largest x is 0 before solving: tau moves
// with the shift, and the solver then only sees values in a bounded range
// however large the logits are. The support lies in (-1, 0] after the shift
// because no probability exceeds one.
//
//===----------------------------------------------------------------------===//

#include "dash/Oracle/Oracle.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

using namespace dash::oracle;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

/// The unmasked entries of z in x space, shifted by their maximum `xMax`.
/// Empty when every entry is masked.
std::vector<double> shiftedScores(const std::vector<double> &z, double alpha,
                                  double &xMax) {
  xMax = -kInf;
  for (double zc : z)
    if (zc != -kInf)
      xMax = std::max(xMax, (alpha - 1.0) * zc);
  std::vector<double> y;
  for (double zc : z)
    if (zc != -kInf)
      y.push_back((alpha - 1.0) * zc - xMax);
  return y;
}

/// Closed-form threshold for alpha 1.5 and 2 (Peters et al. 2019): with the
/// scores sorted in decreasing order, the support is the longest prefix whose
/// own threshold lies below its smallest score.
double sortedThreshold(std::vector<double> y, double alpha) {
  std::sort(y.begin(), y.end(), std::greater<double>());
  double sum = 0.0, sumSq = 0.0, tau = y.front() - 1.0;
  for (size_t k = 1; k <= y.size(); ++k) {
    double yk = y[k - 1];
    sum += yk;
    sumSq += yk * yk;
    double tauK;
    if (alpha == 2.0) {
      tauK = (sum - 1.0) / k;
    } else {
      // Smaller root of sum_{j<=k} (y_j - t)^2 = 1.
      double mean = sum / k;
      double disc = (1.0 - (sumSq - sum * mean)) / k;
      if (disc < 0.0)
        break;
      tauK = mean - std::sqrt(disc);
    }
    if (yk <= tauK)
      break;
    tau = tauK;
  }
  return tau;
}

/// Bisection on [-1, 0], where the mass sum [y - t]_+^(1/(alpha-1)) falls
/// from at least 1 (the maximum alone gives 1) to 0. It runs to adjacent
/// doubles, well past the contract's 1e-12, so that finite differences of
/// entmax see a smooth map.
double bisectionThreshold(const std::vector<double> &y, double alpha) {
  double power = 1.0 / (alpha - 1.0);
  auto mass = [&](double t) {
    double total = 0.0;
    for (double yc : y)
      if (yc > t)
        total += std::pow(yc - t, power);
    return total;
  };
  double lo = -1.0, hi = 0.0;
  for (;;) {
    double mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi)
      break;
    (mass(mid) >= 1.0 ? lo : hi) = mid;
  }
  return lo;
}

} // namespace

std::vector<double> dash::oracle::entmax(const std::vector<double> &z,
                                         double alpha, double *tau) {
  double xMax;
  std::vector<double> y = shiftedScores(z, alpha, xMax);
  std::vector<double> p(z.size(), 0.0);
  if (y.empty()) {
    if (tau)
      *tau = kInf;
    return p;
  }
  double t = (alpha == 1.5 || alpha == 2.0) ? sortedThreshold(y, alpha)
                                            : bisectionThreshold(y, alpha);
  double power = 1.0 / (alpha - 1.0);
  for (size_t c = 0; c < z.size(); ++c) {
    if (z[c] == -kInf)
      continue;
    double gap = (alpha - 1.0) * z[c] - xMax - t;
    if (gap > 0.0)
      p[c] = std::pow(gap, power);
  }
  if (tau)
    *tau = t + xMax;
  return p;
}

double dash::oracle::entmaxThresholdBisection(const std::vector<double> &z,
                                              double alpha) {
  double xMax;
  std::vector<double> y = shiftedScores(z, alpha, xMax);
  return y.empty() ? kInf : bisectionThreshold(y, alpha) + xMax;
}

std::vector<double> dash::oracle::entmaxBackward(const std::vector<double> &p,
                                                 const std::vector<double> &dp,
                                                 double alpha) {
  // The Jacobian on the support is diag(u) - u u^T / sum(u), u = p^(2-alpha).
  std::vector<double> u(p.size(), 0.0);
  double sumU = 0.0, sumUdp = 0.0;
  for (size_t c = 0; c < p.size(); ++c) {
    if (p[c] <= 0.0)
      continue;
    u[c] = std::pow(p[c], 2.0 - alpha);
    sumU += u[c];
    sumUdp += u[c] * dp[c];
  }
  std::vector<double> dz(p.size(), 0.0);
  if (sumU == 0.0)
    return dz;
  double mean = sumUdp / sumU;
  for (size_t c = 0; c < p.size(); ++c)
    if (p[c] > 0.0)
      dz[c] = u[c] * (dp[c] - mean);
  return dz;
}
