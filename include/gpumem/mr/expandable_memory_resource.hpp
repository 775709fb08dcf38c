#pragma once

/**
 * @file expandable_memory_resource.hpp
 * @brief Device memory on CUDA's virtual memory management API: one reserved address range,
 * physical memory mapped into it chunk by chunk, so allocations grow and shrink in place.
 */

#include <chrono>
#include <cstddef>
#include <memory>

#include "gpumem/cuda_device.hpp"
#include "gpumem/mr/device_memory_resource.hpp"
#include "gpumem/mr/expandable_upstream.hpp"

namespace gpumem::mr {

/**
 * @brief Reserves a range of virtual addresses on the current device once
 * (`cuMemAddressReserve`) and backs allocations with physical memory created and mapped in
 * pieces (`cuMemCreate`, `cuMemMap`, `cuMemSetAccess`) of a sixteenth of what the allocation
 * grows to, at least one chunk; a free unmaps and releases them.
 *
 * Under a pool_memory_resource it is an expandable_upstream: the pool's one slab grows by
 * mapping more chunks right after it and shrinks by unmapping its free end, so free space
 * never splits between slabs and the memory held follows the memory used (PyTorch's
 * "expandable segments", for any program). Allocations are multiples of the chunk size,
 * aligned to it. A shrink unmaps the whole pieces after the new end; one it cuts into stays
 * mapped (at most a sixteenth of the allocation) and serves the next growth. A free (deallocate,
 * shrink) first waits for the device, as cudaFree does. Thread safe. Not copyable: it owns the
 * reservation.
 */
class expandable_memory_resource final : public device_memory_resource, public expandable_upstream {
 public:
  /// What the resource did with the driver, since construction.
  struct mapping_statistics {
    std::size_t reserved_bytes = 0;  ///< virtual address space reserved
    std::size_t mapped_bytes = 0;    ///< physical memory mapped now
    std::size_t peak_mapped_bytes = 0;
    std::size_t map_calls = 0;    ///< pieces created and mapped
    std::size_t unmap_calls = 0;  ///< pieces unmapped and released
    std::chrono::nanoseconds map_time{0};
    std::chrono::nanoseconds unmap_time{0};
  };

  /**
   * @brief Reserves the address range on the current device.
   * @param reservation virtual bytes to reserve; 0: twice the device's memory
   * @param chunk_size bytes of each physical allocation, rounded up to the device's
   *        allocation granularity; 0: the granularity (2 MiB on current GPUs)
   * @throws gpumem::logic_error when the driver or device lacks virtual memory management
   *         (see is_supported), naming the device
   * @throws gpumem::cuda_error when the reservation fails
   */
  explicit expandable_memory_resource(std::size_t reservation = 0, std::size_t chunk_size = 0);

  /// Waits for the device, unmaps and releases every chunk, and frees the reservation.
  ~expandable_memory_resource() override;

  expandable_memory_resource(const expandable_memory_resource&) = delete;
  expandable_memory_resource& operator=(const expandable_memory_resource&) = delete;
  expandable_memory_resource(expandable_memory_resource&&) = delete;
  expandable_memory_resource& operator=(expandable_memory_resource&&) = delete;

  /**
   * @brief Whether `device` supports virtual memory management
   * (`CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED`) with a driver that has the API.
   */
  [[nodiscard]] static bool is_supported(cuda_device_id device) noexcept;

  /**
   * @brief Lets `device` read and write this resource's memory, mapped now and later: memory
   * from cuMemMap is not reachable from another device until cuMemSetAccess grants it, where
   * cudaMalloc memory is once peer access is enabled (the shim calls this when the program
   * enables peer access to this resource's device). Nothing to do for the resource's own device.
   * @throws gpumem::cuda_error when the driver refuses the access
   */
  void grant_access(cuda_device_id device);

  /**
   * @brief Takes back what grant_access(`device`) gave, on memory mapped now and later (the
   * shim calls this when the program disables peer access). Nothing to do for a device never
   * granted.
   * @throws gpumem::cuda_error when the driver refuses
   */
  void revoke_access(cuda_device_id device);

  /// The start of the reserved address range (allocations lie in it).
  [[nodiscard]] void* reservation_start() const noexcept;

  /// The bytes of each physical allocation, and the unit allocations grow by.
  [[nodiscard]] std::size_t chunk_size() const noexcept;

  /// A snapshot of what the resource reserved, mapped and unmapped.
  [[nodiscard]] mapping_statistics statistics() const;

  /// @copydoc expandable_upstream::grow_in_place
  bool grow_in_place(void* ptr, std::size_t size, std::size_t more) override;
  /// @copydoc expandable_upstream::shrink_in_place
  void shrink_in_place(void* ptr, std::size_t size, std::size_t less) override;
  /// The chunk size.
  [[nodiscard]] std::size_t growth_unit() const noexcept override { return chunk_size(); }

 private:
  /**
   * @brief Maps `bytes` rounded up to the chunk size at the lowest free addresses; the stream
   * is not used (mapping is synchronous). 0 bytes give nullptr.
   * @throws gpumem::out_of_memory when the device or the reservation has no room
   */
  void* do_allocate(std::size_t bytes, cuda_stream_view stream) override;
  /// Waits for the device, then unmaps and releases the allocation's chunks.
  void do_deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream) noexcept override;
  /// Only the same object: each owns its reservation.
  [[nodiscard]] bool do_is_equal(const device_memory_resource& other) const noexcept override;

  struct state_type;
  std::unique_ptr<state_type> state_;
};

static_assert(
    cuda::mr::async_resource_with<expandable_memory_resource, cuda::mr::device_accessible>);

}  // namespace gpumem::mr
