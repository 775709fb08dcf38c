// The report's fragmentation figure (a pool's): the share of free memory not in the largest
// free block, and 0 when it would mislead (nothing free, or nothing in use).

#include <gtest/gtest.h>

#include "gpumem/mr/pool_memory_resource.hpp"

namespace {

using gpumem::mr::pool_state;

constexpr std::size_t MiB = std::size_t{1} << 20;

pool_state held(std::size_t reserved, std::size_t free, std::size_t largest) {
  return pool_state{reserved, reserved - free, 1, 1, largest, 1};
}

TEST(ReportFragmentation, IsTheShareOfFreeMemoryOutsideTheLargestBlock) {
  EXPECT_DOUBLE_EQ(held(64 * MiB, 32 * MiB, 8 * MiB).fragmentation(), 0.75);
  EXPECT_DOUBLE_EQ(held(64 * MiB, 32 * MiB, 32 * MiB).fragmentation(), 0.0);
}

TEST(ReportFragmentation, IsZeroWithNothingFreeOrNothingInUse) {
  EXPECT_DOUBLE_EQ(held(64 * MiB, 0, 0).fragmentation(), 0.0) << "nothing free";
  EXPECT_DOUBLE_EQ(held(64 * MiB, 64 * MiB, 16 * MiB).fragmentation(), 0.0)
      << "an idle pool whose free blocks are split between streams";
  EXPECT_DOUBLE_EQ(held(0, 0, 0).fragmentation(), 0.0) << "an empty stack";
}

}  // namespace
