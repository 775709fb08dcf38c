// The guard that keeps the barrier thread's device barriers out of the program's stream
// captures: no barrier runs while a capture is in progress, and a capture that begins while a
// barrier runs waits for it.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "preload/capture_guard.hpp"

namespace {

using gpumem::preload::capture_guard;
using namespace std::chrono_literals;

TEST(CaptureGuard, NoBarrierRunsWhileACaptureIsInProgress) {
  capture_guard guard;
  int runs = 0;
  const auto barrier = [&] { return ++runs, true; };
  EXPECT_TRUE(guard.barrier_unless_capturing(barrier));
  guard.capture_beginning();
  EXPECT_FALSE(guard.barrier_unless_capturing(barrier));
  guard.capture_beginning();  // a second capture
  guard.capture_ended();
  EXPECT_FALSE(guard.barrier_unless_capturing(barrier)) << "one capture still runs";
  guard.capture_ended();
  EXPECT_TRUE(guard.barrier_unless_capturing(barrier));
  EXPECT_EQ(runs, 2);
}

TEST(CaptureGuard, ACaptureTheDriverRefusedCountsNoMore) {
  capture_guard guard;
  guard.capture_beginning();
  guard.capture_not_begun();
  EXPECT_EQ(guard.captures(), 0);
  EXPECT_TRUE(guard.barrier_unless_capturing([] { return true; }));
}

// An end the guard never saw begin (a capture begun before the preload was loaded) does not
// make a later capture invisible.
TEST(CaptureGuard, AnUnmatchedEndDoesNotHideTheNextCapture) {
  capture_guard guard;
  guard.capture_ended();
  guard.capture_beginning();
  EXPECT_FALSE(guard.barrier_unless_capturing([] { return true; }));
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
  guard.capture_ended();
}

// Threads begin and end captures while another runs barriers: never both at once.
TEST(CaptureGuard, BarriersAndCapturesNeverOverlap) {
  capture_guard guard;
  std::atomic<int> capturing{0};
  std::atomic<int> overlaps{0};
  std::atomic<int> barriers{0};
  std::atomic<bool> done{false};
  std::thread background{[&] {
    while (!done) {
      guard.barrier_unless_capturing([&] {
        if (capturing.load() != 0) ++overlaps;
        ++barriers;
        std::this_thread::yield();
        if (capturing.load() != 0) ++overlaps;
        return true;
      });
    }
  }};
  std::vector<std::thread> programs;
  for (int t = 0; t < 4; ++t) {
    programs.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        guard.capture_beginning();
        ++capturing;
        std::this_thread::yield();
        --capturing;
        guard.capture_ended();
      }
    });
  }
  for (auto& program : programs)
    program.join();
  done = true;
  background.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_GT(barriers.load(), 0);
}

}  // namespace
