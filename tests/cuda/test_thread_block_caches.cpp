// The threads' caches of freed blocks in front of the pool and the fixed-size resource: a
// cached block is reused only on the stream that freed it; everything else goes through the
// allocator's stream ordering (an event wait), after the allocator drained the caches; and the
// caches are drained before the allocator grows, when a stream or thread ends, on release(),
// and counted as free in reports. On the simulator, its call counts show the ordering.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cuda_platform.hpp"
#include "gpumem/cuda_stream_view.hpp"
#include "gpumem/mr/binning_memory_resource.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/fixed_size_memory_resource.hpp"
#include "gpumem/mr/pool_memory_resource.hpp"
#include "gpumem/stream_destroyed.hpp"
#include "recording_resource.hpp"
#include "stream_pair.hpp"

namespace {

using gpumem::cuda_stream_view;
using gpumem::mr::cuda_memory_resource;
using gpumem::mr::fixed_size_memory_resource;
using gpumem::mr::pool_memory_resource;
using gpumem::test::recording_resource;
namespace simulator = gpumem::test::simulator;

constexpr std::size_t kKiB = std::size_t{1} << 10;
constexpr std::size_t kMiB = std::size_t{1} << 20;

/// The simulator's counts of the calls that order streams (all 0 off the simulator).
struct ordering_calls {
  std::uint64_t records = 0;     ///< events recorded
  std::uint64_t waits = 0;       ///< streams made to wait for an event
  std::uint64_t host_waits = 0;  ///< the host waiting for the device

  static ordering_calls now() {
    if (!gpumem::test::on_simulator()) return {};
    return ordering_calls{
        simulator::call_count("cuEventRecord") + simulator::call_count("cuEventRecordWithFlags"),
        simulator::call_count("cuStreamWaitEvent"),
        simulator::call_count("cuEventSynchronize") + simulator::call_count("cuStreamSynchronize") +
            simulator::call_count("cuCtxSynchronize")};
  }
  ordering_calls since(const ordering_calls& before) const {
    return {records - before.records, waits - before.waits, host_waits - before.host_waits};
  }
};

/// Runs `work` on a thread that then waits, still alive, until the returned guard goes.
class parked_thread {
 public:
  template <typename Work>
  explicit parked_thread(Work work) {
    std::promise<void> done;
    auto finished = done.get_future();
    thread_ = std::thread([work, this, done = std::move(done)]() mutable {
      work();
      done.set_value();
      leave_.get_future().wait();
    });
    finished.wait();
  }
  parked_thread(const parked_thread&) = delete;
  parked_thread& operator=(const parked_thread&) = delete;
  parked_thread(parked_thread&&) = delete;
  parked_thread& operator=(parked_thread&&) = delete;
  ~parked_thread() {
    leave_.set_value();
    thread_.join();
  }

