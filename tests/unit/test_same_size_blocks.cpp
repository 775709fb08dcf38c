// Freed blocks of one size kept as a stack (same_size_blocks): host only.

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "core/same_size_blocks.hpp"

namespace {

using gpumem::core::same_size_blocks;

TEST(SameSizeBlocks, GivesBackTheLastFreedFirst) {
  same_size_blocks stack{64};
  for (std::uintptr_t i = 1; i <= 20; ++i)
    ASSERT_TRUE(stack.put(0x10000 * i, 4096));  // past the inline depth
  EXPECT_EQ(stack.blocks(), 20U);
  EXPECT_EQ(stack.bytes(), 20U * 4096);
  EXPECT_EQ(stack.largest_block(), 4096U);
  EXPECT_EQ(stack.take(8192), 0U) << "another size";
  for (std::uintptr_t i = 20; i >= 1; --i)
    EXPECT_EQ(stack.take(4096), 0x10000 * i);
  EXPECT_EQ(stack.take(4096), 0U);
  EXPECT_EQ(stack.largest_block(), 0U);
}

TEST(SameSizeBlocks, RefusesAnotherSizeAndMoreThanItsDepth) {
  same_size_blocks stack{10};
  ASSERT_TRUE(stack.put(0x1000, 256));
  EXPECT_FALSE(stack.put(0x2000, 512)) << "a block of another size";
  for (std::uintptr_t i = 1; i < 10; ++i)
    ASSERT_TRUE(stack.put(0x1000 + 0x100 * i, 256));
  EXPECT_FALSE(stack.put(0x9000, 256)) << "deeper than its depth";
  EXPECT_EQ(stack.depth(), 10U);
  // Empty again, it takes another size.
  std::vector<std::uintptr_t> drained;
  stack.drain([&](std::uintptr_t address, std::size_t size) {
    EXPECT_EQ(size, 256U);
    drained.push_back(address);
  });
  EXPECT_EQ(drained.size(), 10U);
  EXPECT_EQ(stack.blocks(), 0U);
  EXPECT_TRUE(stack.put(0x2000, 512));
  EXPECT_EQ(stack.take(512), 0x2000U);
}

}  // namespace
