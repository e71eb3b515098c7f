//===- Float16.h - bfloat16 conversions -------------------------*- C++ -*-===//
//
// bf16 values are exchanged with compiled functions as their 16-bit patterns:
// the upper half of an IEEE binary32.
//
//===----------------------------------------------------------------------===//

#ifndef DASH_SUPPORT_FLOAT16_H
#define DASH_SUPPORT_FLOAT16_H

#include <cstdint>

namespace dash {

/// Rounds to the nearest bf16, ties to even; overflow gives infinity and a
/// NaN stays a (quiet) NaN.
uint16_t floatToBf16(float value);

/// Exact: every bf16 is a float.
float bf16ToFloat(uint16_t bits);

} // namespace dash

#endif // DASH_SUPPORT_FLOAT16_H
