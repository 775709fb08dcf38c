#pragma once

/**
 * @file pinned_memory_resource.hpp
 * @brief Pinned (page-locked) host memory from cudaMallocHost / cudaFreeHost, as a
 * host_memory_resource.
 */

#include <cstddef>

#include "gpumem/cuda_stream_view.hpp"
#include "gpumem/mr/host_memory_resource.hpp"

namespace gpumem::mr {

/**
 * @brief Allocates pinned host memory with `cudaMallocHost` and frees it with `cudaFreeHost`.
 *
 * The memory is accessible from the host and, through unified addressing, from the device;
 * copies from and to it run at full speed and may be asynchronous.
 *
 * Alignment: CUDA's pinned allocations are aligned to 256 bytes, which serves every alignment
 * up to 256 directly. A larger alignment is served by over-allocating `alignment` bytes plus
 * room for the start of the CUDA allocation, which is kept just before the returned address
 * (so deallocate must get the same `alignment`). An alignment that is not a power of two is
 * replaced by `alignof(std::max_align_t)`, as RMM does. 0 bytes give nullptr.
 *
 * RMM's "pretend" stream-ordered interface is kept: allocate_async / deallocate_async ignore
 * the stream and work synchronously. Stateless: all instances are equal.
 */
class pinned_memory_resource final : public host_memory_resource {
 public:
  pinned_memory_resource() = default;
  ~pinned_memory_resource() override = default;
  pinned_memory_resource(const pinned_memory_resource&) = default;             ///< copyable
  pinned_memory_resource(pinned_memory_resource&&) = default;                  ///< movable
  pinned_memory_resource& operator=(const pinned_memory_resource&) = default;  ///< copyable
  pinned_memory_resource& operator=(pinned_memory_resource&&) = default;       ///< movable

  /**
   * @brief allocate(`bytes`, `alignment`); the stream is ignored.
   * @throws gpumem::out_of_memory or gpumem::bad_alloc as allocate does
   */
  void* allocate_async(std::size_t bytes, std::size_t alignment, cuda_stream_view /*stream*/) {
    return allocate(bytes, alignment);
  }
  /// allocate(`bytes`); the stream is ignored.
  void* allocate_async(std::size_t bytes, cuda_stream_view /*stream*/) { return allocate(bytes); }
  /// deallocate(`ptr`, `bytes`, `alignment`) at once; the stream is ignored.
  void deallocate_async(void* ptr,
                        std::size_t bytes,
                        std::size_t alignment,
                        cuda_stream_view /*stream*/) {
    deallocate(ptr, bytes, alignment);
  }
  /// deallocate(`ptr`, `bytes`) at once; the stream is ignored.
  void deallocate_async(void* ptr, std::size_t bytes, cuda_stream_view /*stream*/) {
    deallocate(ptr, bytes);
  }

  /// Pinned memory is accessible from the device too.
  friend void get_property(const pinned_memory_resource&, cuda::mr::device_accessible) noexcept {}

 private:
  /**
   * @brief `cudaMallocHost`, over-allocated for an alignment above 256.
   * @throws gpumem::out_of_memory when CUDA reports out of memory, gpumem::bad_alloc otherwise
   */
  void* do_allocate(std::size_t bytes, std::size_t alignment) override;
  /// `cudaFreeHost` of the allocation behind `ptr`; nullptr is ignored.
  void do_deallocate(void* ptr, std::size_t bytes, std::size_t alignment) noexcept override;
  /// Whether `other` is a pinned_memory_resource.
  [[nodiscard]] bool do_is_equal(const host_memory_resource& other) const noexcept override;
};

static_assert(cuda::mr::resource_with<pinned_memory_resource, cuda::mr::host_accessible>);
static_assert(cuda::mr::async_resource_with<pinned_memory_resource,
                                            cuda::mr::host_accessible,
                                            cuda::mr::device_accessible>);

namespace detail {

/// Allocates pinned host memory aligned to at least CUDA_ALLOCATION_ALIGNMENT; throws on failure.
using pinned_allocate_function = void* (*)(std::size_t bytes);
/// Frees memory from the matching pinned_allocate_function.
using pinned_free_function = void (*)(void* ptr) noexcept;

/**
 * @brief `bytes` bytes aligned to `alignment` from `allocate`: directly for an alignment up to
 * 256, else over-allocated with the start of the underlying allocation stored just before the
 * returned address.
 * @pre `alignment` is a power of two and `bytes` > 0
 * @throws gpumem::bad_alloc when the padded size overflows; whatever `allocate` throws
 */
void* allocate_pinned_aligned(std::size_t bytes,
                              std::size_t alignment,
                              pinned_allocate_function allocate);

/**
 * @brief Frees memory from allocate_pinned_aligned(..., `alignment`, ...) with `free`.
 * @pre `ptr` is not null and came from allocate_pinned_aligned with this `alignment`
 */
void deallocate_pinned_aligned(void* ptr,
                               std::size_t alignment,
                               pinned_free_function free) noexcept;

}  // namespace detail

}  // namespace gpumem::mr
