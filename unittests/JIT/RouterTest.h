//===- RouterTest.h - The router alone against the oracle -------*- C++ -*-===//
//
// A function of the router's stages only (dash.route_logits, dash.entmax,
// dash.block_prior: spec F2-F5, which the CUDA pipeline fuses into one
// dash.router_kernel) against the oracle's router (oracle::route). Without
// F6, whose oracle costs O(N^2), the check reaches sequences long enough for
// the fused kernel's tiles to hold hundreds of candidate blocks a row.
// DashJITTests instantiates it for the CPU, DashGPUTests for CUDA.
//
//===----------------------------------------------------------------------===//

#ifndef DASH_UNITTESTS_JIT_ROUTERTEST_H
#define DASH_UNITTESTS_JIT_ROUTERTEST_H

#include "EdgeCaseTest.h"

#include "dash/JIT/Attention.h"

#include <cstdint>
#include <ostream>

namespace dash::test {

struct RouterCase {
  Target target;
  int64_t heads, kvHeads, seqLen, headDim;
  ElementType dtype;
};

void PrintTo(const RouterCase &routerCase, std::ostream *os);

class RouterMatchesOracle : public testing::TestWithParam<RouterCase> {
protected:
  void SetUp() override;
};

} // namespace dash::test

#endif // DASH_UNITTESTS_JIT_ROUTERTEST_H