 private:
  std::promise<void> leave_;
  std::thread thread_;
};

using PoolThreadCacheOnTwoStreams = gpumem::test::stream_pair_test;
using FixedSizeThreadCacheOnTwoStreams = gpumem::test::stream_pair_test;

// --- the pool

TEST_F(PoolThreadCacheOnTwoStreams, ACachedBlockIsReusedOnItsStreamOnly) {
  cuda_memory_resource cuda;
  pool_memory_resource pool{cuda, 8 * kMiB};
  void* freed = pool.allocate(4096, first_);
  pool.deallocate(freed, 4096, first_);
  const auto before = ordering_calls::now();
  void* other = pool.allocate(4096, second_);
  EXPECT_NE(other, freed) << "a block freed on one stream went to another without a wait";
  void* same = pool.allocate(4096, first_);
  EXPECT_EQ(same, freed) << "the block freed on this stream was not reused";
  EXPECT_EQ(ordering_calls::now().since(before).records, 0U);
  pool.deallocate(other, 4096, second_);
  pool.deallocate(same, 4096, first_);
}

TEST_F(PoolThreadCacheOnTwoStreams, ACachedBlockReachesAnotherStreamAfterAnEventWaitNotAGrowth) {
  cuda_memory_resource cuda;
  pool_memory_resource pool{cuda, 0};
  void* freed = pool.allocate(2 * kMiB, first_);  // the pool's only slab
  pool.deallocate(freed, 2 * kMiB, first_);       // into this thread's cache
  const auto before = ordering_calls::now();
  void* reused = pool.allocate(2 * kMiB, second_);
  EXPECT_EQ(reused, freed) << "the pool grew while a cache held a free block";
  EXPECT_EQ(pool.pool_size(), 2 * kMiB);
  if (gpumem::test::on_simulator()) {
    const auto calls = ordering_calls::now().since(before);
    EXPECT_EQ(calls.records, 1U);
    EXPECT_EQ(calls.waits, 1U) << "the second stream did not wait for the first";
    EXPECT_EQ(calls.host_waits, 0U);
  }
  pool.deallocate(reused, 2 * kMiB, second_);
}

TEST_F(PoolThreadCacheOnTwoStreams,
       AnotherThreadsCachedBlocksServeThisThreadBeforeThePoolGrowsOrFails) {
  cuda_memory_resource cuda;
  constexpr int kBlocks = 8;
  pool_memory_resource pool{cuda, kBlocks * kMiB, kBlocks * kMiB};
  std::set<void*> freed;
  // The other thread fills the pool, frees everything on the first stream into its cache, and
  // stays alive.
  parked_thread other{[&] {
    std::vector<void*> blocks;
    for (int i = 0; i < kBlocks; ++i)
      blocks.push_back(pool.allocate(kMiB, first_));
    for (void* block : blocks)
      pool.deallocate(block, kMiB, first_);
    freed.insert(blocks.begin(), blocks.end());
  }};
  ASSERT_EQ(freed.size(), static_cast<std::size_t>(kBlocks));
  std::set<void*> got;
  auto before = ordering_calls::now();
  for (int i = 0; i < kBlocks / 2; ++i)
    got.insert(pool.allocate(kMiB, first_));  // the same stream: no ordering needed
  EXPECT_EQ(ordering_calls::now().since(before).records, 0U);
  before = ordering_calls::now();
  for (int i = 0; i < kBlocks / 2; ++i)
    got.insert(pool.allocate(kMiB, second_));  // another stream: after one event wait
  if (gpumem::test::on_simulator()) {
    const auto calls = ordering_calls::now().since(before);
    EXPECT_EQ(calls.records, 1U);
    EXPECT_EQ(calls.waits, 1U);
    EXPECT_EQ(calls.host_waits, 0U);
  }
  EXPECT_EQ(got, freed);
  EXPECT_EQ(pool.pool_size(), kBlocks * kMiB);
  for (void* block : got)
    pool.deallocate(block, kMiB, second_);
}

TEST(PoolThreadCacheRetirement, AStreamsCachedBlocksAreRetiredWithIt) {
  cuda_memory_resource cuda;
  pool_memory_resource pool{cuda, 0};
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  void* freed = pool.allocate(2 * kMiB, cuda_stream_view{stream});
  pool.deallocate(freed, 2 * kMiB, cuda_stream_view{stream});  // into this thread's cache
  auto before = ordering_calls::now();
  gpumem::notify_stream_destroyed(stream);
  if (gpumem::test::on_simulator()) {
    EXPECT_EQ(ordering_calls::now().since(before).records, 1U)
        << "the retiring stream's cached block was not ordered by its retirement event";
  }
  // The handle now stands for a new stream (CUDA reuses handles): the block comes back only
  // after that stream waits for the old one's work.
  before = ordering_calls::now();
  void* reused = pool.allocate(2 * kMiB, cuda_stream_view{stream});
  EXPECT_EQ(reused, freed);
  if (gpumem::test::on_simulator()) {
    const auto calls = ordering_calls::now().since(before);
    EXPECT_EQ(calls.waits, 1U) << "a retired stream's block was reused under its handle";
    EXPECT_EQ(calls.host_waits, 0U);
  }
  pool.deallocate(reused, 2 * kMiB, cuda_stream_view{stream});
  gpumem::notify_stream_destroyed(stream);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

TEST(PoolThreadCacheRetirement, AnEndedThreadsPerThreadStreamBlocksReachOthersAfterAWait) {
  cuda_memory_resource cuda;
  pool_memory_resource pool{cuda, 0};
  void* freed = nullptr;
  auto before = ordering_calls::now();
  std::thread([&] {
    freed = pool.allocate(2 * kMiB, gpumem::cuda_stream_per_thread);
    pool.deallocate(freed, 2 * kMiB, gpumem::cuda_stream_per_thread);
  }).join();
  if (gpumem::test::on_simulator()) {
    EXPECT_EQ(ordering_calls::now().since(before).records, 1U)
        << "the ended thread's cached block was not ordered when the thread ended";
  }
  before = ordering_calls::now();
  void* reused = nullptr;
  std::thread([&] {
    reused = pool.allocate(2 * kMiB, gpumem::cuda_stream_per_thread);
    pool.deallocate(reused, 2 * kMiB, gpumem::cuda_stream_per_thread);
  }).join();
  EXPECT_EQ(reused, freed);
  EXPECT_EQ(pool.pool_size(), 2 * kMiB);
  if (gpumem::test::on_simulator()) {
    EXPECT_EQ(ordering_calls::now().since(before).waits, 1U)
        << "another thread's per-thread stream got the block without waiting";
  }
}

TEST(PoolThreadCache, ReleaseGivesBackWhatThreadsCached) {
  cuda_memory_resource cuda;
  pool_memory_resource pool{cuda, 0};
  std::vector<void*> blocks;
  for (int i = 0; i < 4; ++i)
    blocks.push_back(pool.allocate(4 * kMiB));
  const std::size_t size = pool.pool_size();
  std::thread([&] {
    for (void* block : blocks)
      pool.deallocate(block, 4 * kMiB);  // into that thread's cache, drained when it ends
  }).join();
  for (void*& block : blocks)
    block = pool.allocate(4 * kMiB);
  for (void* block : blocks)
    pool.deallocate(block, 4 * kMiB);  // into this thread's cache
  EXPECT_EQ(pool.release(), size);
  EXPECT_EQ(pool.pool_size(), 0U);
}

// The shim's quarantine frees what a barrier released in one batch: the same as a free of
// each, the cache taking what fits and the pool the rest, foreign pointers refused.
TEST(PoolThreadCache, DeallocateManyFreesEachBlockOnce) {
  cuda_memory_resource cuda;
  pool_memory_resource pool{cuda, 64 * kMiB};
  // More blocks than a thread's cache keeps (1 024): the rest go to the pool's lists.
  constexpr int kBlocks = 1300;
  std::vector<void*> blocks;
  for (int i = 0; i < kBlocks; ++i)
    blocks.push_back(pool.allocate(i % 3 == 0 ? 4096 : 256));
  blocks.push_back(pool.allocate(32 * kMiB));  // larger than a cache keeps
  EXPECT_EQ(pool.state().allocated_blocks, blocks.size());
  void* foreign = cuda.allocate(256);
  std::vector<void*> batch = blocks;
  batch.push_back(nullptr);
  batch.push_back(foreign);
  testing::internal::CaptureStderr();
  pool.deallocate_many(batch, gpumem::cuda_stream_view{});
  const std::string said = testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find("which this pool did not allocate"), std::string::npos) << said;
  const gpumem::mr::pool_state state = pool.state();
  EXPECT_EQ(state.allocated_blocks, 0U);
  EXPECT_EQ(state.allocated_bytes, 0U);
  // Each block comes back once: as many allocations again get distinct blocks.
  std::set<void*> again;
  for (int i = 0; i < kBlocks; ++i)
    again.insert(pool.allocate(i % 3 == 0 ? 4096 : 256));
  EXPECT_EQ(again.size(), static_cast<std::size_t>(kBlocks));
  EXPECT_EQ(pool.state().allocated_blocks, static_cast<std::size_t>(kBlocks));
  for (int i = 0; void* block : again)
    pool.deallocate(block, ++i % 3 == 0 ? 4096 : 256);
  cuda.deallocate(foreign, 256);
}

// With a release threshold, frees bypass the caches, but a batch must still clear each block's
// entry in the table of lent blocks: a larger block later served at the same address (too large
// to be recorded) would otherwise be freed with the old, smaller size into a cache, and stay in
// use to the pool until a drain.
TEST(PoolThreadCache, DeallocateManyWithAThresholdForgetsTheLentSizes) {
  cuda_memory_resource cuda;
  pool_memory_resource pool{cuda, 64 * kMiB};
  void* pin = pool.allocate(256);  // keeps the slab when the pool releases
  void* small = pool.allocate(256);
  // A threshold of 0: frees go the normal way, and each releases (merging the small block
  // with the free rest of the slab).
  pool.set_release_threshold(0);
  std::vector<void*> batch{small};
  pool.deallocate_many(batch, gpumem::cuda_stream_view{});
  pool.set_release_threshold(SIZE_MAX);  // off again: frees may go to the caches
  void* large = pool.allocate(32 * kMiB);
  ASSERT_EQ(large, small) << "the test needs the large block at the small one's address";
  pool.deallocate(large, 32 * kMiB);
  EXPECT_EQ(pool.state().allocated_bytes, 256U)
      << "the large block was cached as the small one, its rest still counted in use";
  pool.deallocate(pin, 256);
}

TEST(PoolThreadCache, CachedBlocksCountAsFree) {
  cuda_memory_resource cuda;
  pool_memory_resource pool{cuda, 8 * kMiB};
  std::vector<void*> blocks;
  for (int i = 0; i < 10; ++i)
    blocks.push_back(pool.allocate(4096));
  EXPECT_EQ(pool.state().allocated_blocks, 10U);
  for (void* block : blocks)
    pool.deallocate(block, 4096);
  const gpumem::mr::pool_state state = pool.state();
  EXPECT_EQ(state.allocated_bytes, 0U);
  EXPECT_EQ(state.allocated_blocks, 0U);
  EXPECT_EQ(state.free_blocks, 11U);  // the ten cached, and the rest of the slab
  EXPECT_EQ(state.largest_free_block, 8 * kMiB - 10 * 4096);
}

TEST(PoolThreadCache, AReleaseThresholdStillReleasesOnAFree) {
  cuda_memory_resource cuda;
  pool_memory_resource pool{cuda, 0};
  pool.set_release_threshold(0);
  void* block = pool.allocate(kMiB);
  EXPECT_EQ(pool.pool_size(), 2 * kMiB);
  pool.deallocate(block, kMiB);
  EXPECT_EQ(pool.pool_size(), 0U) << "the free went to a cache and skipped the threshold";
}

TEST(PoolThreadCache, AFreeWithAnotherSizeDoesNotMisleadTheCache) {
  cuda_memory_resource cuda;
  pool_memory_resource pool{cuda, 8 * kMiB};
  void* small = pool.allocate(256);
  pool.deallocate(small, 4096);  // the pool keeps its own record of the size
  void* large = pool.allocate(4096);
  EXPECT_NE(large, small) << "a 256-byte block was handed out for 4096 bytes";
  void* again = pool.allocate(256);
  EXPECT_EQ(again, small);
  pool.deallocate(large, 4096);
  pool.deallocate(again, 256);
}

TEST(PoolThreadCache, AForeignPointerNeverEntersACache) {
  cuda_memory_resource cuda;
  pool_memory_resource pool{cuda, 8 * kMiB};
  void* foreign = cuda.allocate(256);
  testing::internal::CaptureStderr();
  pool.deallocate(foreign, 256);
  const std::string said = testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find("which this pool did not allocate"), std::string::npos) << said;
  void* mine = pool.allocate(256);
  EXPECT_NE(mine, foreign);
  pool.deallocate(mine, 256);
  cuda.deallocate(foreign, 256);
}

