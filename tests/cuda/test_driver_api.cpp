// The CUDA driver API as gpumem relies on it. Registered for both platforms: on the
// simulator these tests show that it behaves like CUDA; on the GPU they show that the
// behaviour asserted here is CUDA's own. Checks of fault injection and call counts run on
// the simulator only.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "cuda_platform.hpp"
#include "driver/driver_entry_points.hpp"

namespace {

using gpumem::driver::driver_entry_points;
namespace simulator = gpumem::test::simulator;

const gpumem::driver::driver_library& library() {
  static const auto loaded = gpumem::driver::load_driver_library();
  return loaded;
}

const driver_entry_points& cu() {
  return library().legacy;
}

class DriverApi : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(library().loaded);
    ASSERT_EQ(cu().init(0), CUDA_SUCCESS);
    ASSERT_EQ(cu().primary_ctx_retain(&context_, 0), CUDA_SUCCESS);
    ASSERT_EQ(cu().ctx_set_current(context_), CUDA_SUCCESS);
  }

  CUcontext context_ = nullptr;
};

TEST_F(DriverApi, AllocationsAreAlignedTo256Bytes) {
  std::vector<CUdeviceptr> blocks;
  for (const std::size_t size : {1UL, 3UL, 255UL, 257UL, 4097UL, (1UL << 20) + 1, 3UL << 20}) {
    CUdeviceptr block = 0;
    ASSERT_EQ(cu().mem_alloc(&block, size), CUDA_SUCCESS) << size;
    EXPECT_EQ(block % 256, 0U) << "size " << size;
    blocks.push_back(block);
  }
  for (const CUdeviceptr block : blocks)
    EXPECT_EQ(cu().mem_free(block), CUDA_SUCCESS);
}

TEST_F(DriverApi, ZeroSizedAllocationIsInvalid) {
  CUdeviceptr block = 0;
  EXPECT_EQ(cu().mem_alloc(&block, 0), CUDA_ERROR_INVALID_VALUE);
}

TEST_F(DriverApi, FreeOfUnknownPointerIsInvalidValue) {
  std::vector<char> host(1024);
  EXPECT_EQ(cu().mem_free(reinterpret_cast<CUdeviceptr>(host.data())), CUDA_ERROR_INVALID_VALUE);
}

TEST_F(DriverApi, DoubleFreeIsInvalidValue) {
  CUdeviceptr block = 0;
  ASSERT_EQ(cu().mem_alloc(&block, 4096), CUDA_SUCCESS);
  ASSERT_EQ(cu().mem_free(block), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_free(block), CUDA_ERROR_INVALID_VALUE);
}

TEST_F(DriverApi, FreeOfInteriorPointerIsInvalidValue) {
  CUdeviceptr block = 0;
  ASSERT_EQ(cu().mem_alloc(&block, 4096), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_free(block + 256), CUDA_ERROR_INVALID_VALUE);
  EXPECT_EQ(cu().mem_free(block), CUDA_SUCCESS);
}

TEST_F(DriverApi, RequestLargerThanTheDeviceIsOutOfMemory) {
  std::size_t free_bytes = 0;
  std::size_t total_bytes = 0;
  ASSERT_EQ(cu().mem_get_info(&free_bytes, &total_bytes), CUDA_SUCCESS);
  CUdeviceptr block = 0;
  EXPECT_EQ(cu().mem_alloc(&block, total_bytes * 2), CUDA_ERROR_OUT_OF_MEMORY);
}

TEST_F(DriverApi, MemoryInfoFallsWhileMemoryIsAllocated) {
  std::size_t free_before = 0;
  std::size_t total = 0;
  ASSERT_EQ(cu().mem_get_info(&free_before, &total), CUDA_SUCCESS);
  EXPECT_LE(free_before, total);
  CUdeviceptr block = 0;
  constexpr std::size_t kSize = std::size_t{256} << 20;
  ASSERT_EQ(cu().mem_alloc(&block, kSize), CUDA_SUCCESS);
  std::size_t free_during = 0;
  ASSERT_EQ(cu().mem_get_info(&free_during, &total), CUDA_SUCCESS);
  EXPECT_LE(free_during + kSize,
            free_before + (std::size_t{8} << 20));  // allow another process's noise
  ASSERT_EQ(cu().mem_free(block), CUDA_SUCCESS);
}

