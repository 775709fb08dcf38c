// stream_allocator_adaptor: a stream-ordered allocator with a stream bound to it meets the
// standard Allocator requirements; on the simulator and on the GPU.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <memory>
#include <rmm/mr/device/polymorphic_allocator.hpp>
#include <type_traits>

#include "allocator_test_resource.hpp"
#include "gpumem/mr/polymorphic_allocator.hpp"

namespace {

using gpumem::mr::make_stream_allocator_adaptor;
using gpumem::mr::polymorphic_allocator;
using gpumem::mr::stream_allocator_adaptor;
using gpumem::test::current_resource_scope;
using gpumem::test::event_recording_resource;
using gpumem::test::size_seen_by_resource;
using gpumem::test::test_stream;

/// An owning stream that converts to a cuda_stream_view only (like gpumem::cuda_stream).
class owning_stream {
 public:
  operator gpumem::cuda_stream_view() const noexcept { return stream_.view(); }  // NOLINT
  [[nodiscard]] cudaStream_t value() const noexcept { return stream_.value(); }

 private:
  test_stream stream_;
};

using adapted_ints = stream_allocator_adaptor<polymorphic_allocator<int>>;
using traits = std::allocator_traits<adapted_ints>;
static_assert(std::is_same_v<adapted_ints::value_type, int>);
static_assert(std::is_same_v<traits::pointer, int*>);
static_assert(std::is_same_v<traits::rebind_alloc<double>,
                             stream_allocator_adaptor<polymorphic_allocator<double>>>);
static_assert(!std::is_default_constructible_v<adapted_ints>);

TEST(StreamAllocatorAdaptor, SeedFormDeducesFromAStreamThatConvertsToAView) {
  event_recording_resource recording;
  current_resource_scope scope{recording};
  owning_stream stream;
  polymorphic_allocator<int> stream_alloc;
  auto adapted = stream_allocator_adaptor(stream_alloc, stream);
  static_assert(std::is_same_v<decltype(adapted), adapted_ints>);
  EXPECT_EQ(adapted.stream(), gpumem::cuda_stream_view{stream.value()});

  int* p = adapted.allocate(100);
  auto allocations = recording.allocations();
  ASSERT_EQ(allocations.size(), 1U);
  EXPECT_EQ(allocations[0].ptr, p);
  EXPECT_EQ(allocations[0].bytes, size_seen_by_resource(100 * sizeof(int)));
  EXPECT_EQ(allocations[0].stream, stream.value());

  adapted.deallocate(p, 100);
  auto frees = recording.frees();
  ASSERT_EQ(frees.size(), 1U);
  EXPECT_EQ(frees[0].ptr, p);
  EXPECT_EQ(frees[0].bytes, size_seen_by_resource(100 * sizeof(int)));
  EXPECT_EQ(frees[0].stream, stream.value());
}

TEST(StreamAllocatorAdaptor, DeducesFromAViewAndFromARawStream) {
  event_recording_resource recording;
  test_stream stream;
  const polymorphic_allocator<short> allocator{recording};
  auto from_view = stream_allocator_adaptor(allocator, stream.view());
  auto from_raw = stream_allocator_adaptor{allocator, stream.value()};
  static_assert(
      std::is_same_v<decltype(from_view), stream_allocator_adaptor<polymorphic_allocator<short>>>);
  static_assert(
      std::is_same_v<decltype(from_raw), stream_allocator_adaptor<polymorphic_allocator<short>>>);
  EXPECT_EQ(from_view.stream(), stream.view());
  EXPECT_EQ(from_raw.stream(), stream.view());
}

TEST(StreamAllocatorAdaptor, AllocatorTraitsGoThroughTheBoundStream) {
  event_recording_resource recording;
  test_stream stream;
  auto adapted =
      make_stream_allocator_adaptor(polymorphic_allocator<int>{recording}, stream.view());
  static_assert(std::is_same_v<decltype(adapted), adapted_ints>);
  int* p = traits::allocate(adapted, 7);
  traits::deallocate(adapted, p, 7);
  const auto events = recording.events();
  ASSERT_EQ(events.size(), 2U);
  for (const auto& event : events) {
    EXPECT_EQ(event.ptr, p);
    EXPECT_EQ(event.bytes, size_seen_by_resource(7 * sizeof(int)));
    EXPECT_EQ(event.stream, stream.value());
  }
}

TEST(StreamAllocatorAdaptor, ReboundCopyKeepsTheStreamAndTheResource) {
  event_recording_resource recording;
  test_stream stream;
  const adapted_ints ints{polymorphic_allocator<int>{recording}, stream.view()};
  traits::rebind_alloc<double> doubles{ints};
  EXPECT_EQ(doubles.stream(), stream.view());
  EXPECT_EQ(doubles.underlying_allocator().get_upstream_resource(),
            gpumem::device_async_resource_ref{recording});
  double* p = doubles.allocate(3);
  doubles.deallocate(p, 3);
  const auto allocations = recording.allocations();
  ASSERT_EQ(allocations.size(), 1U);
  EXPECT_EQ(allocations[0].bytes, size_seen_by_resource(3 * sizeof(double)));
  EXPECT_EQ(allocations[0].stream, stream.value());
}

TEST(StreamAllocatorAdaptor, UnderlyingAllocatorIsACopyOfTheAdaptedOne) {
  event_recording_resource recording;
  const polymorphic_allocator<int> allocator{recording};
  const auto adapted = make_stream_allocator_adaptor(allocator, gpumem::cuda_stream_default);
  EXPECT_TRUE(adapted.underlying_allocator() == allocator);
  EXPECT_EQ(adapted.stream(), gpumem::cuda_stream_default);
}

TEST(StreamAllocatorAdaptor, EqualityFollowsTheUnderlyingAllocatorsNotTheStreams) {
  event_recording_resource first;
  event_recording_resource second;
  test_stream stream;
  const adapted_ints a{polymorphic_allocator<int>{first}, stream.view()};
  const adapted_ints b{polymorphic_allocator<int>{first}, gpumem::cuda_stream_default};
  const stream_allocator_adaptor<polymorphic_allocator<double>> c{
      polymorphic_allocator<double>{first}, stream.view()};
  const adapted_ints d{polymorphic_allocator<int>{second}, stream.view()};
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a != b);
  EXPECT_TRUE(a == c);
  EXPECT_FALSE(a == d);
  EXPECT_TRUE(a != d);
}

TEST(StreamAllocatorAdaptor, RmmSpellingNamesTheSameClass) {
  static_assert(
      std::is_same_v<rmm::mr::stream_allocator_adaptor<rmm::mr::polymorphic_allocator<int>>,
                     adapted_ints>);
  event_recording_resource recording;
  auto adapted = rmm::mr::stream_allocator_adaptor(rmm::mr::polymorphic_allocator<int>{recording},
                                                   rmm::cuda_stream_default);
  int* p = adapted.allocate(1);
  adapted.deallocate(p, 1);
  EXPECT_EQ(recording.events().size(), 2U);
}

}  // namespace
