#include <gtest/gtest.h>

#include <map>

#include "core/recent_free_cache.hpp"

namespace {

using gpumem::core::recent_free_cache;

TEST(RecentFreeCache, GivesBackExactSizesLastInFirstOut) {
  recent_free_cache cache;
  EXPECT_TRUE(cache.put(0x1000, 256));
  EXPECT_TRUE(cache.put(0x2000, 256));
  EXPECT_EQ(cache.largest_block(), 256U);
  EXPECT_EQ(cache.take(512), 0U);  // another size
  EXPECT_EQ(cache.take(256), 0x2000U);
  EXPECT_EQ(cache.take(256), 0x1000U);
  EXPECT_EQ(cache.take(256), 0U);
  EXPECT_EQ(cache.bytes(), 0U);
}

TEST(RecentFreeCache, RefusesWhatExceedsItsBounds) {
  recent_free_cache cache;
  EXPECT_FALSE(cache.put(0x1000, recent_free_cache::kLargestBlock + 256));
  for (std::size_t i = 0; i < cache.depth(); ++i)
    EXPECT_TRUE(cache.put(0x1000 * (i + 1), 4096));
  EXPECT_FALSE(cache.put(0x100000, 4096));  // the slot is full
  // A size that maps to the same slot while it holds another size.
  EXPECT_FALSE(cache.put(0x200000, 4096 + 256 * recent_free_cache::kSlots));
  // The byte bound: 1 MiB blocks fill 16 MiB over several slots.
  recent_free_cache large;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < 64; ++i)
    kept += large.put(0x1000000 * (i + 1), (std::size_t{1} << 20) - 256 * i) ? 1 : 0;
  EXPECT_LE(large.bytes(), recent_free_cache::kMaxBytes);
  EXPECT_EQ(large.blocks(), kept);
}

TEST(RecentFreeCache, DrainHandsBackEverything) {
  recent_free_cache cache;
  std::map<std::uintptr_t, std::size_t> put;
  for (std::size_t i = 1; i <= 20; ++i) {
    if (cache.put(0x10000 * i, 256 * (i % 5 + 1))) put[0x10000 * i] = 256 * (i % 5 + 1);
  }
  std::map<std::uintptr_t, std::size_t> drained;
  cache.drain([&](std::uintptr_t address, std::size_t size) { drained[address] = size; });
  EXPECT_EQ(drained, put);
  EXPECT_EQ(cache.bytes(), 0U);
  EXPECT_EQ(cache.blocks(), 0U);
}

}  // namespace

TEST(RecentFreeCache, DeepCacheKeepsABurstOfSameSizedFrees) {
  recent_free_cache shallow;
  recent_free_cache deep{recent_free_cache::kMaxDepth};
  EXPECT_EQ(shallow.depth(), recent_free_cache::kDefaultDepth);
  EXPECT_EQ(recent_free_cache{1 << 20}.depth(), recent_free_cache::kMaxDepth);
  std::size_t kept_shallow = 0;
  std::size_t kept_deep = 0;
  for (std::uintptr_t i = 1; i <= 2000; ++i) {
    kept_shallow += shallow.put(i << 12, 256) ? 1 : 0;
    kept_deep += deep.put(i << 12, 256) ? 1 : 0;
  }
  EXPECT_EQ(kept_shallow, recent_free_cache::kDefaultDepth);
  EXPECT_EQ(kept_deep, recent_free_cache::kMaxDepth);
  // Most recently freed first.
  EXPECT_EQ(deep.take(256), std::uintptr_t{recent_free_cache::kMaxDepth} << 12);
  EXPECT_EQ(deep.blocks(), recent_free_cache::kMaxDepth - 1);
}
