// The shim's background barrier thread, on the host: it runs what is asked, on its own thread,
// once per request (requests that wait together are one), and stops cleanly.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "preload/barrier_thread.hpp"

namespace {

using gpumem::preload::barrier_thread;
using namespace std::chrono_literals;

/// Waits until `done()` or five seconds; returns done().
template <typename Done>
bool eventually(Done done) {
  const auto give_up = std::chrono::steady_clock::now() + 5s;
  while (!done() && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(100us);
  return done();
}

TEST(BarrierThread, StartsAtTheFirstRequestAndRunsOnItsOwnThread) {
  std::atomic<int> runs{0};
  std::atomic<std::thread::id> ran_on{};
  barrier_thread background{[&] {
    ran_on = std::this_thread::get_id();
    ++runs;
  }};
  std::this_thread::sleep_for(5ms);
  EXPECT_EQ(runs.load(), 0) << "ran before any request";
  ASSERT_TRUE(background.request());
  ASSERT_TRUE(eventually([&] { return runs.load() == 1; }));
  EXPECT_NE(ran_on.load(), std::this_thread::get_id());
  ASSERT_TRUE(background.request());
  ASSERT_TRUE(eventually([&] { return runs.load() == 2; }));
  EXPECT_EQ(background.runs(), 2U);
}

// Requests made while a run is waiting to start are one request; one made while a run is in
// progress gets a run of its own after it (what it asks for may not be covered by that run).
TEST(BarrierThread, RequestsWhileOneWaitsAreOneRequest) {
  std::atomic<int> runs{0};
  std::atomic<bool> let_go{false};
  std::atomic<bool> running{false};
  barrier_thread background{[&] {
    running = true;
    eventually([&] { return let_go.load(); });
    running = false;
    ++runs;
  }};
  ASSERT_TRUE(background.request());
  ASSERT_TRUE(eventually([&] { return running.load(); }));
  // The first run is in progress: these three are one new request.
  EXPECT_TRUE(background.request());
  EXPECT_TRUE(background.request());
  EXPECT_TRUE(background.request());
  let_go = true;
  ASSERT_TRUE(eventually([&] { return runs.load() == 2; }));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(runs.load(), 2);
}

TEST(BarrierThread, StopWaitsForTheRunInProgressAndRefusesLaterRequests) {
  std::atomic<bool> running{false};
  std::atomic<bool> finished{false};
  barrier_thread background{[&] {
    running = true;
    std::this_thread::sleep_for(50ms);
    finished = true;
  }};
  ASSERT_TRUE(background.request());
  ASSERT_TRUE(eventually([&] { return running.load(); }));
  background.stop();
  EXPECT_TRUE(finished.load()) << "stop returned while the barrier ran";
  EXPECT_FALSE(background.request());
  background.stop();  // idempotent
}

TEST(BarrierThread, StopBeforeAnyRequestStartsNoThread) {
  std::atomic<int> runs{0};
  barrier_thread background{[&] { ++runs; }};
  background.stop();
  EXPECT_FALSE(background.request());
  EXPECT_EQ(runs.load(), 0);
}

}  // namespace
