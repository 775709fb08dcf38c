// device_scalar: values to and from the host, copies, moves, its stream, failures; on the
// simulator and on the GPU. Also the seeds' RMM spellings through <rmm/device_scalar.hpp>.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <rmm/cuda_stream.hpp>
#include <rmm/device_scalar.hpp>
#include <type_traits>
#include <utility>

#include "cuda_platform.hpp"
#include "gpumem/cuda_stream.hpp"
#include "gpumem/device_scalar.hpp"
#include "gpumem/error.hpp"
#include "recording_resource.hpp"

namespace {

namespace simulator = gpumem::test::simulator;
using gpumem::cuda_stream_view;
using gpumem::device_scalar;

template <typename Scalar>
concept set_value_async_takes_rvalues = requires(Scalar& scalar, cuda_stream_view stream) {
  scalar.set_value_async(42, stream);
};
template <typename Scalar>
concept set_value_async_takes_const_rvalues = requires(Scalar& scalar,
                                                       const int value,
                                                       cuda_stream_view stream) {
  scalar.set_value_async(std::move(value), stream);
};
template <typename Scalar>
concept set_value_async_takes_lvalues = requires(Scalar& scalar,
                                                 int value,
                                                 cuda_stream_view stream) {
  scalar.set_value_async(value, stream);
};
static_assert(!set_value_async_takes_rvalues<device_scalar<int>>);
static_assert(!set_value_async_takes_const_rvalues<device_scalar<int>>);
static_assert(set_value_async_takes_lvalues<device_scalar<int>>);

static_assert(!std::is_default_constructible_v<device_scalar<int>>);
static_assert(!std::is_copy_constructible_v<device_scalar<int>>);
static_assert(std::is_nothrow_move_constructible_v<device_scalar<int>>);
static_assert(!std::is_convertible_v<cuda_stream_view, device_scalar<int>>,
              "the stream constructor is explicit");

struct sample {
  std::int32_t count;
  double mean;
  char name[5];
};

TEST(DeviceScalar, SetValueAsyncThenValue) {
  gpumem::test::recording_resource resource;
  const gpumem::cuda_stream stream;
  {
    device_scalar<int> scalar{stream, resource};
    EXPECT_EQ(scalar.size(), 1U);
    ASSERT_NE(scalar.data(), nullptr);
    EXPECT_EQ(scalar.stream(), stream.view());
    EXPECT_EQ(resource.allocations(), 1U);
    EXPECT_GE(resource.allocation_sizes()[0], sizeof(int));
    const int value = 42;
    scalar.set_value_async(value, stream);
    EXPECT_EQ(scalar.value(stream), 42);
    // The object lives at data(): read it there directly.
    int direct = 0;
    ASSERT_EQ(cudaMemcpy(&direct, scalar.data(), sizeof(int), cudaMemcpyDeviceToHost), cudaSuccess);
    EXPECT_EQ(direct, 42);
  }
  EXPECT_EQ(resource.outstanding_bytes(), 0U);
}

TEST(DeviceScalar, InitialValue) {
  const gpumem::cuda_stream stream;
  const double initial = 2.5;
  const device_scalar<double> from_lvalue{initial, stream};
  EXPECT_EQ(from_lvalue.value(stream), 2.5);
  const device_scalar<std::int64_t> from_temporary{std::int64_t{-9}, stream};
  EXPECT_EQ(from_temporary.value(stream), -9);
}

TEST(DeviceScalar, SetValueToZero) {
  const gpumem::cuda_stream stream;
  device_scalar<std::uint32_t> scalar{0xFFFFFFFFU, stream};
  scalar.set_value_to_zero_async(stream);
  EXPECT_EQ(scalar.value(stream), 0U);
}

TEST(DeviceScalar, SetValueTakesATemporaryAndSynchronizes) {
  const gpumem::cuda_stream stream;
  device_scalar<int> scalar{stream};
  scalar.set_value(42, stream);
  EXPECT_EQ(cudaStreamQuery(stream.value()), cudaSuccess);
  int direct = 0;
  ASSERT_EQ(cudaMemcpy(&direct, scalar.data(), sizeof(int), cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(direct, 42);
}

TEST(DeviceScalar, StructValues) {
  const gpumem::cuda_stream stream;
  const sample value{7, 0.25, {'a', 'b', 'c', 'd', '\0'}};
  const device_scalar<sample> scalar{value, stream};
  const sample back = scalar.value(stream);
  EXPECT_EQ(back.count, 7);
  EXPECT_EQ(back.mean, 0.25);
  EXPECT_STREQ(back.name, "abcd");
}

TEST(DeviceScalar, CopyIsDeep) {
  gpumem::test::recording_resource other_resource;
  const gpumem::cuda_stream stream;
  device_scalar<int> original{11, stream};
  const device_scalar<int> copy{original, stream, other_resource};
  EXPECT_NE(copy.data(), original.data());
  EXPECT_EQ(other_resource.allocations(), 1U);
  original.set_value(12, stream);
  EXPECT_EQ(copy.value(stream), 11);
  EXPECT_EQ(original.value(stream), 12);
}

TEST(DeviceScalar, MovesKeepTheObject) {
  gpumem::test::recording_resource resource;
  const gpumem::cuda_stream stream;
  device_scalar<int> source{5, stream, resource};
  const int* pointer = source.data();
  device_scalar<int> moved{std::move(source)};
  EXPECT_EQ(moved.data(), pointer);
  EXPECT_EQ(source.data(),
            nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state is the subject
  EXPECT_EQ(moved.value(stream), 5);

  device_scalar<int> target{6, stream, resource};
  target = std::move(moved);
  EXPECT_EQ(target.data(), pointer);
  EXPECT_EQ(target.value(stream), 5);
  EXPECT_EQ(resource.deallocations(), 1U);  // target's own object
}

TEST(DeviceScalar, SetStream) {
  const gpumem::cuda_stream first;
  const gpumem::cuda_stream second;
  device_scalar<int> scalar{first};
  first.synchronize();
  scalar.set_stream(second);
  EXPECT_EQ(scalar.stream(), second.view());
}

TEST(DeviceScalar, FailedAllocationThrowsAndLeaksNothing) {
  gpumem::test::recording_resource tiny{1};
  EXPECT_THROW(device_scalar<int>(gpumem::cuda_stream_default, tiny), gpumem::out_of_memory);
  const int initial = 3;
  EXPECT_THROW(device_scalar<int>(initial, gpumem::cuda_stream_default, tiny),
               gpumem::out_of_memory);
  EXPECT_EQ(tiny.allocations(), 0U);
  EXPECT_EQ(tiny.outstanding_bytes(), 0U);
}

TEST(DeviceScalar, OutOfDeviceMemoryLeaksNothing) {
  GPUMEM_REQUIRE_SIMULATOR();
  const auto before = simulator::outstanding_allocations(0);
  simulator::fail_allocation(1);
  EXPECT_THROW(device_scalar<int>(gpumem::cuda_stream_default), gpumem::out_of_memory);
  simulator::fail_allocation(0);
  EXPECT_EQ(simulator::outstanding_allocations(0), before);
}

TEST(RmmCompat, DeviceScalarSpellings) {
  rmm::cuda_stream stream;
  rmm::device_scalar<int> scalar(stream.view());
  scalar.set_value(42, stream.view());
  int value = scalar.value(stream.view());
  EXPECT_EQ(value, 42);
  int* d_ptr = scalar.data();
  EXPECT_NE(d_ptr, nullptr);
  rmm::cuda_stream_view s = stream;
  rmm::device_scalar<std::int32_t> a{s};
  a.set_value(42, s);
  std::int32_t v = a.value(s);
  EXPECT_EQ(v, 42);
}

}  // namespace
