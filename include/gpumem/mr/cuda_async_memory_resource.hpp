#pragma once

/**
 * @file cuda_async_memory_resource.hpp
 * @brief Stream-ordered device memory (cudaMallocFromPoolAsync / cudaFreeAsync) from a CUDA
 * memory pool the resource creates and owns.
 */

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <optional>

#include "gpumem/mr/cuda_async_view_memory_resource.hpp"
#include "gpumem/mr/device_memory_resource.hpp"

namespace gpumem::mr {

/**
 * @brief Allocates from its own CUDA memory pool with `cudaMallocFromPoolAsync` and frees with
 * `cudaFreeAsync`, ordered on the stream of each call.
 *
 * The pool is made with `cudaMemPoolCreate` for the device current at construction (not the
 * device's default pool, so its settings concern no one else) and destroyed with the resource.
 * Freed memory stays in the pool, for reuse by later allocations, up to the release threshold:
 * above it, the pool gives memory back to the device at the next synchronization
 * (`cudaMemPoolAttrReleaseThreshold`).
 *
 * Unlike RMM 25.10, the pool is created without the hardware-decompression usage flag
 * (cudaMemPoolCreateUsageHwDecompress, Blackwell): gpumem does not request it.
 *
 * Equality: equal to a resource (this one, or a cuda_async_view_memory_resource) that draws
 * from the same pool; two cuda_async_memory_resources are never equal.
 * Neither copyable nor movable: it owns the pool.
 */
class cuda_async_memory_resource final : public device_memory_resource {
 public:
  /**
   * @brief The IPC export handle types a pool's allocations may support; the values of CUDA's
   * `cudaMemAllocationHandleType`.
   */
  enum class allocation_handle_type : std::int32_t {
    none = 0,                   ///< no export (cudaMemHandleTypeNone)
    posix_file_descriptor = 1,  ///< a POSIX file descriptor (cudaMemHandleTypePosixFileDescriptor)
    win32 = 2,                  ///< a Win32 NT handle (cudaMemHandleTypeWin32)
    win32_kmt = 4,              ///< a Win32 KMT handle (cudaMemHandleTypeWin32Kmt)
    fabric = 8,                 ///< a fabric handle (cudaMemHandleTypeFabric)
  };

  /**
   * @brief Creates a pool on the current device.
   *
   * @param initial_pool_size this many bytes are allocated from the pool and freed again on
   *        the default stream, so the pool starts holding them (it keeps them when the release
   *        threshold allows); default, as RMM 25.10: half the device's free memory. Pass 0 not
   *        to prime the pool (RMM 25.12's default: priming holds that memory from other
   *        processes and costs a default-stream allocation)
   * @param release_threshold bytes the pool keeps when memory is freed; default: the device's
   *        total memory, so the pool keeps everything it ever held
   * @param export_handle_type the IPC handle type the allocations support; default: none
   * @throws gpumem::logic_error when the device does not support memory pools, or does not
   *         support the requested export handle type (the message says which)
   * @throws gpumem::cuda_error when CUDA fails to create or configure the pool
   * @throws gpumem::out_of_memory when an initial pool size given cannot be allocated
   */
  explicit cuda_async_memory_resource(
      std::optional<std::size_t> initial_pool_size = {},
      std::optional<std::size_t> release_threshold = {},
      std::optional<allocation_handle_type> export_handle_type = {});

  /// Destroys the pool (`cudaMemPoolDestroy`); memory still allocated from it is released
  /// by CUDA once freed.
  ~cuda_async_memory_resource() override;

  cuda_async_memory_resource(const cuda_async_memory_resource&) = delete;
  cuda_async_memory_resource(cuda_async_memory_resource&&) = delete;
  cuda_async_memory_resource& operator=(const cuda_async_memory_resource&) = delete;
  cuda_async_memory_resource& operator=(cuda_async_memory_resource&&) = delete;

  /// The CUDA memory pool the resource owns.
  [[nodiscard]] cudaMemPool_t pool_handle() const noexcept { return pool_.pool_handle(); }

 private:
  /// Allocates `bytes` from the pool and frees them on the default stream.
  void prime(std::size_t bytes);

  /**
   * @brief `cudaMallocFromPoolAsync` on `stream`.
   * @throws gpumem::out_of_memory when the device is out of memory
   * @throws gpumem::bad_alloc when the allocation fails otherwise
   */
  void* do_allocate(std::size_t bytes, cuda_stream_view stream) override;
  /// `cudaFreeAsync` on `stream`.
  void do_deallocate(void* ptr, std::size_t bytes, cuda_stream_view stream) noexcept override;
  /// Whether `other` draws from the same pool.
  [[nodiscard]] bool do_is_equal(const device_memory_resource& other) const noexcept override;

  cuda_async_view_memory_resource pool_;
};

static_assert(
    cuda::mr::async_resource_with<cuda_async_memory_resource, cuda::mr::device_accessible>);

}  // namespace gpumem::mr
