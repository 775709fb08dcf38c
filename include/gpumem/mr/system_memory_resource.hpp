#pragma once

/**
 * @file system_memory_resource.hpp
 * @brief System-allocated memory (the C++ heap) that the GPU reads and writes in place, on
 * devices with pageable memory access: HMM (PCIe GPUs on x86 Linux with the open kernel
 * modules) or ATS (Grace Hopper).
 */

#include <cstddef>

#include "gpumem/cuda_device.hpp"
#include "gpumem/mr/device_memory_resource.hpp"

namespace gpumem::mr {

namespace detail {

/**
 * @brief Whether `device` can access pageable system memory (`cudaDevAttrPageableMemoryAccess`),
 * which system_memory_resource needs.
 * @throws gpumem::cuda_error when CUDA cannot say
 */
[[nodiscard]] bool is_system_memory_supported(cuda_device_id device);

}  // namespace detail

/**
 * @brief Allocates with `::operator new` (256-byte aligned) and frees with `::operator delete`
 * after synchronizing the stream of the free: the GPU uses the memory in place, migrating pages
 * on access.
 *
 * A free is immediate on the host, so the stream is synchronized first (cudaFree would wait for
 * the device; the heap does not). Stateless: all instances are equal. As RMM 25.10's.
 */
class system_memory_resource final : public device_memory_resource {
 public:
  /**
   * @brief A resource for the current device.
   * @throws gpumem::logic_error when the current device cannot access pageable memory (the
   *         message names the device and what it would need)
   */
  system_memory_resource();
  ~system_memory_resource() override = default;
  system_memory_resource(const system_memory_resource&) = default;             ///< copyable
  system_memory_resource(system_memory_resource&&) = default;                  ///< movable
  system_memory_resource& operator=(const system_memory_resource&) = default;  ///< copyable
  system_memory_resource& operator=(system_memory_resource&&) = default;       ///< movable

  /// System memory is accessible from the host too.
  friend void get_property(const system_memory_resource&, cuda::mr::host_accessible) noexcept {}

 private:
  /**
   * @brief 256-byte aligned heap memory; the stream is not used. 0 bytes give nullptr.
   * @throws gpumem::out_of_memory when the heap cannot give `bytes`
   */
  void* do_allocate(std::size_t bytes, cuda_stream_view stream) override;
  /// Synchronizes `stream` (work on it may still use the memory), then frees; nullptr is ignored.
  void do_deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream) noexcept override;
  /// Whether `other` is a system_memory_resource.
  [[nodiscard]] bool do_is_equal(const device_memory_resource& other) const noexcept override;
};

static_assert(cuda::mr::async_resource_with<system_memory_resource,
                                            cuda::mr::device_accessible,
                                            cuda::mr::host_accessible>);

}  // namespace gpumem::mr
