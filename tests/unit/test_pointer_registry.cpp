// The shim's registry of served pointers, on the host: a free finds its record once (a second
// free of the same pointer finds nothing, which the shim refuses as CUDA does), under threads.

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <cstdint>
#include <thread>
#include <vector>

#include "preload/pointer_registry.hpp"

namespace {

using gpumem::preload::allocation_record;
using gpumem::preload::pointer_registry;

const void* pointer(std::uintptr_t index) {
  return reinterpret_cast<const void*>((index + 1) * 256);
}

TEST(PointerRegistry, ATakenRecordIsGone) {
  pointer_registry registry;
  registry.insert(pointer(1), allocation_record{4096, 0, false, true, 3});
  EXPECT_TRUE(registry.contains(pointer(1)));
  EXPECT_FALSE(registry.contains(pointer(2)));
  const auto record = registry.take(pointer(1));
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->size, 4096U);
  EXPECT_TRUE(record->stream_ordered);
  EXPECT_EQ(record->generation, 3U);
  EXPECT_FALSE(registry.take(pointer(1)).has_value()) << "a second free must find nothing";
  EXPECT_FALSE(registry.contains(pointer(1)));
}

TEST(PointerRegistry, EveryRecordComesBackWhole) {
  // More pointers than the table has entries: many share one and go to the overflow.
  pointer_registry registry;
  constexpr std::uintptr_t kCount = 200000;
  const auto record_of = [](std::uintptr_t i) {
    return allocation_record{i * 257 + 1,
                             static_cast<std::int32_t>(i % 64),
                             i % 3 == 0,
                             i % 5 == 0,
                             static_cast<std::uint32_t>(i % 256)};
  };
  for (std::uintptr_t i = 0; i < kCount; ++i)
    registry.insert(pointer(i), record_of(i));
  int wrong = 0;
  for (std::uintptr_t i = 0; i < kCount; ++i) {
    ASSERT_TRUE(registry.contains(pointer(i))) << i;
    const auto record = registry.take(pointer(i));
    ASSERT_TRUE(record.has_value()) << i;
    const allocation_record expected = record_of(i);
    wrong += record->size != expected.size || record->device != expected.device ||
             record->managed != expected.managed ||
             record->stream_ordered != expected.stream_ordered ||
             record->generation != expected.generation;
    EXPECT_FALSE(registry.contains(pointer(i))) << i;
  }
  EXPECT_EQ(wrong, 0);
}

TEST(PointerRegistry, RecordsTooLargeForAnEntryComeBackWhole) {
  pointer_registry registry;
  const allocation_record huge{std::size_t{1} << 50, 3, false, true, 7};
  const allocation_record late_generation{4096, 63, true, false, 300};
  registry.insert(pointer(1), huge);
  registry.insert(pointer(2), late_generation);
  const auto first = registry.take(pointer(1));
  const auto second = registry.take(pointer(2));
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->size, huge.size);
  EXPECT_EQ(first->device, 3);
  EXPECT_TRUE(first->stream_ordered);
  EXPECT_EQ(second->generation, 300U);
  EXPECT_EQ(second->device, 63);
  EXPECT_TRUE(second->managed);
  EXPECT_FALSE(registry.take(pointer(1)).has_value());
  EXPECT_FALSE(registry.take(pointer(2)).has_value());
}

TEST(PointerRegistry, ServingAPointerAgainReplacesItsRecord) {
  // After a device reset, a pointer the program never freed can be served again.
  pointer_registry registry;
  registry.insert(pointer(9), allocation_record{512, 0, false, false, 1});
  registry.insert(pointer(9), allocation_record{1024, 0, false, false, 2});
  registry.insert(pointer(10), allocation_record{std::size_t{1} << 50, 0, false, false, 1});
  registry.insert(pointer(10), allocation_record{std::size_t{1} << 51, 0, false, false, 2});
  // Served again with a record too large for the table (a 256th reset's generation): the
  // table's older record must not answer for it.
  registry.insert(pointer(11), allocation_record{512, 0, false, false, 255});
  registry.insert(pointer(11), allocation_record{512, 0, false, false, 256});
  const auto eleven = registry.take(pointer(11));
  ASSERT_TRUE(eleven.has_value());
  EXPECT_EQ(eleven->generation, 256U);
  const auto nine = registry.take(pointer(9));
  const auto ten = registry.take(pointer(10));
  ASSERT_TRUE(nine && ten);
  EXPECT_EQ(nine->size, 1024U);
  EXPECT_EQ(nine->generation, 2U);
  EXPECT_EQ(ten->size, std::size_t{1} << 51);
  EXPECT_FALSE(registry.take(pointer(9)).has_value());
  EXPECT_FALSE(registry.take(pointer(10)).has_value());
}

TEST(PointerRegistry, OfRacingFreesOfOnePointerExactlyOneFindsIt) {
  // A program's double free from two threads at once: the second must find nothing, or the
  // block would go back to the pool twice.
  pointer_registry registry;
  constexpr int kThreads = 3;
  constexpr int kRounds = 4000;
  std::barrier round_starts(kThreads + 1);
  std::barrier round_ends(kThreads + 1);
  std::atomic<int> found{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int r = 0; r < kRounds; ++r) {
        round_starts.arrive_and_wait();
        if (registry.take(pointer(static_cast<std::uintptr_t>(r % 7)))) ++found;
        round_ends.arrive_and_wait();
      }
    });
  }
  int not_once = 0;
  for (int r = 0; r < kRounds; ++r) {
    registry.insert(pointer(static_cast<std::uintptr_t>(r % 7)), allocation_record{64, 0});
    found.store(0);
    round_starts.arrive_and_wait();
    round_ends.arrive_and_wait();
    not_once += found.load() != 1;
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(not_once, 0) << "rounds where the record was found other than once";
}

TEST(PointerRegistry, ThreadsInsertAndTakeEachRecordOnce) {
  pointer_registry registry;
  constexpr int kThreads = 8;
  constexpr std::uintptr_t kEach = 20000;
  std::atomic<int> lost{0};
  std::atomic<int> found_twice{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::uintptr_t first = static_cast<std::uintptr_t>(t) * kEach;
      for (std::uintptr_t i = first; i < first + kEach; ++i)
        registry.insert(pointer(i), allocation_record{i + 1, t, false, false, 0});
      for (std::uintptr_t i = first; i < first + kEach; ++i) {
        const auto record = registry.take(pointer(i));
        if (!record || record->size != i + 1) ++lost;
        if (registry.take(pointer(i))) ++found_twice;
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(lost.load(), 0);
  EXPECT_EQ(found_twice.load(), 0);
}

}  // namespace
