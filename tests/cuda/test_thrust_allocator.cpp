// thrust_allocator and the execution policies' temporary storage, from host code compiled by
// the host compiler (no kernel is launched), on the simulator and on the GPU. Thrust
// algorithms themselves are tested in tests/gpu/test_thrust_algorithms.cu.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>
#include <thrust/memory.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <rmm/device_vector.hpp>
#include <rmm/exec_policy.hpp>
#include <rmm/mr/device/thrust_allocator_adaptor.hpp>
#include <type_traits>

#include "allocator_test_resource.hpp"
#include "gpumem/aligned.hpp"
#include "gpumem/cuda_device.hpp"
#include "gpumem/device_vector.hpp"
#include "gpumem/error.hpp"
#include "gpumem/exec_policy.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/thrust_allocator_adaptor.hpp"

namespace {

using gpumem::cuda_device_id;
using gpumem::mr::thrust_allocator;
using gpumem::test::current_resource_scope;
using gpumem::test::event_recording_resource;
using gpumem::test::size_seen_by_resource;
using gpumem::test::test_stream;

static_assert(std::is_base_of_v<thrust::device_malloc_allocator<int>, thrust_allocator<int>>);
static_assert(std::is_same_v<thrust_allocator<int>::pointer, thrust::device_ptr<int>>);
static_assert(
    std::is_same_v<thrust_allocator<int>::rebind<double>::other, thrust_allocator<double>>);
static_assert(std::is_same_v<std::allocator_traits<thrust_allocator<int>>::rebind_alloc<double>,
                             thrust_allocator<double>>);
static_assert(cuda::has_property<thrust_allocator<int>, cuda::mr::device_accessible>);
static_assert(
    std::is_same_v<gpumem::device_vector<int>, thrust::device_vector<int, thrust_allocator<int>>>);
static_assert(std::is_same_v<rmm::device_vector<int>, gpumem::device_vector<int>>);
static_assert(std::is_same_v<rmm::mr::thrust_allocator<int>, thrust_allocator<int>>);
static_assert(std::is_same_v<rmm::exec_policy, gpumem::exec_policy>);
static_assert(std::is_same_v<rmm::exec_policy_nosync, gpumem::exec_policy_nosync>);
// The policies are Thrust CUDA policies that carry a thrust_allocator<char>.
static_assert(std::is_base_of_v<thrust::cuda_cub::execution_policy<gpumem::thrust_exec_policy_t>,
                                gpumem::exec_policy>);
static_assert(
    std::is_base_of_v<thrust::cuda_cub::execution_policy<gpumem::thrust_exec_policy_nosync_t>,
                      gpumem::exec_policy_nosync>);

TEST(ThrustAllocator, DefaultUsesTheDefaultStreamAndTheCurrentResource) {
  event_recording_resource recording;
  current_resource_scope scope{recording};
  thrust_allocator<int> allocator;
  EXPECT_EQ(allocator.stream(), gpumem::cuda_stream_default);
  EXPECT_EQ(allocator.get_upstream_resource(), gpumem::device_async_resource_ref{recording});
  EXPECT_EQ(allocator.resource(), gpumem::device_async_resource_ref{recording});
  EXPECT_EQ(allocator.device(), gpumem::get_current_cuda_device());
  const thrust::device_ptr<int> ptr = allocator.allocate(5);
  allocator.deallocate(ptr, 5);
  ASSERT_EQ(recording.events().size(), 2U);
  EXPECT_EQ(recording.events()[0].stream, nullptr);
}

TEST(ThrustAllocator, StreamOnlyConstructorUsesTheCurrentResource) {
  event_recording_resource recording;
  current_resource_scope scope{recording};
  test_stream stream;
  const thrust_allocator<int> allocator{stream.view()};
  EXPECT_EQ(allocator.stream(), stream.view());
  EXPECT_EQ(allocator.get_upstream_resource(), gpumem::device_async_resource_ref{recording});
}

TEST(ThrustAllocator, AllocatesCountObjectsThroughTheResourceOnItsStream) {
  event_recording_resource recording;
  test_stream stream;
  thrust_allocator<double> allocator{stream.view(), recording};
  const thrust::device_ptr<double> ptr = allocator.allocate(300);
  ASSERT_NE(ptr.get(), nullptr);
  EXPECT_TRUE(gpumem::is_pointer_aligned(ptr.get()));
  const auto allocations = recording.allocations();
  ASSERT_EQ(allocations.size(), 1U);
  EXPECT_EQ(allocations[0].ptr, ptr.get());
  EXPECT_EQ(allocations[0].bytes, size_seen_by_resource(300 * sizeof(double)));  // 2400 -> 2560
  EXPECT_EQ(allocations[0].stream, stream.value());

  allocator.deallocate(ptr, 300);
  const auto frees = recording.frees();
  ASSERT_EQ(frees.size(), 1U);
  EXPECT_EQ(frees[0].ptr, ptr.get());
  EXPECT_EQ(frees[0].bytes, size_seen_by_resource(300 * sizeof(double)));
  EXPECT_EQ(frees[0].stream, stream.value());
}

TEST(ThrustAllocator, SeedFormTakesAResourcePointer) {
  gpumem::mr::cuda_memory_resource mr;
  thrust_allocator<int> allocator(gpumem::cuda_stream_default, &mr);
  EXPECT_EQ(allocator.get_upstream_resource(), gpumem::device_async_resource_ref{mr});
  const auto ptr = allocator.allocate(16);
  EXPECT_NE(ptr.get(), nullptr);
  allocator.deallocate(ptr, 16);
}

TEST(ThrustAllocator, ReboundCopyKeepsResourceStreamAndDevice) {
  event_recording_resource recording;
  test_stream stream;
  const thrust_allocator<int> ints{stream.view(), recording};
  thrust_allocator<char> chars{ints};
  EXPECT_EQ(chars.stream(), stream.view());
  EXPECT_EQ(chars.get_upstream_resource(), gpumem::device_async_resource_ref{recording});
  EXPECT_EQ(chars.device(), ints.device());
  const auto ptr = chars.allocate(7);
  chars.deallocate(ptr, 7);
  const auto allocations = recording.allocations();
  ASSERT_EQ(allocations.size(), 1U);
  EXPECT_EQ(allocations[0].bytes, size_seen_by_resource(7));
  EXPECT_EQ(allocations[0].stream, stream.value());
}

TEST(ThrustAllocator, EqualWhenResourceAndStreamAreTheSame) {
  event_recording_resource first;
  event_recording_resource second;
  test_stream stream;
  const thrust_allocator<int> a{stream.view(), first};
  const thrust_allocator<int> b{stream.view(), first};
  const thrust_allocator<double> c{stream.view(), first};
  const thrust_allocator<int> other_resource{stream.view(), second};
  const thrust_allocator<int> other_stream{gpumem::cuda_stream_default, first};
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a != b);
  EXPECT_TRUE(a == c);
  EXPECT_FALSE(a == other_resource);
  EXPECT_TRUE(a != other_resource);
  EXPECT_FALSE(a == other_stream);
  EXPECT_TRUE(a != other_stream);
}

