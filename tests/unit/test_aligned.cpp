#include <gtest/gtest.h>

#include "gpumem/aligned.hpp"

namespace {

TEST(Aligned, RoundsToPowersOfTwo) {
  EXPECT_EQ(gpumem::align_up(0, 256), 0U);
  EXPECT_EQ(gpumem::align_up(1, 256), 256U);
  EXPECT_EQ(gpumem::align_up(256, 256), 256U);
  EXPECT_EQ(gpumem::align_up(257, 256), 512U);
  EXPECT_EQ(gpumem::align_down(511, 256), 256U);
  EXPECT_EQ(gpumem::align_down(255, 256), 0U);
  EXPECT_TRUE(gpumem::is_aligned(1024, 256));
  EXPECT_FALSE(gpumem::is_aligned(1000, 256));
  EXPECT_TRUE(gpumem::is_pow2(1));
  EXPECT_FALSE(gpumem::is_pow2(0));
  EXPECT_FALSE(gpumem::is_pow2(384));
  EXPECT_EQ(gpumem::CUDA_ALLOCATION_ALIGNMENT, 256U);
  alignas(256) static char block[512];
  EXPECT_TRUE(gpumem::is_pointer_aligned(block));
  EXPECT_FALSE(gpumem::is_pointer_aligned(block + 8));
}

}  // namespace
