// CUDA's virtual memory management driver API (cuMemAddressReserve, cuMemCreate, cuMemMap,
// cuMemSetAccess, ...) as a memory resource relies on it. Registered for both platforms: the
// same assertions hold on the simulator and on a GPU (checked on an H200, driver 580). Checks
// of the simulator's own accounting, fault injection and of behaviour that would poison a real
// context run on the simulator only; WithoutVmm runs only with GPUMEM_SIM_NO_VMM=1.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "cuda_platform.hpp"
#include "driver/driver_entry_points.hpp"

namespace {

using gpumem::driver::driver_entry_points;
namespace simulator = gpumem::test::simulator;

constexpr std::size_t kTwoMebibytes = std::size_t{2} << 20;

const gpumem::driver::driver_library& library() {
  static const auto loaded = gpumem::driver::load_driver_library();
  return loaded;
}

const driver_entry_points& cu() {
  return library().legacy;
}

/// Pinned memory on a device, the properties every call here uses.
CUmemAllocationProp device_memory(int device = 0) {
  CUmemAllocationProp properties{};
  properties.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  properties.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  properties.location.id = device;
  return properties;
}

/// Read-write access for a device.
CUmemAccessDesc access_for(int device,
                           CUmemAccess_flags flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE) {
  CUmemAccessDesc access{};
  access.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  access.location.id = device;
  access.flags = flags;
  return access;
}

/// Free device memory as cuMemGetInfo reports it.
std::size_t free_memory() {
  std::size_t free_bytes = 0;
  std::size_t total_bytes = 0;
  EXPECT_EQ(cu().mem_get_info(&free_bytes, &total_bytes), CUDA_SUCCESS);
  return free_bytes;
}

/// Expects free memory to have fallen by `bytes` between two readings (a negative `bytes`:
/// risen): exactly on the simulator; on a GPU, where the driver or another process may take a
/// little, within 2 MiB more.
void expect_free_memory_fell_by(std::size_t before, std::size_t after, long long bytes) {
  const long long fell = static_cast<long long>(before) - static_cast<long long>(after);
  if (gpumem::test::on_simulator()) {
    EXPECT_EQ(fell, bytes);
  } else {
    EXPECT_GE(fell, bytes);
    EXPECT_LE(fell, bytes + static_cast<long long>(kTwoMebibytes));
  }
}

class VirtualMemoryApi : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(library().loaded);
    ASSERT_EQ(cu().init(0), CUDA_SUCCESS);
    ASSERT_EQ(cu().primary_ctx_retain(&context_, 0), CUDA_SUCCESS);
    ASSERT_EQ(cu().ctx_set_current(context_), CUDA_SUCCESS);
    ASSERT_NE(cu().mem_create, nullptr) << "the driver lacks the virtual memory management API";
    int supported = 0;
    ASSERT_EQ(cu().device_get_attribute(
                  &supported, CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED, 0),
              CUDA_SUCCESS);
    if (supported == 0) {
      ASSERT_FALSE(gpumem::test::on_simulator()) << "the simulator supports it by default";
      GTEST_SKIP() << "device 0 does not support virtual memory management";
    }
    const CUmemAllocationProp properties = device_memory();
    ASSERT_EQ(cu().mem_get_allocation_granularity(
                  &granularity_, &properties, CU_MEM_ALLOC_GRANULARITY_MINIMUM),
              CUDA_SUCCESS);
    ASSERT_GT(granularity_, 0U);
  }

  /// Reserves `size` bytes of address space.
  CUdeviceptr reserve(std::size_t size) {
    CUdeviceptr base = 0;
    EXPECT_EQ(cu().mem_address_reserve(&base, size, 0, 0, 0), CUDA_SUCCESS);
    return base;
  }

  /// Makes physical memory of `size` bytes on device 0.
  CUmemGenericAllocationHandle create(std::size_t size) {
    const CUmemAllocationProp properties = device_memory();
    CUmemGenericAllocationHandle handle = 0;
    EXPECT_EQ(cu().mem_create(&handle, size, &properties, 0), CUDA_SUCCESS);
    return handle;
  }

  /// Gives device 0 read-write access to [address, address + size).
  CUresult open(CUdeviceptr address, std::size_t size) {
    const CUmemAccessDesc access = access_for(0);
    return cu().mem_set_access(address, size, &access, 1);
  }

  CUcontext context_ = nullptr;
  std::size_t granularity_ = 0;
};

