#include "gpumem/mr/cuda_async_managed_memory_resource.hpp"

#include <string>

#include "gpumem/cuda_device.hpp"
#include "gpumem/detail/error_macros.hpp"

namespace gpumem::mr {
namespace {

/// The current device's default managed memory pool.
cudaMemPool_t default_managed_pool() {
  const int device = get_current_cuda_device().value();
  cudaMemLocation location{cudaMemLocationTypeDevice, device};
  cudaMemPool_t pool = nullptr;
  const cudaError_t status =
      cudaMemGetDefaultMemPool(&pool, &location, cudaMemAllocationTypeManaged);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    GPUMEM_FAIL("cuda_async_managed_memory_resource: device " + std::to_string(device) +
                " has no default managed memory pool (cudaMemGetDefaultMemPool: " +
                cudaGetErrorName(status) +
                "); it needs a CUDA 13 driver and a device with concurrent managed access");
  }
  return pool;
}

}  // namespace

cuda_async_managed_memory_resource::cuda_async_managed_memory_resource()
    : pool_{default_managed_pool()} {}

void* cuda_async_managed_memory_resource::do_allocate(std::size_t bytes, cuda_stream_view stream) {
  return pool_.allocate(bytes, stream);
}

void cuda_async_managed_memory_resource::do_deallocate(void* ptr,
                                                       std::size_t bytes,
                                                       cuda_stream_view stream) noexcept {
  pool_.deallocate(ptr, bytes, stream);
}

bool cuda_async_managed_memory_resource::do_is_equal(
    const device_memory_resource& other) const noexcept {
  const auto* same_kind = dynamic_cast<const cuda_async_managed_memory_resource*>(&other);
  return same_kind != nullptr && same_kind->pool_handle() == pool_handle();
}

}  // namespace gpumem::mr
