#pragma once

/**
 * @file sam_headroom_memory_resource.hpp
 * @brief System-allocated memory that prefers the GPU only while the device keeps a headroom
 * of free memory for other CUDA calls.
 */

#include <cstddef>

#include "gpumem/mr/device_memory_resource.hpp"
#include "gpumem/mr/system_memory_resource.hpp"

namespace gpumem::mr {

/**
 * @brief Allocates from a system_memory_resource and sets each allocation's preferred location
 * (`cudaMemAdviseSetPreferredLocation`): the part that fits in the device's free memory minus
 * `headroom` prefers the current device, the rest the host.
 *
 * System memory migrated to the GPU is not migrated back under memory pressure, so without a
 * headroom other CUDA calls could run out of memory. The free-memory query costs a driver call
 * per allocation: put small allocations elsewhere (a binning resource) and large ones here. As
 * RMM 25.10's.
 */
class sam_headroom_memory_resource final : public device_memory_resource {
 public:
  /**
   * @brief A resource for the current device that leaves `headroom` bytes of it free.
   * @throws gpumem::logic_error when the device cannot access pageable memory
   */
  explicit sam_headroom_memory_resource(std::size_t headroom);
  sam_headroom_memory_resource() = delete;
  ~sam_headroom_memory_resource() override = default;
  sam_headroom_memory_resource(const sam_headroom_memory_resource&) = delete;
  sam_headroom_memory_resource(sam_headroom_memory_resource&&) = delete;
  sam_headroom_memory_resource& operator=(const sam_headroom_memory_resource&) = delete;
  sam_headroom_memory_resource& operator=(sam_headroom_memory_resource&&) = delete;

 private:
  /**
   * @brief System memory with its preferred locations set; the stream is not used.
   * @throws gpumem::out_of_memory when the heap cannot give `bytes`
   * @throws gpumem::cuda_error when CUDA refuses the advice (nothing is leaked)
   */
  void* do_allocate(std::size_t bytes, cuda_stream_view stream) override;
  /// As system_memory_resource: synchronizes `stream`, then frees.
  void do_deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream) noexcept override;
  /// Whether `other` is a sam_headroom_memory_resource with the same headroom.
  [[nodiscard]] bool do_is_equal(const device_memory_resource& other) const noexcept override;

  system_memory_resource system_;
  std::size_t headroom_;
};

static_assert(
    cuda::mr::async_resource_with<sam_headroom_memory_resource, cuda::mr::device_accessible>);

}  // namespace gpumem::mr
