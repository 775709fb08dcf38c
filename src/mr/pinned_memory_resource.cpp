#include "gpumem/mr/pinned_memory_resource.hpp"

#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "gpumem/aligned.hpp"
#include "gpumem/detail/error_macros.hpp"

namespace gpumem::mr {
namespace detail {

void* allocate_pinned_aligned(std::size_t bytes,
                              std::size_t alignment,
                              pinned_allocate_function allocate) {
  if (alignment <= CUDA_ALLOCATION_ALIGNMENT) return allocate(bytes);
  // Room to move the start up to the alignment, and below it the start of the underlying
  // allocation, which deallocation needs.
  constexpr std::size_t header = sizeof(void*);
  GPUMEM_EXPECTS(bytes <= std::numeric_limits<std::size_t>::max() - alignment - header,
                 "pinned allocation of " + std::to_string(bytes) + " bytes aligned to " +
                     std::to_string(alignment) + " overflows std::size_t",
                 ::gpumem::bad_alloc);
  void* underlying = allocate(bytes + alignment + header);
  const std::uintptr_t aligned =
      align_up(reinterpret_cast<std::uintptr_t>(underlying) + header, alignment);
  std::memcpy(reinterpret_cast<void*>(aligned - header), &underlying, header);
  return reinterpret_cast<void*>(aligned);
}

void deallocate_pinned_aligned(void* ptr,
                               std::size_t alignment,
                               pinned_free_function free) noexcept {
  if (alignment <= CUDA_ALLOCATION_ALIGNMENT) {
    free(ptr);
    return;
  }
  void* underlying = nullptr;
  std::memcpy(&underlying, static_cast<const char*>(ptr) - sizeof(void*), sizeof(void*));
  free(underlying);
}

}  // namespace detail

namespace {

std::size_t effective_alignment(std::size_t alignment) noexcept {
  return is_supported_alignment(alignment) ? alignment : alignof(std::max_align_t);
}

void* malloc_host(std::size_t bytes) {
  void* pointer = nullptr;
  GPUMEM_CUDA_TRY_ALLOC(cudaMallocHost(&pointer, bytes), bytes);
  return pointer;
}

void free_host(void* ptr) noexcept {
  GPUMEM_ASSERT_CUDA_SUCCESS(cudaFreeHost(ptr));
}

}  // namespace

void* pinned_memory_resource::do_allocate(std::size_t bytes, std::size_t alignment) {
  if (bytes == 0) return nullptr;
  return detail::allocate_pinned_aligned(bytes, effective_alignment(alignment), malloc_host);
}

void pinned_memory_resource::do_deallocate(void* ptr,
                                           std::size_t /*bytes*/,
                                           std::size_t alignment) noexcept {
  if (ptr == nullptr) return;
  detail::deallocate_pinned_aligned(ptr, effective_alignment(alignment), free_host);
}

bool pinned_memory_resource::do_is_equal(const host_memory_resource& other) const noexcept {
  return dynamic_cast<const pinned_memory_resource*>(&other) != nullptr;
}

}  // namespace gpumem::mr
