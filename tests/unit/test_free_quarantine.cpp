// The quarantine free policy's store, on the host: what a barrier releases, what it must not.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "preload/free_quarantine.hpp"

namespace {

using gpumem::preload::free_quarantine;

void* address(std::uintptr_t value) {
  return reinterpret_cast<void*>(value * 256);
}

TEST(FreeQuarantine, FullByBytesOrByBlocks) {
  free_quarantine by_bytes{1000, 100};
  EXPECT_FALSE(by_bytes.hold({address(1), 600, false}));
  EXPECT_TRUE(by_bytes.hold({address(2), 400, false}));
  EXPECT_EQ(by_bytes.bytes(), 1000U);
  free_quarantine by_blocks{1 << 30, 3};
  EXPECT_FALSE(by_blocks.hold({address(1), 1, false}));
  EXPECT_FALSE(by_blocks.hold({address(2), 1, false}));
  EXPECT_TRUE(by_blocks.hold({address(3), 1, false}));
  EXPECT_EQ(by_blocks.blocks(), 3U);
}

TEST(FreeQuarantine, ABarrierReleasesWhatWasHeldBeforeIt) {
  free_quarantine held{1 << 30, 1000};
  held.hold({address(1), 256, false});
  held.hold({address(2), 512, true});
  int barriers = 0;
  std::vector<void*> released;
  const auto barrier = [&] {
    ++barriers;
    // A free from another thread while the barrier runs: not this barrier's to release.
    held.hold({address(3), 256, false});
    return true;
  };
  EXPECT_EQ(held.release(barrier,
                         [&](const free_quarantine::block& block) {
                           EXPECT_EQ(barriers, 1) << "released before the barrier";
                           released.push_back(block.pointer);
                         }),
            2U);
  EXPECT_EQ(released, (std::vector<void*>{address(1), address(2)}));
  EXPECT_EQ(held.blocks(), 1U);
  EXPECT_EQ(held.bytes(), 256U);
}

TEST(FreeQuarantine, AFailedBarrierKeepsEveryBlockForTheNext) {
  free_quarantine held{1 << 30, 1000};
  held.hold({address(1), 256, false});
  held.hold({address(2), 256, false});
  int released = 0;
  EXPECT_EQ(held.release([] { return false; }, [&](const auto&) { ++released; }), 0U);
  EXPECT_EQ(released, 0);
  EXPECT_EQ(held.blocks(), 2U);
  EXPECT_EQ(held.bytes(), 512U);
  EXPECT_EQ(held.release([] { return true; }, [&](const auto&) { ++released; }), 2U);
  EXPECT_EQ(released, 2);
  EXPECT_EQ(held.blocks(), 0U);
}

TEST(FreeQuarantine, NothingHeldMeansNoBarrier) {
  free_quarantine held{1 << 30, 1000};
  bool asked = false;
  EXPECT_EQ(held.release([&] { return asked = true; }, [](const auto&) {}), 0U);
  EXPECT_FALSE(asked);
}

// Threads free and release at once: every block is released exactly once, and only by a
// barrier that began after its free (the barrier's start is the epoch a block must predate).
TEST(FreeQuarantine, ManyThreadsEveryBlockOnceAndAfterABarrier) {
  free_quarantine held{1 << 30, 16};
  std::atomic<std::uint64_t> epoch{0};
  std::mutex seen_mutex;
  std::set<void*> seen;
  std::atomic<int> early{0};
  std::atomic<int> twice{0};
  std::vector<std::atomic<std::uint64_t>> freed_epoch(8 * 5000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) {
        const std::uintptr_t id = static_cast<std::uintptr_t>(t) * 5000 + i;
        freed_epoch[id] = epoch.load();
        if (held.hold({address(id + 1), 256, false})) {
          std::uint64_t barrier_epoch = 0;
          held.release(
              [&] {
                barrier_epoch = epoch.fetch_add(1) + 1;
                return true;
              },
              [&](const free_quarantine::block& block) {
                const auto index = reinterpret_cast<std::uintptr_t>(block.pointer) / 256 - 1;
                if (freed_epoch[index] >= barrier_epoch) ++early;
                std::lock_guard lock(seen_mutex);
                if (!seen.insert(block.pointer).second) ++twice;
              });
        }
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  held.release([] { return true; },
               [&](const free_quarantine::block& block) {
                 std::lock_guard lock(seen_mutex);
                 if (!seen.insert(block.pointer).second) ++twice;
               });
  EXPECT_EQ(early.load(), 0);
  EXPECT_EQ(twice.load(), 0);
  EXPECT_EQ(seen.size(), 8U * 5000U);
}

}  // namespace
