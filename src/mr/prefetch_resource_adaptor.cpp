#include "gpumem/mr/prefetch_resource_adaptor.hpp"

#include <cuda_runtime_api.h>

#include <string>

#include "gpumem/error.hpp"

namespace gpumem::mr::detail {

void* prefetch_adaptor_core::do_allocate(std::size_t bytes, cuda_stream_view stream) {
  void* ptr = allocate_upstream(bytes, stream);
  int device = 0;
  cudaError_t status = cudaGetDevice(&device);
  if (status == cudaSuccess) {
    cudaMemLocation location{};
    location.type = cudaMemLocationTypeDevice;
    location.id = device;
    status = cudaMemPrefetchAsync(ptr, bytes, location, 0, stream.value());
  }
  if (status == cudaSuccess) return ptr;
  (void)cudaGetLastError();
  // Memory that is not managed cannot be prefetched; that is not an error of the allocation.
  if (status == cudaErrorInvalidValue) return ptr;
  deallocate_upstream(ptr, bytes, stream);
  throw gpumem::cuda_error{std::string{"gpumem: prefetch_resource_adaptor: prefetching "} + std::to_string(bytes) +
                           " B to the current device failed: " + cudaGetErrorName(status) + " " +
                           cudaGetErrorString(status)};
}

void prefetch_adaptor_core::do_deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream) noexcept {
  deallocate_upstream(ptr, bytes, stream);
}

bool prefetch_adaptor_core::do_is_equal(const device_memory_resource& other) const noexcept {
  return same_core_and_upstream<prefetch_adaptor_core>(other);
}

}  // namespace gpumem::mr::detail