// A pointer inside a block (a caller's mistake) is refused as before the caches, never taken
// for the block: the next allocation would overlap its neighbour.
TEST(PoolThreadCache, APointerInsideABlockNeverEntersACache) {
  cuda_memory_resource cuda;
  pool_memory_resource pool{cuda, 8 * kMiB};
  auto* block = static_cast<char*>(pool.allocate(1024));
  testing::internal::CaptureStderr();
  pool.deallocate(block + 16, 1024);
  const std::string said = testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find("which this pool did not allocate"), std::string::npos) << said;
  void* next = pool.allocate(1024);
  EXPECT_NE(next, static_cast<void*>(block + 16));
  pool.deallocate(next, 1024);
  pool.deallocate(block, 1024);
}

// --- the fixed-size resource

TEST_F(FixedSizeThreadCacheOnTwoStreams, ACachedBlockIsReusedOnItsStreamOnly) {
  recording_resource upstream;
  fixed_size_memory_resource fixed{upstream, 64 * kKiB, 4};
  void* freed = fixed.allocate(64 * kKiB, first_);
  fixed.deallocate(freed, 64 * kKiB, first_);
  const auto before = ordering_calls::now();
  void* other = fixed.allocate(64 * kKiB, second_);
  EXPECT_NE(other, freed) << "a block freed on one stream went to another without a wait";
  void* same = fixed.allocate(64 * kKiB, first_);
  EXPECT_EQ(same, freed);
  EXPECT_EQ(ordering_calls::now().since(before).records, 0U);
  fixed.deallocate(other, 64 * kKiB, second_);
  fixed.deallocate(same, 64 * kKiB, first_);
}

