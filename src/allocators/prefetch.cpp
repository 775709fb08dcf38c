#include "gpumem/prefetch.hpp"

#include <cuda_runtime_api.h>

#include "gpumem/detail/error_macros.hpp"

namespace gpumem {
namespace {

// Without concurrent managed access (some platforms, or a device in exclusive modes) CUDA has
// no prefetching; RMM makes prefetch a no-op there, and so does gpumem.
bool can_prefetch_managed_memory(int device) {
  if (device == cudaCpuDeviceId) {
    if (cudaGetDevice(&device) != cudaSuccess) {
      (void)cudaGetLastError();
      return false;
    }
  }
  int concurrent_managed_access = 0;
  if (cudaDeviceGetAttribute(
          &concurrent_managed_access, cudaDevAttrConcurrentManagedAccess, device) != cudaSuccess) {
    // An invalid device: the prefetch itself reports it.
    (void)cudaGetLastError();
    return true;
  }
  return concurrent_managed_access != 0;
}

}  // namespace

void prefetch(const void* ptr, std::size_t bytes, cuda_device_id device, cuda_stream_view stream) {
  if (!can_prefetch_managed_memory(device.value())) return;
  cudaMemLocation location{};
  location.type =
      device.value() == cudaCpuDeviceId ? cudaMemLocationTypeHost : cudaMemLocationTypeDevice;
  location.id = device.value();
  const cudaError_t status = cudaMemPrefetchAsync(ptr, bytes, location, 0, stream.value());
  if (status == cudaErrorInvalidValue) {
    // Memory that is not managed (or 0 bytes) cannot be prefetched; that is not an error here.
    (void)cudaGetLastError();
    return;
  }
  GPUMEM_CUDA_TRY(status);
}

}  // namespace gpumem
