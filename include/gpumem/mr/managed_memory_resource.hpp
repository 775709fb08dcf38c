#pragma once

/**
 * @file managed_memory_resource.hpp
 * @brief Unified (managed) memory from cudaMallocManaged / cudaFree.
 */

#include <cstddef>

#include "gpumem/mr/device_memory_resource.hpp"

namespace gpumem::mr {

/**
 * @brief Allocates with `cudaMallocManaged(..., cudaMemAttachGlobal)` and frees with `cudaFree`;
 * the stream is ignored, and `cudaFree` synchronizes the device.
 *
 * The memory is accessible from the host and from every device, and may be larger than the
 * device's memory (pages migrate on demand). Stateless: all instances are equal.
 */
class managed_memory_resource final : public device_memory_resource {
 public:
  managed_memory_resource() = default;
  ~managed_memory_resource() override = default;
  managed_memory_resource(const managed_memory_resource&) = default;             ///< copyable
  managed_memory_resource(managed_memory_resource&&) = default;                  ///< movable
  managed_memory_resource& operator=(const managed_memory_resource&) = default;  ///< copyable
  managed_memory_resource& operator=(managed_memory_resource&&) = default;       ///< movable

  /// Managed memory is accessible from the host too.
  friend void get_property(const managed_memory_resource&, cuda::mr::host_accessible) noexcept {}

 private:
  /**
   * @brief `cudaMallocManaged`; 0 bytes give nullptr without a CUDA call (CUDA refuses 0).
   * @throws gpumem::out_of_memory when CUDA reports out of memory, gpumem::bad_alloc otherwise
   */
  void* do_allocate(std::size_t bytes, cuda_stream_view stream) override;
  /// `cudaFree`; nullptr is ignored.
  void do_deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream) noexcept override;
  /// Whether `other` is a managed_memory_resource.
  [[nodiscard]] bool do_is_equal(const device_memory_resource& other) const noexcept override;
};

static_assert(cuda::mr::async_resource_with<managed_memory_resource,
                                            cuda::mr::device_accessible,
                                            cuda::mr::host_accessible>);

}  // namespace gpumem::mr
