// fixed_size_memory_resource's own behaviour, on the simulator and on the GPU.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cuda_platform.hpp"
#include "gpumem/cuda_device.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/fixed_size_memory_resource.hpp"
#include "gpumem/mr/pool_memory_resource.hpp"
#include "recording_resource.hpp"
#include "stream_pair.hpp"

namespace {

using gpumem::mr::cuda_memory_resource;
using gpumem::mr::fixed_size_memory_resource;
using gpumem::test::recording_resource;
namespace simulator = gpumem::test::simulator;

constexpr std::size_t kKiB = std::size_t{1} << 10;
constexpr std::size_t kMiB = std::size_t{1} << 20;

static_assert(cuda::mr::async_resource_with<fixed_size_memory_resource<cuda_memory_resource>,
                                            cuda::mr::device_accessible>);
static_assert(
    cuda::mr::async_resource_with<fixed_size_memory_resource<gpumem::mr::device_memory_resource>,
                                  cuda::mr::device_accessible>);

using StreamPair = gpumem::test::stream_pair_test;

TEST(FixedSizeMemoryResource, ConstructionForms) {
  cuda_memory_resource cuda_mr;
  fixed_size_memory_resource<cuda_memory_resource> by_pointer{&cuda_mr, 64 * kKiB, 4};
  fixed_size_memory_resource deduced{cuda_mr, 4 * kKiB, 16};
  static_assert(
      std::is_same_v<decltype(deduced), fixed_size_memory_resource<cuda_memory_resource>>);
  fixed_size_memory_resource deduced_pointer{&cuda_mr, 8 * kKiB};
  static_assert(
      std::is_same_v<decltype(deduced_pointer), fixed_size_memory_resource<cuda_memory_resource>>);
  fixed_size_memory_resource from_ref{gpumem::device_async_resource_ref{cuda_mr}, 2 * kKiB, 2};
  static_assert(std::is_same_v<decltype(from_ref),
                               fixed_size_memory_resource<gpumem::mr::device_memory_resource>>);
  gpumem::device_async_resource_ref ref_lvalue{cuda_mr};
  fixed_size_memory_resource from_ref_lvalue{ref_lvalue, 2 * kKiB, 2};
  static_assert(std::is_same_v<decltype(from_ref_lvalue),
                               fixed_size_memory_resource<gpumem::mr::device_memory_resource>>);
  gpumem::mr::pool_memory_resource pool{cuda_mr, 4 * kMiB};
  fixed_size_memory_resource over_pool{pool, 256 * kKiB, 8};  // blocks carved from a pool
  static_assert(
      std::is_same_v<
          decltype(over_pool),
          fixed_size_memory_resource<gpumem::mr::pool_memory_resource<cuda_memory_resource>>>);
  fixed_size_memory_resource<cuda_memory_resource> defaults{&cuda_mr};

  EXPECT_EQ(by_pointer.get_block_size(), 64 * kKiB);
  EXPECT_EQ(deduced.get_block_size(), 4 * kKiB);
  EXPECT_EQ(deduced_pointer.get_block_size(), 8 * kKiB);
  EXPECT_EQ(from_ref.get_block_size(), 2 * kKiB);
  EXPECT_EQ(defaults.get_block_size(), kMiB);
  EXPECT_EQ(defaults.get_block_size(),
            fixed_size_memory_resource<cuda_memory_resource>::default_block_size);
  EXPECT_EQ(fixed_size_memory_resource<cuda_memory_resource>::default_blocks_to_preallocate, 128U);
  EXPECT_EQ(over_pool.get_upstream_resource(), gpumem::device_async_resource_ref{pool});
  EXPECT_EQ(deduced.get_upstream_resource(), gpumem::device_async_resource_ref{cuda_mr});
  // The pool supplied the fixed-size resource's chunk.
  EXPECT_EQ(pool.state().allocated_bytes, 8 * 256 * kKiB);
  void* block = over_pool.allocate(100);
  EXPECT_NE(block, nullptr);
  over_pool.deallocate(block, 100);
}

TEST(FixedSizeMemoryResource, DefaultsTakeOneChunkOf128BlocksOf1MiB) {
  recording_resource upstream;
  {
    fixed_size_memory_resource defaults{upstream};
    EXPECT_EQ(upstream.allocation_sizes(), std::vector<std::size_t>{128 * kMiB});
  }
  EXPECT_EQ(upstream.outstanding_bytes(), 0U);
}

TEST(FixedSizeMemoryResource, InvalidArgumentsAreRefused) {
  cuda_memory_resource cuda_mr;
  EXPECT_THROW(fixed_size_memory_resource<cuda_memory_resource>(nullptr, 4 * kKiB),
               gpumem::logic_error);
  EXPECT_THROW(fixed_size_memory_resource(cuda_mr, 0), gpumem::logic_error);
  EXPECT_THROW(fixed_size_memory_resource(cuda_mr, 4 * kKiB, 0), gpumem::logic_error);
  EXPECT_THROW(fixed_size_memory_resource(cuda_mr, std::numeric_limits<std::size_t>::max()),
               gpumem::logic_error);
  EXPECT_THROW(
      fixed_size_memory_resource(cuda_mr, kMiB, std::numeric_limits<std::size_t>::max() / 1024),
      gpumem::logic_error);
}

TEST(FixedSizeMemoryResource, BlockSizeIsRoundedUpTo256) {
  recording_resource upstream;
  fixed_size_memory_resource one{upstream, 1, 4};
  fixed_size_memory_resource exact{upstream, 512, 4};
  fixed_size_memory_resource odd{upstream, 1000, 4};
  EXPECT_EQ(one.get_block_size(), 256U);
  EXPECT_EQ(exact.get_block_size(), 512U);
  EXPECT_EQ(odd.get_block_size(), 1024U);
  // Chunks are whole rounded blocks.
  EXPECT_EQ(upstream.allocation_sizes(), (std::vector<std::size_t>{4 * 256, 4 * 512, 4 * 1024}));
  // The rounded size is what a block holds: 1024 bytes fit, 1025 do not.
  void* full = odd.allocate(1024);
  EXPECT_NE(full, nullptr);
  EXPECT_THROW((void)odd.allocate(1025), gpumem::out_of_memory);
  odd.deallocate(full, 1024);
}

TEST(FixedSizeMemoryResource, LargerThanABlockThrowsOutOfMemory) {
  cuda_memory_resource cuda_mr;
  fixed_size_memory_resource fixed{cuda_mr, 4 * kKiB, 4};
  try {
    (void)fixed.allocate(4 * kKiB + 1);
    FAIL() << "no out_of_memory";
  } catch (const gpumem::out_of_memory& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("cannot allocate 4.0 KiB (4097 bytes)"), std::string::npos) << message;
    EXPECT_NE(message.find("the maximum allocation size is the block size"), std::string::npos)
        << message;
  }
  EXPECT_THROW((void)fixed.allocate(std::numeric_limits<std::size_t>::max()),
               gpumem::out_of_memory);
}

