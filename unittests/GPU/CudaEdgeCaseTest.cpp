//===- CudaEdgeCaseTest.cpp - Spec section 5 edge cases on CUDA ----------===//
//
// The CPU's edge cases (unittests/JIT/EdgeCaseTest.cpp) compiled through
// dash-nvvm-pipeline; skipped, with the reason, without a driver or device.
//
//===----------------------------------------------------------------------===//

#include "EdgeCaseTest.h"

namespace dash::test {
INSTANTIATE_TEST_SUITE_P(Cuda, EdgeCases, testing::Values(Target::Cuda));
} // namespace dash::test