TEST_F(DriverApi, ThreadWithoutContextCannotAllocate) {
  CUresult status = CUDA_SUCCESS;
  std::thread([&] {
    CUdeviceptr block = 0;
    status = cu().mem_alloc(&block, 256);
  }).join();
  EXPECT_EQ(status, CUDA_ERROR_INVALID_CONTEXT);
}

TEST_F(DriverApi, CopiesRoundTripThroughDeviceMemory) {
  std::vector<std::uint32_t> input(1000);
  for (std::size_t i = 0; i < input.size(); ++i)
    input[i] = static_cast<std::uint32_t>(i * 7);
  const std::size_t bytes = input.size() * sizeof(std::uint32_t);
  CUdeviceptr first = 0;
  CUdeviceptr second = 0;
  ASSERT_EQ(cu().mem_alloc(&first, bytes), CUDA_SUCCESS);
  ASSERT_EQ(cu().mem_alloc(&second, bytes), CUDA_SUCCESS);
  ASSERT_EQ(cu().memcpy_htod(first, input.data(), bytes), CUDA_SUCCESS);
  ASSERT_EQ(cu().memcpy_dtod(second, first, bytes), CUDA_SUCCESS);
  std::vector<std::uint32_t> output(input.size());
  ASSERT_EQ(cu().memcpy_dtoh(output.data(), second, bytes), CUDA_SUCCESS);
  EXPECT_EQ(output, input);
  ASSERT_EQ(cu().memset_d8(second, 0xAB, bytes), CUDA_SUCCESS);
  ASSERT_EQ(cu().memcpy_dtoh(output.data(), second, bytes), CUDA_SUCCESS);
  EXPECT_EQ(output[999], 0xABABABABU);
  EXPECT_EQ(cu().mem_free(first), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_free(second), CUDA_SUCCESS);
}

TEST_F(DriverApi, SimulatorRefusesCopiesPastTheEndOfAnAllocation) {
  GPUMEM_REQUIRE_SIMULATOR();  // CUDA itself checks only whole mappings
  CUdeviceptr block = 0;
  ASSERT_EQ(cu().mem_alloc(&block, 1024), CUDA_SUCCESS);
  std::vector<char> host(4096);
  EXPECT_NE(cu().memcpy_htod(block, host.data(), host.size()), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_free(block), CUDA_SUCCESS);
}

TEST_F(DriverApi, StreamOrderedAllocationOnAStream) {
  CUstream stream = nullptr;
  ASSERT_EQ(cu().stream_create_with_priority(&stream, CU_STREAM_NON_BLOCKING, 0), CUDA_SUCCESS);
  CUdeviceptr block = 0;
  ASSERT_EQ(cu().mem_alloc_async(&block, 1 << 20, stream), CUDA_SUCCESS);
  EXPECT_EQ(block % 256, 0U);
  ASSERT_EQ(cu().mem_free_async(block, stream), CUDA_SUCCESS);
  ASSERT_EQ(cu().stream_synchronize(stream), CUDA_SUCCESS);
  EXPECT_EQ(cu().stream_destroy(stream), CUDA_SUCCESS);
}

TEST_F(DriverApi, StreamOrderedMemoryMayBeFreedWithMemFree) {
  CUdeviceptr block = 0;
  ASSERT_EQ(cu().mem_alloc_async(&block, 4096, nullptr), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_free(block), CUDA_SUCCESS);
}

