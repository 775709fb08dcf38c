#include "gpumem/mr/managed_memory_resource.hpp"

#include <cuda_runtime_api.h>

#include "gpumem/detail/error_macros.hpp"

namespace gpumem::mr {

void* managed_memory_resource::do_allocate(std::size_t bytes, cuda_stream_view /*stream*/) {
  // cudaMallocManaged returns cudaErrorInvalidValue for 0 bytes, where callers expect the
  // nullptr that cudaMalloc gives.
  if (bytes == 0) return nullptr;
  void* pointer = nullptr;
  GPUMEM_CUDA_TRY_ALLOC(cudaMallocManaged(&pointer, bytes, cudaMemAttachGlobal), bytes);
  return pointer;
}

void managed_memory_resource::do_deallocate(void* ptr,
                                            std::size_t /*bytes*/,
                                            cuda_stream_view /*stream*/) noexcept {
  if (ptr == nullptr) return;
  GPUMEM_ASSERT_CUDA_SUCCESS(cudaFree(ptr));
}

bool managed_memory_resource::do_is_equal(const device_memory_resource& other) const noexcept {
  return dynamic_cast<const managed_memory_resource*>(&other) != nullptr;
}

}  // namespace gpumem::mr
