// expandable_memory_resource (CUDA's virtual memory management: a reservation, chunks mapped
// and unmapped) and a pool over it (one slab that grows in place and gives back its free end),
// on the simulator and on the GPU. GPUMEM_SIM_NO_VMM=1 runs the refusal case on the simulator.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "cuda_platform.hpp"
#include "driver/driver_entry_points.hpp"
#include "gpumem/aligned.hpp"
#include "gpumem/cuda_device.hpp"
#include "gpumem/error.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/expandable_memory_resource.hpp"
#include "gpumem/mr/limiting_resource_adaptor.hpp"
#include "gpumem/mr/pool_memory_resource.hpp"

namespace {

using gpumem::mr::expandable_memory_resource;

constexpr std::size_t MiB = std::size_t{1} << 20;

bool vmm_supported() {
  return expandable_memory_resource::is_supported(gpumem::get_current_cuda_device());
}

#define REQUIRE_VMM()                                                          \
  do {                                                                         \
    if (!vmm_supported()) GTEST_SKIP() << "no virtual memory management here"; \
  } while (0)

/// Writes `value` over [pointer, pointer + bytes) on the device and reads a few bytes back.
bool holds_after_memset(void* pointer, std::size_t bytes, unsigned char value) {
  if (cudaMemset(pointer, value, bytes) != cudaSuccess) return false;
  for (const std::size_t offset : {std::size_t{0}, bytes / 2, bytes - 1}) {
    unsigned char seen = 0;
    if (cudaMemcpy(&seen, static_cast<char*>(pointer) + offset, 1, cudaMemcpyDeviceToHost) !=
            cudaSuccess ||
        seen != value)
      return false;
  }
  return true;
}

std::size_t free_device_memory() {
  return gpumem::available_device_memory().first;
}

TEST(ExpandableMemoryResource, WithoutVirtualMemoryManagementTheConstructorSaysWhy) {
  if (vmm_supported()) GTEST_SKIP() << "this device has virtual memory management";
  try {
    expandable_memory_resource mr;
    FAIL() << "constructed without virtual memory management";
  } catch (const gpumem::logic_error& error) {
    EXPECT_NE(std::string{error.what()}.find("VIRTUAL_MEMORY_MANAGEMENT"), std::string::npos)
        << error.what();
  }
}

TEST(ExpandableMemoryResource, AllocationsAreWholeChunksMappedAndUnmapped) {
  REQUIRE_VMM();
  expandable_memory_resource mr;
  const std::size_t chunk = mr.chunk_size();
  EXPECT_GE(chunk, 2 * MiB);
  void* block = mr.allocate(chunk + 1);
  ASSERT_NE(block, nullptr);
  EXPECT_TRUE(gpumem::is_pointer_aligned(block, chunk));
  EXPECT_TRUE(holds_after_memset(block, 2 * chunk, 0x5a)) << "both chunks are usable";
  auto statistics = mr.statistics();
  EXPECT_EQ(statistics.mapped_bytes, 2 * chunk);
  EXPECT_EQ(statistics.map_calls, 2U);
  EXPECT_GE(statistics.reserved_bytes, gpumem::available_device_memory().second);
  mr.deallocate(block, chunk + 1);
  statistics = mr.statistics();
  EXPECT_EQ(statistics.mapped_bytes, 0U);
  EXPECT_EQ(statistics.unmap_calls, 2U);
  EXPECT_EQ(statistics.peak_mapped_bytes, 2 * chunk);
  EXPECT_EQ(mr.allocate(0), nullptr);
}

TEST(ExpandableMemoryResource, GrowsInPlaceOnlyWhereTheAddressesAfterAreFree) {
  REQUIRE_VMM();
  expandable_memory_resource mr;
  const std::size_t chunk = mr.chunk_size();
  void* first = mr.allocate(chunk);
  ASSERT_TRUE(mr.grow_in_place(first, chunk, 2 * chunk));
  EXPECT_TRUE(holds_after_memset(first, 3 * chunk, 0x21)) << "the grown part is mapped";
  EXPECT_FALSE(mr.grow_in_place(first, chunk, chunk)) << "the size given must be the current one";
  void* second = mr.allocate(chunk);
  EXPECT_EQ(static_cast<char*>(second), static_cast<char*>(first) + 3 * chunk)
      << "allocations pack at the reservation's start";
  EXPECT_FALSE(mr.grow_in_place(first, 3 * chunk, chunk)) << "the next allocation is in the way";
  mr.shrink_in_place(first, 3 * chunk, 2 * chunk);
  EXPECT_EQ(mr.statistics().mapped_bytes, 2 * chunk);
  EXPECT_TRUE(mr.grow_in_place(first, chunk, chunk)) << "the shrunk end is free again";
  EXPECT_TRUE(holds_after_memset(first, 2 * chunk, 0x33));
  mr.deallocate(second, chunk);
  mr.deallocate(first, 2 * chunk);
  EXPECT_EQ(mr.statistics().mapped_bytes, 0U);
}

TEST(ExpandableMemoryResource, LargeGrowthMapsLargePiecesAndAShrinkKeepsACutPiece) {
  REQUIRE_VMM();
  expandable_memory_resource mr;
  const std::size_t chunk = mr.chunk_size();
  void* block = mr.allocate(chunk);
  ASSERT_TRUE(mr.grow_in_place(block, chunk, 63 * chunk));
  auto statistics = mr.statistics();
  EXPECT_EQ(statistics.mapped_bytes, 64 * chunk);
  EXPECT_EQ(statistics.map_calls, 1U + 16U) << "63 chunks in pieces of a sixteenth of 64";
  EXPECT_TRUE(holds_after_memset(block, 64 * chunk, 0x77));
  // A shrink by one chunk cuts into the last piece (4 chunks): it stays mapped, and growing
  // back into it maps nothing.
  mr.shrink_in_place(block, 64 * chunk, chunk);
  EXPECT_EQ(mr.statistics().mapped_bytes, 64 * chunk);
  ASSERT_TRUE(mr.grow_in_place(block, 63 * chunk, chunk));
  EXPECT_EQ(mr.statistics().map_calls, statistics.map_calls);
  // A shrink by 40 chunks unmaps the whole pieces after the new end.
  mr.shrink_in_place(block, 64 * chunk, 40 * chunk);
  statistics = mr.statistics();
  EXPECT_GE(statistics.mapped_bytes, 24 * chunk);
  EXPECT_LT(statistics.mapped_bytes, 28 * chunk);
  EXPECT_TRUE(holds_after_memset(block, 24 * chunk, 0x78)) << "what is kept is usable";
  mr.deallocate(block, 24 * chunk);
  EXPECT_EQ(mr.statistics().mapped_bytes, 0U);
}

TEST(ExpandableMemoryResource, MappedMemoryIsDeviceMemoryTheDriverCounts) {
  REQUIRE_VMM();
  expandable_memory_resource mr;
  const std::size_t bytes = 256 * MiB;
  const std::size_t free_before = free_device_memory();
  void* block = mr.allocate(bytes);
  EXPECT_LE(free_device_memory() + bytes, free_before + 8 * MiB);
  mr.deallocate(block, bytes);
  EXPECT_GE(free_device_memory() + 8 * MiB, free_before);
}

TEST(ExpandableMemoryResource, MoreThanTheDeviceIsOutOfMemoryAndMapsNothing) {
  REQUIRE_VMM();
  expandable_memory_resource mr;
  const std::size_t total = gpumem::available_device_memory().second;
  EXPECT_THROW((void)mr.allocate(total + total / 2), gpumem::out_of_memory);
  EXPECT_EQ(mr.statistics().mapped_bytes, 0U);
  void* small = mr.allocate(MiB);
  EXPECT_NE(small, nullptr) << "the resource still works";
  mr.deallocate(small, MiB);
}

/// The access `device` has to the mapped memory at `pointer` (cuMemGetAccess).
unsigned long long access_of(void* pointer, int device) {
  static const gpumem::driver::driver_library driver = gpumem::driver::load_driver_library();
  EXPECT_NE(driver.legacy.mem_get_access, nullptr);
  CUmemLocation location{};
  location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  location.id = device;
  unsigned long long flags = 0;
  EXPECT_EQ(driver.legacy.mem_get_access(&flags, &location, reinterpret_cast<CUdeviceptr>(pointer)),
            CUDA_SUCCESS);
  return flags;
}

TEST(ExpandableMemoryResource, AGrantedPeerReachesMemoryMappedBeforeAndAfter) {
  REQUIRE_VMM();
  int devices = 0;
  ASSERT_EQ(cudaGetDeviceCount(&devices), cudaSuccess);
  if (devices < 2) GTEST_SKIP() << "needs two devices (the simulator runs it with two)";
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  expandable_memory_resource mr;
  const std::size_t chunk = mr.chunk_size();
  void* before = mr.allocate(chunk);
  EXPECT_EQ(access_of(before, 0), CU_MEM_ACCESS_FLAGS_PROT_READWRITE);
  EXPECT_EQ(access_of(before, 1), CU_MEM_ACCESS_FLAGS_PROT_NONE) << "not granted yet";
  mr.grant_access(gpumem::cuda_device_id{1});
  mr.grant_access(gpumem::cuda_device_id{1});  // once is enough; twice changes nothing
  EXPECT_EQ(access_of(before, 1), CU_MEM_ACCESS_FLAGS_PROT_READWRITE);
  void* after = mr.allocate(chunk);
  EXPECT_EQ(access_of(after, 1), CU_MEM_ACCESS_FLAGS_PROT_READWRITE) << "mapped after the grant";
  ASSERT_TRUE(mr.grow_in_place(after, chunk, chunk));
  EXPECT_EQ(access_of(static_cast<char*>(after) + chunk, 1), CU_MEM_ACCESS_FLAGS_PROT_READWRITE)
      << "grown after the grant";
  mr.deallocate(after, 2 * chunk);
  mr.deallocate(before, chunk);
}

TEST(PoolOverExpandable, OneSlabGrowsInPlaceAndCoalescesAcrossGrowth) {
  REQUIRE_VMM();
  expandable_memory_resource upstream;
  const std::size_t chunk = upstream.chunk_size();
  gpumem::mr::pool_memory_resource pool{upstream, 0};
  std::vector<void*> blocks;
  for (int i = 0; i < 6; ++i)
    blocks.push_back(pool.allocate(chunk - 4096));
  const auto grown = pool.state();
  EXPECT_LE(grown.pool_size, 6 * chunk) << "grown by what the requests needed";
  EXPECT_EQ(upstream.statistics().mapped_bytes, grown.pool_size);
  for (void* block : blocks)
    pool.deallocate(block, chunk - 4096);
  // One slab: every free byte is one block once the pool is idle.
  pool.release();
  const auto idle = pool.state();
  EXPECT_LE(idle.pool_size, chunk) << "release() gives back the free end, keeping one chunk";
  EXPECT_EQ(upstream.statistics().mapped_bytes, idle.pool_size);
  void* large = pool.allocate(5 * chunk);
  EXPECT_TRUE(holds_after_memset(large, 5 * chunk, 0x44));
  EXPECT_LE(pool.state().pool_size, 5 * chunk + chunk);
  pool.deallocate(large, 5 * chunk);
}

TEST(PoolOverExpandable, AReleaseThresholdGivesBackTheFreeEndWhenExceeded) {
  REQUIRE_VMM();
  expandable_memory_resource upstream;
  const std::size_t chunk = upstream.chunk_size();
  const auto fill_and_free =
      [chunk](gpumem::mr::pool_memory_resource<expandable_memory_resource>& pool) {
        std::vector<void*> blocks;
        for (int i = 0; i < 12; ++i)
          blocks.push_back(pool.allocate(chunk));
        for (auto it = blocks.rbegin(); it != blocks.rend(); ++it)
          pool.deallocate(*it, chunk);
      };
  gpumem::mr::pool_memory_resource without{upstream, 0};
  fill_and_free(without);
  EXPECT_GE(without.pool_size(), 12 * chunk) << "no threshold: the pool keeps what it took";
  without.release();
  gpumem::mr::pool_memory_resource with{upstream, 0};
  with.set_release_threshold(4 * chunk);
  fill_and_free(with);
  EXPECT_LE(with.pool_size(), 5 * chunk) << "frees past the threshold gave the free end back";
  EXPECT_LE(upstream.statistics().mapped_bytes, 6 * chunk);
}

TEST(PoolOverExpandable, AMaximumBoundsGrowthInPlace) {
  REQUIRE_VMM();
  expandable_memory_resource upstream;
  const std::size_t chunk = upstream.chunk_size();
  gpumem::mr::pool_memory_resource pool{upstream, 0, 3 * chunk};
  void* a = pool.allocate(2 * chunk);
  void* b = pool.allocate(chunk);
  EXPECT_THROW((void)pool.allocate(chunk), gpumem::out_of_memory);
  EXPECT_EQ(upstream.statistics().mapped_bytes, 3 * chunk);
  pool.deallocate(a, 2 * chunk);
  pool.deallocate(b, chunk);
}

TEST(PoolOverExpandable, ALimitBetweenKeepsOneSlabGrowingAndCountsTheGrowth) {
  REQUIRE_VMM();
  expandable_memory_resource upstream;
  const std::size_t chunk = upstream.chunk_size();
  gpumem::mr::limiting_resource_adaptor limit{upstream, 4 * chunk};
  EXPECT_EQ(limit.growth_unit(), chunk) << "the limit passes the upstream's growth through";
  gpumem::mr::pool_memory_resource pool{limit, 0};
  void* a = pool.allocate(chunk);
  void* b = pool.allocate(chunk);
  void* c = pool.allocate(2 * chunk);
  EXPECT_EQ(static_cast<char*>(b), static_cast<char*>(a) + chunk) << "one slab, grown in place";
  EXPECT_EQ(static_cast<char*>(c), static_cast<char*>(b) + chunk);
  EXPECT_EQ(limit.get_allocated_bytes(), 4 * chunk) << "growth counts against the limit";
  EXPECT_EQ(upstream.statistics().mapped_bytes, 4 * chunk);
  EXPECT_THROW((void)pool.allocate(chunk), gpumem::out_of_memory);
  pool.deallocate(c, 2 * chunk);
  pool.release();
  EXPECT_EQ(limit.get_allocated_bytes(), 2 * chunk) << "the free end given back is uncounted";
  EXPECT_EQ(upstream.statistics().mapped_bytes, 2 * chunk);
  pool.deallocate(a, chunk);
  pool.deallocate(b, chunk);
}

TEST(PoolOverExpandable, AnUpstreamThatCannotGrowIsAnOrdinaryUpstream) {
  gpumem::mr::cuda_memory_resource cuda;
  gpumem::mr::limiting_resource_adaptor limit{cuda, std::size_t{1} << 30};
  EXPECT_EQ(limit.growth_unit(), 0U);
  gpumem::mr::pool_memory_resource pool{limit, 0};
  void* block = pool.allocate(MiB);
  EXPECT_TRUE(holds_after_memset(block, MiB, 0x66));
  pool.deallocate(block, MiB);
}

}  // namespace