TEST_F(VirtualMemoryApi, GranularityIsAPowerOfTwo) {
  const CUmemAllocationProp properties = device_memory();
  std::size_t recommended = 0;
  ASSERT_EQ(cu().mem_get_allocation_granularity(
                &recommended, &properties, CU_MEM_ALLOC_GRANULARITY_RECOMMENDED),
            CUDA_SUCCESS);
  EXPECT_EQ(granularity_ & (granularity_ - 1), 0U);
  EXPECT_EQ(recommended % granularity_, 0U);
  if (gpumem::test::on_simulator()) {
    EXPECT_EQ(granularity_, kTwoMebibytes);
    EXPECT_EQ(recommended, kTwoMebibytes);
  }
  std::size_t ignored = 0;
  EXPECT_EQ(cu().mem_get_allocation_granularity(
                &ignored, &properties, static_cast<CUmemAllocationGranularity_flags>(7)),
            CUDA_ERROR_INVALID_VALUE);
}

TEST_F(VirtualMemoryApi, TwoHandlesMappedBackToBackAreOneRangeOfDeviceMemory) {
  const std::size_t free_before = free_memory();
  const std::size_t size = 2 * granularity_;
  const CUdeviceptr base = reserve(size);
  ASSERT_NE(base, 0U);
  EXPECT_EQ(base % granularity_, 0U);
  const CUmemGenericAllocationHandle first = create(granularity_);
  const CUmemGenericAllocationHandle second = create(granularity_);
  expect_free_memory_fell_by(free_before, free_memory(), static_cast<long long>(size));

  ASSERT_EQ(cu().mem_map(base, granularity_, 0, first, 0), CUDA_SUCCESS);
  ASSERT_EQ(cu().mem_map(base + granularity_, granularity_, 0, second, 0), CUDA_SUCCESS);
  ASSERT_EQ(open(base, size), CUDA_SUCCESS);  // one call over both mappings

  // Writes and reads that cross from the first handle into the second.
  const CUdeviceptr boundary = base + granularity_;
  ASSERT_EQ(cu().memset_d8(base, 0, size), CUDA_SUCCESS);
  ASSERT_EQ(cu().memset_d8(boundary - 4096, 0x5A, 8192), CUDA_SUCCESS);
  std::vector<unsigned char> read_back(16384);
  ASSERT_EQ(cu().memcpy_dtoh(read_back.data(), boundary - 8192, read_back.size()), CUDA_SUCCESS);
  for (std::size_t i = 0; i < read_back.size(); ++i) {
    const unsigned char expected = i >= 4096 && i < 12288 ? 0x5A : 0;
    ASSERT_EQ(read_back[i], expected) << "byte " << i << " around the boundary";
  }
  std::vector<unsigned char> pattern(256);
  for (std::size_t i = 0; i < pattern.size(); ++i)
    pattern[i] = static_cast<unsigned char>(i);
  ASSERT_EQ(cu().memcpy_htod(boundary - 128, pattern.data(), pattern.size()), CUDA_SUCCESS);
  std::vector<unsigned char> copied(pattern.size());
  ASSERT_EQ(cu().memcpy_dtoh(copied.data(), boundary - 128, copied.size()), CUDA_SUCCESS);
  EXPECT_EQ(copied, pattern);

  // Mapped memory is device memory of device 0; its address range is the mapping.
  unsigned memory_type = 0;
  ASSERT_EQ(
      cu().pointer_get_attribute(&memory_type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, boundary + 100),
      CUDA_SUCCESS);
  EXPECT_EQ(memory_type, static_cast<unsigned>(CU_MEMORYTYPE_DEVICE));
  int ordinal = -1;
  ASSERT_EQ(
      cu().pointer_get_attribute(&ordinal, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, boundary + 100),
      CUDA_SUCCESS);
  EXPECT_EQ(ordinal, 0);
  CUdeviceptr range_base = 0;
  std::size_t range_size = 0;
  ASSERT_EQ(cu().mem_get_address_range(&range_base, &range_size, boundary + 100), CUDA_SUCCESS);
  EXPECT_EQ(range_base, boundary);
  EXPECT_EQ(range_size, granularity_);
  // cuMemFree does not take mapped memory.
  EXPECT_EQ(cu().mem_free(base), CUDA_ERROR_INVALID_VALUE);
  EXPECT_EQ(cu().mem_free(boundary), CUDA_ERROR_INVALID_VALUE);

  EXPECT_EQ(cu().mem_unmap(base, size), CUDA_SUCCESS);  // one call over both mappings
  EXPECT_EQ(cu().mem_release(first), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_release(second), CUDA_SUCCESS);
  expect_free_memory_fell_by(free_before, free_memory(), 0);
  EXPECT_EQ(cu().mem_address_free(base, size), CUDA_SUCCESS);
}

