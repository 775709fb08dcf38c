// The quarantine free policy's store, on the host: what a barrier releases, what it must not.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "preload/barrier_thread.hpp"
#include "preload/free_quarantine.hpp"

namespace {

using gpumem::preload::free_quarantine;
using namespace std::chrono_literals;

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

TEST(FreeQuarantine, AGrowingBoundMakesRoomForSeveralOfTheLargestBlock) {
  // Fixed at 1000 bytes, a 1000-byte free fills the share at once: every free would wait.
  free_quarantine fixed{1000, 100};
  EXPECT_TRUE(fixed.hold({address(1), 1000, false}));
  // Growing: room for 4 of the largest block, at least 1000 bytes, at most 100 000.
  free_quarantine growing{free_quarantine::byte_bound{1000, 4, 100000}, 100};
  EXPECT_FALSE(growing.hold({address(1), 1000, false}));
  EXPECT_FALSE(growing.hold({address(2), 1000, false}));
  EXPECT_FALSE(growing.hold({address(3), 1000, false}));
  EXPECT_TRUE(growing.hold({address(4), 1000, false}));
  // Small blocks keep the floor: five of 200 bytes fill it (four times 200 would be less).
  free_quarantine small{free_quarantine::byte_bound{1000, 4, 100000}, 100};
  for (std::uintptr_t i = 1; i < 5; ++i)
    EXPECT_FALSE(small.hold({address(i), 200, false})) << i;
  EXPECT_TRUE(small.hold({address(5), 200, false}));
}

TEST(FreeQuarantine, AGrowingBoundStopsAtItsCeiling) {
  free_quarantine held{free_quarantine::byte_bound{1000, 4, 2500}, 100};
  EXPECT_FALSE(held.hold({address(1), 1000, false}));
  EXPECT_FALSE(held.hold({address(2), 1000, false}));
  EXPECT_TRUE(held.hold({address(3), 1000, false}));
  const free_quarantine::byte_bound huge{1000, 16, SIZE_MAX / 2};
  EXPECT_EQ(huge.for_largest(SIZE_MAX / 4), SIZE_MAX / 2) << "no overflow past the ceiling";
}

TEST(FreeQuarantine, AGrowingBoundFallsBackOnceTheLargeBlocksAreReleased) {
  free_quarantine held{free_quarantine::byte_bound{1000, 4, 100000}, 100};
  EXPECT_FALSE(held.hold({address(1), 5000, false}));
  EXPECT_EQ(held.release([] { return true; }, [](const auto&) {}), 1U);
  // The bound is 1000 again (room for 4 of 5000 bytes would be 20 000): five of 200 fill it.
  for (std::uintptr_t i = 2; i < 6; ++i)
    EXPECT_FALSE(held.hold({address(i), 200, false})) << i;
  EXPECT_TRUE(held.hold({address(6), 200, false}));
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

// Threads free and release at once: every block is released exactly once, and only after a
// barrier that began after its free completed (barriers are numbered as they begin; a block
// freed when `epoch` barriers had begun is covered by a barrier numbered above it). With
// `background`, barriers ahead of a full share run on a barrier thread.
void every_block_once_and_after_a_barrier(bool background) {
  free_quarantine held{free_quarantine::byte_bound{1 << 30}, 128, background ? 0ns : 1h};
  std::atomic<std::uint64_t> epoch{0};
  std::atomic<std::uint64_t> completed{0};  // the highest barrier number that completed
  std::mutex seen_mutex;
  std::set<void*> seen;
  std::atomic<int> early{0};
  std::atomic<int> twice{0};
  std::vector<std::atomic<std::uint64_t>> freed_epoch(8 * 5000);
  const auto barrier = [&] {
    const std::uint64_t number = epoch.fetch_add(1) + 1;
    std::this_thread::yield();  // (the device takes a while)
    std::uint64_t before = completed.load();
    while (before < number && !completed.compare_exchange_weak(before, number)) {
    }
    return true;
  };
  const auto check = [&](const free_quarantine::block& block) {
    const auto index = reinterpret_cast<std::uintptr_t>(block.pointer) / 256 - 1;
    if (freed_epoch[index] >= completed.load()) ++early;
    std::lock_guard lock(seen_mutex);
    if (!seen.insert(block.pointer).second) ++twice;
  };
  gpumem::preload::barrier_thread barriers{[&] { held.background_barrier(barrier); }};
  const auto in_background = [&] { return background && barriers.request(); };
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) {
        const std::uintptr_t id = static_cast<std::uintptr_t>(t) * 5000 + i;
        freed_epoch[id] = epoch.load();
        if (held.hold({address(id + 1), 256, false})) held.release(barrier, check, in_background);
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  barriers.stop();
  held.release_all(barrier, check);
  EXPECT_EQ(early.load(), 0);
  EXPECT_EQ(twice.load(), 0);
  EXPECT_EQ(seen.size(), 8U * 5000U);
  EXPECT_EQ(held.blocks(), 0U);
  EXPECT_EQ(held.bytes(), 0U);
  if (background) {
    EXPECT_GT(barriers.runs(), 0U) << "no barrier ran in the background";
  }
}

TEST(FreeQuarantine, ManyThreadsEveryBlockOnceAndAfterABarrier) {
  every_block_once_and_after_a_barrier(false);
}

TEST(FreeQuarantine, ManyThreadsEveryBlockOnceAndAfterABackgroundBarrier) {
  every_block_once_and_after_a_barrier(true);
}

// Each thread holds its own frees; one thread's barrier covers another's, which then gets its
// blocks back on its own thread without a barrier of its own.
TEST(FreeQuarantine, ABarrierCoversOtherThreadsWhoReleaseTheirOwn) {
  free_quarantine held{1 << 30, 4};
  EXPECT_FALSE(held.hold({address(1), 256, false}));  // this thread's share first
  std::thread{[&] {
    EXPECT_FALSE(held.hold({address(10), 256, false}));
    EXPECT_FALSE(held.hold({address(11), 256, false}));
  }}.join();
  // (The thread ended: its share waits for a thread to come, or for the idle release.)
  int barriers = 0;
  std::vector<void*> released;
  const auto barrier = [&] { return ++barriers, true; };
  const auto collect = [&](const free_quarantine::block& block) {
    released.push_back(block.pointer);
  };
  EXPECT_FALSE(held.hold({address(2), 256, false}));
  EXPECT_FALSE(held.hold({address(3), 256, false}));
  EXPECT_TRUE(held.hold({address(4), 256, false}));  // four uncovered: full
  EXPECT_EQ(held.release(barrier, collect), 4U);
  EXPECT_EQ(barriers, 1);
  EXPECT_EQ(released, (std::vector<void*>{address(1), address(2), address(3), address(4)}));
  // The other thread's two blocks are covered, not released by this thread yet.
  EXPECT_EQ(held.blocks(), 2U);
  std::thread{[&] {
    // A new thread takes the ended thread's share: its covered blocks come back at once.
    EXPECT_TRUE(held.hold({address(12), 256, false}));
    std::vector<void*> own;
    EXPECT_EQ(
        held.release([&] { return ++barriers, true; },
                     [&](const free_quarantine::block& block) { own.push_back(block.pointer); }),
        2U);
    EXPECT_EQ(own, (std::vector<void*>{address(10), address(11)}));
    EXPECT_EQ(barriers, 1) << "covered blocks need no barrier of their own";
  }}.join();
  EXPECT_EQ(held.blocks(), 1U);
}

// A share no thread adds to is released by the barriers of others (its thread may never free
// again): after two barriers without a hold of its own.
TEST(FreeQuarantine, AnIdleThreadsBlocksAreReleasedByOthersBarriers) {
  free_quarantine held{1 << 30, 2};
  std::atomic<bool> done{false};
  std::atomic<bool> held_one{false};
  std::thread idle{[&] {
    held.hold({address(100), 256, false});
    held_one = true;
    while (!done)
      std::this_thread::yield();  // alive, but freeing nothing more
  }};
  while (!held_one)
    std::this_thread::yield();
  std::vector<void*> released;
  const auto collect = [&](const free_quarantine::block& block) {
    released.push_back(block.pointer);
  };
  for (std::uintptr_t round = 0; round < 3; ++round) {
    held.hold({address(2 * round + 1), 256, false});
    if (held.hold({address(2 * round + 2), 256, false})) held.release([] { return true; }, collect);
  }
  done = true;
  idle.join();
  EXPECT_NE(std::find(released.begin(), released.end(), address(100)), released.end());
  EXPECT_EQ(held.blocks(), 0U);
}

// A thread whose share fills up while another thread's barrier runs does not wait for it (that
// barrier may cover its blocks; it asks again at its next free), and runs no second barrier.
TEST(FreeQuarantine, AFullShareDoesNotWaitForAnotherThreadsBarrier) {
  free_quarantine held{1 << 30, 2};
  std::atomic<int> stage{0};
  std::atomic<bool> returned_during_barrier{false};
  std::thread other{[&] {
    held.hold({address(10), 256, false});
    stage = 1;
    while (stage != 2)
      std::this_thread::yield();                        // the main thread's barrier runs
    EXPECT_TRUE(held.hold({address(11), 256, false}));  // full now
    const std::size_t released = held.release(
        [] {
          ADD_FAILURE() << "a second barrier while one runs";
          return true;
        },
        [](const auto&) {});
    EXPECT_EQ(released, 0U);
    returned_during_barrier = stage == 2;
    stage = 3;
  }};
  while (stage != 1)
    std::this_thread::yield();
  EXPECT_FALSE(held.hold({address(1), 256, false}));
  EXPECT_TRUE(held.hold({address(2), 256, false}));
  std::size_t released = 0;
  held.release(
      [&] {
        stage = 2;
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds{5};
        while (stage != 3 && std::chrono::steady_clock::now() < give_up)
          std::this_thread::yield();
        return true;
      },
      [&](const auto&) { ++released; });
  other.join();
  EXPECT_TRUE(returned_during_barrier) << "the full thread waited for the running barrier";
  EXPECT_EQ(released, 2U);
  EXPECT_EQ(held.blocks(), 2U) << "the other thread's two, the first covered by the barrier";
  EXPECT_EQ(held.barriers(), 1U);
}

// With a limit of 64 blocks or more a thread starts its barrier at half of it, so the barrier
// is done before the blocks the thread reuses run out; it releases them all.
TEST(FreeQuarantine, ABarrierStartsAtHalfTheBlockLimit) {
  free_quarantine held{1 << 30, 128};
  for (std::uintptr_t i = 1; i < 64; ++i)
    EXPECT_FALSE(held.hold({address(i), 256, false}));
  EXPECT_TRUE(held.hold({address(64), 256, false}));
  std::size_t released = 0;
  EXPECT_EQ(held.release([] { return true; }, [&](const auto&) { ++released; }), 64U);
  EXPECT_EQ(released, 64U);
  EXPECT_EQ(held.barriers(), 1U);
}

TEST(FreeQuarantine, ReleaseAllTakesEveryThreadsBlocks) {
  free_quarantine held{1 << 30, 1000};
  std::thread{[&] { held.hold({address(1), 256, false}); }}.join();
  held.hold({address(2), 512, true});
  EXPECT_EQ(held.bytes(), 768U);
  std::size_t released = 0;
  EXPECT_EQ(held.release_all([] { return true; }, [&](const auto&) { ++released; }), 2U);
  EXPECT_EQ(released, 2U);
  EXPECT_EQ(held.bytes(), 0U);
  EXPECT_EQ(held.barriers(), 1U);
}

// Large frees from several threads: together they reach the byte limit although no thread's
// share does alone.
TEST(FreeQuarantine, LargeFreesOfSeveralThreadsCountTogether) {
  free_quarantine held{1000, 1000};
  std::atomic<bool> done{false};
  std::atomic<bool> held_one{false};
  std::thread other{[&] {
    EXPECT_FALSE(held.hold({address(1), 600, false}));
    held_one = true;
    while (!done)
      std::this_thread::yield();
  }};
  while (!held_one)
    std::this_thread::yield();
  EXPECT_TRUE(held.hold({address(2), 400, false}));
  std::size_t released = 0;
  held.release([] { return true; }, [&](const auto&) { ++released; });
  done = true;
  other.join();
  EXPECT_EQ(released, 1U) << "the calling thread's own block";
  EXPECT_EQ(held.barriers(), 1U);
  EXPECT_EQ(held.bytes(), 600U) << "the other thread's, covered, for it to release";
}

// A barrier that waited for the device sends the next one, ahead of a full share, to the
// background thread; the freeing thread runs none itself and asks once until that one starts.
// A fast barrier brings them back to the freeing thread.
TEST(FreeQuarantine, ASlowBarrierSendsTheNextBarrierAheadToTheBackground) {
  free_quarantine held{free_quarantine::byte_bound{std::size_t{1} << 30}, 128, 1ms};
  int barriers = 0;
  int asked = 0;
  std::size_t released = 0;
  const auto fast = [&] { return ++barriers, true; };
  const auto slow = [&] {
    std::this_thread::sleep_for(2ms);
    return ++barriers, true;
  };
  const auto count = [&](const auto&) { ++released; };
  const auto in_background = [&] { return ++asked, true; };
  std::uintptr_t next = 1;
  const auto hold_ahead = [&] {  // 64 blocks: half the block limit
    bool ready = false;
    for (int i = 0; i < 64; ++i)
      ready = held.hold({address(next++), 256, false});
    return ready;
  };
  ASSERT_TRUE(hold_ahead());
  EXPECT_EQ(held.release(fast, count, in_background), 64U);
  EXPECT_FALSE(held.barriers_in_background());
  for (int slow_ones = 1; slow_ones <= free_quarantine::kSlowBarriersToMove; ++slow_ones) {
    ASSERT_TRUE(hold_ahead());
    EXPECT_EQ(held.release(slow, count, in_background), 64U);
    EXPECT_EQ(asked, 0) << "the barrier before was fast";
    EXPECT_EQ(held.barriers_in_background(), slow_ones == free_quarantine::kSlowBarriersToMove)
        << slow_ones << " slow barriers in a row";
  }
  const int on_this_thread = 1 + free_quarantine::kSlowBarriersToMove;
  ASSERT_TRUE(hold_ahead());
  EXPECT_EQ(held.release(slow, count, in_background), 0U);
  EXPECT_EQ(barriers, on_this_thread)
      << "the freeing thread ran a barrier the background thread should";
  EXPECT_EQ(asked, 1);
  ASSERT_TRUE(held.hold({address(next++), 256, false}));
  EXPECT_EQ(held.release(slow, count, in_background), 0U);
  EXPECT_EQ(asked, 1) << "asked again before the background barrier started";
  held.background_barrier(slow);  // what the background thread calls
  EXPECT_EQ(barriers, on_this_thread + 1);
  EXPECT_TRUE(held.barriers_in_background());
  // It covered all 65; the thread releases them at its next free, without a barrier.
  ASSERT_TRUE(held.hold({address(next++), 256, false}));
  EXPECT_EQ(held.release(slow, count, in_background), 65U);
  EXPECT_EQ(barriers, on_this_thread + 1);
  EXPECT_EQ(released, 64U * on_this_thread + 65U);
  // The next time ahead asks again; a fast barrier brings barriers back to this thread.
  ASSERT_TRUE(hold_ahead());
  EXPECT_EQ(held.release(slow, count, in_background), 0U);
  EXPECT_EQ(asked, 2);
  held.background_barrier(fast);
  EXPECT_FALSE(held.barriers_in_background());
  EXPECT_EQ(barriers, on_this_thread + 2);
}

// barrier_thread = "off" (the shim passes an endless threshold): slow barriers never move
// barriers to the background, so none is asked early, and a full share waits only at twice
// its limits.
TEST(FreeQuarantine, AnEndlessThresholdNeverMovesBarriersToTheBackground) {
  free_quarantine held{free_quarantine::byte_bound{1000}, 1000, std::chrono::nanoseconds::max()};
  const auto slow = [] {
    std::this_thread::sleep_for(1ms);
    return true;
  };
  for (int i = 0; i < free_quarantine::kSlowBarriersToMove + 1; ++i) {
    ASSERT_TRUE(held.hold({address(2 * i + 1), 1000, false}));
    held.release(
        slow, [](const auto&) {}, [] { return true; });
  }
  EXPECT_FALSE(held.barriers_in_background());
  EXPECT_FALSE(held.hold({address(100), 600, false})) << "half the bytes asked for a barrier";
}

// With barriers in the background, a share half full in bytes asks for one (on the freeing
// thread a barrier waits for half the bytes only when the share is full).
TEST(FreeQuarantine, HalfTheBytesAsksForABackgroundBarrier) {
  free_quarantine on_the_freeing_thread{1000, 1000};
  EXPECT_FALSE(on_the_freeing_thread.hold({address(1), 600, false}));
  free_quarantine background{free_quarantine::byte_bound{1000}, 1000, 0ns};
  EXPECT_TRUE(background.barriers_in_background());
  EXPECT_FALSE(background.hold({address(1), 400, false}));
  ASSERT_TRUE(background.hold({address(2), 200, false}));
  int asked = 0;
  EXPECT_EQ(background.release(
                [] {
                  ADD_FAILURE() << "a barrier on the freeing thread";
                  return true;
                },
                [](const auto&) {},
                [&] { return ++asked, true; }),
            0U);
  EXPECT_EQ(asked, 1);
  // Asked of a background thread that cannot: the freeing thread runs it.
  free_quarantine refused{free_quarantine::byte_bound{1000}, 1000, 0ns};
  (void)refused.hold({address(1), 600, false});
  int barriers = 0;
  EXPECT_EQ(
      refused.release([&] { return ++barriers, true; }, [](const auto&) {}, [] { return false; }),
      1U);
  EXPECT_EQ(barriers, 1);
}

/// Runs `background_barrier()` of `held` on a thread of its own with a barrier that takes 50 ms
/// and sets `finished` when it returns; waits until it has marked the shares.
class slow_background_barrier {
 public:
  explicit slow_background_barrier(free_quarantine& held)
      : thread_{[&] {
          held.background_barrier([&] {
            running_ = true;
            std::this_thread::sleep_for(50ms);
            finished_ = true;
            return true;
          });
          returned_ = true;
        }} {
    while (!running_ && !returned_)
      std::this_thread::yield();
  }
  ~slow_background_barrier() { thread_.join(); }
  slow_background_barrier(const slow_background_barrier&) = delete;
  slow_background_barrier& operator=(const slow_background_barrier&) = delete;

  [[nodiscard]] bool running() const { return running_; }
  [[nodiscard]] bool finished() const { return finished_; }

 private:
  std::atomic<bool> running_{false};
  std::atomic<bool> finished_{false};
  std::atomic<bool> returned_{false};
  std::thread thread_;
};

// Barriers in the background: one is asked at half the limits; a full share waits for the
// running one (so the bytes held stay bounded by the limit), then asks again.
TEST(FreeQuarantine, WithBackgroundBarriersAFullShareWaitsForTheRunningOne) {
  free_quarantine held{free_quarantine::byte_bound{1000}, 1000, 0ns};
  const auto refuse = [] {
    ADD_FAILURE() << "a barrier on the freeing thread";
    return true;
  };
  int asked = 0;
  const auto in_background = [&] { return ++asked, true; };
  ASSERT_TRUE(held.hold({address(1), 600, false}));
  EXPECT_EQ(held.release(
                refuse, [](const auto&) {}, in_background),
            0U);
  EXPECT_EQ(asked, 1);
  slow_background_barrier running{held};
  ASSERT_TRUE(running.running());
  ASSERT_TRUE(held.hold({address(2), 500, false}));  // 1100 not covered yet: full
  EXPECT_EQ(held.release(
                refuse, [](const auto&) {}, in_background),
            1U);
  EXPECT_TRUE(running.finished()) << "did not wait for the running barrier";
  EXPECT_EQ(held.barriers(), 1U);
  // The 500 left are not covered: half the limit asks again at the next free.
  ASSERT_TRUE(held.hold({address(3), 1, false}));
  EXPECT_EQ(held.release(
                refuse, [](const auto&) {}, in_background),
            0U);
  EXPECT_EQ(asked, 2);
}

// Barriers on freeing threads: a full share does not wait for a running barrier; at twice its
// limits it waits for it, then runs its own.
TEST(FreeQuarantine, AShareAtTwiceItsLimitWaitsForTheRunningBarrier) {
  free_quarantine held{1000, 1000};
  const auto refuse = [] {
    ADD_FAILURE() << "a second barrier while one runs";
    return true;
  };
  EXPECT_FALSE(held.hold({address(1), 600, false}));
  slow_background_barrier running{held};
  ASSERT_TRUE(running.running());
  ASSERT_TRUE(held.hold({address(2), 500, false}));  // full
  EXPECT_EQ(held.release(refuse, [](const auto&) {}), 0U);
  EXPECT_FALSE(running.finished()) << "waited for the running barrier at its limit";
  ASSERT_TRUE(held.hold({address(3), 1000, false}));  // 2100 not covered yet: twice the limit
  bool finished_before_own = false;
  std::size_t released = 0;
  held.release(
      [&] {
        finished_before_own = running.finished();
        return true;
      },
      [&](const auto&) { ++released; });
  EXPECT_TRUE(finished_before_own) << "did not wait for the running barrier";
  EXPECT_EQ(released, 3U);
  EXPECT_EQ(held.barriers(), 2U);
  EXPECT_EQ(held.bytes(), 0U);
}

// A share whose thread stopped freeing is released after background barriers too, by the next
// thread that releases its own.
TEST(FreeQuarantine, AnIdleThreadsBlocksAreReleasedAfterBackgroundBarriers) {
  free_quarantine held{free_quarantine::byte_bound{std::size_t{1} << 30}, 1000, 0ns};
  held.hold({address(50), 256, false});  // this thread's share first
  std::thread{[&] { held.hold({address(100), 256, false}); }}.join();
  std::vector<void*> released;
  const auto collect = [&](const free_quarantine::block& block) {
    released.push_back(block.pointer);
  };
  for (std::uintptr_t round = 0; round < 3; ++round) {
    held.hold({address(round + 1), 256, false});
    held.background_barrier([] { return true; });
    held.release([] { return true; }, collect, [] { return true; });
  }
  EXPECT_NE(std::find(released.begin(), released.end(), address(100)), released.end());
  EXPECT_EQ(held.blocks(), 0U);
  EXPECT_EQ(held.barriers(), 3U);
}

}  // namespace
