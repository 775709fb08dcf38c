// statistics_resource_adaptor: counters after allocations, frees and nested scopes, on the
// simulator and on the GPU.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "adaptor_test_resources.hpp"
#include "cuda_platform.hpp"
#include "gpumem/error.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/statistics_resource_adaptor.hpp"

namespace {

using gpumem::mr::cuda_memory_resource;
using stats_adaptor = gpumem::mr::statistics_resource_adaptor<cuda_memory_resource>;
using counter = stats_adaptor::counter;

void expect_counter(const counter& actual,
                    std::int64_t value,
                    std::int64_t peak,
                    std::int64_t total,
                    const char* what) {
  EXPECT_EQ(actual.value, value) << what;
  EXPECT_EQ(actual.peak, peak) << what;
  EXPECT_EQ(actual.total, total) << what;
}

TEST(StatisticsAdaptor, CounterArithmeticIsRmms) {
  counter outer;
  outer += 100;
  outer += 50;
  outer -= 120;
  expect_counter(outer, 30, 150, 150, "after +100 +50 -120");
  counter inner;
  inner += 70;
  inner -= 10;
  outer.add_counters_from_tracked_sub_block(inner);
  // peak = max(150, 30 + 70)
  expect_counter(outer, 90, 150, 220, "after folding an inner scope");
  counter big_inner;
  big_inner += 500;
  outer.add_counters_from_tracked_sub_block(big_inner);
  expect_counter(outer, 590, 590, 720, "after folding an inner scope above the peak");
}

TEST(StatisticsAdaptor, CountsAllocationsAndFrees) {
  cuda_memory_resource cuda_mr;
  stats_adaptor stats{&cuda_mr};
  constexpr std::int64_t first = 1000;
  constexpr std::int64_t second = 3000;
  constexpr std::int64_t third = 500;
  void* a = stats.allocate(first);
  void* b = stats.allocate(second);
  expect_counter(stats.get_bytes_counter(),
                 first + second,
                 first + second,
                 first + second,
                 "bytes, two allocated");
  expect_counter(stats.get_allocations_counter(), 2, 2, 2, "allocations, two allocated");
  stats.deallocate(a, first);
  expect_counter(
      stats.get_bytes_counter(), second, first + second, first + second, "bytes, one freed");
  expect_counter(stats.get_allocations_counter(), 1, 2, 2, "allocations, one freed");
  void* c = stats.allocate(third);
  expect_counter(stats.get_bytes_counter(),
                 second + third,
                 first + second,
                 first + second + third,
                 "bytes, below the peak again");
  expect_counter(stats.get_allocations_counter(), 2, 2, 3, "allocations, a third one");
  stats.deallocate(b, second);
  stats.deallocate(c, third);
  expect_counter(
      stats.get_bytes_counter(), 0, first + second, first + second + third, "bytes, all freed");
  expect_counter(stats.get_allocations_counter(), 0, 2, 3, "allocations, all freed");
}

TEST(StatisticsAdaptor, NestedScopeFoldsIntoItsParent) {
  cuda_memory_resource cuda_mr;
  stats_adaptor stats{&cuda_mr};
  constexpr std::int64_t before = 100;
  constexpr std::int64_t inside_first = 200;
  constexpr std::int64_t inside_second = 300;
  void* a = stats.allocate(before);

  const auto [bytes_before_push, allocations_before_push] = stats.push_counters();
  expect_counter(bytes_before_push, before, before, before, "push returns the outer bytes");
  expect_counter(allocations_before_push, 1, 1, 1, "push returns the outer allocations");
  expect_counter(stats.get_bytes_counter(), 0, 0, 0, "a new scope starts at zero");

  void* b = stats.allocate(inside_first);
  void* c = stats.allocate(inside_second);
  stats.deallocate(b, inside_first);
  stats.deallocate(a, before);  // allocated before the scope began
  const std::int64_t inner_value = inside_first + inside_second - inside_first - before;
  const std::int64_t inner_peak = inside_first + inside_second;
  const std::int64_t inner_total = inside_first + inside_second;
  expect_counter(stats.get_bytes_counter(), inner_value, inner_peak, inner_total, "inner bytes");
  expect_counter(stats.get_allocations_counter(), 0, 2, 2, "inner allocations: +2 -2");

  const auto [popped_bytes, popped_allocations] = stats.pop_counters();
  expect_counter(popped_bytes, inner_value, inner_peak, inner_total, "pop returns the inner bytes");
  expect_counter(popped_allocations, 0, 2, 2, "pop returns the inner allocations");
  // parent.peak = max(parent.peak, parent.value + inner.peak); values and totals add.
  expect_counter(stats.get_bytes_counter(),
                 before + inner_value,
                 std::max(before, before + inner_peak),
                 before + inner_total,
                 "outer bytes after the pop");
  expect_counter(stats.get_allocations_counter(),
                 1 + 0,
                 std::max<std::int64_t>(1, 1 + 2),
                 1 + 2,
                 "outer allocations after the pop");
  stats.deallocate(c, inside_second);
}

TEST(StatisticsAdaptor, PeakOfAnEarlierScopeSurvivesAShallowInnerScope) {
  cuda_memory_resource cuda_mr;
  stats_adaptor stats{&cuda_mr};
  void* big = stats.allocate(4096);
  stats.deallocate(big, 4096);
  (void)stats.push_counters();
  void* small = stats.allocate(256);
  stats.deallocate(small, 256);
  (void)stats.pop_counters();
  expect_counter(
      stats.get_bytes_counter(), 0, 4096, 4096 + 256, "outer peak stays at the earlier high");
}

TEST(StatisticsAdaptor, PopWithoutPushThrowsOutOfRange) {
  cuda_memory_resource cuda_mr;
  stats_adaptor stats{&cuda_mr};
  EXPECT_THROW((void)stats.pop_counters(), gpumem::out_of_range);
  (void)stats.push_counters();
  EXPECT_NO_THROW((void)stats.pop_counters());
  EXPECT_THROW((void)stats.pop_counters(), std::out_of_range);
}

// A model of RMM's counter stack, built from the counter arithmetic tested above; the adaptor
// must agree with it after every step of a long random sequence of allocations, frees, pushes
// and pops (three levels deep at most).
TEST(StatisticsAdaptor, AgreesWithAStackOfCountersOverARandomSequence) {
  gpumem::test::recording_host_resource upstream;
  gpumem::mr::statistics_resource_adaptor<gpumem::test::recording_host_resource> stats{upstream};
  std::vector<std::pair<counter, counter>> model{{counter{}, counter{}}};
  std::vector<std::pair<void*, std::size_t>> live;
  std::mt19937 random{12345};
  for (int step = 0; step < 3000; ++step) {
    const unsigned choice = random() % 10;
    if (choice < 5) {
      const std::size_t bytes = 1 + random() % 5000;
      live.emplace_back(stats.allocate(bytes), bytes);
      model.back().first += static_cast<std::int64_t>(bytes);
      model.back().second += 1;
    } else if (choice < 8 && !live.empty()) {
      const std::size_t index = random() % live.size();
      const auto [ptr, bytes] = live[index];
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(index));
      stats.deallocate(ptr, bytes);
      model.back().first -= static_cast<std::int64_t>(bytes);
      model.back().second -= 1;
    } else if (choice == 8 && model.size() < 4) {
      const auto returned = stats.push_counters();
      ASSERT_EQ(returned.first.total, model.back().first.total) << "step " << step;
      ASSERT_EQ(returned.first.peak, model.back().first.peak) << "step " << step;
      model.emplace_back(counter{}, counter{});
    } else if (choice == 9 && model.size() > 1) {
      const auto returned = stats.pop_counters();
      const auto inner = model.back();
      model.pop_back();
      ASSERT_EQ(returned.first.value, inner.first.value) << "step " << step;
      ASSERT_EQ(returned.first.peak, inner.first.peak) << "step " << step;
      model.back().first.add_counters_from_tracked_sub_block(inner.first);
      model.back().second.add_counters_from_tracked_sub_block(inner.second);
    }
    const counter bytes = stats.get_bytes_counter();
    const counter allocations = stats.get_allocations_counter();
    ASSERT_EQ(bytes.value, model.back().first.value) << "step " << step;
    ASSERT_EQ(bytes.peak, model.back().first.peak) << "step " << step;
    ASSERT_EQ(bytes.total, model.back().first.total) << "step " << step;
    ASSERT_EQ(allocations.value, model.back().second.value) << "step " << step;
    ASSERT_EQ(allocations.peak, model.back().second.peak) << "step " << step;
    ASSERT_EQ(allocations.total, model.back().second.total) << "step " << step;
  }
  for (const auto& [ptr, bytes] : live)
    stats.deallocate(ptr, bytes);
}

