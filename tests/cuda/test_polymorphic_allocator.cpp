// polymorphic_allocator: stream-ordered allocation of n objects through a resource chosen at
// run time, on the simulator and on the GPU.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <rmm/mr/device/polymorphic_allocator.hpp>
#include <type_traits>

#include "allocator_test_resource.hpp"
#include "gpumem/aligned.hpp"
#include "gpumem/error.hpp"
#include "gpumem/mr/polymorphic_allocator.hpp"

namespace {

using gpumem::mr::polymorphic_allocator;
using gpumem::test::current_resource_scope;
using gpumem::test::event_recording_resource;
using gpumem::test::size_seen_by_resource;
using gpumem::test::test_stream;

static_assert(std::is_same_v<polymorphic_allocator<int>::value_type, int>);
static_assert(std::is_nothrow_copy_constructible_v<polymorphic_allocator<int>>);

TEST(PolymorphicAllocator, DefaultUsesTheCurrentDeviceResource) {
  event_recording_resource recording;
  current_resource_scope scope{recording};
  polymorphic_allocator<int> allocator;
  EXPECT_EQ(allocator.get_upstream_resource(), gpumem::device_async_resource_ref{recording});
  int* ptr = allocator.allocate(10, gpumem::cuda_stream_default);
  ASSERT_EQ(recording.allocations().size(), 1U);
  EXPECT_EQ(recording.allocations()[0].ptr, ptr);
  allocator.deallocate(ptr, 10, gpumem::cuda_stream_default);
  EXPECT_EQ(recording.frees().size(), 1U);
}

TEST(PolymorphicAllocator, AllocatesCountTimesTheObjectSizeOnTheGivenStream) {
  event_recording_resource recording;
  polymorphic_allocator<double> allocator{recording};
  test_stream stream;
  double* ptr = allocator.allocate(100, stream.view());
  ASSERT_NE(ptr, nullptr);
  EXPECT_TRUE(gpumem::is_pointer_aligned(ptr));
  const auto allocations = recording.allocations();
  ASSERT_EQ(allocations.size(), 1U);
  EXPECT_EQ(allocations[0].ptr, ptr);
  EXPECT_EQ(allocations[0].bytes, size_seen_by_resource(100 * sizeof(double)));  // 800 -> 1024
  EXPECT_EQ(allocations[0].stream, stream.value());

  allocator.deallocate(ptr, 100, stream.view());
  const auto frees = recording.frees();
  ASSERT_EQ(frees.size(), 1U);
  EXPECT_EQ(frees[0].ptr, ptr);
  EXPECT_EQ(frees[0].bytes, size_seen_by_resource(100 * sizeof(double)));
  EXPECT_EQ(frees[0].stream, stream.value());
  EXPECT_EQ(recording.outstanding_bytes(), 0U);
}

TEST(PolymorphicAllocator, MemoryIsUsableOnTheStream) {
  event_recording_resource recording;
  polymorphic_allocator<std::int32_t> allocator{recording};
  test_stream stream;
  constexpr std::size_t count = 1000;
  std::int32_t* ptr = allocator.allocate(count, stream.view());
  ASSERT_EQ(cudaMemsetAsync(ptr, 0x01, count * sizeof(std::int32_t), stream.value()), cudaSuccess);
  std::int32_t last = 0;
  ASSERT_EQ(
      cudaMemcpyAsync(&last, ptr + count - 1, sizeof last, cudaMemcpyDeviceToHost, stream.value()),
      cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream.value()), cudaSuccess);
  EXPECT_EQ(last, 0x01010101);
  allocator.deallocate(ptr, count, stream.view());
}

TEST(PolymorphicAllocator, ConvertedCopyUsesTheSameResource) {
  event_recording_resource recording;
  const polymorphic_allocator<int> ints{recording};
  polymorphic_allocator<char> chars{ints};
  EXPECT_EQ(chars.get_upstream_resource(), ints.get_upstream_resource());
  char* ptr = chars.allocate(3, gpumem::cuda_stream_default);
  ASSERT_EQ(recording.allocations().size(), 1U);
  EXPECT_EQ(recording.allocations()[0].bytes, size_seen_by_resource(3));
  chars.deallocate(ptr, 3, gpumem::cuda_stream_default);
  EXPECT_EQ(recording.outstanding_bytes(), 0U);
}

TEST(PolymorphicAllocator, EqualWhenTheResourcesAreEqual) {
  event_recording_resource first;
  event_recording_resource second;
  const polymorphic_allocator<int> a{first};
  const polymorphic_allocator<int> b{first};
  const polymorphic_allocator<double> c{first};
  const polymorphic_allocator<int> d{second};
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a != b);
  EXPECT_TRUE(a == c);
  EXPECT_FALSE(a == d);
  EXPECT_TRUE(a != d);
}

TEST(PolymorphicAllocator, AcceptsAResourcePointer) {
  event_recording_resource recording;
  const polymorphic_allocator<int> allocator{&recording};
  EXPECT_EQ(allocator.get_upstream_resource(), gpumem::device_async_resource_ref{recording});
}

TEST(PolymorphicAllocator, ResourceFailurePropagates) {
  event_recording_resource recording;
  polymorphic_allocator<char> allocator{recording};
  EXPECT_THROW((void)allocator.allocate(std::size_t{1} << 50, gpumem::cuda_stream_default),
               gpumem::out_of_memory);
  polymorphic_allocator<std::int64_t> wide{recording};
  EXPECT_THROW((void)wide.allocate(static_cast<std::size_t>(-1) / 4, gpumem::cuda_stream_default),
               gpumem::bad_alloc);
  EXPECT_TRUE(recording.allocations().empty());
}

TEST(PolymorphicAllocator, RmmSpellingNamesTheSameClass) {
  static_assert(std::is_same_v<rmm::mr::polymorphic_allocator<int>, polymorphic_allocator<int>>);
  event_recording_resource recording;
  rmm::mr::polymorphic_allocator<int> allocator{recording};
  int* ptr = allocator.allocate(4, rmm::cuda_stream_default);
  allocator.deallocate(ptr, 4, rmm::cuda_stream_default);
  EXPECT_EQ(recording.events().size(), 2U);
}

}  // namespace
