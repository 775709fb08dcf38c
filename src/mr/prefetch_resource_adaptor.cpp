#include "gpumem/mr/prefetch_resource_adaptor.hpp"

#include <cuda_runtime_api.h>

#include <string>

#include "gpumem/detail/cuda_calls.hpp"
#include "gpumem/error.hpp"

namespace gpumem::mr::detail {

void* prefetch_adaptor_core::do_allocate(std::size_t bytes, cuda_stream_view stream) {
  void* ptr = allocate_upstream(bytes, stream);
  namespace cuda = gpumem::detail::cuda_calls;
  int device = 0;
  cudaError_t status = cuda::get_device(&device);
  if (status == cudaSuccess) status = cuda::prefetch(ptr, bytes, device, stream.value());
  if (status == cudaSuccess) return ptr;
  cuda::clear_last_error();
  // Memory that is not managed cannot be prefetched; that is not an error of the allocation.
  if (status == cudaErrorInvalidValue) return ptr;
  deallocate_upstream(ptr, bytes, stream);
  throw gpumem::cuda_error{std::string{"gpumem: prefetch_resource_adaptor: prefetching "} +
                           std::to_string(bytes) + " B to the current device failed: " +
                           cuda::error_name(status) + " " + cuda::error_string(status)};
}

void prefetch_adaptor_core::do_deallocate(void* ptr,
                                          std::size_t bytes,
                                          cuda_stream_view stream) noexcept {
  deallocate_upstream(ptr, bytes, stream);
}

bool prefetch_adaptor_core::do_is_equal(const device_memory_resource& other) const noexcept {
  return same_core_and_upstream<prefetch_adaptor_core>(other);
}

}  // namespace gpumem::mr::detail
