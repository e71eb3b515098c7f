//===- CudaRouterTest.cpp - The fused router kernel at long sequences ----===//
//
// At N = 16384 a router tile row holds 256 candidate blocks (the matrix of
// CudaAttentionTest stops at N = 4096, 64): the fused kernel against the
// oracle's router, for the 8B model's group (G = 16), MHA (G = 1) and
// D = 64 in f16 (G = 4).
//
//===----------------------------------------------------------------------===//

#include "RouterTest.h"

namespace dash::test {
INSTANTIATE_TEST_SUITE_P(Cuda, RouterMatchesOracle,
                         testing::Values(RouterCase{Target::Cuda, 16, 1, 16384,
                                                    128, ElementType::BF16},
                                         RouterCase{Target::Cuda, 2, 2, 16384,
                                                    128, ElementType::BF16},
                                         RouterCase{Target::Cuda, 4, 1, 16384,
                                                    64, ElementType::F16}));
} // namespace dash::test
