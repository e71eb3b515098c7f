//===- CpuRouterTest.cpp - The router alone on the CPU -------------------===//

#include "RouterTest.h"

namespace dash::test {
INSTANTIATE_TEST_SUITE_P(Cpu, RouterMatchesOracle,
                         testing::Values(RouterCase{Target::Cpu, 16, 1, 2048,
                                                    128, ElementType::BF16},
                                         RouterCase{Target::Cpu, 2, 2, 1024, 64,
                                                    ElementType::F16}));
} // namespace dash::test