TEST(StatisticsAdaptor, ConcurrentThreadsAddUpExactly) {
  cuda_memory_resource cuda_mr;
  stats_adaptor stats{cuda_mr};
  constexpr int threads = 4;
  constexpr int rounds = 500;
  std::vector<std::thread> workers;
  for (int thread = 0; thread < threads; ++thread) {
    workers.emplace_back([&stats, thread] {
      const std::size_t bytes = static_cast<std::size_t>(thread + 1) * 256;
      for (int round = 0; round < rounds; ++round) {
        void* ptr = stats.allocate(bytes);
        stats.deallocate(ptr, bytes);
      }
    });
  }
  for (auto& worker : workers)
    worker.join();
  std::int64_t expected_total = 0;
  for (int thread = 0; thread < threads; ++thread)
    expected_total += (thread + 1) * 256 * rounds;
  const counter bytes = stats.get_bytes_counter();
  const counter allocations = stats.get_allocations_counter();
  EXPECT_EQ(bytes.value, 0);
  EXPECT_EQ(bytes.total, expected_total);
  EXPECT_GE(bytes.peak, threads * 256);          // the largest single allocation
  EXPECT_LE(bytes.peak, (1 + 2 + 3 + 4) * 256);  // all four threads at once
  EXPECT_EQ(allocations.value, 0);
  EXPECT_EQ(allocations.total, threads * rounds);
  EXPECT_GE(allocations.peak, 1);
  EXPECT_LE(allocations.peak, threads);
}