TEST(ThrustAllocator, ResourceFailurePropagates) {
  event_recording_resource recording;
  thrust_allocator<char> chars{gpumem::cuda_stream_default, recording};
  EXPECT_THROW((void)chars.allocate(std::size_t{1} << 50), gpumem::out_of_memory);
  thrust_allocator<double> doubles{gpumem::cuda_stream_default, recording};
  EXPECT_THROW((void)doubles.allocate(static_cast<std::size_t>(-1) / 4), gpumem::bad_alloc);
  EXPECT_TRUE(recording.allocations().empty());
}

TEST(ThrustAllocator, DeviceRecordedAtConstructionIsCurrentForEachCall) {
  if (gpumem::get_num_cuda_devices() < 2) GTEST_SKIP() << "needs two devices";
  std::unique_ptr<event_recording_resource> on_one;
  std::unique_ptr<thrust_allocator<int>> allocator;
  {
    gpumem::cuda_set_device_raii device_one{cuda_device_id{1}};
    on_one = std::make_unique<event_recording_resource>();
    allocator = std::make_unique<thrust_allocator<int>>(gpumem::cuda_stream_default, *on_one);
  }
  ASSERT_EQ(gpumem::get_current_cuda_device(), cuda_device_id{0});
  EXPECT_EQ(allocator->device(), cuda_device_id{1});
  const auto ptr = allocator->allocate(64);
  EXPECT_EQ(gpumem::get_current_cuda_device(), cuda_device_id{0});  // the caller's device again
  cudaPointerAttributes attributes{};
  ASSERT_EQ(cudaPointerGetAttributes(&attributes, ptr.get()), cudaSuccess);
  EXPECT_EQ(attributes.device, 1);
  thrust_allocator<char> rebound{*allocator};
  EXPECT_EQ(rebound.device(), cuda_device_id{1});
  const auto bytes = rebound.allocate(8);
  rebound.deallocate(bytes, 8);
  allocator->deallocate(ptr, 64);
  EXPECT_EQ(gpumem::get_current_cuda_device(), cuda_device_id{0});
  const auto events = on_one->events();
  ASSERT_EQ(events.size(), 4U);
  for (const auto& event : events)
    EXPECT_EQ(event.device, 1);
}