TEST_F(VirtualMemoryApi, ReleasedHandleKeepsItsMemoryUntilUnmapped) {
  const std::size_t free_before = free_memory();
  const CUdeviceptr base = reserve(granularity_);
  const CUmemGenericAllocationHandle handle = create(granularity_);
  ASSERT_EQ(cu().mem_map(base, granularity_, 0, handle, 0), CUDA_SUCCESS);
  ASSERT_EQ(open(base, granularity_), CUDA_SUCCESS);
  ASSERT_EQ(cu().mem_release(handle), CUDA_SUCCESS);
  expect_free_memory_fell_by(free_before, free_memory(), static_cast<long long>(granularity_));
  ASSERT_EQ(cu().memset_d8(base, 0x11, granularity_), CUDA_SUCCESS);
  unsigned char last = 0;
  ASSERT_EQ(cu().memcpy_dtoh(&last, base + granularity_ - 1, 1), CUDA_SUCCESS);
  EXPECT_EQ(last, 0x11);
  ASSERT_EQ(cu().mem_unmap(base, granularity_), CUDA_SUCCESS);
  expect_free_memory_fell_by(free_before, free_memory(), 0);
  EXPECT_EQ(cu().mem_address_free(base, granularity_), CUDA_SUCCESS);
}

TEST_F(VirtualMemoryApi, CreateChecksSizeFlagsAndDevice) {
  std::size_t free_bytes = 0;
  std::size_t total_bytes = 0;
  ASSERT_EQ(cu().mem_get_info(&free_bytes, &total_bytes), CUDA_SUCCESS);
  const CUmemAllocationProp properties = device_memory();
  CUmemGenericAllocationHandle handle = 0;
  const std::size_t larger_than_the_device =
      (total_bytes * 2 + granularity_ - 1) / granularity_ * granularity_;
  EXPECT_EQ(cu().mem_create(&handle, larger_than_the_device, &properties, 0),
            CUDA_ERROR_OUT_OF_MEMORY);
  EXPECT_EQ(cu().mem_create(&handle, 4096, &properties, 0), CUDA_ERROR_INVALID_VALUE);
  EXPECT_EQ(cu().mem_create(&handle, 0, &properties, 0), CUDA_ERROR_INVALID_VALUE);
  EXPECT_EQ(cu().mem_create(&handle, granularity_, &properties, 1), CUDA_ERROR_INVALID_VALUE);
  int devices = 0;
  ASSERT_EQ(cu().device_get_count(&devices), CUDA_SUCCESS);
  const CUmemAllocationProp no_such_device = device_memory(devices);
  EXPECT_EQ(cu().mem_create(&handle, granularity_, &no_such_device, 0), CUDA_ERROR_INVALID_DEVICE);
}

