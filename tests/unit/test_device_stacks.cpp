// The shim's table of per-device stacks, on the host: built once however many threads ask, set
// aside on a reset, and a reset noticed by several threads retires one stack, not the new one.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "preload/device_stacks.hpp"

namespace {

using gpumem::preload::device_stacks;

struct fake_state {
  int device;
  std::uint32_t generation;
  std::size_t retired_before;
};

struct counting_builder {
  std::atomic<int> builds{0};
  std::unique_ptr<fake_state> operator()(int device,
                                         std::uint32_t generation,
                                         const std::vector<const fake_state*>& retired) {
    ++builds;
    return std::make_unique<fake_state>(fake_state{device, generation, retired.size()});
  }
};

const auto no_failure = [](int, const std::exception&) { FAIL() << "unexpected build failure"; };
const auto nothing = [](int) {};

TEST(DeviceStacks, BuiltOnceHoweverManyThreadsAsk) {
  device_stacks<fake_state, 4> stacks;
  counting_builder build;
  std::vector<std::thread> threads;
  std::atomic<int> distinct{0};
  std::atomic<fake_state*> first{nullptr};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        fake_state* state = stacks.get_or_build(1, std::ref(build), no_failure);
        fake_state* expected = nullptr;
        if (!first.compare_exchange_strong(expected, state) && expected != state) ++distinct;
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(build.builds.load(), 1);
  EXPECT_EQ(distinct.load(), 0);
  EXPECT_EQ(stacks.built(1), first.load());
  EXPECT_EQ(stacks.built(0), nullptr);
  EXPECT_EQ(stacks.get_or_build(4, std::ref(build), no_failure), nullptr);  // out of range
}

// Two threads notice the same reset (the context's id changed) and each sets aside the stack it
// saw. The second comes after the first thread built the new stack: with the stack it saw named,
// its forget() changes nothing; without (as before), it would retire the new stack, whose
// blocks the first thread is already handing out.
TEST(DeviceStacks, AResetNoticedTwiceRetiresOneStack) {
  device_stacks<fake_state, 4> stacks;
  counting_builder build;
  fake_state* before = stacks.get_or_build(0, std::ref(build), no_failure);
  EXPECT_EQ(stacks.forget(0, before, nothing), before);  // the first thread
  fake_state* after = stacks.get_or_build(0, std::ref(build), no_failure);
  ASSERT_NE(after, before);
  EXPECT_EQ(after->generation, 1U);
  EXPECT_EQ(after->retired_before, 1U);
  EXPECT_EQ(stacks.forget(0, before, nothing), nullptr);  // the second, late
  EXPECT_EQ(stacks.built(0), after);
  EXPECT_EQ(stacks.generation(0), 1U);
  EXPECT_EQ(build.builds.load(), 2);
}

TEST(DeviceStacks, ManyThreadsNoticeOneResetAndOneStackIsBuiltAfterIt) {
  device_stacks<fake_state, 4> stacks;
  counting_builder build;
  fake_state* before = stacks.get_or_build(2, std::ref(build), no_failure);
  std::atomic<int> retired{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      if (stacks.forget(2, before, nothing) != nullptr) ++retired;
      (void)stacks.get_or_build(2, std::ref(build), no_failure);
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(retired.load(), 1);
  EXPECT_EQ(build.builds.load(), 2);
  EXPECT_EQ(stacks.generation(2), 1U);
}

TEST(DeviceStacks, AFailedBuildIsNotRetriedUntilTheNextReset) {
  device_stacks<fake_state, 4> stacks;
  int attempts = 0;
  int failures = 0;
  const auto failing = [&](int,
                           std::uint32_t,
                           const std::vector<const fake_state*>&) -> std::unique_ptr<fake_state> {
    ++attempts;
    throw std::runtime_error{"no memory"};
  };
  const auto count_failure = [&](int, const std::exception&) { ++failures; };
  EXPECT_EQ(stacks.get_or_build(3, failing, count_failure), nullptr);
  EXPECT_EQ(stacks.get_or_build(3, failing, count_failure), nullptr);
  EXPECT_EQ(attempts, 1);
  EXPECT_EQ(failures, 1);
  bool told = false;
  EXPECT_EQ(stacks.forget(3, nullptr, [&](int device) { told = device == 3; }), nullptr);
  EXPECT_TRUE(told);
  counting_builder build;
  EXPECT_NE(stacks.get_or_build(3, std::ref(build), no_failure), nullptr);
}

}  // namespace