TEST_F(DriverApi, PoolWithMaximumSizeRefusesMore) {
  CUmemPoolProps properties{};
  properties.allocType = CU_MEM_ALLOCATION_TYPE_PINNED;
  properties.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  properties.location.id = 0;
  properties.maxSize = std::size_t{64} << 20;
  CUmemoryPool pool = nullptr;
  ASSERT_EQ(cu().mem_pool_create(&pool, &properties), CUDA_SUCCESS);
  CUdeviceptr block = 0;
  EXPECT_EQ(cu().mem_alloc_from_pool_async(&block, std::size_t{128} << 20, pool, nullptr),
            CUDA_ERROR_OUT_OF_MEMORY);
  ASSERT_EQ(cu().mem_alloc_from_pool_async(&block, std::size_t{1} << 20, pool, nullptr),
            CUDA_SUCCESS);
  cuuint64_t threshold = 12345;
  ASSERT_EQ(cu().mem_pool_set_attribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &threshold),
            CUDA_SUCCESS);
  cuuint64_t read_back = 0;
  ASSERT_EQ(cu().mem_pool_get_attribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &read_back),
            CUDA_SUCCESS);
  EXPECT_EQ(read_back, threshold);
  cuuint64_t used = 0;
  ASSERT_EQ(cu().mem_pool_get_attribute(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT, &used),
            CUDA_SUCCESS);
  EXPECT_GE(used, std::size_t{1} << 20);
  ASSERT_EQ(cu().mem_free_async(block, nullptr), CUDA_SUCCESS);
  ASSERT_EQ(cu().stream_synchronize(nullptr), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_pool_destroy(pool), CUDA_SUCCESS);
}

TEST_F(DriverApi, DefaultPoolIsTheCurrentPool) {
  CUmemoryPool default_pool = nullptr;
  CUmemoryPool current_pool = nullptr;
  ASSERT_EQ(cu().device_get_default_mem_pool(&default_pool, 0), CUDA_SUCCESS);
  ASSERT_EQ(cu().device_get_mem_pool(&current_pool, 0), CUDA_SUCCESS);
  EXPECT_NE(default_pool, nullptr);
  EXPECT_EQ(default_pool, current_pool);
}

TEST_F(DriverApi, DestroyedStreamAndEventAreInvalidHandles) {
  CUstream stream = nullptr;
  ASSERT_EQ(cu().stream_create_with_priority(&stream, 0, 0), CUDA_SUCCESS);
  CUevent event = nullptr;
  ASSERT_EQ(cu().event_create(&event, CU_EVENT_DISABLE_TIMING), CUDA_SUCCESS);
  ASSERT_EQ(cu().event_record_with_flags(event, stream, 0), CUDA_SUCCESS);
  ASSERT_EQ(cu().stream_wait_event(nullptr, event, 0), CUDA_SUCCESS);
  ASSERT_EQ(cu().event_synchronize(event), CUDA_SUCCESS);
  EXPECT_EQ(cu().event_query(event), CUDA_SUCCESS);
  ASSERT_EQ(cu().event_destroy(event), CUDA_SUCCESS);
  ASSERT_EQ(cu().stream_destroy(stream), CUDA_SUCCESS);
  if (gpumem::test::on_simulator()) {
    // CUDA leaves the use of a destroyed handle undefined; the simulator refuses it.
    EXPECT_EQ(cu().event_query(event), CUDA_ERROR_INVALID_HANDLE);
    EXPECT_EQ(cu().stream_query(stream), CUDA_ERROR_INVALID_HANDLE);
  }
}

