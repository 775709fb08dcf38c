#pragma once

/**
 * @file thrust_allocator_adaptor.hpp
 * @brief A Thrust allocator (for thrust::device_vector and Thrust's temporary storage) that
 * takes its memory from a stream-ordered device memory resource.
 *
 * The header needs no CUDA compiler: host code may allocate and deallocate through the
 * allocator. Thrust algorithms and containers that launch kernels need nvcc.
 */

#include <thrust/device_malloc_allocator.h>
#include <thrust/device_ptr.h>
#include <thrust/memory.h>

#include <cstddef>
#include <string>

#include "gpumem/aligned.hpp"
#include "gpumem/cuda_device.hpp"
#include "gpumem/cuda_stream_view.hpp"
#include "gpumem/error.hpp"
#include "gpumem/mr/per_device_resource.hpp"
#include "gpumem/resource_ref.hpp"

namespace gpumem::mr {

/**
 * @brief An allocator for Thrust containers and algorithms whose memory comes from a
 * `device_async_resource_ref`, on one stream.
 *
 * The allocator is typed (it hands out `thrust::device_ptr<T>`) and can be rebound to any
 * other type; rebound copies keep the resource, the stream and the device.
 *
 * Devices: the allocator records the device that is current when it is constructed and makes
 * that device current for each allocation and deallocation (restoring the caller's device
 * afterwards). So a `gpumem::device_vector` must be created with the resource's device
 * current, and may be destroyed with any device current. The resource must belong to that
 * device and outlive every allocation made through the allocator.
 *
 * Requests reach the resource with CUDA's alignment (CUDA_ALLOCATION_ALIGNMENT, 256 bytes); a
 * device_memory_resource then receives the size rounded up to a multiple of 256.
 *
 * Two allocators compare equal when their resources compare equal and their streams are the
 * same stream: then memory from one may be deallocated through the other.
 *
 * @tparam T the type of the objects allocated
 */
template <typename T>
class thrust_allocator : public thrust::device_malloc_allocator<T> {
 public:
  using Base = thrust::device_malloc_allocator<T>;  ///< Thrust's device allocator, the base
  using pointer = typename Base::pointer;           ///< `thrust::device_ptr<T>`
  using size_type = typename Base::size_type;       ///< `std::size_t`

  /// The allocator type for objects of type `U`.
  template <typename U>
  struct rebind {
    using other = thrust_allocator<U>;  ///< the rebound allocator
  };

  /**
   * @brief An allocator on the default stream over the current device's resource
   * (mr::get_current_device_resource_ref()), for the current device.
   * @throws gpumem::cuda_error when the current device cannot be queried
   */
  thrust_allocator() = default;

  /**
   * @brief An allocator on `stream` over the current device's resource, for the current device.
   * @throws gpumem::cuda_error when the current device cannot be queried
   */
  explicit thrust_allocator(cuda_stream_view stream) : stream_{stream} {}

  /**
   * @brief An allocator on `stream` over `resource` (a resource, a pointer to one or a
   * reference), for the current device.
   * @pre `resource` belongs to the current device and outlives the allocator's allocations
   * @throws gpumem::cuda_error when the current device cannot be queried
   */
  thrust_allocator(cuda_stream_view stream, device_async_resource_ref resource)
      : stream_{stream}, resource_{resource} {}

  /// An allocator of `T` with the resource, stream and device of `other`.
  template <typename U>
  thrust_allocator(const thrust_allocator<U>& other)  // NOLINT(google-explicit-constructor)
      : stream_{other.stream_}, resource_{other.resource_}, device_{other.device_} {}

  /**
   * @brief Allocates room for `count` objects of type `T` on the allocator's stream, with the
   * recorded device current.
   * @throws gpumem::bad_alloc when `count * sizeof(T)` does not fit in a size_t
   * @throws whatever the resource throws (gpumem::out_of_memory, gpumem::bad_alloc)
   * @throws gpumem::cuda_error when the recorded device cannot be made current
   */
  pointer allocate(size_type count) {
    if (count > this->max_size()) {
      throw gpumem::bad_alloc{"gpumem: thrust_allocator: " + std::to_string(count) +
                              " objects of " + std::to_string(sizeof(T)) +
                              " bytes do not fit in memory"};
    }
    cuda_set_device_raii on_device{device_};
    return thrust::device_pointer_cast(static_cast<T*>(
        resource_.allocate_async(count * sizeof(T), CUDA_ALLOCATION_ALIGNMENT, stream_)));
  }

  /**
   * @brief Frees what allocate(`count`) returned, on the allocator's stream, with the recorded
   * device current.
   * @pre `ptr` came from allocate(`count`) of an allocator equal to this one
   */
  void deallocate(pointer ptr, size_type count) noexcept {
    cuda_set_device_raii on_device{device_};
    resource_.deallocate_async(
        thrust::raw_pointer_cast(ptr), count * sizeof(T), CUDA_ALLOCATION_ALIGNMENT, stream_);
  }

  /// The resource the allocator takes its memory from.
  [[nodiscard]] device_async_resource_ref get_upstream_resource() const noexcept {
    return resource_;
  }

  /// The resource the allocator takes its memory from (the older RMM spelling).
  [[nodiscard]] device_async_resource_ref resource() const noexcept { return resource_; }

  /// The stream of the allocator's allocations and deallocations.
  [[nodiscard]] cuda_stream_view stream() const noexcept { return stream_; }

  /// The device recorded at construction, current during each allocation and deallocation.
  [[nodiscard]] cuda_device_id device() const noexcept { return device_; }

  /// Equal when the resources are equal and the streams are the same stream.
  template <typename U>
  [[nodiscard]] bool operator==(const thrust_allocator<U>& other) const noexcept {
    return resource_ == other.resource_ && stream_ == other.stream_;
  }

  /// Different when the resources differ or the streams do.
  template <typename U>
  [[nodiscard]] bool operator!=(const thrust_allocator<U>& other) const noexcept {
    return !(*this == other);
  }

  /// The allocator hands out device-accessible memory (a CCCL `cuda::mr` property).
  friend void get_property(const thrust_allocator&, cuda::mr::device_accessible) noexcept {}

 private:
  template <typename U>
  friend class thrust_allocator;

  cuda_stream_view stream_{};
  device_async_resource_ref resource_{get_current_device_resource_ref()};
  cuda_device_id device_{get_current_cuda_device()};
};

}  // namespace gpumem::mr
