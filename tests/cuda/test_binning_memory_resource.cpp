// binning_memory_resource's own behaviour, on the simulator and on the GPU.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cuda_platform.hpp"
#include "gpumem/cuda_device.hpp"
#include "gpumem/mr/binning_memory_resource.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/fixed_size_memory_resource.hpp"
#include "gpumem/mr/pool_memory_resource.hpp"
#include "recording_resource.hpp"

namespace {

using gpumem::mr::binning_memory_resource;
using gpumem::mr::cuda_memory_resource;
using gpumem::mr::fixed_size_memory_resource;
using gpumem::test::recording_resource;
namespace simulator = gpumem::test::simulator;

constexpr std::size_t kKiB = std::size_t{1} << 10;
constexpr std::size_t kMiB = std::size_t{1} << 20;
constexpr std::size_t kChunkBlocks = 128;  // fixed_size_memory_resource's default

static_assert(cuda::mr::async_resource_with<binning_memory_resource<cuda_memory_resource>,
                                            cuda::mr::device_accessible>);
static_assert(
    cuda::mr::async_resource_with<binning_memory_resource<gpumem::mr::device_memory_resource>,
                                  cuda::mr::device_accessible>);

TEST(BinningMemoryResource, ConstructionForms) {
  cuda_memory_resource cuda_mr;
  binning_memory_resource<cuda_memory_resource> by_pointer{&cuda_mr};
  binning_memory_resource<cuda_memory_resource> by_pointer_with_bins{&cuda_mr, 8, 10};
  binning_memory_resource deduced{cuda_mr};
  static_assert(std::is_same_v<decltype(deduced), binning_memory_resource<cuda_memory_resource>>);
  binning_memory_resource deduced_with_bins{cuda_mr, 8, 9};
  static_assert(
      std::is_same_v<decltype(deduced_with_bins), binning_memory_resource<cuda_memory_resource>>);
  binning_memory_resource deduced_pointer{&cuda_mr, 8, 8};
  static_assert(
      std::is_same_v<decltype(deduced_pointer), binning_memory_resource<cuda_memory_resource>>);
  binning_memory_resource from_ref{gpumem::device_async_resource_ref{cuda_mr}};
  static_assert(std::is_same_v<decltype(from_ref),
                               binning_memory_resource<gpumem::mr::device_memory_resource>>);
  gpumem::device_async_resource_ref ref_lvalue{cuda_mr};
  binning_memory_resource from_ref_lvalue{ref_lvalue, 8, 8};
  static_assert(std::is_same_v<decltype(from_ref_lvalue),
                               binning_memory_resource<gpumem::mr::device_memory_resource>>);
  // The usual setup: fixed-size bins for small sizes over a pool that takes the rest.
  gpumem::mr::pool_memory_resource pool{cuda_mr, 16 * kMiB};
  binning_memory_resource over_pool{pool, 10, 12};
  static_assert(std::is_same_v<
                decltype(over_pool),
                binning_memory_resource<gpumem::mr::pool_memory_resource<cuda_memory_resource>>>);
  EXPECT_THROW(binning_memory_resource<cuda_memory_resource>(nullptr), gpumem::logic_error);
  EXPECT_THROW(binning_memory_resource<cuda_memory_resource>(nullptr, 8, 10), gpumem::logic_error);

  EXPECT_EQ(deduced.get_upstream_resource(), gpumem::device_async_resource_ref{cuda_mr});
  EXPECT_EQ(over_pool.get_upstream_resource(), gpumem::device_async_resource_ref{pool});
  // The pool supplied the three bins' chunks of 128 blocks.
  EXPECT_EQ(pool.state().allocated_bytes, (1 + 2 + 4) * kKiB * kChunkBlocks);
  for (auto* resource : std::vector<gpumem::mr::device_memory_resource*>{&by_pointer,
                                                                         &by_pointer_with_bins,
                                                                         &deduced,
                                                                         &deduced_with_bins,
                                                                         &deduced_pointer,
                                                                         &from_ref,
                                                                         &from_ref_lvalue,
                                                                         &over_pool}) {
    void* small = resource->allocate(100);
    void* large = resource->allocate(64 * kKiB);
    EXPECT_NE(small, nullptr);
    EXPECT_NE(large, nullptr);
    resource->deallocate(small, 100);
    resource->deallocate(large, 64 * kKiB);
  }
}

TEST(BinningMemoryResource, ExponentsMakeOwnedFixedSizeBins) {
  recording_resource upstream;
  {
    binning_memory_resource binning{upstream, 10, 12};
    // One fixed-size resource per power of two, each taking its first chunk from the upstream.
    EXPECT_EQ(upstream.allocation_sizes(),
              (std::vector<std::size_t>{
                  1 * kKiB * kChunkBlocks, 2 * kKiB * kChunkBlocks, 4 * kKiB * kChunkBlocks}));
    const std::map<std::size_t, std::size_t> bin_of_size{{1, 1 * kKiB},
                                                         {1000, 1 * kKiB},
                                                         {1024, 1 * kKiB},
                                                         {1025, 2 * kKiB},
                                                         {2048, 2 * kKiB},
                                                         {3000, 4 * kKiB},
                                                         {4 * kKiB, 4 * kKiB}};
    for (const auto& [size, bin] : bin_of_size) {
      void* ptr = binning.allocate(size);
      EXPECT_EQ(upstream.holder_size(ptr), bin * kChunkBlocks)
          << size << " bytes did not come from the " << bin << "-byte bin";
      binning.deallocate(ptr, size);
    }
    EXPECT_EQ(upstream.allocations(), 3U);  // bins only so far
    void* large = binning.allocate(4 * kKiB + 1);
    EXPECT_EQ(upstream.allocations(), 4U);  // larger than every bin: straight to the upstream
    EXPECT_EQ(upstream.holder_size(large), 4 * kKiB + 256);
    binning.deallocate(large, 4 * kKiB + 1);
    EXPECT_EQ(upstream.deallocations(), 1U);  // and back to it
  }
  // The owned bins gave their chunks back.
  EXPECT_EQ(upstream.deallocations(), 4U);
  EXPECT_EQ(upstream.outstanding_bytes(), 0U);
}

TEST(BinningMemoryResource, SmallExponentsRoundTo256ByteBins) {
  recording_resource upstream;
  binning_memory_resource binning{
      upstream, 4, 9};  // 16 .. 512 bytes: 16..256 are all one 256-byte bin
  EXPECT_EQ(upstream.allocation_sizes(),
            (std::vector<std::size_t>{256 * kChunkBlocks, 512 * kChunkBlocks}));
  binning_memory_resource none{upstream, 9, 4};  // min > max: no bins, as in RMM
  EXPECT_EQ(upstream.allocations(), 2U);
  EXPECT_THROW(binning_memory_resource(upstream, -1, 4), gpumem::logic_error);
  EXPECT_THROW(binning_memory_resource(upstream, 4, 64), gpumem::logic_error);
}

TEST(BinningMemoryResource, AddBinRoutesEachSizeToTheSmallestBinThatFits) {
  recording_resource upstream;
  recording_resource small_bin;
  recording_resource medium_bin;
  binning_memory_resource binning{upstream};
  binning.add_bin(4 * kKiB, medium_bin);  // out of order on purpose
  binning.add_bin(200, small_bin);        // rounds to 256
  EXPECT_EQ(upstream.allocations(), 0U);  // bins given: nothing owned, nothing taken

  struct expectation {
    std::size_t bytes;
    recording_resource* served_by;
  };
  const std::vector<expectation> routes{{1, &small_bin},
                                        {200, &small_bin},
                                        {256, &small_bin},
                                        {257, &medium_bin},
                                        {4 * kKiB, &medium_bin},
                                        {4 * kKiB + 1, &upstream},
                                        {3 * kMiB, &upstream}};
  std::vector<void*> pointers;
  for (const auto& route : routes) {
    const std::size_t before = route.served_by->allocations();
    pointers.push_back(binning.allocate(route.bytes));
    EXPECT_EQ(route.served_by->allocations(), before + 1) << route.bytes << " bytes went elsewhere";
    EXPECT_NE(route.served_by->holder_size(pointers.back()), 0U) << route.bytes;
  }
  EXPECT_EQ(small_bin.allocations() + medium_bin.allocations() + upstream.allocations(),
            routes.size());
  // Deallocation with the same sizes reaches the same resources (each checks the pointer and size).
  for (std::size_t i = 0; i < routes.size(); ++i)
    binning.deallocate(pointers[i], routes[i].bytes);
  EXPECT_EQ(small_bin.deallocations(), 3U);
  EXPECT_EQ(medium_bin.deallocations(), 2U);
  EXPECT_EQ(upstream.deallocations(), 2U);
  EXPECT_EQ(
      small_bin.outstanding_bytes() + medium_bin.outstanding_bytes() + upstream.outstanding_bytes(),
      0U);
}

TEST(BinningMemoryResource, AddBinOfAnExistingSizeChangesNothing) {
  recording_resource upstream;
  recording_resource first;
  recording_resource second;
  binning_memory_resource binning{upstream};
  binning.add_bin(1 * kKiB, first);
  binning.add_bin(1000, second);  // rounds to the same 1 KiB bin
  binning.add_bin(1 * kKiB);      // would be an owned bin: not made either
  EXPECT_EQ(upstream.allocations(), 0U);
  void* ptr = binning.allocate(512);
  EXPECT_EQ(first.allocations(), 1U);
  EXPECT_EQ(second.allocations(), 0U);
  binning.deallocate(ptr, 512);
  EXPECT_EQ(first.deallocations(), 1U);
}

TEST(BinningMemoryResource, AddBinWithoutResourceOwnsAFixedSizeBin) {
  recording_resource upstream;
  {
    binning_memory_resource binning{upstream};
    binning.add_bin(300);  // a fixed-size resource of 512-byte blocks over the upstream
    EXPECT_EQ(upstream.allocation_sizes(), std::vector<std::size_t>{512 * kChunkBlocks});
    // 129 blocks: the owned bin grows by a chunk, the binning resource forwards nothing else.
    std::vector<void*> blocks;
    for (std::size_t i = 0; i <= kChunkBlocks; ++i)
      blocks.push_back(binning.allocate(300));
    EXPECT_EQ(upstream.allocation_sizes(), std::vector<std::size_t>(2, 512 * kChunkBlocks));
    for (void* block : blocks)
      EXPECT_EQ(upstream.holder_size(block), 512 * kChunkBlocks);
    EXPECT_EQ(std::set<void*>(blocks.begin(), blocks.end()).size(), blocks.size());
    for (void* block : blocks)
      binning.deallocate(block, 300);
    EXPECT_EQ(upstream.deallocations(), 0U);  // blocks stay in the bin
  }
  EXPECT_EQ(upstream.deallocations(), 2U);
  EXPECT_EQ(upstream.outstanding_bytes(), 0U);
}

TEST(BinningMemoryResource, BinsCanBeOtherSubAllocators) {
  cuda_memory_resource cuda_mr;
  fixed_size_memory_resource small_blocks{cuda_mr, 256, 16};
  gpumem::mr::pool_memory_resource medium_pool{cuda_mr, 1 * kMiB};
  recording_resource upstream;
  binning_memory_resource binning{upstream};
  binning.add_bin(256, small_blocks);
  binning.add_bin(64 * kKiB, medium_pool);
  void* medium = binning.allocate(10 * kKiB);
  EXPECT_EQ(medium_pool.state().allocated_bytes, 10 * kKiB);
  void* small = binning.allocate(10);
  EXPECT_EQ(medium_pool.state().allocated_blocks, 1U);  // the small request went elsewhere
  void* large = binning.allocate(64 * kKiB + 1);
  EXPECT_EQ(upstream.allocations(), 1U);
  binning.deallocate(medium, 10 * kKiB);
  binning.deallocate(small, 10);
  binning.deallocate(large, 64 * kKiB + 1);
  EXPECT_EQ(medium_pool.state().allocated_bytes, 0U);
  EXPECT_EQ(upstream.outstanding_bytes(), 0U);
  // The block freed into the fixed-size bin is its next block on that stream.
  EXPECT_EQ(small_blocks.allocate(256), small);
  small_blocks.deallocate(small, 256);
}

TEST(BinningMemoryResource, ZeroBytesIsNullAndTouchesNoResource) {
  recording_resource upstream;
  recording_resource bin;
  binning_memory_resource binning{upstream};
  binning.add_bin(1 * kKiB, bin);
  EXPECT_EQ(binning.allocate(0), nullptr);
  binning.deallocate(nullptr, 0);
  EXPECT_EQ(
      upstream.allocations() + bin.allocations() + upstream.deallocations() + bin.deallocations(),
      0U);
}

TEST(BinningMemoryResource, WithoutBinsEverythingGoesUpstream) {
  recording_resource upstream;
  binning_memory_resource binning{upstream};
  for (const std::size_t size : {1UL, 256UL, 4096UL, 1UL << 20}) {
    void* ptr = binning.allocate(size);
    EXPECT_NE(upstream.holder_size(ptr), 0U);
    binning.deallocate(ptr, size);
  }
  EXPECT_EQ(upstream.allocations(), 4U);
  EXPECT_EQ(upstream.deallocations(), 4U);
}

TEST(BinningMemoryResource, OutOfMemoryPropagates) {
  // From a bin: an owned fixed-size bin whose upstream has room for one chunk only.
  {
    recording_resource upstream{1 * kKiB * kChunkBlocks};
    binning_memory_resource binning{upstream, 10, 10};
    std::vector<void*> blocks;
    for (std::size_t i = 0; i < kChunkBlocks; ++i)
      blocks.push_back(binning.allocate(1 * kKiB));
    EXPECT_THROW((void)binning.allocate(1 * kKiB), gpumem::out_of_memory);
    // And from the upstream, for a size beyond the bins.
    EXPECT_THROW((void)binning.allocate(2 * kKiB), gpumem::out_of_memory);
    for (void* block : blocks)
      binning.deallocate(block, 1 * kKiB);
  }
  // From the device, through cudaMalloc.
  cuda_memory_resource cuda_mr;
  binning_memory_resource binning{cuda_mr, 8, 10};
  const std::size_t total = gpumem::available_device_memory().second;
  EXPECT_THROW((void)binning.allocate(total * 2), gpumem::out_of_memory);
  // An owned bin whose first chunk cannot be had.
  EXPECT_THROW(binning.add_bin(gpumem::align_up(total / 64, 256)), gpumem::out_of_memory);
  void* still = binning.allocate(1000);  // still usable
  EXPECT_NE(still, nullptr);
  binning.deallocate(still, 1000);
}

TEST(BinningMemoryResource, InvalidBinSizesAreRefused) {
  recording_resource upstream;
  binning_memory_resource binning{upstream};
  EXPECT_THROW(binning.add_bin(0), gpumem::logic_error);
  EXPECT_THROW(binning.add_bin(std::numeric_limits<std::size_t>::max()), gpumem::logic_error);
}

TEST(BinningMemoryResource, DestructionLeavesNothingOnTheDevice) {
  GPUMEM_REQUIRE_SIMULATOR();
  const std::size_t before = simulator::outstanding_allocations();
  {
    cuda_memory_resource cuda_mr;
    binning_memory_resource binning{cuda_mr, 8, 12};
    EXPECT_EQ(simulator::outstanding_allocations(), before + 5);  // one chunk per bin
    for (int i = 0; i < 200; ++i)
      (void)binning.allocate(4 * kKiB);  // the 4 KiB bin grows; never freed
  }
  EXPECT_EQ(simulator::outstanding_allocations(), before);
}

TEST(BinningMemoryResource, ManyThreadsAtOnceWhileBinsAreAdded) {
  cuda_memory_resource cuda_mr;
  binning_memory_resource binning{cuda_mr, 8, 12};
  // Up to 8 KiB straight from cudaMalloc: a bin takes every size above the next smaller bin,
  // so this keeps the bins added below away from the sizes the threads ask for.
  binning.add_bin(8 * kKiB, cuda_mr);
  constexpr int kThreads = 8;
  constexpr int kRounds = 2000;
  std::atomic<bool> adding_done{false};
  std::vector<std::thread> threads;
  std::vector<std::vector<std::pair<void*, std::size_t>>> kept(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        // Sizes across the owned bins and the 8 KiB one.
        const std::size_t size = 1 + static_cast<std::size_t>((i * 131 + t * 17) % (8 * 1024));
        void* ptr = binning.allocate(size, gpumem::cuda_stream_per_thread);
        if (i % 10 == 0) {
          kept[t].emplace_back(ptr, size);
        } else {
          binning.deallocate(ptr, size, gpumem::cuda_stream_per_thread);
        }
      }
    });
  }
  // Bins for sizes the threads never ask for, added while they allocate (served by cudaMalloc,
  // so no bin takes device memory ahead).
  recording_resource added_bins;
  std::thread adder([&] {
    for (int exponent = 20; exponent < 30; ++exponent)
      binning.add_bin(std::size_t{1} << exponent, added_bins);
    adding_done = true;
  });
  for (auto& thread : threads)
    thread.join();
  adder.join();
  EXPECT_TRUE(adding_done);
  std::set<void*> distinct;
  for (const auto& blocks : kept) {
    for (const auto& [ptr, size] : blocks)
      distinct.insert(ptr);
  }
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(kThreads * kRounds / 10));
  for (const auto& blocks : kept) {
    for (const auto& [ptr, size] : blocks)
      binning.deallocate(ptr, size, gpumem::cuda_stream_per_thread);
  }
  // The bins added meanwhile serve their sizes.
  void* big = binning.allocate(3 * kMiB);
  EXPECT_EQ(added_bins.holder_size(big), 3 * kMiB);
  binning.deallocate(big, 3 * kMiB);
  EXPECT_EQ(added_bins.outstanding_bytes(), 0U);
}

}  // namespace
