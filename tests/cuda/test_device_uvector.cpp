// device_uvector: storage, element access from the host, iterators, copies, moves, resizing,
// release, and failures; on the simulator and on the GPU.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cuda/std/span>
#include <iterator>
#include <limits>
#include <numeric>
#include <rmm/device_uvector.hpp>
#include <type_traits>
#include <utility>
#include <vector>

#include "cuda_platform.hpp"
#include "gpumem/cuda_stream.hpp"
#include "gpumem/device_uvector.hpp"
#include "gpumem/error.hpp"
#include "recording_resource.hpp"

namespace {

namespace simulator = gpumem::test::simulator;
using gpumem::cuda_stream_view;
using gpumem::device_uvector;

/// Whether set_element_async accepts a temporary (it must not).
template <typename Vector>
concept set_element_async_takes_rvalues = requires(Vector& vector, cuda_stream_view stream) {
  vector.set_element_async(0, 42, stream);
};
template <typename Vector>
concept set_element_async_takes_const_rvalues = requires(Vector& vector,
                                                         const int value,
                                                         cuda_stream_view stream) {
  vector.set_element_async(0, std::move(value), stream);
};
template <typename Vector>
concept set_element_async_takes_lvalues = requires(Vector& vector,
                                                   const int value,
                                                   cuda_stream_view stream) {
  vector.set_element_async(0, value, stream);
};
static_assert(!set_element_async_takes_rvalues<device_uvector<int>>);
static_assert(!set_element_async_takes_const_rvalues<device_uvector<int>>);
static_assert(set_element_async_takes_lvalues<device_uvector<int>>);

static_assert(!std::is_default_constructible_v<device_uvector<int>>);
static_assert(!std::is_copy_constructible_v<device_uvector<int>>);
static_assert(std::is_nothrow_move_constructible_v<device_uvector<int>>);
static_assert(std::is_nothrow_move_assignable_v<device_uvector<int>>);
static_assert(std::is_same_v<device_uvector<int>::iterator, int*>);
static_assert(std::is_same_v<device_uvector<int>::const_iterator, const int*>);

/// A trivially copyable type without a default constructor.
struct tagged {
  explicit tagged(int v) : value{v}, tag{'t'} {}
  int value;
  char tag;
};
static_assert(std::is_trivially_copyable_v<tagged> && !std::is_default_constructible_v<tagged>);

template <typename T>
std::vector<T> to_host(const device_uvector<T>& vector) {
  vector.stream().synchronize();
  std::vector<T> host(vector.size());
  if (!host.empty()) {
    EXPECT_EQ(
        cudaMemcpy(host.data(), vector.data(), vector.size() * sizeof(T), cudaMemcpyDeviceToHost),
        cudaSuccess);
  }
  return host;
}

template <typename T>
void from_host(device_uvector<T>& vector, const std::vector<T>& host) {
  ASSERT_EQ(host.size(), vector.size());
  ASSERT_EQ(cudaMemcpyAsync(vector.data(),
                            host.data(),
                            host.size() * sizeof(T),
                            cudaMemcpyHostToDevice,
                            vector.stream().value()),
            cudaSuccess);
  vector.stream().synchronize();
}

std::vector<int> iota(std::size_t count, int first = 0) {
  std::vector<int> values(count);
  std::iota(values.begin(), values.end(), first);
  return values;
}

TEST(DeviceUvector, AllocatesSizeElementsOnItsStreamFromItsResource) {
  gpumem::test::recording_resource resource;
  const gpumem::cuda_stream stream;
  {
    const device_uvector<std::int32_t> vector(100, stream, resource);
    EXPECT_EQ(vector.size(), 100U);
    EXPECT_EQ(vector.ssize(), 100);
    EXPECT_EQ(vector.capacity(), 100U);
    EXPECT_FALSE(vector.is_empty());
    ASSERT_NE(vector.data(), nullptr);
    EXPECT_EQ(vector.stream(), stream.view());
    EXPECT_TRUE(vector.memory_resource() == gpumem::device_async_resource_ref{resource});
    ASSERT_EQ(resource.allocations(), 1U);
    EXPECT_GE(resource.allocation_sizes()[0], 400U);
  }
  EXPECT_EQ(resource.outstanding_bytes(), 0U);
}

TEST(DeviceUvector, EmptyVectorHasNoStorage) {
  gpumem::test::recording_resource resource;
  const device_uvector<double> vector(0, gpumem::cuda_stream_default, resource);
  EXPECT_TRUE(vector.is_empty());
  EXPECT_EQ(vector.data(), nullptr);
  EXPECT_EQ(vector.begin(), vector.end());
  EXPECT_EQ(resource.allocations(), 0U);
}

TEST(DeviceUvector, ElementsRoundTripThroughTheHost) {
  const gpumem::cuda_stream stream;
  device_uvector<int> vector(10, stream);
  for (std::size_t i = 0; i < vector.size(); ++i)
    vector.set_element(i, static_cast<int>(i * 11), stream);
  for (std::size_t i = 0; i < vector.size(); ++i)
    EXPECT_EQ(vector.element(i, stream), static_cast<int>(i * 11));
  EXPECT_EQ(vector.front_element(stream), 0);
  EXPECT_EQ(vector.back_element(stream), 99);
  const int kept_alive = -5;
  vector.set_element_async(3, kept_alive, stream);
  stream.synchronize();
  EXPECT_EQ(to_host(vector)[3], -5);
}

TEST(DeviceUvector, SetElementToZero) {
  const gpumem::cuda_stream stream;
  device_uvector<std::int64_t> vector(4, stream);
  from_host(vector, std::vector<std::int64_t>{-1, -1, -1, -1});
  vector.set_element_to_zero_async(2, stream);
  EXPECT_EQ(to_host(vector), (std::vector<std::int64_t>{-1, -1, 0, -1}));
}

TEST(DeviceUvector, ElementOfATypeWithoutDefaultConstructor) {
  const gpumem::cuda_stream stream;
  device_uvector<tagged> vector(3, stream);
  vector.set_element(1, tagged{77}, stream);
  const tagged back = vector.element(1, stream);
  EXPECT_EQ(back.value, 77);
  EXPECT_EQ(back.tag, 't');
}

TEST(DeviceUvector, OutOfRangeAccessThrows) {
  const gpumem::cuda_stream stream;
  device_uvector<int> vector(5, stream);
  const int value = 1;
  EXPECT_THROW((void)vector.element(5, stream), gpumem::out_of_range);
  EXPECT_THROW(vector.set_element(5, value, stream), gpumem::out_of_range);
  EXPECT_THROW(vector.set_element_async(6, value, stream), gpumem::out_of_range);
  EXPECT_THROW(vector.set_element_to_zero_async(5, stream), gpumem::out_of_range);
  const device_uvector<int> empty(0, stream);
  EXPECT_THROW((void)empty.front_element(stream), gpumem::out_of_range);
  EXPECT_THROW((void)empty.back_element(stream), gpumem::out_of_range);
}

TEST(DeviceUvector, IteratorsAreDevicePointers) {
  device_uvector<int> vector(8, gpumem::cuda_stream_default);
  const auto& as_const = vector;
  EXPECT_EQ(vector.begin(), vector.data());
  EXPECT_EQ(vector.end(), vector.data() + 8);
  EXPECT_EQ(as_const.begin(), as_const.data());
  EXPECT_EQ(vector.cbegin(), as_const.data());
  EXPECT_EQ(vector.cend() - vector.cbegin(), 8);
  EXPECT_EQ(vector.rbegin().base(), vector.end());
  EXPECT_EQ(vector.rend().base(), vector.begin());
  EXPECT_EQ(vector.crbegin().base(), vector.cend());
  EXPECT_EQ(std::distance(vector.rbegin(), vector.rend()), 8);
  EXPECT_EQ(vector.element_ptr(3), vector.data() + 3);
}

TEST(DeviceUvector, ConvertsToSpans) {
  device_uvector<int> vector(6, gpumem::cuda_stream_default);
  const cuda::std::span<int> span = vector;
  EXPECT_EQ(span.data(), vector.data());
  EXPECT_EQ(span.size(), 6U);
  const auto& as_const = vector;
  const cuda::std::span<const int> const_span = as_const;
  EXPECT_EQ(const_span.data(), vector.data());
  EXPECT_EQ(const_span.size(), 6U);
}

TEST(DeviceUvector, CopyConstructorIsDeep) {
  gpumem::test::recording_resource other_resource;
  const gpumem::cuda_stream stream;
  device_uvector<int> original(50, stream);
  from_host(original, iota(50));
  const device_uvector<int> copy(original, stream, other_resource);
  EXPECT_NE(copy.data(), original.data());
  EXPECT_EQ(copy.size(), 50U);
  EXPECT_EQ(other_resource.allocations(), 1U);
  EXPECT_TRUE(copy.memory_resource() == gpumem::device_async_resource_ref{other_resource});
  from_host(original, std::vector<int>(50, 0));
  EXPECT_EQ(to_host(copy), iota(50));
}

TEST(DeviceUvector, MovesLeaveTheSourceEmpty) {
  gpumem::test::recording_resource resource;
  const gpumem::cuda_stream stream;
  device_uvector<int> source(20, stream, resource);
  from_host(source, iota(20, 100));
  const int* pointer = source.data();
  device_uvector<int> moved{std::move(source)};
  EXPECT_EQ(moved.data(), pointer);
  EXPECT_EQ(moved.size(), 20U);
  EXPECT_EQ(source.size(),
            0U);  // NOLINT(bugprone-use-after-move): the moved-from state is the subject
  EXPECT_EQ(source.data(), nullptr);
  EXPECT_TRUE(source.is_empty());

  device_uvector<int> target(3, stream, resource);
  target = std::move(moved);
  EXPECT_EQ(target.data(), pointer);
  EXPECT_EQ(moved.data(), nullptr);         // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(resource.deallocations(), 1U);  // target's own 3 elements
  EXPECT_EQ(to_host(target), iota(20, 100));
}

TEST(DeviceUvector, ResizeReserveAndShrinkKeepTheContents) {
  gpumem::test::recording_resource resource;
  const gpumem::cuda_stream stream;
  device_uvector<int> vector(100, stream, resource);
  from_host(vector, iota(100));

  vector.resize(250, stream);
  EXPECT_EQ(vector.size(), 250U);
  EXPECT_EQ(vector.capacity(), 250U);
  auto grown = to_host(vector);
  EXPECT_EQ(std::vector<int>(grown.begin(), grown.begin() + 100), iota(100));

  const int* pointer = vector.data();
  vector.resize(40, stream);
  EXPECT_EQ(vector.size(), 40U);
  EXPECT_EQ(vector.capacity(), 250U);
  EXPECT_EQ(vector.data(), pointer);
  EXPECT_EQ(resource.allocations(), 2U);

  vector.shrink_to_fit(stream);
  EXPECT_EQ(vector.capacity(), 40U);
  EXPECT_EQ(to_host(vector), iota(40));

  vector.reserve(1000, stream);
  EXPECT_EQ(vector.capacity(), 1000U);
  EXPECT_EQ(vector.size(), 40U);
  EXPECT_EQ(to_host(vector), iota(40));
  const auto allocations = resource.allocations();
  vector.reserve(10, stream);
  EXPECT_EQ(vector.capacity(), 1000U);
  EXPECT_EQ(resource.allocations(), allocations);
}

TEST(DeviceUvector, ReleaseHandsOverTheStorage) {
  gpumem::test::recording_resource resource;
  const gpumem::cuda_stream stream;
  device_uvector<std::int16_t> vector(30, stream, resource);
  const void* pointer = vector.data();
  {
    gpumem::device_buffer storage = vector.release();
    EXPECT_EQ(storage.data(), pointer);
    EXPECT_EQ(storage.size(), 30 * sizeof(std::int16_t));
    EXPECT_EQ(storage.stream(), stream.view());
    EXPECT_TRUE(vector.is_empty());
    EXPECT_EQ(vector.data(), nullptr);
    EXPECT_EQ(resource.deallocations(), 0U);
  }
  EXPECT_EQ(resource.deallocations(), 1U);
}

TEST(DeviceUvector, SetStreamChangesItsStream) {
  const gpumem::cuda_stream first;
  const gpumem::cuda_stream second;
  device_uvector<int> vector(4, first);
  first.synchronize();
  vector.set_stream(second);
  EXPECT_EQ(vector.stream(), second.view());
  vector.resize(100, second);
  EXPECT_EQ(vector.stream(), second.view());
}

TEST(DeviceUvector, FailedAllocationThrowsAndLeaksNothing) {
  gpumem::test::recording_resource tiny{16};
  EXPECT_THROW(device_uvector<int>(100, gpumem::cuda_stream_default, tiny), gpumem::out_of_memory);
  device_uvector<int> source(100, gpumem::cuda_stream_default);
  EXPECT_THROW(device_uvector<int>(source, gpumem::cuda_stream_default, tiny),
               gpumem::out_of_memory);
  EXPECT_EQ(tiny.allocations(), 0U);
  EXPECT_EQ(tiny.outstanding_bytes(), 0U);
}

TEST(DeviceUvector, OutOfDeviceMemoryLeaksNothing) {
  GPUMEM_REQUIRE_SIMULATOR();
  const auto before = simulator::outstanding_allocations(0);
  simulator::fail_allocation(1);
  EXPECT_THROW(device_uvector<float>(1000, gpumem::cuda_stream_default), gpumem::out_of_memory);
  simulator::fail_allocation(0);
  EXPECT_EQ(simulator::outstanding_allocations(0), before);
}

TEST(DeviceUvector, TooManyElementsForAByteCountThrows) {
  gpumem::test::recording_resource resource;
  const std::size_t too_many = std::numeric_limits<std::size_t>::max() / 4;
  EXPECT_THROW(device_uvector<std::uint64_t>(too_many, gpumem::cuda_stream_default, resource),
               gpumem::out_of_range);
  EXPECT_EQ(resource.allocations(), 0U);
}

TEST(RmmCompat, DeviceUvectorSpellings) {
  rmm::cuda_stream_view s{};
  rmm::device_uvector<std::int32_t> v(100, s);
  gpumem::test::recording_resource custom;
  rmm::mr::device_memory_resource* mr = &custom;
  rmm::device_uvector<std::int32_t> v2{100, s, mr};
  std::int32_t* ptr = v2.data();
  EXPECT_EQ(ptr, v2.begin());
  v.resize(200, s);
  EXPECT_EQ(v.size(), 200U);
  EXPECT_EQ(custom.allocations(), 1U);
}

}  // namespace
