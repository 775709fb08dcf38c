// The guard that keeps the barrier thread's device barriers out of the program's stream
// captures: once a capture began no barrier runs, and a capture that begins while a barrier
// runs waits for it.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "preload/capture_guard.hpp"

namespace {

using gpumem::preload::capture_guard;
using namespace std::chrono_literals;

TEST(CaptureGuard, NoBarrierRunsOnceACaptureBegan) {
  capture_guard guard;
  int runs = 0;
  const auto barrier = [&] { return ++runs, true; };
  EXPECT_TRUE(guard.barrier_unless_capturing(barrier));
  EXPECT_FALSE(guard.captured());
  guard.capture_beginning();
  EXPECT_TRUE(guard.captured());
  EXPECT_FALSE(guard.barrier_unless_capturing(barrier));
  EXPECT_FALSE(guard.barrier_unless_capturing(barrier)) << "for the rest of the process";
  EXPECT_EQ(runs, 1);
}

TEST(CaptureGuard, ACaptureBeginningWaitsForTheRunningBarrier) {
  capture_guard guard;
  std::atomic<bool> running{false};
  std::atomic<bool> finished{false};
  std::thread background{[&] {
    guard.barrier_unless_capturing([&] {
      running = true;
      std::this_thread::sleep_for(50ms);
      finished = true;
      return true;
    });
  }};
  while (!running)
    std::this_thread::yield();
  guard.capture_beginning();
  EXPECT_TRUE(finished.load()) << "the capture began while the barrier ran";
  background.join();
}

// A barrier thread runs barriers while another thread begins a capture: no barrier is still
// running, or starts, once capture_beginning() returned.
TEST(CaptureGuard, NoBarrierRunsAfterTheCaptureBeganEvenWhenBothRace) {
  for (int round = 0; round < 200; ++round) {
    capture_guard guard;
    std::atomic<bool> began{false};
    std::atomic<int> after_begin{0};
    std::atomic<bool> done{false};
    std::thread background{[&] {
      while (!done) {
        guard.barrier_unless_capturing([&] {
          if (began) ++after_begin;
          std::this_thread::yield();
          if (began) ++after_begin;
          return true;
        });
      }
    }};
    std::this_thread::sleep_for(std::chrono::microseconds{round % 7 * 10});
    guard.capture_beginning();
    began = true;
    std::this_thread::sleep_for(100us);
    done = true;
    background.join();
    ASSERT_EQ(after_begin.load(), 0) << "round " << round;
  }
}

TEST(CaptureGuard, AChildAfterForkStartsWithoutCaptures) {
  capture_guard guard;
  guard.capture_beginning();
  guard.reset_after_fork();
  EXPECT_FALSE(guard.captured());
  EXPECT_TRUE(guard.barrier_unless_capturing([] { return true; }));
}

}  // namespace
