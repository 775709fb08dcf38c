#pragma once

/**
 * @file device_vector.hpp
 * @brief thrust::device_vector whose memory comes from a device memory resource.
 */

#include <thrust/device_vector.h>

#include "gpumem/mr/thrust_allocator_adaptor.hpp"

namespace gpumem {

/**
 * @brief A `thrust::device_vector<T>` that allocates through mr::thrust_allocator: from the
 * current device's resource on the default stream, or from the resource and stream of the
 * allocator it is given (`device_vector<int> v(16, mr::thrust_allocator<int>{stream, mr})`).
 *
 * Create it with the resource's device current; it may be destroyed with any device current.
 * Operations that launch kernels (initializing elements, resize) need the right device
 * current, and code that uses them must be compiled by nvcc.
 */
template <typename T>
using device_vector = thrust::device_vector<T, mr::thrust_allocator<T>>;

}  // namespace gpumem
