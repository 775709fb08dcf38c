// Thrust algorithms (they launch kernels: GPU only) with gpumem's execution policies and
// allocators: the results are right, vector storage comes from the vector's allocator and
// temporary storage from the policy's resource, on the policy's stream.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>
#include <thrust/copy.h>
#include <thrust/device_ptr.h>
#include <thrust/device_vector.h>
#include <thrust/fill.h>
#include <thrust/functional.h>
#include <thrust/reduce.h>
#include <thrust/sequence.h>
#include <thrust/sort.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <rmm/device_vector.hpp>
#include <rmm/exec_policy.hpp>
#include <rmm/mr/device/cuda_memory_resource.hpp>
#include <rmm/mr/device/thrust_allocator_adaptor.hpp>
#include <utility>
#include <vector>

#include "../cuda/allocator_test_resource.hpp"
#include "gpumem/device_vector.hpp"
#include "gpumem/exec_policy.hpp"
#include "gpumem/mr/cuda_async_memory_resource.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/statistics_resource_adaptor.hpp"
#include "gpumem/mr/thrust_allocator_adaptor.hpp"

namespace {

using gpumem::mr::thrust_allocator;
using gpumem::test::current_resource_scope;
using gpumem::test::event_recording_resource;
using gpumem::test::test_stream;

constexpr int count = 1 << 20;  // large enough that sort and reduce need temporary storage

template <typename Vector>
std::vector<int> to_host(const Vector& vector) {
  std::vector<int> host(vector.size());
  thrust::copy(vector.begin(), vector.end(), host.begin());
  return host;
}

std::vector<int> to_host(const int* device, std::size_t size) {
  std::vector<int> host(size);
  EXPECT_EQ(cudaMemcpy(host.data(), device, size * sizeof(int), cudaMemcpyDeviceToHost),
            cudaSuccess);
  return host;
}

bool all_on_stream(const std::vector<gpumem::test::resource_event>& events, cudaStream_t stream) {
  return std::all_of(
      events.begin(), events.end(), [stream](const auto& event) { return event.stream == stream; });
}

TEST(ExecPolicy, SortOnAStreamTakesTemporaryStorageFromTheResource) {
  event_recording_resource vector_storage;
  event_recording_resource scratch;
  test_stream stream;
  thrust::device_vector<int, thrust_allocator<int>> vec(
      count, thrust_allocator<int>{stream.view(), vector_storage});
  ASSERT_EQ(vector_storage.allocations().size(), 1U);
  EXPECT_EQ(vector_storage.allocations()[0].bytes, count * sizeof(int));
  EXPECT_EQ(vector_storage.allocations()[0].stream, stream.value());

  thrust::sequence(
      gpumem::exec_policy(stream.view(), scratch), vec.begin(), vec.end(), count - 1, -1);
  thrust::sort(gpumem::exec_policy(stream.view(), scratch), vec.begin(), vec.end());
  ASSERT_EQ(cudaStreamSynchronize(stream.value()), cudaSuccess);

  std::vector<int> expected(count);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(to_host(vec), expected);
  EXPECT_GE(scratch.allocations().size(), 1U);  // the sort's scratch
  EXPECT_EQ(scratch.frees().size(), scratch.allocations().size());
  EXPECT_TRUE(all_on_stream(scratch.events(), stream.value()));
  EXPECT_EQ(vector_storage.allocations().size(), 1U);  // the sort did not use the vector's resource
}

TEST(ExecPolicyNosync, SortOnAStreamTakesTemporaryStorageFromTheResource) {
  event_recording_resource vector_storage;
  event_recording_resource scratch;
  test_stream stream;
  thrust::device_vector<int, thrust_allocator<int>> vec(
      count, thrust_allocator<int>{stream.view(), vector_storage});
  thrust::sequence(
      gpumem::exec_policy_nosync(stream.view(), scratch), vec.begin(), vec.end(), count - 1, -1);
  thrust::sort(gpumem::exec_policy_nosync(stream.view(), scratch),
               vec.begin(),
               vec.end(),
               thrust::greater<int>{});
  ASSERT_EQ(cudaStreamSynchronize(stream.value()), cudaSuccess);

  std::vector<int> expected(count);
  std::iota(expected.rbegin(), expected.rend(), 0);
  EXPECT_EQ(to_host(vec), expected);
  EXPECT_GE(scratch.allocations().size(), 1U);
  EXPECT_EQ(scratch.outstanding_bytes(), 0U);
  EXPECT_TRUE(all_on_stream(scratch.events(), stream.value()));
}

TEST(ExecPolicy, ReduceReturnsTheSumWithScratchFromTheResource) {
  event_recording_resource scratch;
  test_stream stream;
  gpumem::device_vector<int> vec(count, 3, thrust_allocator<int>{stream.view(), scratch});
  const auto after_vector = scratch.allocations().size();
  const long long sum =
      thrust::reduce(gpumem::exec_policy(stream.view(), scratch), vec.begin(), vec.end(), 0LL);
  EXPECT_EQ(sum, 3LL * count);
  EXPECT_GT(scratch.allocations().size(), after_vector);  // the reduction's scratch
  EXPECT_TRUE(all_on_stream(scratch.events(), stream.value()));
}

TEST(ExecPolicy, DefaultsUseTheCurrentResourceAndTheDefaultStream) {
  event_recording_resource recording;
  current_resource_scope scope{recording};
  gpumem::device_vector<int> vec(count);  // default allocator: current resource, default stream
  ASSERT_EQ(recording.allocations().size(), 1U);
  thrust::fill(gpumem::exec_policy(), vec.begin(), vec.end(), 42);
  const auto before_sort = recording.allocations().size();
  thrust::sort(gpumem::exec_policy(), vec.begin(), vec.end());
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_GT(recording.allocations().size(), before_sort);
  EXPECT_TRUE(all_on_stream(recording.events(), nullptr));
  EXPECT_EQ(to_host(vec), std::vector<int>(count, 42));
}

TEST(ExecPolicy, RawPointerRange) {
  event_recording_resource scratch;
  test_stream stream;
  gpumem::mr::cuda_memory_resource cuda_mr;
  auto* data = static_cast<int*>(cuda_mr.allocate(count * sizeof(int), stream.view()));
  thrust::sequence(gpumem::exec_policy(stream.view(), scratch), data, data + count);
  thrust::sort(
      gpumem::exec_policy(stream.view(), scratch), data, data + count, thrust::greater<int>{});
  const long long sum =
      thrust::reduce(gpumem::exec_policy_nosync(stream.view(), scratch), data, data + count, 0LL);
  EXPECT_EQ(sum, static_cast<long long>(count) * (count - 1) / 2);
  ASSERT_EQ(cudaStreamSynchronize(stream.value()), cudaSuccess);
  const auto host = to_host(data, count);
  EXPECT_EQ(host.front(), count - 1);
  EXPECT_EQ(host.back(), 0);
  EXPECT_TRUE(std::is_sorted(host.rbegin(), host.rend()));
  EXPECT_GE(scratch.allocations().size(), 2U);  // sort and reduce
  EXPECT_EQ(scratch.outstanding_bytes(), 0U);
  cuda_mr.deallocate(data, count * sizeof(int), stream.view());
}

TEST(ExecPolicy, StatisticsSeeTheScratchOfASeedStyleSort) {
  gpumem::mr::cuda_async_memory_resource custom_mr;
  gpumem::mr::statistics_resource_adaptor stats{custom_mr};
  test_stream stream;
  gpumem::device_vector<int> vec(count, thrust_allocator<int>{stream.view(), stats});
  EXPECT_EQ(stats.get_allocations_counter().total, 1);
  thrust::sequence(
      gpumem::exec_policy(stream.view(), stats), vec.begin(), vec.end(), count - 1, -1);
  thrust::sort(gpumem::exec_policy(stream.view(), stats), vec.begin(), vec.end());
  stream.view().synchronize();
  EXPECT_GT(stats.get_allocations_counter().total, 1);
  EXPECT_EQ(stats.get_allocations_counter().value, 1);  // only the vector is left
  EXPECT_EQ(stats.get_bytes_counter().value, static_cast<std::int64_t>(count * sizeof(int)));
  const auto host = to_host(vec);
  EXPECT_TRUE(std::is_sorted(host.begin(), host.end()));
  // The seed's form: a resource given by reference.
  thrust::sort(gpumem::exec_policy(stream.view(), custom_mr),
               vec.begin(),
               vec.end(),
               thrust::greater<int>{});
  stream.view().synchronize();
  EXPECT_EQ(to_host(vec).front(), count - 1);
}

TEST(DeviceVector, StorageComesFromTheAllocatorsResourceAndIsFreedThere) {
  event_recording_resource recording;
  test_stream stream;
  {
    gpumem::device_vector<int> vec(1000, 7, thrust_allocator<int>{stream.view(), recording});
    vec.resize(5000, 9);
    const auto host = to_host(vec);
    EXPECT_EQ(host[999], 7);
    EXPECT_EQ(host[4999], 9);
    EXPECT_EQ(vec.get_allocator().stream(), stream.view());
  }
  EXPECT_EQ(recording.outstanding_bytes(), 0U);
  EXPECT_GE(recording.allocations().size(), 2U);
  EXPECT_TRUE(all_on_stream(recording.events(), stream.value()));
}

TEST(DeviceVector, DeviceRecordedAtConstructionOwnsTheStorage) {
  int devices = 0;
  ASSERT_EQ(cudaGetDeviceCount(&devices), cudaSuccess);
  if (devices < 2) GTEST_SKIP() << "needs two devices";
  ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
  {
    event_recording_resource on_one;
    gpumem::device_vector<int> vec(
        16, 5, thrust_allocator<int>{gpumem::cuda_stream_default, on_one});
    ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
    // Destroyed with device 0 current: the free still happens on device 1.
    {
      gpumem::device_vector<int> moved{std::move(vec)};
      EXPECT_EQ(moved.size(), 16U);
    }
    const auto events = on_one.events();
    ASSERT_EQ(events.size(), 2U);
    EXPECT_EQ(events[0].device, 1);
    EXPECT_EQ(events[1].device, 1);
    int current = -1;
    ASSERT_EQ(cudaGetDevice(&current), cudaSuccess);
    EXPECT_EQ(current, 0);
    ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
  }
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
}

TEST(DeviceVector, SeedFormsWithRmmSpellings) {
  RMM_CUDA_TRY(cudaSetDevice(0));
  auto mr = rmm::mr::cuda_memory_resource{};
  rmm::device_vector<int> vec(16, rmm::mr::thrust_allocator<int>(rmm::cuda_stream_default, &mr));
  EXPECT_EQ(vec.get_allocator().get_upstream_resource(), rmm::device_async_resource_ref{mr});
  thrust::sequence(rmm::exec_policy(rmm::cuda_stream_default), vec.begin(), vec.end(), 15, -1);
  thrust::sort(rmm::exec_policy(rmm::cuda_stream_default, mr), vec.begin(), vec.end());
  rmm::cuda_stream_default.synchronize();
  std::vector<int> expected(16);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(to_host(vec), expected);
}

}  // namespace
