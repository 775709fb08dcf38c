#pragma once

/**
 * @file cuda_async_managed_memory_resource.hpp
 * @brief Stream-ordered managed memory from the device's default managed memory pool (CUDA 13).
 */

#include <cuda_runtime_api.h>

#include <cstddef>

#include "gpumem/mr/cuda_async_view_memory_resource.hpp"
#include "gpumem/mr/device_memory_resource.hpp"

namespace gpumem::mr {

/**
 * @brief Allocates managed memory with `cudaMallocFromPoolAsync` from the current device's
 * default managed memory pool (`cudaMemGetDefaultMemPool(..., cudaMemAllocationTypeManaged)`),
 * and frees it with `cudaFreeAsync`, both ordered on the stream of the call.
 *
 * The pool is CUDA's and is not modified (its release threshold stays as it is). Two resources
 * are equal when they draw from the same pool. As RMM 25.10's.
 */
class cuda_async_managed_memory_resource final : public device_memory_resource {
 public:
  /**
   * @brief A resource on the current device's default managed memory pool.
   * @throws gpumem::logic_error when the driver or device has no managed memory pool (CUDA 13
   *         and concurrent managed access are needed; the message says which device)
   */
  cuda_async_managed_memory_resource();
  ~cuda_async_managed_memory_resource() override = default;
  cuda_async_managed_memory_resource(const cuda_async_managed_memory_resource&) = delete;
  cuda_async_managed_memory_resource(cuda_async_managed_memory_resource&&) = delete;
  cuda_async_managed_memory_resource& operator=(const cuda_async_managed_memory_resource&) = delete;
  cuda_async_managed_memory_resource& operator=(cuda_async_managed_memory_resource&&) = delete;

  /// The pool allocations come from.
  [[nodiscard]] cudaMemPool_t pool_handle() const noexcept { return pool_.pool_handle(); }

 private:
  /**
   * @brief `cudaMallocFromPoolAsync` on `stream`; 0 bytes give nullptr.
   * @throws gpumem::out_of_memory when the pool or the device is out of memory
   */
  void* do_allocate(std::size_t bytes, cuda_stream_view stream) override;
  /// `cudaFreeAsync` on `stream`; nullptr is ignored.
  void do_deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream) noexcept override;
  /// Whether `other` is a cuda_async_managed_memory_resource on the same pool.
  [[nodiscard]] bool do_is_equal(const device_memory_resource& other) const noexcept override;

  cuda_async_view_memory_resource pool_;
};

static_assert(
    cuda::mr::async_resource_with<cuda_async_managed_memory_resource, cuda::mr::device_accessible>);

}  // namespace gpumem::mr
