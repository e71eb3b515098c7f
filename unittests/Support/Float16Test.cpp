//===- Float16Test.cpp - bf16 conversions ---------------------------------===//

#include "dash/Support/Float16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

using namespace dash;

namespace {

float fromBits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

TEST(Float16Test, ExactValues) {
  EXPECT_EQ(floatToBf16(1.0f), 0x3f80);
  EXPECT_EQ(floatToBf16(-2.0f), 0xc000);
  EXPECT_EQ(floatToBf16(0.0f), 0x0000);
  EXPECT_EQ(floatToBf16(-0.0f), 0x8000);
  EXPECT_EQ(floatToBf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(floatToBf16(-std::numeric_limits<float>::infinity()), 0xff80);
  EXPECT_EQ(bf16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(bf16ToFloat(0xc040), -3.0f);
}

TEST(Float16Test, RoundsToNearestEven) {
  // bf16 keeps 7 mantissa bits: around 1 its ulp is 2^-7.
  EXPECT_EQ(floatToBf16(1.0f + 0x1p-8f), 0x3f80);            // tie, to even
  EXPECT_EQ(floatToBf16(1.0f + 3 * 0x1p-8f), 0x3f82);        // tie, to even
  EXPECT_EQ(floatToBf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81); // above half
  EXPECT_EQ(floatToBf16(1.0f + 0x1p-8f - 0x1p-20f), 0x3f80); // below half
  EXPECT_EQ(floatToBf16(-(1.0f + 0x1p-8f + 0x1p-20f)), 0xbf81);
  // A carry out of the mantissa moves to the next binade.
  EXPECT_EQ(floatToBf16(fromBits(0x3fffffff)), 0x4000);
  // Past the largest bf16 by half an ulp or more: infinity.
  EXPECT_EQ(floatToBf16(std::numeric_limits<float>::max()), 0x7f80);
  EXPECT_EQ(floatToBf16(fromBits(0x7f7f7fff)), 0x7f7f);
  // Subnormals round the same way.
  EXPECT_EQ(floatToBf16(fromBits(0x00008000)), 0x0000);
  EXPECT_EQ(floatToBf16(fromBits(0x00018000)), 0x0002);
  EXPECT_EQ(floatToBf16(fromBits(0x00008001)), 0x0001);
}

TEST(Float16Test, NaNStaysNaN) {
  // Payloads only in the dropped bits would truncate to infinity.
  for (uint32_t bits : {0x7fc00000u, 0x7f800001u, 0xff800001u, 0x7fffffffu}) {
    uint16_t half = floatToBf16(fromBits(bits));
    EXPECT_TRUE(std::isnan(bf16ToFloat(half))) << std::hex << bits;
    EXPECT_EQ(half >> 15, bits >> 31) << "sign of " << std::hex << bits;
  }
}

TEST(Float16Test, EveryPatternRoundTrips) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    float value = bf16ToFloat(static_cast<uint16_t>(bits));
    if (std::isnan(value))
      EXPECT_TRUE(std::isnan(bf16ToFloat(floatToBf16(value))));
    else
      ASSERT_EQ(floatToBf16(value), bits) << std::hex << bits;
  }
}

} // namespace