TEST_F(VirtualMemoryApi, ReserveNeedsGranularSizesAndHonoursAlignment) {
  CUdeviceptr base = 0;
  EXPECT_EQ(cu().mem_address_reserve(&base, 4096, 0, 0, 0), CUDA_ERROR_INVALID_VALUE);
  EXPECT_EQ(cu().mem_address_reserve(&base, granularity_ + 4096, 0, 0, 0),
            CUDA_ERROR_INVALID_VALUE);
  EXPECT_EQ(cu().mem_address_reserve(&base, 0, 0, 0, 0), CUDA_ERROR_INVALID_VALUE);
  EXPECT_EQ(cu().mem_address_reserve(&base, granularity_, 3, 0, 0), CUDA_ERROR_INVALID_VALUE);
  EXPECT_EQ(cu().mem_address_reserve(&base, granularity_, 0, 0, 1), CUDA_ERROR_INVALID_VALUE);
  const std::size_t alignment = 64 * granularity_;
  ASSERT_EQ(cu().mem_address_reserve(&base, granularity_, alignment, 0, 0), CUDA_SUCCESS);
  EXPECT_EQ(base % alignment, 0U);
  EXPECT_EQ(cu().mem_address_free(base, granularity_), CUDA_SUCCESS);
}

TEST_F(VirtualMemoryApi, MapOutsideAReservationFails) {
  const CUdeviceptr freed = reserve(2 * granularity_);
  ASSERT_EQ(cu().mem_address_free(freed, 2 * granularity_), CUDA_SUCCESS);
  const CUmemGenericAllocationHandle handle = create(granularity_);
  EXPECT_EQ(cu().mem_map(freed, granularity_, 0, handle, 0), CUDA_ERROR_INVALID_VALUE);
  EXPECT_EQ(cu().mem_map(0, granularity_, 0, handle, 0), CUDA_ERROR_INVALID_VALUE);
  EXPECT_EQ(cu().mem_release(handle), CUDA_SUCCESS);
}

TEST_F(VirtualMemoryApi, MapTakesAWholeHandleAtAGranularFreeAddress) {
  const CUdeviceptr base = reserve(2 * granularity_);
  const CUmemGenericAllocationHandle handle = create(granularity_);
  const CUmemGenericAllocationHandle other = create(granularity_);
  EXPECT_EQ(cu().mem_map(base + 4096, granularity_, 0, handle, 0), CUDA_ERROR_INVALID_VALUE);
  EXPECT_EQ(cu().mem_map(base, granularity_, 0, handle, 1), CUDA_ERROR_INVALID_VALUE);
  // Part of a handle: NVIDIA's driver does not support it (cuda.h: the offset "currently
  // must be zero").
  EXPECT_EQ(cu().mem_map(base, granularity_ / 2, 0, handle, 0), CUDA_ERROR_NOT_SUPPORTED);
  EXPECT_EQ(cu().mem_map(base, granularity_, granularity_, handle, 0), CUDA_ERROR_NOT_SUPPORTED);
  ASSERT_EQ(cu().mem_map(base, granularity_, 0, handle, 0), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_map(base, granularity_, 0, other, 0), CUDA_ERROR_INVALID_VALUE);  // taken
  EXPECT_EQ(cu().mem_unmap(base, granularity_), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_release(handle), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_release(other), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_address_free(base, 2 * granularity_), CUDA_SUCCESS);
}

