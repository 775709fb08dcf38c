#include "gpumem/mr/cuda_memory_resource.hpp"

#include <cuda_runtime_api.h>

#include "gpumem/detail/error_macros.hpp"

namespace gpumem::mr {

void* cuda_memory_resource::do_allocate(std::size_t bytes, cuda_stream_view /*stream*/) {
  void* pointer = nullptr;
  GPUMEM_CUDA_TRY_ALLOC(cudaMalloc(&pointer, bytes), bytes);
  return pointer;
}

void cuda_memory_resource::do_deallocate(void* ptr,
                                         std::size_t /*bytes*/,
                                         cuda_stream_view /*stream*/) noexcept {
  GPUMEM_ASSERT_CUDA_SUCCESS(cudaFree(ptr));
}

bool cuda_memory_resource::do_is_equal(const device_memory_resource& other) const noexcept {
  return dynamic_cast<const cuda_memory_resource*>(&other) != nullptr;
}

}  // namespace gpumem::mr
