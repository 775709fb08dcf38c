// One value per thread for one owner: each thread its own, an ended thread's value handed to a
// later thread, owners of different types kept apart.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "core/per_thread.hpp"

namespace {

using gpumem::core::per_thread;

struct count {
  std::atomic<std::uint64_t> value{0};
};

TEST(PerThread, EachThreadHasItsOwnValueAndTheOwnerSeesThemAll) {
  per_thread<count> counts;
  std::vector<std::thread> threads;
  std::atomic<int> ready{0};
  std::atomic<bool> go_on{false};
  std::vector<count*> seen(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      count& mine = counts.local();
      seen[t] = &mine;
      for (int i = 0; i < 1000 * (t + 1); ++i)
        mine.value.store(mine.value.load() + 1);
      EXPECT_EQ(&counts.local(), &mine) << "the same value on every call";
      ++ready;
      while (!go_on)
        std::this_thread::yield();  // all alive at once: four values
    });
  }
  while (ready != 4)
    std::this_thread::yield();
  go_on = true;
  for (auto& thread : threads)
    thread.join();
  for (int a = 0; a < 4; ++a) {
    for (int b = a + 1; b < 4; ++b)
      EXPECT_NE(seen[a], seen[b]);
  }
  std::uint64_t total = 0;
  int values = 0;
  counts.for_each([&](count& each) {
    total += each.value.load();
    ++values;
  });
  EXPECT_EQ(values, 4);
  EXPECT_EQ(total, 10000U);
}

TEST(PerThread, AnEndedThreadsValueGoesToTheNextThreadWithItsContents) {
  per_thread<count> counts;
  count* first = nullptr;
  std::thread{[&] {
    first = &counts.local();
    first->value = 7;
  }}.join();
  count* second = nullptr;
  std::thread{[&] { second = &counts.local(); }}.join();
  EXPECT_EQ(second, first) << "threads made one after another share one value";
  EXPECT_EQ(second->value.load(), 7U);
  int values = 0;
  counts.for_each([&](count&) { ++values; });
  EXPECT_EQ(values, 1);
}

struct other {
  int marker = 12345;
};

TEST(PerThread, OwnersOfDifferentTypesNeverShareAValue) {
  // One thread table serves every type: ids must differ across types.
  per_thread<count> counts;
  per_thread<other> others;
  counts.local().value = 99;
  EXPECT_EQ(others.local().marker, 12345);
  EXPECT_EQ(counts.local().value.load(), 99U);
}

TEST(PerThread, MoreOwnersThanTheTableHoldsKeepTheirValues) {
  std::vector<std::unique_ptr<per_thread<count>>> owners;
  for (int i = 0; i < 20; ++i)
    owners.push_back(std::make_unique<per_thread<count>>());
  for (int round = 0; round < 3; ++round) {
    for (auto& owner : owners)
      owner->local().value.store(owner->local().value.load() + 1);
  }
  for (auto& owner : owners) {
    int values = 0;
    owner->for_each([&](count& each) {
      ++values;
      EXPECT_EQ(each.value.load(), 3U);
    });
    EXPECT_EQ(values, 1) << "a thread evicted from the table finds its own value again";
  }
}

TEST(PerThread, AThreadEndingAfterItsOwnerTouchesNoOtherOwner) {
  auto counts = std::make_unique<per_thread<count>>();
  std::atomic<bool> replaced{false};
  std::atomic<bool> took{false};
  std::thread thread{[&] {
    counts->local().value = 1;
    took = true;
    while (!replaced)
      std::this_thread::yield();
    // Ends after its owner is gone and another took its place (likely at the same address).
  }};
  while (!took)
    std::this_thread::yield();
  counts.reset();
  per_thread<count> later;
  count& mine = later.local();
  mine.value = 5;
  replaced = true;
  thread.join();
  count* someone_else = nullptr;
  std::thread{[&] { someone_else = &later.local(); }}.join();
  EXPECT_NE(someone_else, &mine) << "this thread's value is still its own";
  EXPECT_EQ(mine.value.load(), 5U);
}

}  // namespace
