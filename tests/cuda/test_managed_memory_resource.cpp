// managed_memory_resource (cudaMallocManaged / cudaFree), on the simulator and on the GPU.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <span>
#include <vector>

#include "cuda_platform.hpp"
#include "gpumem/aligned.hpp"
#include "gpumem/error.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/managed_memory_resource.hpp"
#include "gpumem/resource_ref.hpp"

namespace {

namespace simulator = gpumem::test::simulator;
using gpumem::mr::managed_memory_resource;

static_assert(cuda::mr::resource_with<managed_memory_resource,
                                      cuda::mr::host_accessible,
                                      cuda::mr::device_accessible>);
static_assert(cuda::mr::async_resource_with<managed_memory_resource,
                                            cuda::mr::host_accessible,
                                            cuda::mr::device_accessible>);
// cuda_memory_resource memory is not host accessible: the property is managed memory's own.
static_assert(
    !cuda::mr::resource_with<gpumem::mr::cuda_memory_resource, cuda::mr::host_accessible>);

constexpr std::size_t MiB = std::size_t{1} << 20;

TEST(ManagedMemoryResource, HostAndDeviceSeeTheSameData) {
  managed_memory_resource mr;
  constexpr std::size_t count = 1 << 18;
  void* pointer = mr.allocate(count * sizeof(int));
  ASSERT_NE(pointer, nullptr);
  const std::span<int> values{static_cast<int*>(pointer), count};

  // Written on the host, read through a device copy.
  std::iota(values.begin(), values.end(), 17);
  std::vector<int> copied(count, -1);
  ASSERT_EQ(cudaMemcpy(copied.data(), pointer, count * sizeof(int), cudaMemcpyDefault),
            cudaSuccess);
  std::vector<int> expected(count);
  std::iota(expected.begin(), expected.end(), 17);
  EXPECT_EQ(copied, expected);

  // Written by a copy, read on the host.
  std::iota(expected.begin(), expected.end(), -1000);
  ASSERT_EQ(cudaMemcpy(pointer, expected.data(), count * sizeof(int), cudaMemcpyDefault),
            cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_TRUE(std::equal(values.begin(), values.end(), expected.begin()));

  mr.deallocate(pointer, count * sizeof(int));
}

TEST(ManagedMemoryResource, PointerIsManagedMemory) {
  managed_memory_resource mr;
  void* pointer = mr.allocate(MiB);
  cudaPointerAttributes attributes{};
  ASSERT_EQ(cudaPointerGetAttributes(&attributes, pointer), cudaSuccess);
  EXPECT_EQ(attributes.type, cudaMemoryTypeManaged);
  EXPECT_EQ(attributes.hostPointer, pointer);
  EXPECT_EQ(attributes.devicePointer, pointer);
  mr.deallocate(pointer, MiB);
}

TEST(ManagedMemoryResource, AllocationsAreAlignedTo256Bytes) {
  managed_memory_resource mr;
  std::vector<std::pair<void*, std::size_t>> blocks;
  for (const std::size_t size : {1UL, 8UL, 100UL, 255UL, 257UL, 4000UL, 1000000UL}) {
    void* pointer = mr.allocate(size);
    EXPECT_TRUE(gpumem::is_pointer_aligned(pointer, gpumem::CUDA_ALLOCATION_ALIGNMENT)) << size;
    blocks.emplace_back(pointer, size);
  }
  for (const auto& [pointer, size] : blocks)
    mr.deallocate(pointer, size);
}

TEST(ManagedMemoryResource, ZeroBytesGiveNull) {
  managed_memory_resource mr;
  void* pointer = mr.allocate(0);
  EXPECT_EQ(pointer, nullptr);
  EXPECT_NO_THROW(mr.deallocate(pointer, 0));
}

TEST(ManagedMemoryResource, AllInstancesAreEqual) {
  managed_memory_resource first;
  managed_memory_resource second;
  gpumem::mr::cuda_memory_resource cuda_mr;
  EXPECT_TRUE(first == second);
  EXPECT_TRUE(first.is_equal(second));
  EXPECT_FALSE(first != second);
  EXPECT_FALSE(first.is_equal(cuda_mr));
  EXPECT_FALSE(cuda_mr.is_equal(first));
  // Memory of one is freed by the other.
  void* pointer = first.allocate(MiB);
  second.deallocate(pointer, MiB);
}

TEST(ManagedMemoryResource, WorksThroughAHostDeviceResourceRef) {
  managed_memory_resource mr;
  gpumem::host_device_async_resource_ref ref{mr};
  void* pointer =
      ref.allocate_async(4096, gpumem::CUDA_ALLOCATION_ALIGNMENT, cuda::stream_ref{cudaStream_t{}});
  ASSERT_NE(pointer, nullptr);
  static_cast<unsigned char*>(pointer)[4095] = 42;
  unsigned char last = 0;
  ASSERT_EQ(cudaMemcpy(&last, static_cast<unsigned char*>(pointer) + 4095, 1, cudaMemcpyDefault),
            cudaSuccess);
  EXPECT_EQ(last, 42);
  ref.deallocate_async(
      pointer, 4096, gpumem::CUDA_ALLOCATION_ALIGNMENT, cuda::stream_ref{cudaStream_t{}});
}

TEST(ManagedMemoryResource, DestructionReturnsEverything) {
  GPUMEM_REQUIRE_SIMULATOR();
  const std::size_t outstanding_before = simulator::outstanding_allocations();
  {
    managed_memory_resource mr;
    void* first = mr.allocate(MiB);
    void* second = mr.allocate(100);
    EXPECT_EQ(simulator::outstanding_allocations(), outstanding_before + 2);
    mr.deallocate(first, MiB);
    mr.deallocate(second, 100);
  }
  EXPECT_EQ(simulator::outstanding_allocations(), outstanding_before);
}

TEST(ManagedMemoryResource, OutOfMemoryIsReportedAsOutOfMemory) {
  GPUMEM_REQUIRE_SIMULATOR();  // a GPU may oversubscribe managed memory instead of failing
  simulator::fail_allocation(1);
  managed_memory_resource mr;
  EXPECT_THROW((void)mr.allocate(MiB), gpumem::out_of_memory);
  simulator::fail_allocation(0);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

}  // namespace
