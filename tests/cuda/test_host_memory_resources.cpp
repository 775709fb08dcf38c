// Host memory resources: new_delete_resource, pinned_memory_resource (host_memory_resource
// classes) and pinned_host_memory_resource (a CCCL-style resource), on the simulator and on
// the GPU.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <type_traits>
#include <vector>

#include "cuda_platform.hpp"
#include "gpumem/aligned.hpp"
#include "gpumem/error.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/host_memory_resource.hpp"
#include "gpumem/mr/new_delete_resource.hpp"
#include "gpumem/mr/pinned_host_memory_resource.hpp"
#include "gpumem/mr/pinned_memory_resource.hpp"
#include "gpumem/resource_ref.hpp"

namespace {

namespace simulator = gpumem::test::simulator;
using gpumem::mr::new_delete_resource;
using gpumem::mr::pinned_host_memory_resource;
using gpumem::mr::pinned_memory_resource;

static_assert(cuda::mr::resource_with<new_delete_resource, cuda::mr::host_accessible>);
static_assert(!cuda::mr::resource_with<new_delete_resource, cuda::mr::device_accessible>);
static_assert(cuda::mr::resource_with<pinned_memory_resource, cuda::mr::host_accessible>);
static_assert(cuda::mr::async_resource_with<pinned_memory_resource,
                                            cuda::mr::host_accessible,
                                            cuda::mr::device_accessible>);
static_assert(cuda::mr::async_resource_with<pinned_host_memory_resource,
                                            cuda::mr::host_accessible,
                                            cuda::mr::device_accessible>);
static_assert(cuda::mr::resource_with<pinned_host_memory_resource,
                                      cuda::mr::host_accessible,
                                      cuda::mr::device_accessible>);
static_assert(!std::is_base_of_v<gpumem::mr::host_memory_resource, pinned_host_memory_resource>);

constexpr std::size_t MiB = std::size_t{1} << 20;

/// Fills all `bytes` at `pointer` with a pattern and checks it reads back.
void expect_writable(void* pointer, std::size_t bytes, unsigned char seed) {
  const std::span<unsigned char> memory{static_cast<unsigned char*>(pointer), bytes};
  for (std::size_t i = 0; i < bytes; ++i)
    memory[i] = static_cast<unsigned char>(seed + i * 7);
  for (std::size_t i = 0; i < bytes; ++i) {
    if (memory[i] != static_cast<unsigned char>(seed + i * 7)) {
      ADD_FAILURE() << "byte " << i << " of " << bytes << " did not hold its value";
      return;
    }
  }
}

/// Copies `count` ints from host-accessible `source` to device memory and back into
/// host-accessible `destination`, with plain host/device copy kinds.
void copy_through_device(const int* source, int* destination, std::size_t count) {
  gpumem::mr::cuda_memory_resource device_mr;
  void* device = device_mr.allocate(count * sizeof(int));
  ASSERT_EQ(cudaMemcpy(device, source, count * sizeof(int), cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(destination, device, count * sizeof(int), cudaMemcpyDeviceToHost),
            cudaSuccess);
  device_mr.deallocate(device, count * sizeof(int));
}

cudaMemoryType memory_type(const void* pointer) {
  cudaPointerAttributes attributes{};
  EXPECT_EQ(cudaPointerGetAttributes(&attributes, pointer), cudaSuccess);
  return attributes.type;
}

constexpr std::size_t sizes[] = {1, 8, 100, 255, 256, 257, 4000, 65536, 1000000};
constexpr std::size_t alignments[] = {1, 8, 16, 64, 256, 512, 4096, 65536};

// --- new_delete_resource

TEST(NewDeleteResource, AllocatesAlignedWritableMemory) {
  new_delete_resource mr;
  for (const std::size_t alignment : alignments) {
    for (const std::size_t size : sizes) {
      void* pointer = mr.allocate(size, alignment);
      ASSERT_NE(pointer, nullptr);
      EXPECT_TRUE(gpumem::is_pointer_aligned(pointer, alignment))
          << size << " aligned to " << alignment;
      expect_writable(pointer, size, static_cast<unsigned char>(size));
      mr.deallocate(pointer, size, alignment);
    }
  }
}

TEST(NewDeleteResource, MemoryIsOrdinaryHostMemory) {
  new_delete_resource mr;
  void* pointer = mr.allocate(4096);
  EXPECT_EQ(memory_type(pointer), cudaMemoryTypeUnregistered);
  mr.deallocate(pointer, 4096);
}

TEST(NewDeleteResource, AllInstancesAreEqualAndOnlyThem) {
  new_delete_resource first;
  new_delete_resource second;
  pinned_memory_resource pinned;
  EXPECT_TRUE(first == second);
  EXPECT_FALSE(first != second);
  EXPECT_FALSE(first == pinned);
  EXPECT_FALSE(pinned == first);
  void* pointer = first.allocate(100, 64);
  second.deallocate(pointer, 100, 64);
}

TEST(NewDeleteResource, WorksThroughAHostResourceRef) {
  new_delete_resource mr;
  gpumem::host_resource_ref ref{mr};
  void* pointer = ref.allocate(1000, 128);
  EXPECT_TRUE(gpumem::is_pointer_aligned(pointer, 128));
  expect_writable(pointer, 1000, 3);
  ref.deallocate(pointer, 1000, 128);
}

// --- pinned_memory_resource

TEST(PinnedMemoryResource, PointerIsPinnedHostMemory) {
  pinned_memory_resource mr;
  for (const std::size_t alignment : {std::size_t{16}, std::size_t{256}, std::size_t{4096}}) {
    void* pointer = mr.allocate(MiB, alignment);
    EXPECT_EQ(memory_type(pointer), cudaMemoryTypeHost) << alignment;
    mr.deallocate(pointer, MiB, alignment);
  }
}

TEST(PinnedMemoryResource, AllocatesAlignedWritableMemory) {
  pinned_memory_resource mr;
  for (const std::size_t alignment : alignments) {
    for (const std::size_t size : sizes) {
      void* pointer = mr.allocate(size, alignment);
      ASSERT_NE(pointer, nullptr);
      EXPECT_TRUE(gpumem::is_pointer_aligned(pointer, alignment))
          << size << " aligned to " << alignment;
      expect_writable(pointer, size, static_cast<unsigned char>(alignment));
      mr.deallocate(pointer, size, alignment);
    }
  }
}

TEST(PinnedMemoryResource, DefaultAlignmentServesAnyType) {
  pinned_memory_resource mr;
  void* pointer = mr.allocate(24);
  EXPECT_TRUE(gpumem::is_pointer_aligned(pointer, alignof(std::max_align_t)));
  mr.deallocate(pointer, 24);
}

TEST(PinnedMemoryResource, NonPowerOfTwoAlignmentFallsBackToTheDefault) {
  pinned_memory_resource mr;
  void* pointer = mr.allocate(100, 3);
  EXPECT_TRUE(gpumem::is_pointer_aligned(pointer, alignof(std::max_align_t)));
  expect_writable(pointer, 100, 1);
  mr.deallocate(pointer, 100, 3);
}

TEST(PinnedMemoryResource, CopiesToTheDeviceAndBack) {
  pinned_memory_resource mr;
  constexpr std::size_t count = 1 << 16;
  auto* source = static_cast<int*>(mr.allocate(count * sizeof(int), 4096));
  auto* destination = static_cast<int*>(mr.allocate(count * sizeof(int)));
  std::iota(source, source + count, 9);
  std::fill(destination, destination + count, -1);
  copy_through_device(source, destination, count);
  EXPECT_TRUE(std::equal(source, source + count, destination));
  mr.deallocate(destination, count * sizeof(int));
  mr.deallocate(source, count * sizeof(int), 4096);
}

TEST(PinnedMemoryResource, ZeroBytesGiveNull) {
  pinned_memory_resource mr;
  void* pointer = mr.allocate(0);
  EXPECT_EQ(pointer, nullptr);
  EXPECT_NO_THROW(mr.deallocate(pointer, 0));
}

TEST(PinnedMemoryResource, AsyncInterfaceWorksOnAnyStream) {
  pinned_memory_resource mr;
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  void* pointer = mr.allocate_async(1000, 512, stream);
  EXPECT_TRUE(gpumem::is_pointer_aligned(pointer, 512));
  expect_writable(pointer, 1000, 5);
  mr.deallocate_async(pointer, 1000, 512, stream);
  gpumem::host_device_async_resource_ref ref{mr};
  void* through_ref = ref.allocate_async(64, 16, cuda::stream_ref{stream});
  EXPECT_EQ(memory_type(through_ref), cudaMemoryTypeHost);
  ref.deallocate_async(through_ref, 64, 16, cuda::stream_ref{stream});
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

TEST(PinnedMemoryResource, AllInstancesAreEqual) {
  pinned_memory_resource first;
  pinned_memory_resource second;
  EXPECT_TRUE(first == second);
  EXPECT_FALSE(first != second);
  EXPECT_FALSE(first.is_equal(new_delete_resource{}));
  void* pointer = first.allocate(100, 1024);
  second.deallocate(pointer, 100, 1024);
}

TEST(PinnedMemoryResource, DestructionReturnsEverything) {
  GPUMEM_REQUIRE_SIMULATOR();
  const std::size_t outstanding_before = simulator::outstanding_allocations();
  {
    pinned_memory_resource mr;
    void* small = mr.allocate(100);
    void* over_aligned = mr.allocate(100, 8192);
    EXPECT_EQ(simulator::outstanding_allocations(), outstanding_before + 2);
    mr.deallocate(over_aligned, 100, 8192);
    mr.deallocate(small, 100);
  }
  EXPECT_EQ(simulator::outstanding_allocations(), outstanding_before);
}

TEST(PinnedMemoryResource, OutOfMemoryIsABadAlloc) {
  GPUMEM_REQUIRE_SIMULATOR();
  simulator::fail_allocation(1);
  pinned_memory_resource mr;
  EXPECT_THROW((void)mr.allocate(MiB), gpumem::out_of_memory);
  simulator::fail_allocation(0);
}

// --- pinned_host_memory_resource

TEST(PinnedHostMemoryResource, PointerIsPinnedHostMemory) {
  pinned_host_memory_resource mr;
  void* pointer = mr.allocate(MiB);
  EXPECT_EQ(memory_type(pointer), cudaMemoryTypeHost);
  mr.deallocate(pointer, MiB);
}

TEST(PinnedHostMemoryResource, AllocatesAlignedWritableMemory) {
  pinned_host_memory_resource mr;
  for (const std::size_t size : sizes) {
    void* pointer = mr.allocate(size);  // default alignment: 256
    EXPECT_TRUE(gpumem::is_pointer_aligned(pointer, gpumem::CUDA_ALLOCATION_ALIGNMENT)) << size;
    expect_writable(pointer, size, 2);
    mr.deallocate(pointer, size);
  }
  for (const std::size_t alignment : alignments) {
    void* pointer = mr.allocate(1000, alignment);
    EXPECT_TRUE(gpumem::is_pointer_aligned(pointer, alignment)) << alignment;
    expect_writable(pointer, 1000, 4);
    mr.deallocate(pointer, 1000, alignment);
  }
}

TEST(PinnedHostMemoryResource, NonPowerOfTwoAlignmentIsALogicError) {
  pinned_host_memory_resource mr;
  EXPECT_THROW((void)mr.allocate(100, 24), gpumem::logic_error);
}

TEST(PinnedHostMemoryResource, ZeroBytesGiveNull) {
  pinned_host_memory_resource mr;
  void* pointer = mr.allocate(0);
  EXPECT_EQ(pointer, nullptr);
  mr.deallocate(pointer, 0);
}

TEST(PinnedHostMemoryResource, StreamOrderedInterfaceAndCopies) {
  pinned_host_memory_resource mr;
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  constexpr std::size_t count = 1 << 16;
  auto* source =
      static_cast<int*>(mr.allocate_async(count * sizeof(int), 256, cuda::stream_ref{stream}));
  auto* destination =
      static_cast<int*>(mr.allocate_async(count * sizeof(int), cuda::stream_ref{stream}));
  std::iota(source, source + count, 100);
  std::fill(destination, destination + count, 0);

  gpumem::mr::cuda_memory_resource device_mr;
  void* device = device_mr.allocate(count * sizeof(int));
  ASSERT_EQ(cudaMemcpyAsync(device, source, count * sizeof(int), cudaMemcpyHostToDevice, stream),
            cudaSuccess);
  ASSERT_EQ(
      cudaMemcpyAsync(destination, device, count * sizeof(int), cudaMemcpyDeviceToHost, stream),
      cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  EXPECT_TRUE(std::equal(source, source + count, destination));
  device_mr.deallocate(device, count * sizeof(int));

  mr.deallocate_async(destination, count * sizeof(int), cuda::stream_ref{stream});
  mr.deallocate_async(source, count * sizeof(int), 256, cuda::stream_ref{stream});
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

TEST(PinnedHostMemoryResource, BindsToHostAndDeviceResourceRefs) {
  pinned_host_memory_resource mr;
  gpumem::host_device_async_resource_ref both{mr};
  gpumem::device_async_resource_ref device{mr};
  gpumem::host_resource_ref host{mr};
  void* pointer = both.allocate_async(512, 256, cuda::stream_ref{cudaStream_t{}});
  EXPECT_EQ(memory_type(pointer), cudaMemoryTypeHost);
  // Any of the references may free it: the resources they name are equal.
  device.deallocate_async(pointer, 512, 256, cuda::stream_ref{cudaStream_t{}});
  void* from_host_ref = host.allocate(64, 64);
  expect_writable(from_host_ref, 64, 8);
  host.deallocate(from_host_ref, 64, 64);
}

TEST(PinnedHostMemoryResource, AllInstancesAreEqual) {
  const pinned_host_memory_resource first;
  const pinned_host_memory_resource copy =
      first;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_TRUE(first == copy);
  EXPECT_TRUE(first == pinned_host_memory_resource{});
  EXPECT_FALSE(first != copy);
}

TEST(PinnedHostMemoryResource, DestructionReturnsEverything) {
  GPUMEM_REQUIRE_SIMULATOR();
  const std::size_t outstanding_before = simulator::outstanding_allocations();
  simulator::reset_call_counts();
  {
    pinned_host_memory_resource mr;
    void* small = mr.allocate(100);
    void* over_aligned = mr.allocate(100, 8192);
    EXPECT_EQ(simulator::outstanding_allocations(), outstanding_before + 2);
    EXPECT_EQ(simulator::call_count("cuMemHostAlloc"), 2U);
    mr.deallocate(over_aligned, 100, 8192);
    mr.deallocate(small, 100);
  }
  EXPECT_EQ(simulator::outstanding_allocations(), outstanding_before);
}

}  // namespace
