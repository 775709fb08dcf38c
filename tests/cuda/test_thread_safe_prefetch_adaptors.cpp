// thread_safe_resource_adaptor and prefetch_resource_adaptor, on the simulator and on the GPU.

#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "adaptor_test_resources.hpp"
#include "cuda_platform.hpp"
#include "gpumem/error.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/prefetch_resource_adaptor.hpp"
#include "gpumem/mr/thread_safe_resource_adaptor.hpp"

namespace {

using gpumem::mr::cuda_memory_resource;
using gpumem::mr::prefetch_resource_adaptor;
using gpumem::mr::thread_safe_resource_adaptor;
using gpumem::test::managed_test_resource;
using gpumem::test::recording_host_resource;

// --- thread_safe_resource_adaptor

TEST(ThreadSafeAdaptor, CallsReachTheUpstreamOneAtATime) {
  recording_host_resource upstream;
  upstream.linger_inside(true);
  thread_safe_resource_adaptor safe{upstream};
  constexpr int threads = 8;
  constexpr int rounds = 200;
  std::vector<std::thread> workers;
  for (int thread = 0; thread < threads; ++thread) {
    workers.emplace_back([&safe] {
      for (int round = 0; round < rounds; ++round) {
        void* ptr = safe.allocate(256);
        safe.deallocate(ptr, 256);
      }
    });
  }
  for (auto& worker : workers)
    worker.join();
  EXPECT_EQ(upstream.overlapping_calls(), 0U);
  EXPECT_EQ(upstream.allocate_calls(), static_cast<std::size_t>(threads * rounds));
  EXPECT_EQ(upstream.deallocations().size(), static_cast<std::size_t>(threads * rounds));
  EXPECT_EQ(upstream.outstanding(), 0U);
}

TEST(ThreadSafeAdaptor, FailureReleasesTheLock) {
  cuda_memory_resource cuda_mr;
  thread_safe_resource_adaptor<cuda_memory_resource> safe{&cuda_mr};
  EXPECT_THROW((void)safe.allocate(gpumem::test::more_than_any_device), gpumem::out_of_memory);
  std::thread other{[&safe] {
    void* ptr = safe.allocate(256);  // would block forever if the failed call kept the mutex
    safe.deallocate(ptr, 256);
  }};
  other.join();
}

TEST(ThreadSafeAdaptor, PassesArgumentsThrough) {
  recording_host_resource upstream;
  thread_safe_resource_adaptor safe{&upstream};
  void* ptr = safe.allocate(1000, gpumem::cuda_stream_per_thread);
  safe.deallocate(ptr, 1000, gpumem::cuda_stream_per_thread);
  ASSERT_EQ(upstream.allocations().size(), 1U);
  EXPECT_EQ(upstream.allocations()[0].ptr, ptr);
  EXPECT_EQ(upstream.allocations()[0].stream, cudaStreamPerThread);
  ASSERT_EQ(upstream.deallocations().size(), 1U);
  EXPECT_EQ(upstream.deallocations()[0].ptr, ptr);
  EXPECT_EQ(upstream.deallocations()[0].bytes, upstream.allocations()[0].bytes);
}

// --- prefetch_resource_adaptor

TEST(PrefetchAdaptor, MemoryThatIsNotManagedIsKeptAndTheErrorCleared) {
  cuda_memory_resource cuda_mr;
  prefetch_resource_adaptor prefetching{cuda_mr};
  void* ptr = prefetching.allocate(1 << 20);
  EXPECT_NE(ptr, nullptr);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_EQ(cudaPeekAtLastError(), cudaSuccess);
  prefetching.deallocate(ptr, 1 << 20);
}

TEST(PrefetchAdaptor, ManagedMemoryIsPrefetchedOnTheAllocationStream) {
  managed_test_resource managed_mr;
  prefetch_resource_adaptor<managed_test_resource> prefetching{&managed_mr};
  cudaStream_t stream{};
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  void* ptr = prefetching.allocate(1 << 20, gpumem::cuda_stream_view{stream});
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  // Managed memory stays usable from the host.
  static_cast<char*>(ptr)[0] = 42;
  EXPECT_EQ(static_cast<char*>(ptr)[0], 42);
  prefetching.deallocate(ptr, 1 << 20, gpumem::cuda_stream_view{stream});
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

TEST(PrefetchAdaptor, EveryManagedAllocationIsPrefetchedOnce) {
  GPUMEM_REQUIRE_SIMULATOR();
  managed_test_resource managed_mr;
  prefetch_resource_adaptor prefetching{managed_mr};
  gpumem::test::simulator::reset_call_counts();
  void* first = prefetching.allocate(4096);
  void* second = prefetching.allocate(8192);
  EXPECT_EQ(gpumem::test::simulator::call_count("cuMemPrefetchAsync_v2"), 2U);
  prefetching.deallocate(first, 4096);
  prefetching.deallocate(second, 8192);
  EXPECT_EQ(gpumem::test::simulator::call_count("cuMemPrefetchAsync_v2"), 2U);
}

TEST(PrefetchAdaptor, ManagedMemoryLandsOnTheCurrentDevice) {
  if (gpumem::test::on_simulator()) GTEST_SKIP() << "the simulator keeps no prefetch location";
  int concurrent_managed_access = 0;
  ASSERT_EQ(
      cudaDeviceGetAttribute(&concurrent_managed_access, cudaDevAttrConcurrentManagedAccess, 0),
      cudaSuccess);
  if (concurrent_managed_access == 0) GTEST_SKIP() << "the device cannot prefetch managed memory";
  managed_test_resource managed_mr;
  prefetch_resource_adaptor prefetching{managed_mr};
  void* ptr = prefetching.allocate(1 << 21);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  // Looked up at run time: the simulator's runtime has no cudaMemRangeGetAttribute, and a
  // direct reference would keep this program from loading there.
  using range_attribute_function =
      cudaError_t (*)(void*, std::size_t, cudaMemRangeAttribute, const void*, std::size_t);
  const auto range_attribute =
      reinterpret_cast<range_attribute_function>(::dlsym(RTLD_DEFAULT, "cudaMemRangeGetAttribute"));
  ASSERT_NE(range_attribute, nullptr);
  int location_type = -1;
  int location_id = -1;
  ASSERT_EQ(range_attribute(&location_type,
                            sizeof location_type,
                            cudaMemRangeAttributeLastPrefetchLocationType,
                            ptr,
                            1 << 21),
            cudaSuccess);
  ASSERT_EQ(range_attribute(&location_id,
                            sizeof location_id,
                            cudaMemRangeAttributeLastPrefetchLocationId,
                            ptr,
                            1 << 21),
            cudaSuccess);
  int device = -1;
  ASSERT_EQ(cudaGetDevice(&device), cudaSuccess);
  EXPECT_EQ(location_type, cudaMemLocationTypeDevice);
  EXPECT_EQ(location_id, device);
  prefetching.deallocate(ptr, 1 << 21);
}

TEST(PrefetchAdaptor, UpstreamOutOfMemoryPropagates) {
  cuda_memory_resource cuda_mr;
  prefetch_resource_adaptor prefetching{cuda_mr};
  EXPECT_THROW((void)prefetching.allocate(gpumem::test::more_than_any_device),
               gpumem::out_of_memory);
}

}  // namespace
