//===- CpuEdgeCaseTest.cpp - Spec section 5 edge cases on the CPU --------===//

#include "EdgeCaseTest.h"

namespace dash::test {
INSTANTIATE_TEST_SUITE_P(Cpu, EdgeCases, testing::Values(Target::Cpu));
} // namespace dash::test
