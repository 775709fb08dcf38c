// system_memory_resource and sam_headroom_memory_resource (heap memory the GPU uses in place,
// on devices with pageable memory access) and cuda_async_managed_memory_resource (the device's
// default managed memory pool), on the simulator and on the GPU. A device without pageable
// memory access (the simulator, a GPU without HMM or ATS) must refuse with a clear error; one
// with it must serve memory both the device and the host see.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "cuda_platform.hpp"
#include "gpumem/aligned.hpp"
#include "gpumem/cuda_device.hpp"
#include "gpumem/error.hpp"
#include "gpumem/mr/cuda_async_managed_memory_resource.hpp"
#include "gpumem/mr/sam_headroom_memory_resource.hpp"
#include "gpumem/mr/system_memory_resource.hpp"

namespace {

using gpumem::mr::cuda_async_managed_memory_resource;
using gpumem::mr::sam_headroom_memory_resource;
using gpumem::mr::system_memory_resource;

constexpr std::size_t MiB = std::size_t{1} << 20;

bool pageable_memory_access() {
  return gpumem::mr::detail::is_system_memory_supported(gpumem::get_current_cuda_device());
}

/// Fills `bytes` at `pointer` with `value` on the device, then reads them on the host.
bool device_writes_and_host_sees(void* pointer, std::size_t bytes, unsigned char value) {
  if (cudaMemset(pointer, value, bytes) != cudaSuccess) return false;
  if (cudaDeviceSynchronize() != cudaSuccess) return false;
  const auto* bytes_seen = static_cast<const unsigned char*>(pointer);
  for (std::size_t i = 0; i < bytes; i += 4093)
    if (bytes_seen[i] != value) return false;
  return bytes_seen[bytes - 1] == value;
}

TEST(SystemMemoryResource, WithoutPageableMemoryAccessTheConstructorSaysWhy) {
  if (pageable_memory_access()) GTEST_SKIP() << "this device has pageable memory access";
  try {
    system_memory_resource mr;
    FAIL() << "constructed without pageable memory access";
  } catch (const gpumem::logic_error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("not supported"), std::string::npos) << message;
    EXPECT_NE(message.find("cudaDevAttrPageableMemoryAccess"), std::string::npos) << message;
  }
  EXPECT_THROW(sam_headroom_memory_resource{0}, gpumem::logic_error);
}

TEST(SystemMemoryResource, TheDeviceWritesHeapMemoryTheHostReads) {
  if (!pageable_memory_access()) GTEST_SKIP() << "this device has no pageable memory access";
  system_memory_resource mr;
  constexpr std::size_t bytes = 8 * MiB + 3;
  void* pointer = mr.allocate(bytes);
  ASSERT_NE(pointer, nullptr);
  EXPECT_TRUE(gpumem::is_pointer_aligned(pointer, gpumem::CUDA_ALLOCATION_ALIGNMENT));
  EXPECT_TRUE(device_writes_and_host_sees(pointer, bytes, 0x5a));
  mr.deallocate(pointer, bytes);
  EXPECT_EQ(mr.allocate(0), nullptr);
  EXPECT_TRUE(mr.is_equal(system_memory_resource{}));
}

/// The preferred location CUDA records for the range at `pointer`.
cudaMemLocationType preferred_location_type(void* pointer, std::size_t bytes) {
  int type = -1;
  EXPECT_EQ(cudaMemRangeGetAttribute(
                &type, sizeof type, cudaMemRangeAttributePreferredLocationType, pointer, bytes),
            cudaSuccess);
  return static_cast<cudaMemLocationType>(type);
}

TEST(SamHeadroomMemoryResource, PrefersTheDeviceOnlyOutsideTheHeadroom) {
  if (!pageable_memory_access()) GTEST_SKIP() << "this device has no pageable memory access";
  constexpr std::size_t bytes = 4 * MiB;
  const std::size_t total = gpumem::available_device_memory().second;
  sam_headroom_memory_resource no_headroom{0};
  void* on_device = no_headroom.allocate(bytes);
  EXPECT_EQ(preferred_location_type(on_device, bytes), cudaMemLocationTypeDevice);
  EXPECT_TRUE(device_writes_and_host_sees(on_device, bytes, 0x11));
  no_headroom.deallocate(on_device, bytes);

  sam_headroom_memory_resource all_headroom{total};
  void* on_host = all_headroom.allocate(bytes);
  EXPECT_EQ(preferred_location_type(on_host, bytes), cudaMemLocationTypeHost);
  EXPECT_TRUE(device_writes_and_host_sees(on_host, bytes, 0x22));
  all_headroom.deallocate(on_host, bytes);
  EXPECT_FALSE(no_headroom.is_equal(all_headroom));
}

TEST(CudaAsyncManagedMemoryResource, ServesManagedMemoryFromTheDefaultManagedPool) {
  cuda_async_managed_memory_resource mr;
  cudaMemPool_t expected = nullptr;
  cudaMemLocation location{cudaMemLocationTypeDevice, gpumem::get_current_cuda_device().value()};
  ASSERT_EQ(cudaMemGetDefaultMemPool(&expected, &location, cudaMemAllocationTypeManaged),
            cudaSuccess);
  EXPECT_EQ(mr.pool_handle(), expected);
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  constexpr std::size_t bytes = 2 * MiB;
  void* pointer = mr.allocate(bytes, stream);
  ASSERT_NE(pointer, nullptr);
  EXPECT_TRUE(gpumem::is_pointer_aligned(pointer, gpumem::CUDA_ALLOCATION_ALIGNMENT));
  ASSERT_EQ(cudaMemsetAsync(pointer, 0x3c, bytes, stream), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  // Managed memory: the host reads it in place.
  const auto* seen = static_cast<const unsigned char*>(pointer);
  EXPECT_EQ(seen[0], 0x3c);
  EXPECT_EQ(seen[bytes - 1], 0x3c);
  if (!gpumem::test::on_simulator()) {
    cudaPointerAttributes attributes{};
    ASSERT_EQ(cudaPointerGetAttributes(&attributes, pointer), cudaSuccess);
    EXPECT_EQ(attributes.type, cudaMemoryTypeManaged);
  }
  mr.deallocate(pointer, bytes, stream);
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  EXPECT_EQ(mr.allocate(0), nullptr);
  cuda_async_managed_memory_resource same_pool;
  EXPECT_TRUE(mr.is_equal(same_pool));
}

}  // namespace
