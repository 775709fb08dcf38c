// The pool's algorithm on plain address ranges: best fit, splitting, coalescing, several free
// indexes, against a simple model.

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "core/coalescing_heap.hpp"

namespace {

using gpumem::core::coalescing_heap;
using gpumem::core::segregated_free_index;

constexpr std::size_t kGranularity = 256;

TEST(SegregatedFreeIndex, FindsAFittingBlockWheneverOneExists) {
  gpumem::core::memory_block_records records;
  segregated_free_index index;
  std::vector<gpumem::core::memory_block*> blocks;
  for (std::size_t size : {256UL, 4096UL, 4352UL, 65536UL, 1UL << 20}) {
    auto* block = records.make();
    block->size = size;
    index.insert(block);
    blocks.push_back(block);
  }
  EXPECT_EQ(index.find(256)->size, 256U);
  EXPECT_EQ(index.find(4096)->size, 4096U);  // exact fit
  EXPECT_EQ(index.find(4300)->size, 4352U);  // the tightest of the class
  EXPECT_GE(index.find(5000)->size, 5000U);
  EXPECT_EQ(index.find(1UL << 20)->size, 1UL << 20);
  EXPECT_EQ(index.find((1UL << 20) + 256), nullptr);
  EXPECT_EQ(index.block_count(), 5U);
  EXPECT_EQ(index.largest_block(), 1UL << 20);
  for (auto* block : blocks)
    index.remove(block);
  EXPECT_TRUE(index.empty());
  EXPECT_EQ(index.find(256), nullptr);
}

TEST(SegregatedFreeIndex, FindsTheOnlyFitBehindManySmallerBlocksOfItsClass) {
  gpumem::core::memory_block_records records;
  segregated_free_index index;
  // One class holds sizes [65536, 69632): sixteen blocks too small, then one that fits.
  auto* fitting = records.make();
  fitting->size = 69376;
  index.insert(fitting);
  for (int i = 0; i < 16; ++i) {
    auto* small = records.make();
    small->size = 65536;
    index.insert(small);
  }
  EXPECT_EQ(index.find(69000), fitting);
}

TEST(CoalescingHeap, SplitsAndMergesBackIntoTheWholeSlab) {
  coalescing_heap heap{kGranularity};
  segregated_free_index index;
  heap.add_slab(0x100000, 1 << 20, index);
  const auto a = heap.allocate(index, 1024);
  const auto b = heap.allocate(index, 4096);
  const auto c = heap.allocate(index, 256);
  EXPECT_EQ(b, a + 1024);  // carved from the front, in order
  EXPECT_EQ(c, b + 4096);
  EXPECT_EQ(heap.allocated_bytes(), 1024U + 4096U + 256U);
  EXPECT_EQ(heap.allocated_size(b), 4096U);
  EXPECT_EQ(heap.free(b, index), 4096U);
  EXPECT_EQ(heap.free(b, index), 0U);  // not allocated any more
  EXPECT_EQ(heap.free(a, index), 1024U);
  EXPECT_EQ(heap.free(c, index), 256U);
  EXPECT_EQ(index.block_count(), 1U);  // all merged
  EXPECT_EQ(index.largest_block(), 1U << 20);
  const auto slabs = heap.take_free_slabs();
  ASSERT_EQ(slabs.size(), 1U);
  EXPECT_EQ(slabs[0].address, 0x100000U);
  EXPECT_EQ(heap.slab_bytes(), 0U);
}

TEST(CoalescingHeap, BlocksFreeInDifferentIndexesDoNotMergeUntilTransferred) {
  coalescing_heap heap{kGranularity};
  segregated_free_index first;
  segregated_free_index second;
  heap.add_slab(0x100000, 3 * 4096, first);
  const auto a = heap.allocate(first, 4096);
  const auto b = heap.allocate(first, 4096);
  const auto c = heap.allocate(first, 4096);
  heap.free(a, first);
  heap.free(b, second);  // freed on another stream
  heap.free(c, first);
  EXPECT_EQ(first.block_count(), 2U);
  EXPECT_EQ(second.block_count(), 1U);
  EXPECT_TRUE(heap.take_free_slabs().empty());  // free, but not in one block
  heap.transfer(second, first);
  EXPECT_TRUE(second.empty());
  EXPECT_EQ(first.block_count(), 1U);
  EXPECT_EQ(heap.take_free_slabs().size(), 1U);
}

TEST(CoalescingHeap, AnExtendedSlabMergesItsFreeEndWithTheNewMemory) {
  coalescing_heap heap{kGranularity};
  segregated_free_index index;
  constexpr std::uintptr_t kSlab = 0x200000;
  heap.add_slab(kSlab, 8192, index);
  const auto a = heap.allocate(index, 4096);  // the slab's second half stays free
  EXPECT_FALSE(heap.extend_slab(kSlab + 4096, 4096, index)) << "no slab starts there";
  ASSERT_TRUE(heap.extend_slab(kSlab, 16384, index));
  EXPECT_EQ(heap.slab_size(kSlab), 8192U + 16384U);
  EXPECT_EQ(heap.slab_bytes(), 8192U + 16384U);
  EXPECT_EQ(index.block_count(), 1U) << "the old free end and the new memory are one block";
  EXPECT_EQ(index.largest_block(), 4096U + 16384U);
  const auto b = heap.allocate(index, 20480);  // spans the old end and the new memory
  EXPECT_EQ(b, a + 4096);
  heap.free(a, index);
  heap.free(b, index);
  EXPECT_EQ(index.block_count(), 1U);
  EXPECT_EQ(heap.take_free_slabs().size(), 1U) << "one slab, entirely free";
}

TEST(CoalescingHeap, TrimCutsOnlyAFreeEndAndKeepsUnitsFromTheSlabStart) {
  coalescing_heap heap{kGranularity};
  segregated_free_index index;
  segregated_free_index other;
  constexpr std::uintptr_t kSlab = 0x400000;
  constexpr std::size_t kUnit = 4096;
  heap.add_slab(kSlab, 8 * kUnit, index);
  const auto a = heap.allocate(index, kUnit + 256);  // ends inside the second unit
  const auto tail = heap.allocate(index, 7 * kUnit - 256);
  EXPECT_EQ(heap.trim_slab_end(kSlab, kUnit, index), 0U) << "the end is allocated";
  heap.free(tail, other);
  EXPECT_EQ(heap.trim_slab_end(kSlab, kUnit, index), 0U) << "the free end is in another index";
  heap.transfer(other, index);
  EXPECT_EQ(heap.trim_slab_end(kSlab, kUnit, index), 6 * kUnit)
      << "cut back to the unit boundary after the allocated block";
  EXPECT_EQ(heap.slab_size(kSlab), 2 * kUnit);
  EXPECT_EQ(heap.slab_bytes(), 2 * kUnit);
  EXPECT_EQ(index.largest_block(), kUnit - 256) << "the rest of the second unit stays free";
  heap.free(a, index);
  EXPECT_EQ(heap.trim_slab_end(kSlab, kUnit, index), kUnit) << "one unit is always kept";
  EXPECT_EQ(heap.slab_size(kSlab), kUnit);
  EXPECT_EQ(heap.trim_slab_end(kSlab, kUnit, index), 0U);
  const auto again = heap.allocate(index, kUnit);
  EXPECT_EQ(again, kSlab) << "the kept unit is whole and usable";
}

TEST(CoalescingHeap, RandomWorkloadKeepsBlocksDisjointAndInsideSlabs) {
  coalescing_heap heap{kGranularity};
  segregated_free_index indexes[3];
  constexpr std::uintptr_t kSlabs[] = {0x10000000, 0x20000000};
  constexpr std::size_t kSlabSize = 64 << 20;
  for (const auto slab : kSlabs)
    heap.add_slab(slab, kSlabSize, indexes[0]);
  std::map<std::uintptr_t, std::size_t> live;  // the model: address -> size
  std::mt19937_64 random{7};
  std::size_t live_bytes = 0;
  for (int step = 0; step < 100000; ++step) {
    auto& index = indexes[random() % 3];
    if (live.empty() || random() % 100 < 55) {
      const std::size_t size = ((random() % 4096) + 1) * kGranularity;
      const auto address = heap.allocate(index, size);
      if (address == 0) continue;  // nothing fits in this index
      // Disjoint from every live block, and inside a slab.
      auto after = live.lower_bound(address);
      if (after != live.end()) {
        ASSERT_LE(address + size, after->first);
      }
      if (after != live.begin()) {
        const auto before = std::prev(after);
        ASSERT_LE(before->first + before->second, address);
      }
      const bool inside =
          std::any_of(std::begin(kSlabs), std::end(kSlabs), [&](std::uintptr_t slab) {
            return address >= slab && address + size <= slab + kSlabSize;
          });
      ASSERT_TRUE(inside);
      live.emplace(address, size);
      live_bytes += size;
    } else {
      auto it = live.begin();
      std::advance(it, static_cast<long>(random() % live.size()));
      ASSERT_EQ(heap.free(it->first, index), it->second);
      live_bytes -= it->second;
      live.erase(it);
    }
    ASSERT_EQ(heap.allocated_bytes(), live_bytes);
    ASSERT_EQ(heap.allocated_blocks(), live.size());
  }
  for (const auto& [address, size] : live)
    heap.free(address, indexes[1]);
  heap.transfer(indexes[1], indexes[0]);
  heap.transfer(indexes[2], indexes[0]);
  EXPECT_EQ(indexes[0].block_count(), 2U);  // each slab is one block again
  EXPECT_EQ(heap.take_free_slabs().size(), 2U);
}

}  // namespace

namespace {

TEST(CoalescingHeap, FreeBlockTellsWhenItsSlabBecomesWhollyFree) {
  coalescing_heap heap{kGranularity};
  segregated_free_index index;
  heap.add_slab(0x100000, 8192, index);
  heap.add_slab(0x200000, 8192, index);
  const auto a = heap.allocate(index, 4096);
  const auto b = heap.allocate(index, 4096);
  const auto first = heap.free_block(a, index);
  EXPECT_EQ(first.size, 4096U);
  EXPECT_EQ(first.whole_free_slab.size, 0U);  // b still holds the slab
  const auto second = heap.free_block(b, index);
  ASSERT_EQ(second.whole_free_slab.size, 8192U);
  EXPECT_EQ(second.whole_free_slab.address, a);
  heap.remove_free_slab(second.whole_free_slab);
  EXPECT_EQ(heap.slab_bytes(), 8192U);
  EXPECT_EQ(index.block_count(), 1U);
  EXPECT_EQ(heap.free_block(a, index).size, 0U);  // nothing allocated there any more
}

}  // namespace