TEST(StatisticsAdaptor, ScopesPushedAndPoppedDuringAllocationsLoseNothing) {
  cuda_memory_resource cuda_mr;
  stats_adaptor stats{cuda_mr};
  constexpr int threads = 3;
  constexpr int rounds = 500;
  std::atomic<bool> done{false};
  std::vector<std::thread> workers;
  for (int thread = 0; thread < threads; ++thread) {
    workers.emplace_back([&stats] {
      for (int round = 0; round < rounds; ++round) {
        void* ptr = stats.allocate(512);
        stats.deallocate(ptr, 512);
      }
    });
  }
  int scopes = 0;
  std::thread scoping{[&] {
    // At least one scope, even when the workers finish before this thread first looks.
    do {
      (void)stats.push_counters();
      (void)stats.pop_counters();
      ++scopes;
    } while (!done.load());
  }};
  for (auto& worker : workers)
    worker.join();
  done.store(true);
  scoping.join();
  EXPECT_GT(scopes, 0);
  EXPECT_THROW((void)stats.pop_counters(), gpumem::out_of_range);  // every push was popped
  const counter bytes = stats.get_bytes_counter();
  const counter allocations = stats.get_allocations_counter();
  EXPECT_EQ(bytes.value, 0);
  EXPECT_EQ(bytes.total, std::int64_t{threads} * rounds * 512);
  EXPECT_LE(bytes.peak, threads * 512);
  EXPECT_GE(bytes.peak, 512);
  EXPECT_EQ(allocations.value, 0);
  EXPECT_EQ(allocations.total, threads * rounds);
}

TEST(StatisticsAdaptor, UpstreamOutOfMemoryPropagatesAndCountsNothing) {
  cuda_memory_resource cuda_mr;
  stats_adaptor stats{cuda_mr};
  EXPECT_THROW((void)stats.allocate(gpumem::test::more_than_any_device), gpumem::out_of_memory);
  expect_counter(stats.get_bytes_counter(), 0, 0, 0, "bytes after a failed allocation");
  expect_counter(stats.get_allocations_counter(), 0, 0, 0, "allocations after a failed allocation");
}

TEST(StatisticsAdaptor, InjectedOutOfMemoryPropagates) {
  GPUMEM_REQUIRE_SIMULATOR();
  cuda_memory_resource cuda_mr;
  stats_adaptor stats{cuda_mr};
  gpumem::test::simulator::fail_allocation(1);
  EXPECT_THROW((void)stats.allocate(1024), gpumem::out_of_memory);
  expect_counter(stats.get_allocations_counter(), 0, 0, 0, "allocations after an injected failure");
  void* ptr = stats.allocate(1024);
  expect_counter(stats.get_allocations_counter(), 1, 1, 1, "the next allocation succeeds");
  stats.deallocate(ptr, 1024);
}

TEST(StatisticsAdaptor, FreesReachTheUpstream) {
  GPUMEM_REQUIRE_SIMULATOR();
  const std::size_t before = gpumem::test::simulator::outstanding_allocations();
  cuda_memory_resource cuda_mr;
  stats_adaptor stats{cuda_mr};
  void* ptr = stats.allocate(4096);
  EXPECT_EQ(gpumem::test::simulator::outstanding_allocations(), before + 1);
  stats.deallocate(ptr, 4096);
  EXPECT_EQ(gpumem::test::simulator::outstanding_allocations(), before);
}

}  // namespace
