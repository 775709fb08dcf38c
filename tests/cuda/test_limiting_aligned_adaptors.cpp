// limiting_resource_adaptor and aligned_resource_adaptor, on the simulator and on the GPU.

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "adaptor_test_resources.hpp"
#include "cuda_platform.hpp"
#include "gpumem/aligned.hpp"
#include "gpumem/error.hpp"
#include "gpumem/mr/aligned_resource_adaptor.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/limiting_resource_adaptor.hpp"

namespace {

using gpumem::mr::aligned_resource_adaptor;
using gpumem::mr::cuda_memory_resource;
using gpumem::mr::limiting_resource_adaptor;
using gpumem::test::recording_host_resource;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// --- limiting_resource_adaptor

TEST(LimitingAdaptor, CountsAlignedBytesUpToTheLimit) {
  cuda_memory_resource cuda_mr;
  constexpr std::size_t limit = 4096;
  limiting_resource_adaptor<cuda_memory_resource> limited{&cuda_mr, limit};
  EXPECT_EQ(limited.get_allocation_limit(), limit);
  void* first = limited.allocate(100);
  EXPECT_EQ(limited.get_allocated_bytes(),
            gpumem::align_up(100, gpumem::CUDA_ALLOCATION_ALIGNMENT));
  void* rest = limited.allocate(limit - 256);
  EXPECT_EQ(limited.get_allocated_bytes(), limit);
  limited.deallocate(first, 100);
  EXPECT_EQ(limited.get_allocated_bytes(), limit - 256);
  limited.deallocate(rest, limit - 256);
  EXPECT_EQ(limited.get_allocated_bytes(), 0U);
}

TEST(LimitingAdaptor, RefusalStatesTheRequestTheLimitAndTheBytesInUse) {
  cuda_memory_resource cuda_mr;
  constexpr std::size_t limit = 8192;
  limiting_resource_adaptor limited{cuda_mr, limit};
  void* held = limited.allocate(5000);  // counts 5120
  const std::size_t in_use = gpumem::align_up(5000, 256);
  try {
    (void)limited.allocate(4000);
    FAIL() << "allocated beyond the limit";
  } catch (const gpumem::out_of_memory& error) {
    const std::string message = error.what();
    EXPECT_TRUE(contains(message, "4000 B")) << message;
    EXPECT_TRUE(contains(message, std::to_string(limit) + " B")) << message;
    EXPECT_TRUE(contains(message, std::to_string(in_use) + " B")) << message;
  }
  EXPECT_EQ(limited.get_allocated_bytes(), in_use);
  limited.deallocate(held, 5000);
  void* now_fits = limited.allocate(4000);
  EXPECT_EQ(limited.get_allocated_bytes(), gpumem::align_up(4000, 256));
  limited.deallocate(now_fits, 4000);
}

TEST(LimitingAdaptor, CustomAlignmentRoundsTheCount) {
  cuda_memory_resource cuda_mr;
  limiting_resource_adaptor limited{cuda_mr, 1 << 20, 4096};
  void* ptr = limited.allocate(5000);
  EXPECT_EQ(limited.get_allocated_bytes(), 8192U);
  limited.deallocate(ptr, 5000);
  EXPECT_THROW((limiting_resource_adaptor{cuda_mr, 1 << 20, 3000}), gpumem::logic_error);
}

TEST(LimitingAdaptor, UpstreamFailureGivesTheReservationBack) {
  recording_host_resource upstream;
  limiting_resource_adaptor limited{upstream, 1 << 20};
  upstream.fail_next(1);
  EXPECT_THROW((void)limited.allocate(4096), gpumem::out_of_memory);
  EXPECT_EQ(limited.get_allocated_bytes(), 0U);

  cuda_memory_resource cuda_mr;
  limiting_resource_adaptor huge_limit{cuda_mr, gpumem::test::more_than_any_device * 2};
  EXPECT_THROW((void)huge_limit.allocate(gpumem::test::more_than_any_device),
               gpumem::out_of_memory);
  EXPECT_EQ(huge_limit.get_allocated_bytes(), 0U);
}

TEST(LimitingAdaptor, ConcurrentThreadsNeverExceedTheLimit) {
  recording_host_resource upstream;
  constexpr std::size_t limit = 4 * 256;
  limiting_resource_adaptor limited{upstream, limit};
  std::atomic<std::size_t> refused{0};
  std::vector<std::thread> workers;
  for (int thread = 0; thread < 8; ++thread) {
    workers.emplace_back([&] {
      for (int round = 0; round < 300; ++round) {
        try {
          void* ptr = limited.allocate(256);
          EXPECT_LE(limited.get_allocated_bytes(), limit);
          limited.deallocate(ptr, 256);
        } catch (const gpumem::out_of_memory&) {
          ++refused;
        }
      }
    });
  }
  for (auto& worker : workers)
    worker.join();
  EXPECT_EQ(limited.get_allocated_bytes(), 0U);
  EXPECT_EQ(upstream.outstanding(), 0U);
  EXPECT_EQ(upstream.allocate_calls() + refused.load(), 8U * 300U);
}

// --- aligned_resource_adaptor

TEST(AlignedAdaptor, LargeAllocationsAreAligned) {
  cuda_memory_resource cuda_mr;
  constexpr std::size_t alignment = 1 << 16;
  aligned_resource_adaptor<cuda_memory_resource> aligned{&cuda_mr, alignment, 1 << 16};
  std::vector<void*> pointers;
  for (int index = 0; index < 8; ++index) {
    void* ptr = aligned.allocate(1 << 16);
    EXPECT_TRUE(gpumem::is_pointer_aligned(ptr, alignment)) << ptr;
    pointers.push_back(ptr);
  }
  for (void* ptr : pointers)
    aligned.deallocate(ptr, 1 << 16);
}

TEST(AlignedAdaptor, OverAllocatesAndFreesTheUpstreamsPointer) {
  // The upstream hands out addresses 256 bytes past a 64 KiB boundary, so aligning to 4 KiB
  // must move the pointer.
  recording_host_resource upstream{256};
  constexpr std::size_t alignment = 4096;
  constexpr std::size_t threshold = 8192;
  aligned_resource_adaptor aligned{upstream, alignment, threshold};
  EXPECT_EQ(aligned.get_alignment(), alignment);
  EXPECT_EQ(aligned.get_alignment_threshold(), threshold);

  void* ptr = aligned.allocate(10000);
  EXPECT_TRUE(gpumem::is_pointer_aligned(ptr, alignment)) << ptr;
  const auto allocations = upstream.allocations();
  ASSERT_EQ(allocations.size(), 1U);
  EXPECT_NE(allocations[0].ptr, ptr);
  const std::size_t upstream_size = gpumem::align_up(10000, 256) + alignment - 256;
  EXPECT_EQ(allocations[0].bytes, upstream_size);
  EXPECT_GE(static_cast<char*>(allocations[0].ptr) + upstream_size,
            static_cast<char*>(ptr) + 10000);

  aligned.deallocate(ptr, 10000);
  const auto frees = upstream.deallocations();
  ASSERT_EQ(frees.size(), 1U);
  EXPECT_EQ(frees[0].ptr, allocations[0].ptr);
  EXPECT_EQ(frees[0].bytes, upstream_size);
  EXPECT_EQ(upstream.unknown_frees(), 0U);
}

TEST(AlignedAdaptor, SmallAllocationsPassThroughUnchanged) {
  recording_host_resource upstream{256};
  aligned_resource_adaptor aligned{upstream, 4096, 8192};
  void* ptr = aligned.allocate(1000);
  const auto allocations = upstream.allocations();
  ASSERT_EQ(allocations.size(), 1U);
  EXPECT_EQ(allocations[0].ptr, ptr);
  EXPECT_EQ(allocations[0].bytes, 1000U);  // RMM's adaptor passes the size unchanged
  aligned.deallocate(ptr, 1000);
  ASSERT_EQ(upstream.deallocations().size(), 1U);
  EXPECT_EQ(upstream.deallocations()[0].ptr, ptr);
  EXPECT_EQ(upstream.deallocations()[0].bytes, 1000U);
}

TEST(AlignedAdaptor, DefaultAlignmentPassesTheSizeUnchanged) {
  recording_host_resource upstream{0};
  aligned_resource_adaptor aligned{upstream};  // CUDA's 256 bytes: nothing to align
  void* ptr = aligned.allocate(5);
  ASSERT_EQ(upstream.allocations().size(), 1U);
  EXPECT_EQ(upstream.allocations()[0].bytes, 5U);
  aligned.deallocate(ptr, 5);
  EXPECT_EQ(upstream.outstanding(), 0U);
}

TEST(AlignedAdaptor, DefaultThresholdIs64KiB) {
  recording_host_resource upstream{256};
  aligned_resource_adaptor aligned{upstream, 4096};
  EXPECT_EQ(aligned.get_alignment_threshold(), std::size_t{64} << 10);
  void* below = aligned.allocate((64 << 10) - 256);
  void* at = aligned.allocate(64 << 10);
  EXPECT_FALSE(gpumem::is_pointer_aligned(below, 4096));  // 256 past a 64 KiB boundary
  EXPECT_TRUE(gpumem::is_pointer_aligned(at, 4096));
  aligned.deallocate(below, (64 << 10) - 256);
  aligned.deallocate(at, 64 << 10);
  EXPECT_EQ(upstream.outstanding(), 0U);
}

TEST(AlignedAdaptor, AlignmentMustBeAPowerOfTwo) {
  cuda_memory_resource cuda_mr;
  EXPECT_THROW((aligned_resource_adaptor{cuda_mr, 3000}), gpumem::logic_error);
  EXPECT_THROW((aligned_resource_adaptor{cuda_mr, 0}), gpumem::logic_error);
  EXPECT_NO_THROW((aligned_resource_adaptor{cuda_mr, 8192}));
}

TEST(AlignedAdaptor, ConcurrentThreadsGetAlignedBlocksBack) {
  recording_host_resource upstream{256};
  aligned_resource_adaptor aligned{upstream, 4096, 4096};
  std::vector<std::thread> workers;
  std::atomic<int> misaligned{0};
  for (int thread = 0; thread < 4; ++thread) {
    workers.emplace_back([&] {
      for (int round = 0; round < 200; ++round) {
        void* ptr = aligned.allocate(5000);
        if (!gpumem::is_pointer_aligned(ptr, 4096)) ++misaligned;
        aligned.deallocate(ptr, 5000);
      }
    });
  }
  for (auto& worker : workers)
    worker.join();
  EXPECT_EQ(misaligned.load(), 0);
  EXPECT_EQ(upstream.outstanding(), 0U);
  EXPECT_EQ(upstream.unknown_frees(), 0U);
}

TEST(AlignedAdaptor, UpstreamOutOfMemoryPropagates) {
  cuda_memory_resource cuda_mr;
  aligned_resource_adaptor aligned{cuda_mr, 4096, 0};
  EXPECT_THROW((void)aligned.allocate(gpumem::test::more_than_any_device), gpumem::out_of_memory);
}

TEST(AlignedAdaptor, FreesReachTheUpstream) {
  GPUMEM_REQUIRE_SIMULATOR();
  const std::size_t before = gpumem::test::simulator::outstanding_allocations();
  cuda_memory_resource cuda_mr;
  aligned_resource_adaptor aligned{cuda_mr, 1 << 20, 0};
  void* ptr = aligned.allocate(1000);
  EXPECT_EQ(gpumem::test::simulator::outstanding_allocations(), before + 1);
  aligned.deallocate(ptr, 1000);
  EXPECT_EQ(gpumem::test::simulator::outstanding_allocations(), before);
}

}  // namespace
