#include "gpumem/mr/pinned_host_memory_resource.hpp"

#include <cuda_runtime_api.h>

#include <string>

#include "gpumem/detail/error_macros.hpp"
#include "gpumem/mr/pinned_memory_resource.hpp"

namespace gpumem::mr {
namespace {

void* host_alloc(std::size_t bytes) {
  void* pointer = nullptr;
  GPUMEM_CUDA_TRY_ALLOC(cudaHostAlloc(&pointer, bytes, cudaHostAllocDefault), bytes);
  return pointer;
}

void free_host(void* ptr) noexcept {
  GPUMEM_ASSERT_CUDA_SUCCESS(cudaFreeHost(ptr));
}

}  // namespace

void* pinned_host_memory_resource::allocate(std::size_t bytes, std::size_t alignment) {
  GPUMEM_EXPECTS(is_supported_alignment(alignment),
                 "pinned_host_memory_resource: alignment " + std::to_string(alignment) +
                     " is not a power of two");
  if (bytes == 0) return nullptr;
  return detail::allocate_pinned_aligned(bytes, alignment, host_alloc);
}

void pinned_host_memory_resource::deallocate(void* ptr,
                                             std::size_t /*bytes*/,
                                             std::size_t alignment) noexcept {
  if (ptr == nullptr) return;
  detail::deallocate_pinned_aligned(ptr, alignment, free_host);
}

}  // namespace gpumem::mr