TEST_F(DriverApi, CaptureIsVisibleAndMakesSynchronousAllocationIllegal) {
  CUstream stream = nullptr;
  ASSERT_EQ(cu().stream_create_with_priority(&stream, CU_STREAM_NON_BLOCKING, 0), CUDA_SUCCESS);
  ASSERT_EQ(cu().stream_begin_capture(stream, CU_STREAM_CAPTURE_MODE_GLOBAL), CUDA_SUCCESS);
  CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
  ASSERT_EQ(cu().stream_is_capturing(stream, &status), CUDA_SUCCESS);
  EXPECT_EQ(status, CU_STREAM_CAPTURE_STATUS_ACTIVE);
  cuuint64_t id = 0;
  ASSERT_EQ(cu().stream_get_capture_info(stream, &status, &id, nullptr, nullptr, nullptr, nullptr),
            CUDA_SUCCESS);
  EXPECT_EQ(status, CU_STREAM_CAPTURE_STATUS_ACTIVE);
  EXPECT_NE(id, 0U);
  CUdeviceptr block = 0;
  EXPECT_EQ(cu().mem_alloc(&block, 256), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
  CUgraph graph = nullptr;
  EXPECT_EQ(cu().stream_end_capture(stream, &graph), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
  ASSERT_EQ(cu().stream_is_capturing(stream, &status), CUDA_SUCCESS);
  EXPECT_EQ(status, CU_STREAM_CAPTURE_STATUS_NONE);
  EXPECT_EQ(cu().stream_destroy(stream), CUDA_SUCCESS);
}

TEST_F(DriverApi, RelaxedCaptureAllowsSynchronousAllocation) {
  CUstream stream = nullptr;
  ASSERT_EQ(cu().stream_create_with_priority(&stream, CU_STREAM_NON_BLOCKING, 0), CUDA_SUCCESS);
  ASSERT_EQ(cu().stream_begin_capture(stream, CU_STREAM_CAPTURE_MODE_RELAXED), CUDA_SUCCESS);
  CUdeviceptr block = 0;
  EXPECT_EQ(cu().mem_alloc(&block, 256), CUDA_SUCCESS);
  CUgraph graph = nullptr;
  ASSERT_EQ(cu().stream_end_capture(stream, &graph), CUDA_SUCCESS);
  EXPECT_NE(graph, nullptr);
  EXPECT_EQ(cu().graph_destroy(graph), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_free(block), CUDA_SUCCESS);
  EXPECT_EQ(cu().stream_destroy(stream), CUDA_SUCCESS);
}

/// What another thread's cuCtxSynchronize, in `mode`, does while this thread captures work into
/// a stream in global mode: its result, and what ending the capture returns.
struct synchronization_during_capture {
  CUresult synchronize = CUDA_ERROR_UNKNOWN;
  CUresult end_capture = CUDA_ERROR_UNKNOWN;
};

synchronization_during_capture synchronize_during_capture(CUcontext context,
                                                          CUstreamCaptureMode mode) {
  synchronization_during_capture seen;
  CUdeviceptr block = 0;
  CUstream stream = nullptr;
  if (cu().mem_alloc(&block, 4096) != CUDA_SUCCESS ||
      cu().stream_create_with_priority(&stream, CU_STREAM_NON_BLOCKING, 0) != CUDA_SUCCESS ||
      cu().stream_begin_capture(stream, CU_STREAM_CAPTURE_MODE_GLOBAL) != CUDA_SUCCESS) {
    return seen;
  }
  (void)cu().memset_d8_async(block, 1, 4096, stream);
  std::thread other([&] {
    CUstreamCaptureMode thread_mode = mode;
    if (cu().ctx_set_current(context) != CUDA_SUCCESS ||
        cu().exchange_capture_mode(&thread_mode) != CUDA_SUCCESS) {
      return;
    }
    seen.synchronize = cu().ctx_synchronize();
  });
  other.join();
  CUgraph graph = nullptr;
  seen.end_capture = cu().stream_end_capture(stream, &graph);
  if (graph != nullptr) (void)cu().graph_destroy(graph);
  (void)cu().stream_destroy(stream);
  (void)cu().mem_free(block);
  return seen;
}

// Any thread's device synchronization breaks another thread's capture, whatever its capture
// mode: so the shim's barrier thread, whose barriers come when the program did not ask for
// one, never synchronizes while a capture runs (src/preload/capture_guard.hpp).
TEST_F(DriverApi, AnotherThreadsSynchronizationBreaksACaptureWhateverItsMode) {
  ASSERT_NE(cu().exchange_capture_mode, nullptr);
  for (const CUstreamCaptureMode mode :
       {CU_STREAM_CAPTURE_MODE_GLOBAL, CU_STREAM_CAPTURE_MODE_RELAXED}) {
    const auto seen = synchronize_during_capture(context_, mode);
    EXPECT_EQ(seen.synchronize, CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED) << "thread mode " << mode;
    EXPECT_EQ(seen.end_capture, CUDA_ERROR_STREAM_CAPTURE_INVALIDATED) << "thread mode " << mode;
  }
}

TEST_F(DriverApi, ManagedMemoryCanBePrefetchedDeviceMemoryCannot) {
  CUdeviceptr managed = 0;
  ASSERT_EQ(cu().mem_alloc_managed(&managed, 1 << 20, CU_MEM_ATTACH_GLOBAL), CUDA_SUCCESS);
  std::memset(reinterpret_cast<void*>(managed), 1, 1 << 20);  // managed memory is host accessible
  CUmemLocation device{};
  device.type = CU_MEM_LOCATION_TYPE_DEVICE;
  device.id = 0;
  EXPECT_EQ(cu().mem_prefetch_async(managed, 1 << 20, device, 0, nullptr), CUDA_SUCCESS);
  unsigned is_managed = 0;
  ASSERT_EQ(cu().pointer_get_attribute(&is_managed, CU_POINTER_ATTRIBUTE_IS_MANAGED, managed),
            CUDA_SUCCESS);
  EXPECT_EQ(is_managed, 1U);
  CUdeviceptr plain = 0;
  ASSERT_EQ(cu().mem_alloc(&plain, 1 << 20), CUDA_SUCCESS);
  EXPECT_NE(cu().mem_prefetch_async(plain, 1 << 20, device, 0, nullptr), CUDA_SUCCESS);
  ASSERT_EQ(cu().stream_synchronize(nullptr), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_free(managed), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_free(plain), CUDA_SUCCESS);
}

TEST_F(DriverApi, PinnedHostMemoryIsFreedOnlyByFreeHost) {
  void* pinned = nullptr;
  ASSERT_EQ(cu().mem_alloc_host(&pinned, 4096), CUDA_SUCCESS);
  std::memset(pinned, 0, 4096);
  EXPECT_NE(cu().mem_free(reinterpret_cast<CUdeviceptr>(pinned)), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_free_host(pinned), CUDA_SUCCESS);
}

TEST_F(DriverApi, GetProcAddressSelectsTheAbiVersion) {
  void* v2 = nullptr;
  CUdriverProcAddressQueryResult status{};
  ASSERT_EQ(cu().get_proc_address("cuMemAlloc", &v2, 13000, CU_GET_PROC_ADDRESS_DEFAULT, &status),
            CUDA_SUCCESS);
  EXPECT_EQ(status, CU_GET_PROC_ADDRESS_SUCCESS);
  EXPECT_EQ(v2, reinterpret_cast<void*>(cu().mem_alloc));
  void* missing = reinterpret_cast<void*>(1);
  // An unknown symbol, or one too new for the version asked, is no error: the pointer is null
  // and the status says why.
  EXPECT_EQ(cu().get_proc_address("cuNoSuchFunction", &missing, 13000, 0, &status), CUDA_SUCCESS);
  EXPECT_EQ(status, CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
  EXPECT_EQ(missing, nullptr);
  void* too_new = reinterpret_cast<void*>(1);
  EXPECT_EQ(cu().get_proc_address("cuMemAllocAsync", &too_new, 11000, 0, &status), CUDA_SUCCESS);
  EXPECT_EQ(status, CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
  EXPECT_EQ(too_new, nullptr);
  // A version newer than the driver is an error.
  int driver_version = 0;
  ASSERT_EQ(cu().driver_get_version(&driver_version), CUDA_SUCCESS);
  EXPECT_EQ(cu().get_proc_address("cuMemAlloc", &v2, driver_version + 1000, 0, &status),
            CUDA_ERROR_INVALID_VALUE);
}

TEST_F(DriverApi, GetProcAddressPerThreadFlagSelectsAnotherVariant) {
  void* legacy = nullptr;
  void* per_thread = nullptr;
  ASSERT_EQ(cu().get_proc_address(
                "cuMemAllocAsync", &legacy, 13000, CU_GET_PROC_ADDRESS_LEGACY_STREAM, nullptr),
            CUDA_SUCCESS);
  ASSERT_EQ(cu().get_proc_address("cuMemAllocAsync",
                                  &per_thread,
                                  13000,
                                  CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM,
                                  nullptr),
            CUDA_SUCCESS);
  EXPECT_NE(legacy, nullptr);
  EXPECT_NE(per_thread, nullptr);
  EXPECT_NE(legacy, per_thread);
  EXPECT_EQ(per_thread, reinterpret_cast<void*>(library().per_thread.mem_alloc_async));
}

TEST_F(DriverApi, ErrorNamesAndStrings) {
  const char* name = nullptr;
  ASSERT_EQ(library().legacy.get_proc_address != nullptr, true);
  void* get_error_name = nullptr;
  ASSERT_EQ(cu().get_proc_address("cuGetErrorName", &get_error_name, 13000, 0, nullptr),
            CUDA_SUCCESS);
  ASSERT_EQ(
      reinterpret_cast<decltype(&cuGetErrorName)>(get_error_name)(CUDA_ERROR_OUT_OF_MEMORY, &name),
      CUDA_SUCCESS);
  EXPECT_STREQ(name, "CUDA_ERROR_OUT_OF_MEMORY");
}

// --- the simulator's own controls

TEST_F(DriverApi, SimulatorCountsOutstandingAllocations) {
  GPUMEM_REQUIRE_SIMULATOR();
  const std::size_t before = simulator::outstanding_allocations(0);
  CUdeviceptr block = 0;
  ASSERT_EQ(cu().mem_alloc(&block, 1000), CUDA_SUCCESS);
  EXPECT_EQ(simulator::outstanding_allocations(0), before + 1);
  EXPECT_GE(simulator::bytes_in_use(0), 1024U);
  ASSERT_EQ(cu().mem_free(block), CUDA_SUCCESS);
  EXPECT_EQ(simulator::outstanding_allocations(0), before);
}

TEST_F(DriverApi, SimulatorFailsTheNthAllocation) {
  GPUMEM_REQUIRE_SIMULATOR();
  simulator::fail_allocation(2);
  CUdeviceptr first = 0;
  CUdeviceptr second = 0;
  CUdeviceptr third = 0;
  EXPECT_EQ(cu().mem_alloc(&first, 256), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_alloc(&second, 256), CUDA_ERROR_OUT_OF_MEMORY);
  EXPECT_EQ(cu().mem_alloc(&third, 256), CUDA_SUCCESS);
  simulator::fail_allocation(0);
  EXPECT_EQ(cu().mem_free(first), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_free(third), CUDA_SUCCESS);
}

TEST_F(DriverApi, SimulatorFailsAllocationsAboveASize) {
  GPUMEM_REQUIRE_SIMULATOR();
  simulator::fail_above(1 << 20);
  CUdeviceptr small = 0;
  CUdeviceptr large = 0;
  EXPECT_EQ(cu().mem_alloc(&small, 1 << 20), CUDA_SUCCESS);
  EXPECT_EQ(cu().mem_alloc(&large, (1 << 20) + 1), CUDA_ERROR_OUT_OF_MEMORY);
  EXPECT_EQ(cu().mem_alloc_async(&large, (1 << 20) + 1, nullptr), CUDA_ERROR_OUT_OF_MEMORY);
  simulator::fail_above(0);
  EXPECT_EQ(cu().mem_free(small), CUDA_SUCCESS);
}

TEST_F(DriverApi, SimulatorReportsLessFreeMemory) {
  GPUMEM_REQUIRE_SIMULATOR();
  std::size_t free_before = 0;
  std::size_t total = 0;
  ASSERT_EQ(cu().mem_get_info(&free_before, &total), CUDA_SUCCESS);
  simulator::hide_memory(std::size_t{1} << 30);
  std::size_t free_hidden = 0;
  ASSERT_EQ(cu().mem_get_info(&free_hidden, &total), CUDA_SUCCESS);
  EXPECT_EQ(free_hidden, free_before - (std::size_t{1} << 30));
  CUdeviceptr block = 0;
  EXPECT_EQ(cu().mem_alloc(&block, free_hidden + 256), CUDA_ERROR_OUT_OF_MEMORY);
  simulator::hide_memory(0);
}

TEST_F(DriverApi, SimulatorCountsCallsByExportedName) {
  GPUMEM_REQUIRE_SIMULATOR();
  simulator::reset_call_counts();
  CUdeviceptr block = 0;
  ASSERT_EQ(library().per_thread.mem_alloc_async(&block, 256, nullptr), CUDA_SUCCESS);
  ASSERT_EQ(cu().mem_free(block), CUDA_SUCCESS);
  EXPECT_EQ(simulator::call_count("cuMemAllocAsync_ptsz"), 1U);
  EXPECT_EQ(simulator::call_count("cuMemAllocAsync"), 0U);
  EXPECT_EQ(simulator::call_count("cuMemFree_v2"), 1U);
}

}  // namespace
