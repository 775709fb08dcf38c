#pragma once

/**
 * @file exec_policy.hpp
 * @brief Thrust CUDA execution policies that run an algorithm on a stream and take its
 * temporary storage from a device memory resource, through mr::thrust_allocator.
 *
 * `thrust::sort(gpumem::exec_policy(stream), first, last)` sorts on `stream` with its scratch
 * memory from the current device's resource; `gpumem::exec_policy(stream, mr)` takes it from
 * `mr`. Algorithms that launch kernels need nvcc; the header itself compiles with a host
 * compiler too.
 */

#include <thrust/system/cuda/execution_policy.h>

#include "gpumem/cuda_stream_view.hpp"
#include "gpumem/mr/per_device_resource.hpp"
#include "gpumem/mr/thrust_allocator_adaptor.hpp"
#include "gpumem/resource_ref.hpp"

namespace gpumem {

/// Thrust's policy type for `thrust::cuda::par(allocator).on(stream)` with a thrust_allocator.
using thrust_exec_policy_t =
    thrust::detail::execute_with_allocator<mr::thrust_allocator<char>,
                                           thrust::cuda_cub::execute_on_stream_base>;

/// Thrust's policy type for `thrust::cuda::par_nosync(allocator).on(stream)` with a
/// thrust_allocator.
using thrust_exec_policy_nosync_t =
    thrust::detail::execute_with_allocator<mr::thrust_allocator<char>,
                                           thrust::cuda_cub::execute_on_stream_nosync_base>;

/**
 * @brief A Thrust CUDA execution policy: the algorithm runs on `stream` and its temporary
 * storage comes from `mr` on the same stream (RMM's rule: the allocation stream and the
 * execution stream are one stream).
 *
 * The policy holds its mr::thrust_allocator by value, so a temporary policy
 * (`thrust::fill(gpumem::exec_policy(stream), ...)`) lives as long as the algorithm call. The
 * allocator records the current device, as mr::thrust_allocator does. Thrust synchronizes
 * `stream` where an algorithm returns a value to the host, as with `thrust::cuda::par`.
 */
class exec_policy : public thrust_exec_policy_t {
 public:
  /**
   * @brief A policy on `stream_view` whose temporary storage comes from `mr`.
   * @pre `mr` belongs to the current device and outlives the algorithm calls
   * @throws gpumem::cuda_error when the current device cannot be queried
   */
  explicit exec_policy(cuda_stream_view stream_view = cuda_stream_default,
                       device_async_resource_ref mr = mr::get_current_device_resource_ref())
      : thrust_exec_policy_t{thrust::cuda::par(mr::thrust_allocator<char>{stream_view, mr})
                                 .on(stream_view.value())} {}
};

/**
 * @brief exec_policy with `thrust::cuda::par_nosync`: Thrust may skip the stream
 * synchronizations that correctness does not need (an algorithm that returns nothing to the
 * host does not wait for the stream).
 */
class exec_policy_nosync : public thrust_exec_policy_nosync_t {
 public:
  /**
   * @brief A policy on `stream_view` whose temporary storage comes from `mr`.
   * @pre `mr` belongs to the current device and outlives the algorithm calls
   * @throws gpumem::cuda_error when the current device cannot be queried
   */
  explicit exec_policy_nosync(cuda_stream_view stream_view = cuda_stream_default,
                              device_async_resource_ref mr = mr::get_current_device_resource_ref())
      : thrust_exec_policy_nosync_t{
            thrust::cuda::par_nosync(mr::thrust_allocator<char>{stream_view, mr})
                .on(stream_view.value())} {}
};

}  // namespace gpumem