TEST(FixedSizeMemoryResource, ZeroBytesIsNull) {
  recording_resource upstream;
  fixed_size_memory_resource fixed{upstream, 4 * kKiB, 4};
  EXPECT_EQ(fixed.allocate(0), nullptr);
  fixed.deallocate(nullptr, 0);
  EXPECT_EQ(upstream.allocations(), 1U);  // the first chunk only
}

TEST(FixedSizeMemoryResource, BlocksAreAlignedDisjointAndInsideTheChunk) {
  recording_resource upstream;
  constexpr std::size_t kBlock = 1000;  // rounds to 1024
  constexpr std::size_t kBlocks = 16;
  fixed_size_memory_resource fixed{upstream, kBlock, kBlocks};
  std::vector<char*> blocks;
  for (std::size_t i = 0; i < kBlocks; ++i) {
    auto* block = static_cast<char*>(fixed.allocate(1 + i * 60));
    EXPECT_TRUE(gpumem::is_pointer_aligned(block)) << i;
    EXPECT_EQ(upstream.holder_of(block).second, kBlocks * 1024) << i;
    blocks.push_back(block);
  }
  EXPECT_EQ(upstream.allocations(), 1U);  // all from the preallocated chunk
  std::sort(blocks.begin(), blocks.end());
  for (std::size_t i = 1; i < blocks.size(); ++i)
    EXPECT_GE(blocks[i] - blocks[i - 1], 1024) << i;
  // The memory is real device memory: write a whole block and read it back.
  std::vector<char> pattern(1024, 'f');
  ASSERT_EQ(cudaMemcpy(blocks[3], pattern.data(), pattern.size(), cudaMemcpyHostToDevice),
            cudaSuccess);
  std::vector<char> back(pattern.size());
  ASSERT_EQ(cudaMemcpy(back.data(), blocks[3], back.size(), cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(back, pattern);
  for (char* block : blocks)
    fixed.deallocate(block, 1);
}

TEST_F(StreamPair, FreedBlockIsReusedOnTheSameStreamAtOnce) {
  cuda_memory_resource cuda_mr;
  fixed_size_memory_resource fixed{cuda_mr, 64 * kKiB, 8};
  void* first = fixed.allocate(64 * kKiB, first_);
  void* second = fixed.allocate(64 * kKiB, first_);
  fixed.deallocate(first, 64 * kKiB, first_);
  EXPECT_EQ(fixed.allocate(100, first_), first);  // the block just freed, though others are free
  fixed.deallocate(first, 100, first_);
  fixed.deallocate(second, 64 * kKiB, first_);
}

TEST_F(StreamPair, SameStreamReuseRecordsNoEvent) {
  GPUMEM_REQUIRE_SIMULATOR();
  cuda_memory_resource cuda_mr;
  fixed_size_memory_resource fixed{cuda_mr, 4 * kKiB, 2};
  void* held = fixed.allocate(4 * kKiB, first_);
  simulator::reset_call_counts();
  for (int i = 0; i < 100; ++i)
    fixed.deallocate(fixed.allocate(4 * kKiB, first_), 4 * kKiB, first_);
  EXPECT_EQ(
      simulator::call_count("cuEventRecord") + simulator::call_count("cuEventRecordWithFlags"), 0U);
  EXPECT_EQ(simulator::call_count("cuStreamWaitEvent"), 0U);
  EXPECT_EQ(simulator::call_count("cuMemAlloc_v2"), 0U);
  fixed.deallocate(held, 4 * kKiB, first_);
}

TEST_F(StreamPair, AnotherStreamGetsFreedBlocksAfterOneEventWait) {
  recording_resource upstream;
  constexpr std::size_t kBlocks = 4;
  fixed_size_memory_resource fixed{upstream, 64 * kKiB, kBlocks};
  // Use up the preallocated blocks on the first stream, then free them there.
  std::set<void*> freed;
  for (std::size_t i = 0; i < kBlocks; ++i)
    freed.insert(fixed.allocate(64 * kKiB, first_));
  for (void* block : freed)
    fixed.deallocate(block, 64 * kKiB, first_);
  ASSERT_EQ(freed.size(), kBlocks);

  if (gpumem::test::on_simulator()) simulator::reset_call_counts();
  std::set<void*> reused;
  for (std::size_t i = 0; i < kBlocks; ++i)
    reused.insert(fixed.allocate(64 * kKiB, second_));
  EXPECT_EQ(reused, freed);  // the first stream's blocks, no new chunk
  EXPECT_EQ(upstream.allocations(), 1U);
  if (gpumem::test::on_simulator()) {
    // One event covers every block the first stream had freed: one record, one wait.
    EXPECT_EQ(
        simulator::call_count("cuEventRecord") + simulator::call_count("cuEventRecordWithFlags"),
        1U);
    EXPECT_EQ(simulator::call_count("cuStreamWaitEvent"), 1U);
    EXPECT_EQ(simulator::call_count("cuEventSynchronize"), 0U);  // the host never waits
    EXPECT_EQ(simulator::call_count("cuStreamSynchronize"), 0U);
    EXPECT_EQ(simulator::call_count("cuCtxSynchronize"), 0U);
  }
  for (void* block : reused)
    fixed.deallocate(block, 64 * kKiB, second_);
}

TEST(FixedSizeMemoryResource, GrowsByChunksOfTheSameCount) {
  recording_resource upstream;
  constexpr std::size_t kBlock = 4 * kKiB;
  constexpr std::size_t kBlocks = 8;
  fixed_size_memory_resource fixed{upstream, kBlock, kBlocks};
  std::set<void*> blocks;
  for (std::size_t i = 0; i < kBlocks; ++i)
    blocks.insert(fixed.allocate(kBlock));
  EXPECT_EQ(upstream.allocations(), 1U);  // the preallocated chunk suffices
  blocks.insert(fixed.allocate(kBlock));  // every block in use: a second chunk
  EXPECT_EQ(upstream.allocations(), 2U);
  for (std::size_t i = 1; i < kBlocks; ++i)
    blocks.insert(fixed.allocate(kBlock));
  EXPECT_EQ(upstream.allocations(), 2U);  // the second chunk's other blocks
  blocks.insert(fixed.allocate(kBlock));
  EXPECT_EQ(upstream.allocations(), 3U);
  EXPECT_EQ(upstream.allocation_sizes(), (std::vector<std::size_t>(3, kBlock * kBlocks)));
  EXPECT_EQ(blocks.size(), 2 * kBlocks + 1);  // all distinct
  for (void* block : blocks)
    EXPECT_NE(upstream.holder_of(block).first, nullptr);
  for (void* block : blocks)
    fixed.deallocate(block, kBlock);
  // Freed blocks are reused before the resource grows again.
  std::vector<void*> again;
  for (std::size_t i = 0; i < 2 * kBlocks + 1; ++i)
    again.push_back(fixed.allocate(kBlock));
  EXPECT_EQ(upstream.allocations(), 3U);
  for (void* block : again)
    fixed.deallocate(block, kBlock);
}

TEST(FixedSizeMemoryResource, UpstreamOutOfMemoryPropagates) {
  constexpr std::size_t kBlock = 4 * kKiB;
  recording_resource upstream{4 * kBlock};  // room for one chunk of 4 blocks
  fixed_size_memory_resource fixed{upstream, kBlock, 4};
  std::vector<void*> blocks;
  for (int i = 0; i < 4; ++i)
    blocks.push_back(fixed.allocate(kBlock));
  try {
    (void)fixed.allocate(kBlock);
    FAIL() << "no out_of_memory";
  } catch (const gpumem::out_of_memory& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("cannot take a chunk of 4 blocks of 4.0 KiB (16384 bytes)"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("recording_resource: over the limit"), std::string::npos) << message;
  }
  fixed.deallocate(blocks.back(), kBlock);  // still usable: a freed block serves the next request
  blocks.back() = fixed.allocate(kBlock);
  EXPECT_NE(blocks.back(), nullptr);
  for (void* block : blocks)
    fixed.deallocate(block, kBlock);
}

TEST(FixedSizeMemoryResource, FirstChunkOutOfDeviceMemoryThrowsOutOfMemory) {
  cuda_memory_resource cuda_mr;
  const std::size_t total = gpumem::available_device_memory().second;
  EXPECT_THROW(fixed_size_memory_resource(cuda_mr, gpumem::align_up(total / 2, 256), 4),
               gpumem::out_of_memory);
}

TEST(FixedSizeMemoryResource, DestructionReturnsEveryChunk) {
  recording_resource upstream;
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  const std::size_t before =
      gpumem::test::on_simulator() ? simulator::outstanding_allocations() : 0;
  {
    fixed_size_memory_resource fixed{upstream, 16 * kKiB, 4};
    std::vector<void*> kept;
    for (int i = 0; i < 10; ++i)
      kept.push_back(fixed.allocate(16 * kKiB, i % 2 == 0 ? stream : nullptr));
    fixed.deallocate(kept.back(), 16 * kKiB, stream);  // some freed, the rest left allocated
    fixed.deallocate(kept.front(), 16 * kKiB);
    EXPECT_EQ(upstream.allocations(), 3U);
    if (gpumem::test::on_simulator()) {
      EXPECT_EQ(simulator::outstanding_allocations(), before + 3);
    }
  }
  EXPECT_EQ(upstream.deallocations(), 3U);
  EXPECT_EQ(upstream.outstanding_bytes(), 0U);
  if (gpumem::test::on_simulator()) {
    EXPECT_EQ(simulator::outstanding_allocations(), before);
  }
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

TEST(FixedSizeMemoryResource, DestructionLeavesNothingOnTheDevice) {
  GPUMEM_REQUIRE_SIMULATOR();
  const std::size_t before = simulator::outstanding_allocations();
  {
    cuda_memory_resource cuda_mr;
    fixed_size_memory_resource fixed{cuda_mr, 256, 2};
    for (int i = 0; i < 7; ++i)
      (void)fixed.allocate(256, gpumem::cuda_stream_per_thread);
    EXPECT_EQ(simulator::outstanding_allocations(), before + 4);  // 4 chunks of 2 blocks
  }
  EXPECT_EQ(simulator::outstanding_allocations(), before);  // every chunk gone
}

TEST(FixedSizeMemoryResource, ManyThreadsAtOnce) {
  cuda_memory_resource cuda_mr;
  fixed_size_memory_resource fixed{cuda_mr, 4 * kKiB, 64};
  constexpr int kThreads = 8;
  constexpr int kRounds = 2000;
  std::vector<std::thread> threads;
  std::vector<std::vector<void*>> kept(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Half the threads on their per-thread default stream, half on the legacy default
      // stream shared by all, so blocks also cross threads and streams.
      const gpumem::cuda_stream_view stream =
          t % 2 == 0 ? gpumem::cuda_stream_per_thread : gpumem::cuda_stream_view{};
      for (int i = 0; i < kRounds; ++i) {
        const std::size_t size = 1 + static_cast<std::size_t>((i * 37 + t) % (4 * 1024));
        void* block = fixed.allocate(size, stream);
        if (i % 10 == 0) {
          kept[t].push_back(block);
        } else {
          fixed.deallocate(block, size, stream);
        }
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  std::set<void*> distinct;
  for (const auto& blocks : kept)
    distinct.insert(blocks.begin(), blocks.end());
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(kThreads * kRounds / 10));
  for (const auto& blocks : kept) {
    for (void* block : blocks)
      fixed.deallocate(block, 4 * kKiB);
  }
}

TEST(FixedSizeMemoryResource, BlocksFreedByOneThreadServeAnother) {
  recording_resource upstream;
  fixed_size_memory_resource fixed{upstream, 4 * kKiB, 2};
  // Use up the preallocated blocks so the next ones come from a stream's free list.
  void* a = fixed.allocate(4 * kKiB);
  void* b = fixed.allocate(4 * kKiB);
  std::thread([&] {
    fixed.deallocate(a, 4 * kKiB, gpumem::cuda_stream_per_thread);
    fixed.deallocate(b, 4 * kKiB, gpumem::cuda_stream_per_thread);
  }).join();
  std::set<void*> got{fixed.allocate(4 * kKiB, gpumem::cuda_stream_per_thread),
                      fixed.allocate(4 * kKiB, gpumem::cuda_stream_per_thread)};
  EXPECT_EQ(got, (std::set<void*>{a, b}));
  EXPECT_EQ(upstream.allocations(), 1U);
  for (void* block : got)
    fixed.deallocate(block, 4 * kKiB, gpumem::cuda_stream_per_thread);
}

TEST(FixedSizeMemoryResource, FreeOfAForeignPointerIsIgnored) {
  cuda_memory_resource cuda_mr;
  fixed_size_memory_resource fixed{cuda_mr, 4 * kKiB, 2};
  void* foreign = cuda_mr.allocate(4 * kKiB);
  void* mine = fixed.allocate(4 * kKiB);
  testing::internal::CaptureStderr();
  fixed.deallocate(foreign, 4 * kKiB);
  fixed.deallocate(static_cast<char*>(mine) + 256, 4 * kKiB);  // inside a chunk, not a block start
  const std::string said = testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find("gpumem: fixed_size_memory_resource: deallocate of"), std::string::npos)
      << said;
  // Neither pointer entered the free lists: the remaining blocks are ours.
  void* next = fixed.allocate(4 * kKiB);
  EXPECT_NE(next, foreign);
  EXPECT_NE(next, static_cast<char*>(mine) + 256);
  fixed.deallocate(next, 4 * kKiB);
  fixed.deallocate(mine, 4 * kKiB);
  cuda_mr.deallocate(foreign, 4 * kKiB);
}

}  // namespace