TEST_F(VirtualMemoryApi, AccessUnmapAndAddressFreeNeedWholeRanges) {
  const std::size_t size = 2 * granularity_;
  const CUdeviceptr base = reserve(size);
  const CUmemGenericAllocationHandle handle = create(size);
  ASSERT_EQ(cu().mem_map(base, size, 0, handle, 0), CUDA_SUCCESS);
  EXPECT_EQ(open(base, 4096), CUDA_ERROR_INVALID_VALUE);
  const CUmemAccessDesc access = access_for(0);
  EXPECT_EQ(cu().mem_set_access(base, size, &access, 0), CUDA_ERROR_INVALID_VALUE);
  int devices = 0;
  ASSERT_EQ(cu().device_get_count(&devices), CUDA_SUCCESS);
  const CUmemAccessDesc no_such_device = access_for(devices);
  EXPECT_EQ(cu().mem_set_access(base, size, &no_such_device, 1), CUDA_ERROR_INVALID_VALUE);
  ASSERT_EQ(open(base, size), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_unmap(base, 4096), CUDA_ERROR_INVALID_VALUE);
  EXPECT_EQ(cu().mem_unmap(base, granularity_), CUDA_ERROR_INVALID_VALUE);  // half a mapping
  EXPECT_EQ(cu().mem_address_free(base, granularity_), CUDA_ERROR_INVALID_VALUE);
  EXPECT_EQ(cu().mem_address_free(base + granularity_, granularity_), CUDA_ERROR_INVALID_VALUE);
  EXPECT_EQ(cu().mem_address_free(base, size), CUDA_ERROR_INVALID_VALUE);  // still mapped
  ASSERT_EQ(cu().mem_unmap(base, size), CUDA_SUCCESS);
  EXPECT_EQ(open(base, size), CUDA_ERROR_INVALID_VALUE);  // nothing mapped there now
  EXPECT_EQ(cu().mem_release(handle), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_address_free(base, size), CUDA_SUCCESS);
}

// --- the simulator's own accounting, fault injection and strictness

TEST_F(VirtualMemoryApi, SimulatorCountsPhysicalMemoryUntilItIsFreed) {
  GPUMEM_REQUIRE_SIMULATOR();
  simulator::reset_call_counts();
  const std::size_t outstanding_before = simulator::outstanding_allocations(0);
  const std::uint64_t in_use_before = simulator::bytes_in_use(0);
  const CUdeviceptr base = reserve(granularity_);
  EXPECT_EQ(simulator::outstanding_allocations(0), outstanding_before);  // address space only
  const CUmemGenericAllocationHandle handle = create(granularity_);
  EXPECT_EQ(simulator::outstanding_allocations(0), outstanding_before + 1);
  EXPECT_EQ(simulator::bytes_in_use(0), in_use_before + granularity_);
  ASSERT_EQ(cu().mem_map(base, granularity_, 0, handle, 0), CUDA_SUCCESS);
  EXPECT_EQ(simulator::outstanding_allocations(0), outstanding_before + 1);
  ASSERT_EQ(cu().mem_release(handle), CUDA_SUCCESS);
  EXPECT_EQ(simulator::outstanding_allocations(0), outstanding_before + 1);  // still mapped
  EXPECT_EQ(simulator::bytes_in_use(0), in_use_before + granularity_);
  ASSERT_EQ(cu().mem_unmap(base, granularity_), CUDA_SUCCESS);
  EXPECT_EQ(simulator::outstanding_allocations(0), outstanding_before);
  EXPECT_EQ(simulator::bytes_in_use(0), in_use_before);
  EXPECT_EQ(cu().mem_release(handle), CUDA_ERROR_INVALID_VALUE);  // released already
  EXPECT_EQ(cu().mem_address_free(base, granularity_), CUDA_SUCCESS);
  for (const char* name : {"cuMemAddressReserve",
                           "cuMemCreate",
                           "cuMemMap",
                           "cuMemRelease",
                           "cuMemUnmap",
                           "cuMemAddressFree"}) {
    EXPECT_GE(simulator::call_count(name), 1U) << name;
  }
}

TEST_F(VirtualMemoryApi, SimulatorInjectsAllocationFailuresIntoCreate) {
  GPUMEM_REQUIRE_SIMULATOR();
  const CUmemAllocationProp properties = device_memory();
  CUmemGenericAllocationHandle handle = 0;
  simulator::fail_allocation(1);
  EXPECT_EQ(cu().mem_create(&handle, granularity_, &properties, 0), CUDA_ERROR_OUT_OF_MEMORY);
  ASSERT_EQ(cu().mem_create(&handle, granularity_, &properties, 0), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_release(handle), CUDA_SUCCESS);
  simulator::fail_above(granularity_);
  EXPECT_EQ(cu().mem_create(&handle, 2 * granularity_, &properties, 0), CUDA_ERROR_OUT_OF_MEMORY);
  simulator::fail_above(0);
  simulator::hide_memory(free_memory());
  EXPECT_EQ(cu().mem_create(&handle, granularity_, &properties, 0), CUDA_ERROR_OUT_OF_MEMORY);
  simulator::hide_memory(0);
}