// --- the policies' temporary storage (Thrust's get_temporary_buffer, as its algorithms use it)

template <typename Policy>
void expect_temporary_storage_from(Policy policy,
                                   event_recording_resource& recording,
                                   cudaStream_t stream) {
  auto& allocator = policy.get_allocator();
  static_assert(
      std::is_same_v<std::remove_reference_t<decltype(allocator)>, thrust_allocator<char>>);
  EXPECT_EQ(allocator.stream(), gpumem::cuda_stream_view{stream});
  EXPECT_EQ(allocator.get_upstream_resource(), gpumem::device_async_resource_ref{recording});
  auto [ptr, count] = thrust::get_temporary_buffer<int>(policy, 100);
  EXPECT_EQ(count, 100);
  thrust::return_temporary_buffer(policy, ptr, count);
  const auto events = recording.events();
  ASSERT_EQ(events.size(), 2U);
  EXPECT_TRUE(events[0].allocation);
  EXPECT_EQ(events[0].ptr, thrust::raw_pointer_cast(ptr));
  for (const auto& event : events) {
    EXPECT_EQ(event.bytes, size_seen_by_resource(100 * sizeof(int)));
    EXPECT_EQ(event.stream, stream);
  }
}

TEST(ExecPolicy, TemporaryStorageComesFromTheGivenResourceOnTheStream) {
  event_recording_resource recording;
  test_stream stream;
  expect_temporary_storage_from(
      gpumem::exec_policy(stream.view(), recording), recording, stream.value());
}

TEST(ExecPolicy, DefaultsAreTheDefaultStreamAndTheCurrentResource) {
  event_recording_resource recording;
  current_resource_scope scope{recording};
  expect_temporary_storage_from(gpumem::exec_policy(), recording, nullptr);
}

TEST(ExecPolicyNosync, TemporaryStorageComesFromTheGivenResourceOnTheStream) {
  event_recording_resource recording;
  test_stream stream;
  expect_temporary_storage_from(
      gpumem::exec_policy_nosync(stream.view(), recording), recording, stream.value());
}

TEST(ExecPolicyNosync, DefaultsAreTheDefaultStreamAndTheCurrentResource) {
  event_recording_resource recording;
  current_resource_scope scope{recording};
  expect_temporary_storage_from(gpumem::exec_policy_nosync(), recording, nullptr);
}

TEST(ExecPolicy, RecordsTheDeviceCurrentAtConstruction) {
  if (gpumem::get_num_cuda_devices() < 2) GTEST_SKIP() << "needs two devices";
  std::unique_ptr<event_recording_resource> on_one;
  std::unique_ptr<gpumem::exec_policy> policy;
  {
    gpumem::cuda_set_device_raii device_one{cuda_device_id{1}};
    on_one = std::make_unique<event_recording_resource>();
    policy = std::make_unique<gpumem::exec_policy>(gpumem::cuda_stream_default, *on_one);
  }
  auto [ptr, count] = thrust::get_temporary_buffer<char>(*policy, 1000);
  thrust::return_temporary_buffer(*policy, ptr, count);
  EXPECT_EQ(gpumem::get_current_cuda_device(), cuda_device_id{0});
  const auto events = on_one->events();
  ASSERT_EQ(events.size(), 2U);
  for (const auto& event : events)
    EXPECT_EQ(event.device, 1);
}

}  // namespace
