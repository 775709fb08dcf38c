#include <gtest/gtest.h>

#include "core/byte_size.hpp"

namespace {

using gpumem::core::format_bytes;
using gpumem::core::parse_byte_size;
using gpumem::core::parse_bytes;

TEST(ByteSize, PlainNumbersAreBytes) {
  EXPECT_EQ(parse_bytes("0"), 0U);
  EXPECT_EQ(parse_bytes("4096"), 4096U);
  EXPECT_EQ(parse_bytes("  17 "), 17U);
}

TEST(ByteSize, BinaryAndDecimalUnits) {
  EXPECT_EQ(parse_bytes("512MiB"), 512ULL << 20);
  EXPECT_EQ(parse_bytes("4GiB"), 4ULL << 30);
  EXPECT_EQ(parse_bytes("4gib"), 4ULL << 30);
  EXPECT_EQ(parse_bytes("4 G"), 4ULL << 30);
  EXPECT_EQ(parse_bytes("2k"), 2048U);
  EXPECT_EQ(parse_bytes("1KB"), 1000U);
  EXPECT_EQ(parse_bytes("1.5GB"), 1500000000ULL);
  EXPECT_EQ(parse_bytes("1.5GiB"), 3ULL << 29);
  EXPECT_EQ(parse_bytes("1TiB"), 1ULL << 40);
  EXPECT_EQ(parse_bytes("10B"), 10U);
}

TEST(ByteSize, RejectsWhatIsNotASize) {
  std::string why;
  EXPECT_FALSE(parse_bytes("", &why));
  EXPECT_EQ(why, "empty size");
  EXPECT_FALSE(parse_bytes("-1GiB", &why));
  EXPECT_NE(why.find("negative"), std::string::npos);
  EXPECT_FALSE(parse_bytes("4 gigs", &why));
  EXPECT_NE(why.find("unknown unit 'gigs'"), std::string::npos);
  EXPECT_FALSE(parse_bytes("GiB", &why));
  EXPECT_FALSE(parse_bytes("1.5", &why));
  EXPECT_NE(why.find("whole"), std::string::npos);
  EXPECT_FALSE(parse_bytes("99999999999999999999", &why));
  EXPECT_NE(why.find("2^64"), std::string::npos);
  EXPECT_FALSE(parse_bytes("20000000TiB", &why));
  EXPECT_FALSE(parse_bytes("50%", &why));
  EXPECT_NE(why.find("not allowed"), std::string::npos);
}

TEST(ByteSize, PercentWhereAllowed) {
  const auto half = parse_byte_size("50%", true);
  ASSERT_TRUE(half);
  EXPECT_FALSE(half->bytes);
  EXPECT_DOUBLE_EQ(*half->percent, 50.0);
  EXPECT_DOUBLE_EQ(*parse_byte_size("12.5 %", true)->percent, 12.5);
  EXPECT_FALSE(parse_byte_size("0%", true));
  EXPECT_FALSE(parse_byte_size("101%", true));
}

TEST(ByteSize, FormatsForPeople) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(4096), "4.0 KiB");
  EXPECT_EQ(format_bytes(3ULL << 29), "1.5 GiB");
}

}  // namespace