TEST_F(VirtualMemoryApi, SimulatorCopiesOnlyWhatAccessAllows) {
  GPUMEM_REQUIRE_SIMULATOR();  // on a GPU these copies would fault and poison the context
  const CUdeviceptr base = reserve(granularity_);
  const CUmemGenericAllocationHandle handle = create(granularity_);
  ASSERT_EQ(cu().mem_map(base, granularity_, 0, handle, 0), CUDA_SUCCESS);
  unsigned char byte = 0;
  EXPECT_EQ(cu().memset_d8(base, 1, 1), CUDA_ERROR_INVALID_VALUE);  // no access yet
  EXPECT_EQ(cu().memcpy_dtoh(&byte, base, 1), CUDA_ERROR_INVALID_VALUE);
  const CUmemAccessDesc read_only = access_for(0, CU_MEM_ACCESS_FLAGS_PROT_READ);
  ASSERT_EQ(cu().mem_set_access(base, granularity_, &read_only, 1), CUDA_SUCCESS);
  EXPECT_EQ(cu().memcpy_dtoh(&byte, base, 1), CUDA_SUCCESS);
  EXPECT_EQ(cu().memset_d8(base, 1, 1), CUDA_ERROR_INVALID_VALUE);
  ASSERT_EQ(open(base, granularity_), CUDA_SUCCESS);
  EXPECT_EQ(cu().memset_d8(base, 1, 1), CUDA_SUCCESS);
  // Past the end of the reservation is not device memory.
  EXPECT_EQ(cu().memset_d8(base, 1, granularity_ + 1), CUDA_ERROR_INVALID_VALUE);
  // A remapped range starts without access again.
  ASSERT_EQ(cu().mem_unmap(base, granularity_), CUDA_SUCCESS);
  ASSERT_EQ(cu().mem_map(base, granularity_, 0, handle, 0), CUDA_SUCCESS);
  EXPECT_EQ(cu().memset_d8(base, 1, 1), CUDA_ERROR_INVALID_VALUE);
  ASSERT_EQ(cu().mem_unmap(base, granularity_), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_release(handle), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_address_free(base, granularity_), CUDA_SUCCESS);
}

TEST_F(VirtualMemoryApi, SimulatorIsStricterThanTheDriverAboutUnmappedRangesAndProperties) {
  GPUMEM_REQUIRE_SIMULATOR();
  // NVIDIA's driver (580) unmaps a range with nothing mapped without complaint, maps a handle
  // past the end of a reservation, and answers cuMemGetAllocationGranularity for any
  // properties; the simulator refuses all three.
  const CUdeviceptr base = reserve(2 * granularity_);
  EXPECT_EQ(cu().mem_unmap(base, granularity_), CUDA_ERROR_INVALID_VALUE);
  const CUmemGenericAllocationHandle handle = create(2 * granularity_);
  EXPECT_EQ(cu().mem_map(base + granularity_, 2 * granularity_, 0, handle, 0),
            CUDA_ERROR_INVALID_VALUE);
  EXPECT_EQ(cu().mem_release(handle), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_address_free(base, 2 * granularity_), CUDA_SUCCESS);
  std::size_t granularity = 0;
  CUmemAllocationProp managed = device_memory();
  managed.type = CU_MEM_ALLOCATION_TYPE_MANAGED;
  EXPECT_EQ(
      cu().mem_get_allocation_granularity(&granularity, &managed, CU_MEM_ALLOC_GRANULARITY_MINIMUM),
      CUDA_ERROR_INVALID_VALUE);
  const CUmemAllocationProp no_such_device = device_memory(1000);
  EXPECT_EQ(cu().mem_get_allocation_granularity(
                &granularity, &no_such_device, CU_MEM_ALLOC_GRANULARITY_MINIMUM),
            CUDA_ERROR_INVALID_DEVICE);
}