TEST_F(FixedSizeThreadCacheOnTwoStreams,
       ACachedBlockReachesAnotherStreamAfterAnEventWaitNotAChunk) {
  recording_resource upstream;
  fixed_size_memory_resource fixed{upstream, 64 * kKiB, 1};
  void* freed = fixed.allocate(64 * kKiB, first_);
  fixed.deallocate(freed, 64 * kKiB, first_);
  const auto before = ordering_calls::now();
  void* reused = fixed.allocate(64 * kKiB, second_);
  EXPECT_EQ(reused, freed);
  EXPECT_EQ(upstream.allocations(), 1U) << "a chunk was taken while a cache held a free block";
  if (gpumem::test::on_simulator()) {
    const auto calls = ordering_calls::now().since(before);
    EXPECT_EQ(calls.records, 1U);
    EXPECT_EQ(calls.waits, 1U);
    EXPECT_EQ(calls.host_waits, 0U);
  }
  fixed.deallocate(reused, 64 * kKiB, second_);
}

TEST_F(FixedSizeThreadCacheOnTwoStreams,
       AnotherThreadsCachedBlocksServeThisThreadBeforeAChunkIsTaken) {
  recording_resource upstream;
  constexpr int kBlocks = 8;
  fixed_size_memory_resource fixed{upstream, 64 * kKiB, kBlocks};
  std::set<void*> freed;
  parked_thread other{[&] {
    std::vector<void*> blocks;
    for (int i = 0; i < kBlocks; ++i)
      blocks.push_back(fixed.allocate(64 * kKiB, first_));
    for (void* block : blocks)
      fixed.deallocate(block, 64 * kKiB, first_);
    freed.insert(blocks.begin(), blocks.end());
  }};
  std::set<void*> got;
  auto before = ordering_calls::now();
  for (int i = 0; i < kBlocks / 2; ++i)
    got.insert(fixed.allocate(64 * kKiB, first_));
  EXPECT_EQ(ordering_calls::now().since(before).records, 0U);
  before = ordering_calls::now();
  for (int i = 0; i < kBlocks / 2; ++i)
    got.insert(fixed.allocate(64 * kKiB, second_));
  if (gpumem::test::on_simulator()) {
    const auto calls = ordering_calls::now().since(before);
    EXPECT_EQ(calls.records, 1U);
    EXPECT_EQ(calls.waits, 1U);
  }
  EXPECT_EQ(got, freed);
  EXPECT_EQ(upstream.allocations(), 1U);
  for (void* block : got)
    fixed.deallocate(block, 64 * kKiB, second_);
}

