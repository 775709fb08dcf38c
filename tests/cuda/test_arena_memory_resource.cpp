// arena_memory_resource's own behaviour, on the simulator and on the GPU.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include "cuda_platform.hpp"
#include "gpumem/mr/arena_memory_resource.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"

namespace {

using gpumem::mr::arena_memory_resource;
using gpumem::mr::cuda_memory_resource;
namespace simulator = gpumem::test::simulator;

constexpr std::size_t kMiB = std::size_t{1} << 20;
constexpr std::size_t kSuperblock = gpumem::mr::detail::arena_resource_core::superblock_size;

static_assert(cuda::mr::async_resource_with<arena_memory_resource<cuda_memory_resource>,
                                            cuda::mr::device_accessible>);

TEST(ArenaMemoryResource, ConstructionForms) {
  cuda_memory_resource cuda_mr;
  arena_memory_resource<cuda_memory_resource> by_pointer{&cuda_mr, 64 * kMiB};
  arena_memory_resource deduced{cuda_mr, 64 * kMiB};
  static_assert(std::is_same_v<decltype(deduced), arena_memory_resource<cuda_memory_resource>>);
  arena_memory_resource from_ref{gpumem::device_async_resource_ref{cuda_mr}, 32 * kMiB, true};
  EXPECT_EQ(by_pointer.state().arena_size, 64 * kMiB);
  EXPECT_EQ(from_ref.state().arena_size, 32 * kMiB);
  EXPECT_THROW(arena_memory_resource<cuda_memory_resource>(nullptr, kMiB), gpumem::logic_error);
}

TEST(ArenaMemoryResource, SmallBlocksComeFromOneSuperblockPerThread) {
  cuda_memory_resource cuda_mr;
  arena_memory_resource arena{cuda_mr, 64 * kMiB};
  std::vector<void*> blocks;
  for (int i = 0; i < 100; ++i)
    blocks.push_back(arena.allocate(1000, gpumem::cuda_stream_per_thread));
  for (void* block : blocks)
    EXPECT_TRUE(gpumem::is_pointer_aligned(block));
  std::set<void*> distinct(blocks.begin(), blocks.end());
  EXPECT_EQ(distinct.size(), blocks.size());
  auto state = arena.state();
  EXPECT_EQ(state.local_arenas, 1U);
  EXPECT_EQ(state.superblocks, 1U);
  EXPECT_EQ(state.allocated_bytes, 100U * 1024U);
  for (void* block : blocks)
    arena.deallocate(block, 1000, gpumem::cuda_stream_per_thread);
  EXPECT_EQ(arena.state().allocated_bytes, 0U);
  // Freed memory is reused on the same stream.
  void* again = arena.allocate(1000, gpumem::cuda_stream_per_thread);
  EXPECT_TRUE(distinct.contains(again));
  arena.deallocate(again, 1000, gpumem::cuda_stream_per_thread);
}

TEST(ArenaMemoryResource, LargeRequestsGoToTheGlobalArena) {
  cuda_memory_resource cuda_mr;
  arena_memory_resource arena{cuda_mr, 64 * kMiB};
  void* large = arena.allocate(8 * kMiB);
  auto state = arena.state();
  EXPECT_EQ(state.superblocks, 0U);
  EXPECT_EQ(state.allocated_bytes, 8 * kMiB);
  std::vector<char> data(8 * kMiB, 'q');
  ASSERT_EQ(cudaMemcpy(large, data.data(), data.size(), cudaMemcpyHostToDevice), cudaSuccess);
  std::vector<char> back(data.size());
  ASSERT_EQ(cudaMemcpy(back.data(), large, back.size(), cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(back, data);
  arena.deallocate(large, 8 * kMiB);
  EXPECT_EQ(arena.state().allocated_bytes, 0U);
}

TEST(ArenaMemoryResource, EachThreadGetsItsOwnArenaAndBlocksNeverOverlap) {
  cuda_memory_resource cuda_mr;
  arena_memory_resource arena{cuda_mr, 256 * kMiB};
  constexpr int kThreads = 8;
  std::vector<std::vector<std::pair<char*, std::size_t>>> kept(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3000; ++i) {
        const std::size_t size = 256 * static_cast<std::size_t>(1 + (i * 13 + t) % 200);
        auto* block = static_cast<char*>(arena.allocate(size, gpumem::cuda_stream_per_thread));
        if (i % 7 == 0) {
          kept[t].emplace_back(block, size);
        } else {
          arena.deallocate(block, size, gpumem::cuda_stream_per_thread);
        }
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  std::vector<std::pair<char*, std::size_t>> all;
  for (const auto& blocks : kept)
    all.insert(all.end(), blocks.begin(), blocks.end());
  std::sort(all.begin(), all.end());
  for (std::size_t i = 1; i < all.size(); ++i)
    ASSERT_LE(all[i - 1].first + all[i - 1].second, all[i].first);
  EXPECT_EQ(arena.state().local_arenas, static_cast<std::size_t>(kThreads));
  for (const auto& blocks : kept) {
    for (auto [block, size] : blocks)
      arena.deallocate(block, size, gpumem::cuda_stream_per_thread);
  }
  EXPECT_EQ(arena.state().allocated_bytes, 0U);
}

TEST(ArenaMemoryResource, AFreeOnAnotherThreadReturnsTheBlockToItsArena) {
  cuda_memory_resource cuda_mr;
  arena_memory_resource arena{cuda_mr, 64 * kMiB};
  void* block = nullptr;
  std::thread([&] { block = arena.allocate(4096, gpumem::cuda_stream_per_thread); }).join();
  EXPECT_EQ(arena.state().allocated_bytes, 4096U);
  arena.deallocate(
      block, 4096, gpumem::cuda_stream_per_thread);  // this thread's stream, not the owner's
  EXPECT_EQ(arena.state().allocated_bytes, 0U);
}

TEST(ArenaMemoryResource, IdleSuperblocksGoBackToTheGlobalArena) {
  cuda_memory_resource cuda_mr;
  arena_memory_resource arena{cuda_mr, 64 * kMiB};
  // Fill five superblocks with blocks of 512 KiB (8 per superblock), then free them all. The
  // arena keeps one spare superblock and up to 8 blocks of one size whole for quick reuse
  // (so at most two more superblocks); the others go back.
  std::vector<void*> blocks;
  for (int i = 0; i < 40; ++i)
    blocks.push_back(arena.allocate(512 * 1024));
  EXPECT_EQ(arena.state().superblocks, 5U);
  for (void* block : blocks)
    arena.deallocate(block, 512 * 1024);
  EXPECT_LE(arena.state().superblocks, 3U);
  // Another stream can now take the returned memory in large blocks.
  void* large = arena.allocate(60 * kMiB - kSuperblock);
  EXPECT_NE(large, nullptr);
  arena.deallocate(large, 60 * kMiB - kSuperblock);
}

TEST(ArenaMemoryResource, OutOfMemoryNamesTheArenaAndCanDumpItsState) {
  cuda_memory_resource cuda_mr;
  arena_memory_resource arena{cuda_mr, 16 * kMiB, true};
  void* small = arena.allocate(1000);
  try {
    (void)arena.allocate(32 * kMiB);
    FAIL() << "no out_of_memory";
  } catch (const gpumem::out_of_memory& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("arena_memory_resource: cannot allocate 32.0 MiB"), std::string::npos)
        << message;
    EXPECT_NE(message.find("arena size 16.0 MiB"), std::string::npos) << message;
    const auto at = message.find("state written to ");
    ASSERT_NE(at, std::string::npos) << message;
    const std::string path = message.substr(at + 17);
    std::ifstream dump{path};
    std::string first_line;
    std::getline(dump, first_line);
    EXPECT_NE(first_line.find("cannot allocate"), std::string::npos);
    std::string contents{std::istreambuf_iterator<char>(dump), {}};
    EXPECT_NE(contents.find("local arena of stream"), std::string::npos) << contents;
    std::remove(path.c_str());
  }
  arena.deallocate(small, 1000);
}

TEST(ArenaMemoryResource, DestructionReturnsEverythingUpstream) {
  GPUMEM_REQUIRE_SIMULATOR();
  const std::size_t before = simulator::outstanding_allocations();
  {
    cuda_memory_resource cuda_mr;
    arena_memory_resource arena{cuda_mr, 32 * kMiB};
    void* block = arena.allocate(1000);
    arena.deallocate(block, 1000);
  }
  EXPECT_EQ(simulator::outstanding_allocations(), before);
}

}  // namespace
