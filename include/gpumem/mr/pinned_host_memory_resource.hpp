#pragma once

/**
 * @file pinned_host_memory_resource.hpp
 * @brief Pinned (page-locked) host memory from cudaHostAlloc / cudaFreeHost, as a CCCL-style
 * resource (cuda::mr concepts, no base class).
 */

#include <cstddef>

#include "gpumem/aligned.hpp"
#include "gpumem/detail/cccl.hpp"

namespace gpumem::mr {

/**
 * @brief Allocates pinned host memory with `cudaHostAlloc(..., cudaHostAllocDefault)` and frees
 * it with `cudaFreeHost`; the memory is accessible from the host and from the device.
 *
 * A value type with no base class (RMM 25.10's form): it models
 * `cuda::mr::async_resource_with<host_accessible, device_accessible>`, so it binds to
 * host_device_async_resource_ref and to device_async_resource_ref.
 *
 * Alignment: any power of two; up to 256 bytes CUDA's allocation serves it directly, above it
 * the allocation is padded (see pinned_memory_resource), so deallocation must get the same
 * alignment. 0 bytes give nullptr. The stream-ordered functions ignore the stream: allocation
 * and free are synchronous, as in RMM. Stateless: all instances are equal.
 */
class pinned_host_memory_resource final {
 public:
  pinned_host_memory_resource() = default;
  ~pinned_host_memory_resource() = default;
  pinned_host_memory_resource(const pinned_host_memory_resource&) = default;  ///< copyable
  pinned_host_memory_resource(pinned_host_memory_resource&&) = default;       ///< movable
  pinned_host_memory_resource& operator=(const pinned_host_memory_resource&) =
      default;                                                                      ///< copyable
  pinned_host_memory_resource& operator=(pinned_host_memory_resource&&) = default;  ///< movable

  /**
   * @brief At least `bytes` bytes of pinned host memory aligned to `alignment`.
   * @throws gpumem::logic_error when `alignment` is not a power of two
   * @throws gpumem::out_of_memory when CUDA reports out of memory, gpumem::bad_alloc otherwise
   */
  void* allocate(std::size_t bytes, std::size_t alignment = CUDA_ALLOCATION_ALIGNMENT);

  /**
   * @brief Frees memory from allocate(`bytes`, `alignment`); nullptr is ignored.
   * @pre `ptr` came from allocate(`bytes`, `alignment`) of a pinned_host_memory_resource
   */
  void deallocate(void* ptr,
                  std::size_t bytes,
                  std::size_t alignment = CUDA_ALLOCATION_ALIGNMENT) noexcept;

  /// allocate(`bytes`, `alignment`); the stream is ignored. @throws as allocate
  void* allocate_async(std::size_t bytes, std::size_t alignment, cuda::stream_ref /*stream*/) {
    return allocate(bytes, alignment);
  }
  /// allocate(`bytes`); the stream is ignored. @throws as allocate
  void* allocate_async(std::size_t bytes, cuda::stream_ref /*stream*/) { return allocate(bytes); }

  /// deallocate(`ptr`, `bytes`, `alignment`) at once; the stream is ignored.
  void deallocate_async(void* ptr,
                        std::size_t bytes,
                        std::size_t alignment,
                        cuda::stream_ref /*stream*/) noexcept {
    deallocate(ptr, bytes, alignment);
  }
  /// deallocate(`ptr`, `bytes`) at once; the stream is ignored.
  void deallocate_async(void* ptr, std::size_t bytes, cuda::stream_ref /*stream*/) noexcept {
    deallocate(ptr, bytes);
  }

  /// All instances are equal: any of them may free memory from any other.
  [[nodiscard]] bool operator==(const pinned_host_memory_resource& /*other*/) const noexcept {
    return true;
  }
  /// The negation of operator==.
  [[nodiscard]] bool operator!=(const pinned_host_memory_resource& /*other*/) const noexcept {
    return false;
  }

  /// The memory is accessible from the host.
  friend void get_property(const pinned_host_memory_resource&, cuda::mr::host_accessible) noexcept {
  }
  /// The memory is accessible from the device.
  friend void get_property(const pinned_host_memory_resource&,
                           cuda::mr::device_accessible) noexcept {}
};

static_assert(cuda::mr::resource_with<pinned_host_memory_resource,
                                      cuda::mr::host_accessible,
                                      cuda::mr::device_accessible>);
static_assert(cuda::mr::async_resource_with<pinned_host_memory_resource,
                                            cuda::mr::host_accessible,
                                            cuda::mr::device_accessible>);

}  // namespace gpumem::mr