TEST(FixedSizeThreadCacheRetirement, AStreamsCachedBlocksAreRetiredWithIt) {
  recording_resource upstream;
  fixed_size_memory_resource fixed{upstream, 64 * kKiB, 1};
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  void* freed = fixed.allocate(64 * kKiB, cuda_stream_view{stream});
  fixed.deallocate(freed, 64 * kKiB, cuda_stream_view{stream});
  auto before = ordering_calls::now();
  gpumem::notify_stream_destroyed(stream);
  if (gpumem::test::on_simulator()) {
    EXPECT_EQ(ordering_calls::now().since(before).records, 1U)
        << "the retiring stream's cached block was not ordered by its retirement event";
  }
  before = ordering_calls::now();
  void* reused = fixed.allocate(64 * kKiB, cuda_stream_view{stream});  // a new stream's handle
  EXPECT_EQ(reused, freed);
  EXPECT_EQ(upstream.allocations(), 1U);
  if (gpumem::test::on_simulator()) {
    EXPECT_EQ(ordering_calls::now().since(before).waits, 1U)
        << "a retired stream's block was reused under its handle";
  }
  fixed.deallocate(reused, 64 * kKiB, cuda_stream_view{stream});
  gpumem::notify_stream_destroyed(stream);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

TEST(FixedSizeThreadCacheRetirement, AnEndedThreadsPerThreadStreamBlocksReachOthersAfterAWait) {
  recording_resource upstream;
  fixed_size_memory_resource fixed{upstream, 64 * kKiB, 1};
  void* freed = nullptr;
  auto before = ordering_calls::now();
  std::thread([&] {
    freed = fixed.allocate(64 * kKiB, gpumem::cuda_stream_per_thread);
    fixed.deallocate(freed, 64 * kKiB, gpumem::cuda_stream_per_thread);
  }).join();
  if (gpumem::test::on_simulator()) {
    EXPECT_EQ(ordering_calls::now().since(before).records, 1U)
        << "the ended thread's cached block was not ordered when the thread ended";
  }
  before = ordering_calls::now();
  void* reused = nullptr;
  std::thread([&] {
    reused = fixed.allocate(64 * kKiB, gpumem::cuda_stream_per_thread);
    fixed.deallocate(reused, 64 * kKiB, gpumem::cuda_stream_per_thread);
  }).join();
  EXPECT_EQ(reused, freed);
  EXPECT_EQ(upstream.allocations(), 1U);
  if (gpumem::test::on_simulator()) {
    EXPECT_EQ(ordering_calls::now().since(before).waits, 1U)
        << "another thread's per-thread stream got the block without waiting";
  }
}

// --- many threads, each stream kind: no block is ever held by two users at once

/// Which stream each thread uses.
enum class stream_kind { own_stream, per_thread, legacy };

/// Blocks handed out and not yet freed, over all threads.
class live_blocks {
 public:
  /// False when `block` is held already.
  bool take(void* block) {
    std::lock_guard lock(mutex_);
    return held_.insert(block).second;
  }
  void give_back(void* block) {
    std::lock_guard lock(mutex_);
    held_.erase(block);
  }

 private:
  std::mutex mutex_;
  std::set<void*> held_;
};

/**
 * @brief Threads allocate (sizes from `sizes`), free their own blocks, and free blocks other
 * threads handed over, each on its stream of `kind`, while one thread keeps asking for reports
 * and releases (which drain every cache).
 * @return the blocks handed out twice at once (0 when correct)
 */
template <typename Resource, typename Report>
int hammer(Resource& resource,
           stream_kind kind,
           const std::vector<std::size_t>& sizes,
           Report report) {
  constexpr int kThreads = 8;
  constexpr int kSteps = 4000;
  live_blocks live;
  std::mutex handoff_mutex;
  std::vector<std::pair<void*, std::size_t>> handoff;
  std::atomic<int> twice{0};
  std::atomic<bool> done{false};
  std::thread reporter([&] {
    while (!done.load())
      report();
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      cudaStream_t own = nullptr;
      if (kind == stream_kind::own_stream) {
        ASSERT_EQ(cudaStreamCreateWithFlags(&own, cudaStreamNonBlocking), cudaSuccess);
      }
      const cuda_stream_view stream = kind == stream_kind::own_stream ? cuda_stream_view{own}
                                      : kind == stream_kind::per_thread
                                          ? gpumem::cuda_stream_per_thread
                                          : gpumem::cuda_stream_legacy;
      std::mt19937 random{static_cast<unsigned>(t)};
      std::vector<std::pair<void*, std::size_t>> mine;
      const auto release = [&](std::pair<void*, std::size_t> block) {
        live.give_back(block.first);
        resource.deallocate(block.first, block.second, stream);
      };
      for (int step = 0; step < kSteps; ++step) {
        const unsigned choice = random() % 8;
        if (choice < 4 || mine.empty()) {
          const std::size_t size = sizes[random() % sizes.size()];
          void* block = resource.allocate(size, stream);
          if (!live.take(block)) ++twice;
          mine.emplace_back(block, size);
        } else if (choice < 6) {
          release(mine.back());
          mine.pop_back();
        } else if (choice == 6) {
          std::lock_guard lock(handoff_mutex);
          handoff.push_back(mine.back());
          mine.pop_back();
        } else {
          std::pair<void*, std::size_t> theirs{nullptr, 0};
          {
            std::lock_guard lock(handoff_mutex);
            if (!handoff.empty()) {
              theirs = handoff.back();
              handoff.pop_back();
            }
          }
          if (theirs.first != nullptr) release(theirs);
        }
        if (mine.size() > 32) {
          release(mine.front());
          mine.erase(mine.begin());
        }
      }
      for (const auto& block : mine)
        release(block);
      if (own != nullptr) {
        EXPECT_EQ(cudaStreamSynchronize(own), cudaSuccess);
        gpumem::notify_stream_destroyed(own);
        EXPECT_EQ(cudaStreamDestroy(own), cudaSuccess);
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  done.store(true);
  reporter.join();
  for (const auto& block : handoff) {
    live.give_back(block.first);
    resource.deallocate(block.first, block.second, gpumem::cuda_stream_legacy);
  }
  return twice.load();
}

class ThreadCacheStreamKinds : public ::testing::TestWithParam<stream_kind> {};

TEST_P(ThreadCacheStreamKinds, PoolHandsNoBlockToTwoUsers) {
  cuda_memory_resource cuda;
  pool_memory_resource pool{cuda, 16 * kMiB};
  const int twice = hammer(pool, GetParam(), {256, 256, 512, 4096, 65536, kMiB}, [&] {
    (void)pool.state();
    (void)pool.release();
  });
  EXPECT_EQ(twice, 0);
  const gpumem::mr::pool_state state = pool.state();
  EXPECT_EQ(state.allocated_bytes, 0U);
  EXPECT_EQ(state.allocated_blocks, 0U);
  (void)pool.release();
  EXPECT_EQ(pool.pool_size(), 0U) << "a block stayed in a cache, or was lost";
}

TEST_P(ThreadCacheStreamKinds, FixedSizeHandsNoBlockToTwoUsers) {
  cuda_memory_resource cuda;
  fixed_size_memory_resource fixed{cuda, 4 * kKiB, 16};
  const int twice = hammer(fixed, GetParam(), {256, 4096}, [&] { (void)fixed.reserved_bytes(); });
  EXPECT_EQ(twice, 0);
}

TEST_P(ThreadCacheStreamKinds, BinningOverAPoolHandsNoBlockToTwoUsers) {
  cuda_memory_resource cuda;
  pool_memory_resource pool{cuda, 16 * kMiB};
  gpumem::mr::binning_memory_resource binning{pool, 10, 12};  // bins of 1, 2 and 4 KiB
  const int twice =
      hammer(binning, GetParam(), {256, 1500, 4096, 65536}, [&] { (void)pool.state(); });
  EXPECT_EQ(twice, 0);
  std::size_t chunks = 0;
  for (const gpumem::mr::bin_state& bin : binning.bins())
    chunks += bin.reserved;
  EXPECT_EQ(pool.state().allocated_bytes, chunks) << "only the bins' chunks are in use";
}

std::string stream_kind_name(const ::testing::TestParamInfo<stream_kind>& kind) {
  switch (kind.param) {
    case stream_kind::own_stream:
      return "OwnStream";
    case stream_kind::per_thread:
      return "PerThreadDefaultStream";
    case stream_kind::legacy:
      return "LegacyStream";
  }
  return "Unknown";
}

INSTANTIATE_TEST_SUITE_P(EachStreamKind,
                         ThreadCacheStreamKinds,
                         ::testing::Values(stream_kind::own_stream,
                                           stream_kind::per_thread,
                                           stream_kind::legacy),
                         stream_kind_name);

}  // namespace
