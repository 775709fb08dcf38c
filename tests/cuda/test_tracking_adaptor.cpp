// tracking_resource_adaptor: outstanding allocations, the leak report, and wrong frees, on the
// simulator and on the GPU.

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "adaptor_test_resources.hpp"
#include "cuda_platform.hpp"
#include "gpumem/error.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/tracking_resource_adaptor.hpp"

namespace {

using gpumem::mr::cuda_memory_resource;
using gpumem::mr::tracking_resource_adaptor;
using gpumem::test::recording_host_resource;

std::string pointer_text(const void* ptr) {
  char text[32];
  std::snprintf(text, sizeof text, "%p", ptr);
  return text;
}

std::size_t count_lines(const std::string& text) {
  std::size_t lines = 0;
  for (char character : text)
    lines += character == '\n' ? 1 : 0;
  return lines;
}

TEST(TrackingAdaptor, RemembersOutstandingAllocations) {
  cuda_memory_resource cuda_mr;
  tracking_resource_adaptor<cuda_memory_resource> tracker{&cuda_mr};
  void* small = tracker.allocate(1000);
  void* large = tracker.allocate(5000);
  EXPECT_EQ(tracker.get_allocated_bytes(), 1000U + 5000U);
  auto outstanding = tracker.get_outstanding_allocations();
  ASSERT_EQ(outstanding.size(), 2U);
  EXPECT_EQ(outstanding.at(small).allocation_size, 1000U);
  EXPECT_EQ(outstanding.at(large).allocation_size, 5000U);
  EXPECT_EQ(outstanding.at(small).strace, nullptr);
  tracker.deallocate(small, 1000);
  EXPECT_EQ(tracker.get_allocated_bytes(), 5000U);
  outstanding = tracker.get_outstanding_allocations();
  ASSERT_EQ(outstanding.size(), 1U);
  EXPECT_EQ(outstanding.count(large), 1U);
  tracker.deallocate(large, 5000);
  EXPECT_EQ(tracker.get_allocated_bytes(), 0U);
  EXPECT_TRUE(tracker.get_outstanding_allocations().empty());
  EXPECT_EQ(tracker.get_outstanding_allocations_str(), "");
}

TEST(TrackingAdaptor, LeakReportListsTheLeakedPointer) {
  cuda_memory_resource cuda_mr;
  tracking_resource_adaptor tracker{cuda_mr};
  void* kept = tracker.allocate(768);
  void* freed = tracker.allocate(512);
  tracker.deallocate(freed, 512);
  EXPECT_EQ(tracker.get_outstanding_allocations_str(), pointer_text(kept) + ": 768 B\n");

  ::testing::internal::CaptureStderr();
  tracker.log_outstanding_allocations();
  const std::string report = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(report.rfind("gpumem: ", 0), 0U) << report;
  EXPECT_NE(report.find("1 outstanding allocation"), std::string::npos) << report;
  EXPECT_NE(report.find(pointer_text(kept) + ": 768 B"), std::string::npos) << report;
  EXPECT_EQ(report.find(pointer_text(freed) + ":"), std::string::npos) << report;
  tracker.deallocate(kept, 768);
}

TEST(TrackingAdaptor, CapturedStacksAppearInTheReport) {
  cuda_memory_resource cuda_mr;
  tracking_resource_adaptor tracker{cuda_mr, true};
  void* ptr = tracker.allocate(256);
  const auto outstanding = tracker.get_outstanding_allocations();
  ASSERT_EQ(outstanding.size(), 1U);
  const auto& trace = outstanding.at(ptr).strace;
  ASSERT_NE(trace, nullptr);
  EXPECT_GT(trace->frames().size(), 2U);
  const std::string report = tracker.get_outstanding_allocations_str();
  EXPECT_EQ(report.rfind(pointer_text(ptr) + ": 256 B : callstack:\n", 0), 0U) << report;
  EXPECT_EQ(count_lines(report), 1 + trace->frames().size()) << report;
  EXPECT_NE(report.find("#0 "), std::string::npos) << report;
  tracker.deallocate(ptr, 256);
}

TEST(TrackingAdaptor, FreeOfAnUnknownPointerIsReportedAndNotPassedUpstream) {
  recording_host_resource upstream;
  tracking_resource_adaptor tracker{upstream};
  void* tracked = tracker.allocate(256);
  int not_allocated_here = 0;
  ::testing::internal::CaptureStderr();
  tracker.deallocate(&not_allocated_here, 64);
  const std::string report = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(report.rfind("gpumem: tracking_resource_adaptor: ", 0), 0U) << report;
  EXPECT_NE(report.find(pointer_text(&not_allocated_here)), std::string::npos) << report;
  EXPECT_TRUE(upstream.deallocations().empty());
  EXPECT_EQ(tracker.get_allocated_bytes(), 256U);

  tracker.deallocate(tracked, 256);
  ::testing::internal::CaptureStderr();
  tracker.deallocate(tracked, 256);  // a second free of the same pointer
  EXPECT_NE(::testing::internal::GetCapturedStderr().find(pointer_text(tracked)),
            std::string::npos);
  EXPECT_EQ(upstream.deallocations().size(), 1U);
  EXPECT_EQ(upstream.unknown_frees(), 0U);
}

TEST(TrackingAdaptor, FreeWithAnotherSizeIsReportedAndFreedWithTheAllocatedSize) {
  recording_host_resource upstream;
  tracking_resource_adaptor tracker{&upstream};
  void* ptr = tracker.allocate(4096);
  ::testing::internal::CaptureStderr();
  tracker.deallocate(ptr, 100);
  const std::string report = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(report.rfind("gpumem: tracking_resource_adaptor: ", 0), 0U) << report;
  EXPECT_NE(report.find("100 B"), std::string::npos) << report;
  EXPECT_NE(report.find("4096 B"), std::string::npos) << report;
  const auto frees = upstream.deallocations();
  ASSERT_EQ(frees.size(), 1U);
  EXPECT_EQ(frees[0].ptr, ptr);
  EXPECT_EQ(frees[0].bytes,
            4096U);  // the adaptor asks the upstream with CUDA's alignment: 4096 stays
  EXPECT_EQ(tracker.get_allocated_bytes(), 0U);
  EXPECT_TRUE(tracker.get_outstanding_allocations().empty());
}

TEST(TrackingAdaptor, ConcurrentThreadsLeaveExactlyTheirLeaks) {
  cuda_memory_resource cuda_mr;
  tracking_resource_adaptor tracker{cuda_mr};
  constexpr int threads = 4;
  constexpr int rounds = 200;
  std::vector<std::vector<void*>> leaks(threads);
  std::vector<std::thread> workers;
  for (int thread = 0; thread < threads; ++thread) {
    workers.emplace_back([&tracker, &leaks, thread] {
      for (int round = 0; round < rounds; ++round) {
        void* ptr = tracker.allocate(256);
        if (round % 50 == 0) {
          leaks[static_cast<std::size_t>(thread)].push_back(ptr);
        } else {
          tracker.deallocate(ptr, 256);
        }
      }
    });
  }
  for (auto& worker : workers)
    worker.join();
  const auto outstanding = tracker.get_outstanding_allocations();
  EXPECT_EQ(outstanding.size(), static_cast<std::size_t>(threads * rounds / 50));
  EXPECT_EQ(tracker.get_allocated_bytes(), outstanding.size() * 256);
  for (const auto& thread_leaks : leaks) {
    for (void* ptr : thread_leaks) {
      EXPECT_EQ(outstanding.count(ptr), 1U);
      tracker.deallocate(ptr, 256);
    }
  }
  EXPECT_TRUE(tracker.get_outstanding_allocations().empty());
}

TEST(TrackingAdaptor, UpstreamOutOfMemoryPropagatesAndTracksNothing) {
  cuda_memory_resource cuda_mr;
  tracking_resource_adaptor tracker{cuda_mr, true};
  EXPECT_THROW((void)tracker.allocate(gpumem::test::more_than_any_device), gpumem::out_of_memory);
  EXPECT_TRUE(tracker.get_outstanding_allocations().empty());
  EXPECT_EQ(tracker.get_allocated_bytes(), 0U);
}

TEST(TrackingAdaptor, FreesReachTheUpstream) {
  GPUMEM_REQUIRE_SIMULATOR();
  const std::size_t before = gpumem::test::simulator::outstanding_allocations();
  cuda_memory_resource cuda_mr;
  tracking_resource_adaptor tracker{cuda_mr};
  void* ptr = tracker.allocate(1 << 20);
  EXPECT_EQ(gpumem::test::simulator::outstanding_allocations(), before + 1);
  tracker.deallocate(ptr, 1 << 20);
  EXPECT_EQ(gpumem::test::simulator::outstanding_allocations(), before);
}

}  // namespace
