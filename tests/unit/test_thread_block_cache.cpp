// A thread's cache of freed blocks (thread_block_cache) and the registry that gives each thread
// its own (thread_block_caches): host only, no CUDA call.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "mr/stream_retirement.hpp"
#include "mr/thread_block_cache.hpp"
#include "mr/thread_block_caches.hpp"
#include "mr/thread_token.hpp"

namespace {

using gpumem::mr::detail::stream_key;
using thread_block_cache = gpumem::mr::detail::thread_block_cache<>;
using thread_block_caches = gpumem::mr::detail::thread_block_caches<>;

/// A stream handle for a key (never used as a stream).
cudaStream_t stream(std::uintptr_t n) {
  return reinterpret_cast<cudaStream_t>(0x1000 * n);
}
stream_key key(std::uintptr_t n) {
  return stream_key{stream(n), 0};
}
/// The calling thread's cache of `caches`.
thread_block_cache* cache_of(thread_block_caches& caches) {
  return caches.mine(gpumem::cuda_stream_legacy).cache;
}

TEST(ThreadBlockCache, GivesABlockBackOnlyForItsStreamAndSize) {
  thread_block_cache cache{1};
  ASSERT_TRUE(cache.put(key(1), 0x10000, 256));
  EXPECT_EQ(cache.take(key(2), 256), 0U) << "a block freed on one stream went to another";
  EXPECT_EQ(cache.take(stream_key{stream(1), 7}, 256), 0U) << "another thread's stream";
  EXPECT_EQ(cache.take(key(1), 512), 0U);
  EXPECT_EQ(cache.take(key(1), 256), 0x10000U);
  EXPECT_EQ(cache.take(key(1), 256), 0U);
}

TEST(ThreadBlockCache, PerThreadDefaultStreamKeysNameTheirThread) {
  const stream_key here = stream_key::of(gpumem::cuda_stream_per_thread);
  stream_key there;
  std::thread([&] { there = stream_key::of(gpumem::cuda_stream_per_thread); }).join();
  EXPECT_EQ(here.stream, there.stream);
  EXPECT_NE(here, there) << "two threads' per-thread default streams share a key";
  EXPECT_TRUE(here.per_thread());
  EXPECT_EQ(here.thread, gpumem::mr::detail::this_thread_token());
  EXPECT_FALSE(stream_key::of(gpumem::cuda_stream_legacy).per_thread());
  EXPECT_EQ(stream_key::of(gpumem::cuda_stream_view{stream(3)}), key(3));

  thread_block_cache cache{1};
  ASSERT_TRUE(cache.put(there, 0x10000, 256));
  EXPECT_EQ(cache.take(here, 256), 0U);
  EXPECT_EQ(cache.take(there, 256), 0x10000U);
}

TEST(ThreadBlockCache, KeepsAtMostItsBlocksBytesAndLargestBlock) {
  thread_block_cache cache{1};
  EXPECT_FALSE(cache.put(key(1), 0x10000, thread_block_cache::kLargestBlock + 256));
  for (std::size_t i = 0; i < thread_block_cache::kMaxBlocks; ++i)
    ASSERT_TRUE(cache.put(key(1), 0x10000 + i * 256, 256)) << i;
  EXPECT_FALSE(cache.put(key(1), 0x1000000, 256)) << "more than kMaxBlocks blocks";
  EXPECT_FALSE(cache.put(key(2), 0x1000000, 512)) << "more than kMaxBlocks blocks in all";
  EXPECT_EQ(cache.count().blocks, thread_block_cache::kMaxBlocks);

  thread_block_cache bytes{1};
  const std::size_t large = thread_block_cache::kLargestBlock;
  for (std::size_t i = 0; i < thread_block_cache::kMaxBytes / large; ++i)
    ASSERT_TRUE(bytes.put(key(1 + i % 2), (i + 1) * large, large));
  EXPECT_FALSE(bytes.put(key(3), 0x100, 256)) << "more than kMaxBytes bytes";
  const thread_block_cache::totals held = bytes.count();
  EXPECT_EQ(held.bytes, thread_block_cache::kMaxBytes);
  EXPECT_EQ(held.largest_block, large);
}

TEST(ThreadBlockCache, PutManyKeepsWhatFitsAndHandsBackTheRestInOrder) {
  thread_block_cache cache{1};
  for (std::size_t i = 0; i + 2 < thread_block_cache::kMaxBlocks; ++i)
    ASSERT_TRUE(cache.put(key(1), 0x100000 + i * 256, 256)) << i;
  // Room for two more blocks: the large one never fits, then two fit, then the last does not.
  std::vector<std::pair<std::uintptr_t, std::size_t>> blocks{
      {0x10000, thread_block_cache::kLargestBlock + 256},
      {0x20000, 512},
      {0x30000, 256},
      {0x40000, 256}};
  EXPECT_EQ(cache.put_many(key(1), blocks), 2U);
  EXPECT_EQ(blocks[0].first, 0x10000U);
  EXPECT_EQ(blocks[1].first, 0x40000U);
  EXPECT_EQ(cache.count().blocks, thread_block_cache::kMaxBlocks);
  EXPECT_EQ(cache.take(key(1), 512), 0x20000U);
  EXPECT_EQ(cache.take(key(2), 256), 0U) << "kept under another stream";
}

TEST(ThreadBlockCache, KeepsAFewStreamsAndGivesAnEmptiedStreamsSlotToAnother) {
  thread_block_cache cache{1};
  for (std::uintptr_t n = 1; n <= thread_block_cache::kStreams; ++n)
    ASSERT_TRUE(cache.put(key(n), 0x10000 * n, 256));
  const std::uintptr_t extra = thread_block_cache::kStreams + 1;
  EXPECT_FALSE(cache.put(key(extra), 0x10000 * extra, 256)) << "every slot holds blocks";
  EXPECT_EQ(cache.take(key(2), 256), 0x20000U);  // stream 2's slot is empty now
  EXPECT_TRUE(cache.put(key(extra), 0x10000 * extra, 256));
  EXPECT_EQ(cache.take(key(extra), 256), 0x10000U * extra);
  EXPECT_EQ(cache.take(key(1), 256), 0x10000U);
}

TEST(ThreadBlockCache, DrainHandsOverTheChosenStreamsAndForgetsThem) {
  thread_block_cache cache{1};
  ASSERT_TRUE(cache.put(key(1), 0x10000, 256));
  ASSERT_TRUE(cache.put(key(1), 0x20000, 512));
  ASSERT_TRUE(cache.put(key(2), 0x30000, 256));
  std::vector<std::pair<stream_key, std::uintptr_t>> handed;
  const bool any =
      cache.drain([](const stream_key& which) { return which == key(1); },
                  [&](const stream_key& from, gpumem::core::recent_free_cache& blocks) {
                    blocks.drain([&](std::uintptr_t address, std::size_t) {
                      handed.emplace_back(from, address);
                    });
                  });
  EXPECT_TRUE(any);
  ASSERT_EQ(handed.size(), 2U);
  EXPECT_EQ(handed[0].first, key(1));
  EXPECT_EQ(handed[1].first, key(1));
  EXPECT_EQ(cache.take(key(1), 256), 0U);
  EXPECT_EQ(cache.count().blocks, 1U);
  EXPECT_EQ(cache.count().bytes, 256U);
  // What a drain leaves is forgotten, never handed out again (its stream may be gone).
  EXPECT_TRUE(cache.drain([](const stream_key&) { return true; },
                          [](const stream_key&, gpumem::core::recent_free_cache&) {}));
  EXPECT_EQ(cache.take(key(2), 256), 0U);
  EXPECT_EQ(cache.count().blocks, 0U);
  EXPECT_FALSE(cache.drain([](const stream_key&) { return true; },
                           [](const stream_key&, gpumem::core::recent_free_cache&) {}));
}

TEST(ThreadBlockCaches, EachThreadHasItsOwnCache) {
  thread_block_caches caches;
  thread_block_cache* mine = cache_of(caches);
  ASSERT_NE(mine, nullptr);
  EXPECT_EQ(cache_of(caches), mine);
  EXPECT_EQ(mine->owner(), gpumem::mr::detail::this_thread_token());
  thread_block_cache* theirs = nullptr;
  std::thread([&] { theirs = cache_of(caches); }).join();
  EXPECT_NE(theirs, mine);
  EXPECT_EQ(caches.size(), 2U);
}

TEST(ThreadBlockCaches, GivesTheKeysOfTheCallingThread) {
  thread_block_caches caches;
  for (const gpumem::cuda_stream_view view : {gpumem::cuda_stream_per_thread,
                                              gpumem::cuda_stream_legacy,
                                              gpumem::cuda_stream_view{},
                                              gpumem::cuda_stream_view{stream(5)}}) {
    EXPECT_EQ(caches.mine(view).key, stream_key::of(view));
    std::thread([&] { EXPECT_EQ(caches.mine(view).key, stream_key::of(view)); }).join();
  }
}

TEST(ThreadBlockCaches, AThreadFindsItsCacheAgainAfterUsingManyAllocators) {
  std::vector<std::unique_ptr<thread_block_caches>> many;
  std::vector<thread_block_cache*> first_look;
  for (int i = 0; i < 100; ++i) {
    many.push_back(std::make_unique<thread_block_caches>());
    first_look.push_back(cache_of(*many.back()));
  }
  for (std::size_t i = 0; i < many.size(); ++i) {
    EXPECT_EQ(cache_of(*many[i]), first_look[i]) << i;
    EXPECT_EQ(many[i]->size(), 1U) << "a thread that lost track of its cache made another";
  }
}

TEST(ThreadBlockCaches, ADestroyedAllocatorsEntryNeverServesANewOne) {
  for (int i = 0; i < 20; ++i) {
    auto first = std::make_unique<thread_block_caches>();
    ASSERT_NE(cache_of(*first), nullptr);
    first.reset();
    // Often at the same address as the destroyed one.
    auto second = std::make_unique<thread_block_caches>();
    EXPECT_EQ(second->size(), 0U);
    ASSERT_NE(cache_of(*second), nullptr);
    EXPECT_EQ(second->size(), 1U) << "the destroyed allocator's cache was found";
  }
}

TEST(ThreadBlockCaches, AnEndedThreadsCacheGoesToTheNextThread) {
  thread_block_caches caches;
  std::uint64_t ended = 0;
  thread_block_cache* old_cache = nullptr;
  std::thread([&] {
    old_cache = cache_of(caches);
    ended = gpumem::mr::detail::this_thread_token();
  }).join();
  std::vector<thread_block_cache*> visited;
  caches.retire_thread(ended, [&](thread_block_cache& cache) { visited.push_back(&cache); });
  EXPECT_EQ(visited, std::vector<thread_block_cache*>{old_cache});
  EXPECT_EQ(old_cache->owner(), 0U);
  thread_block_cache* next = nullptr;
  std::thread([&] { next = cache_of(caches); }).join();
  EXPECT_EQ(next, old_cache);
  EXPECT_EQ(caches.size(), 1U) << "a thread per task grows the list";
}

TEST(ThreadBlockCaches, AThreadWithACacheAnnouncesItsEnd) {
  // (Tokens are counted apart in the library and in this program: the notices are counted.)
  std::atomic<int> ended{0};
  gpumem::mr::detail::stream_retirement_subscription listener{
      [&](const gpumem::mr::detail::retirement_notice& notice) {
        if (notice.thread != 0) ++ended;
      }};
  thread_block_caches caches;
  std::thread([] {}).join();
  EXPECT_EQ(ended.load(), 0) << "a thread that never used the allocator is announced";
  std::thread([&] { ASSERT_NE(cache_of(caches), nullptr); }).join();
  EXPECT_EQ(ended.load(), 1)
      << "the allocator would not learn that the thread ended (its cache would never drain)";
}

}  // namespace
