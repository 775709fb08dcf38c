#include "gpumem/mr/cuda_async_memory_resource.hpp"

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include "gpumem/cuda_device.hpp"
#include "gpumem/detail/error_macros.hpp"

namespace gpumem::mr {
namespace {

using handle_type = cuda_async_memory_resource::allocation_handle_type;

std::string name_of(handle_type type) {
  switch (type) {
    case handle_type::none:
      return "none";
    case handle_type::posix_file_descriptor:
      return "posix_file_descriptor";
    case handle_type::win32:
      return "win32";
    case handle_type::win32_kmt:
      return "win32_kmt";
    case handle_type::fabric:
      return "fabric";
  }
  return "unknown (" + std::to_string(static_cast<std::int32_t>(type)) + ")";
}

/// The export handle types the device's memory pools support, as a mask of
/// cudaMemAllocationHandleType bits.
int supported_handle_types(int device) {
  int mask = 0;
  const cudaError_t status =
      cudaDeviceGetAttribute(&mask, cudaDevAttrMemoryPoolSupportedHandleTypes, device);
  if (status == cudaErrorInvalidValue) {
    // A driver that does not know the attribute supports no export at all.
    (void)cudaGetLastError();
    return 0;
  }
  GPUMEM_CUDA_TRY(status);
  return mask;
}

/// A new pool on the current device, after checking the device can make it.
cudaMemPool_t create_pool(std::optional<handle_type> export_handle_type) {
  const int device = get_current_cuda_device().value();

  int pools_supported = 0;
  GPUMEM_CUDA_TRY(
      cudaDeviceGetAttribute(&pools_supported, cudaDevAttrMemoryPoolsSupported, device));
  GPUMEM_EXPECTS(pools_supported == 1,
                 "cuda_async_memory_resource: device " + std::to_string(device) +
                     " does not support memory pools (cudaMallocAsync)");

  const handle_type requested = export_handle_type.value_or(handle_type::none);
  if (requested != handle_type::none) {
    const int requested_bits = static_cast<int>(requested);
    const int mask = supported_handle_types(device);
    GPUMEM_EXPECTS((mask & requested_bits) == requested_bits,
                   "cuda_async_memory_resource: device " + std::to_string(device) +
                       " does not support the requested IPC export handle type " +
                       name_of(requested) +
                       " (supported handle type mask: " + std::to_string(mask) + ")");
  }

  cudaMemPoolProps properties{};
  properties.allocType = cudaMemAllocationTypePinned;
  properties.handleTypes = static_cast<cudaMemAllocationHandleType>(requested);
  properties.location.type = cudaMemLocationTypeDevice;
  properties.location.id = device;
  cudaMemPool_t pool = nullptr;
  GPUMEM_CUDA_TRY(cudaMemPoolCreate(&pool, &properties));
  return pool;
}

}  // namespace

cuda_async_memory_resource::cuda_async_memory_resource(
    std::optional<std::size_t> initial_pool_size,
    std::optional<std::size_t> release_threshold,
    std::optional<allocation_handle_type> export_handle_type)
    : pool_{create_pool(export_handle_type)} {
  // The destructor does not run for a constructor that throws: the pool is destroyed here.
  try {
    const auto [free, total] = available_device_memory();
    std::uint64_t threshold = release_threshold.value_or(total);
    GPUMEM_CUDA_TRY(
        cudaMemPoolSetAttribute(pool_handle(), cudaMemPoolAttrReleaseThreshold, &threshold));
    // Memory freed to a pool stays in it up to the release threshold, so one allocation of the
    // whole size leaves the pool holding it. Without a size, half the free memory, as RMM
    // 25.10; one that cannot be had then is not an error (RMM's would throw).
    if (initial_pool_size.has_value()) {
      prime(*initial_pool_size);
    } else {
      try {
        prime(free / 2);
      } catch (const out_of_memory&) {
      }
    }
  } catch (...) {
    (void)cudaMemPoolDestroy(pool_handle());
    throw;
  }
}

void cuda_async_memory_resource::prime(std::size_t bytes) {
  void* priming = do_allocate(bytes, cuda_stream_default);
  do_deallocate(priming, bytes, cuda_stream_default);
}

cuda_async_memory_resource::~cuda_async_memory_resource() {
  GPUMEM_ASSERT_CUDA_SUCCESS(cudaMemPoolDestroy(pool_handle()));
}

void* cuda_async_memory_resource::do_allocate(std::size_t bytes, cuda_stream_view stream) {
  return pool_.allocate(bytes, stream);
}

void cuda_async_memory_resource::do_deallocate(void* ptr,
                                               std::size_t bytes,
                                               cuda_stream_view stream) noexcept {
  pool_.deallocate(ptr, bytes, stream);
}

bool cuda_async_memory_resource::do_is_equal(const device_memory_resource& other) const noexcept {
  // The view compares pools with views and with owners alike.
  return pool_.is_equal(other);
}

}  // namespace gpumem::mr
