//===- EdgeCaseTest.h - Spec section 5 edge cases, any target -*- C++ -*-===//
//
// The edge cases (EdgeCaseTest.cpp) are one test suite parameterised by the
// target: DashJITTests instantiates it for the CPU and DashGPUTests for
// CUDA, so both run the same cases against the same oracle checks:
//   namespace dash::test {
//   INSTANTIATE_TEST_SUITE_P(Cpu, EdgeCases, testing::Values(Target::Cpu));
//   }
// The API misuse tests of both binaries share its helpers too.
//
//===----------------------------------------------------------------------===//

#ifndef DASH_UNITTESTS_JIT_EDGECASETEST_H
#define DASH_UNITTESTS_JIT_EDGECASETEST_H

#include "dash/JIT/CpuFunction.h"

#include "gtest/gtest.h"

#include <ostream>
#include <string>

namespace dash {

/// Names the target in gtest's messages.
inline void PrintTo(Target target, std::ostream *os) {
  *os << (target == Target::Cpu ? "cpu" : "cuda");
}

namespace test {

/// Why `target` cannot run here (no CUDA driver or device); empty when it
/// can.
std::string unavailable(Target target);

/// Options compiling for `target`; for CUDA, for the chip of the device
/// (sm_90a on Hopper).
CompileOptions optionsFor(Target target);

/// The edge-case suite, for one target; skipped where it cannot run.
class EdgeCases : public testing::TestWithParam<Target> {
protected:
  void SetUp() override;
  CompileOptions options() const { return optionsFor(GetParam()); }
};

} // namespace test
} // namespace dash

/// Expects `text` to contain `part` (error messages).
#define EXPECT_CONTAINS(text, part)                                            \
  EXPECT_NE(std::string(text).find(part), std::string::npos)                   \
      << "'" << (text) << "' does not contain '" << (part) << "'"

#endif // DASH_UNITTESTS_JIT_EDGECASETEST_H