TEST_F(VirtualMemoryApi, SimulatorPrimaryContextResetReleasesMappingsAndHandles) {
  GPUMEM_REQUIRE_SIMULATOR();
  const std::size_t outstanding_before = simulator::outstanding_allocations(0);
  const CUdeviceptr base = reserve(granularity_);
  const CUmemGenericAllocationHandle handle = create(granularity_);
  ASSERT_EQ(cu().mem_map(base, granularity_, 0, handle, 0), CUDA_SUCCESS);
  ASSERT_EQ(open(base, granularity_), CUDA_SUCCESS);
  ASSERT_EQ(cu().primary_ctx_reset(0), CUDA_SUCCESS);
  EXPECT_EQ(simulator::outstanding_allocations(0), outstanding_before);
  EXPECT_EQ(simulator::bytes_in_use(0), 0U);
  EXPECT_EQ(cu().memset_d8(base, 1, 1), CUDA_ERROR_INVALID_VALUE);
  EXPECT_EQ(cu().mem_release(handle), CUDA_ERROR_INVALID_VALUE);
  EXPECT_EQ(cu().mem_address_free(base, granularity_), CUDA_SUCCESS);  // address space stays
}

// --- GPUMEM_SIM_NO_VMM=1 (registered as its own test with that variable set)

TEST(WithoutVmm, DeviceLacksTheApiAndEveryCallIsNotSupported) {
  GPUMEM_REQUIRE_SIMULATOR();
  const char* setting = std::getenv("GPUMEM_SIM_NO_VMM");
  if (setting == nullptr || std::string_view(setting) != "1") {
    GTEST_SKIP() << "needs GPUMEM_SIM_NO_VMM=1";
  }
  ASSERT_TRUE(library().loaded);
  ASSERT_EQ(cu().init(0), CUDA_SUCCESS);
  CUcontext context = nullptr;
  ASSERT_EQ(cu().primary_ctx_retain(&context, 0), CUDA_SUCCESS);
  ASSERT_EQ(cu().ctx_set_current(context), CUDA_SUCCESS);
  for (const CUdevice_attribute attribute :
       {CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED,
        CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR_SUPPORTED}) {
    int supported = -1;
    ASSERT_EQ(cu().device_get_attribute(&supported, attribute, 0), CUDA_SUCCESS);
    EXPECT_EQ(supported, 0) << "attribute " << attribute;
  }
  // The entry points are there, as in a driver whose device lacks the feature.
  ASSERT_NE(cu().mem_create, nullptr);
  const CUmemAllocationProp properties = device_memory();
  std::size_t granularity = 0;
  EXPECT_EQ(cu().mem_get_allocation_granularity(
                &granularity, &properties, CU_MEM_ALLOC_GRANULARITY_MINIMUM),
            CUDA_ERROR_NOT_SUPPORTED);
  CUdeviceptr base = 0;
  EXPECT_EQ(cu().mem_address_reserve(&base, kTwoMebibytes, 0, 0, 0), CUDA_ERROR_NOT_SUPPORTED);
  CUmemGenericAllocationHandle handle = 0;
  EXPECT_EQ(cu().mem_create(&handle, kTwoMebibytes, &properties, 0), CUDA_ERROR_NOT_SUPPORTED);
  const CUdeviceptr address = kTwoMebibytes * 1024;
  EXPECT_EQ(cu().mem_map(address, kTwoMebibytes, 0, 1, 0), CUDA_ERROR_NOT_SUPPORTED);
  const CUmemAccessDesc access = access_for(0);
  EXPECT_EQ(cu().mem_set_access(address, kTwoMebibytes, &access, 1), CUDA_ERROR_NOT_SUPPORTED);
  EXPECT_EQ(cu().mem_unmap(address, kTwoMebibytes), CUDA_ERROR_NOT_SUPPORTED);
  EXPECT_EQ(cu().mem_release(1), CUDA_ERROR_NOT_SUPPORTED);
  EXPECT_EQ(cu().mem_address_free(address, kTwoMebibytes), CUDA_ERROR_NOT_SUPPORTED);
}

}  // namespace
