//===- Float16.cpp - bfloat16 conversions ---------------------------------===//

#include "dash/Support/Float16.h"

#include <cstring>

uint16_t dash::floatToBf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  // Truncating a NaN could clear every mantissa bit left and give infinity;
  // setting the quiet bit keeps it a NaN.
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  // Adding just under half an ulp, plus the kept lsb, rounds to nearest even;
  // a carry out of the mantissa correctly bumps the exponent (up to inf).
  uint32_t lsb = (bits >> 16) & 1u;
  return static_cast<uint16_t>((bits + 0x7fffu + lsb) >> 16);
}

float dash::bf16ToFloat(uint16_t bits) {
  uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof(value));
  return value;
}
