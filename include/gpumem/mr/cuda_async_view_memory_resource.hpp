#pragma once

/**
 * @file cuda_async_view_memory_resource.hpp
 * @brief Stream-ordered device memory from an existing CUDA memory pool that the resource
 * does not own.
 */

#include <cuda_runtime_api.h>

#include <cstddef>

#include "gpumem/mr/device_memory_resource.hpp"

namespace gpumem::mr {

/**
 * @brief Allocates with `cudaMallocFromPoolAsync` from a CUDA memory pool it is given, and
 * frees with `cudaFreeAsync`, both ordered on the stream of the call.
 *
 * The pool is not owned: it must outlive the resource and every allocation made through it.
 * Equality: two resources are equal when they draw from the same pool, whether the other is a
 * view or a cuda_async_memory_resource (memory from a pool may be freed through either).
 * Copyable: a copy is another view of the same pool.
 */
class cuda_async_view_memory_resource final : public device_memory_resource {
 public:
  /**
   * @brief A view of `pool`.
   * @param pool a pool made by `cudaMemPoolCreate`, or a device's default or current pool
   * @pre `pool` outlives this resource and the allocations made through it
   * @throws gpumem::logic_error when `pool` is null
   */
  cuda_async_view_memory_resource(
      cudaMemPool_t pool);  // NOLINT(google-explicit-constructor): RMM's signature

  ~cuda_async_view_memory_resource() override = default;
  cuda_async_view_memory_resource(const cuda_async_view_memory_resource&) = default;  ///< copyable
  cuda_async_view_memory_resource(cuda_async_view_memory_resource&&) = default;       ///< movable
  cuda_async_view_memory_resource& operator=(const cuda_async_view_memory_resource&) =
      default;  ///< copyable
  cuda_async_view_memory_resource& operator=(cuda_async_view_memory_resource&&) =
      default;  ///< movable

  /// The CUDA memory pool the resource draws from.
  [[nodiscard]] cudaMemPool_t pool_handle() const noexcept { return pool_; }

 private:
  /**
   * @brief `cudaMallocFromPoolAsync` on `stream`; 0 bytes give nullptr without a CUDA call.
   * @throws gpumem::out_of_memory when the pool or the device is out of memory
   * @throws gpumem::bad_alloc when the allocation fails otherwise
   */
  void* do_allocate(std::size_t bytes, cuda_stream_view stream) override;
  /// `cudaFreeAsync` on `stream`; nullptr is ignored.
  void do_deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream) noexcept override;
  /// Whether `other` is a view or a cuda_async_memory_resource of the same pool.
  [[nodiscard]] bool do_is_equal(const device_memory_resource& other) const noexcept override;

  cudaMemPool_t pool_;
};

static_assert(
    cuda::mr::async_resource_with<cuda_async_view_memory_resource, cuda::mr::device_accessible>);

}  // namespace gpumem::mr
