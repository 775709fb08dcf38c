#pragma once

/**
 * @file resource_ref.hpp
 * @brief Non-owning, type-erased references to memory resources (CCCL 3.0's cuda::mr refs).
 */

#include "gpumem/detail/cccl.hpp"

namespace gpumem {

/// A reference to a stream-ordered resource of device-accessible memory.
using device_async_resource_ref = cuda::mr::async_resource_ref<cuda::mr::device_accessible>;
/// A reference to a resource of device-accessible memory.
using device_resource_ref = cuda::mr::resource_ref<cuda::mr::device_accessible>;
/// A reference to a resource of host-accessible memory.
using host_resource_ref = cuda::mr::resource_ref<cuda::mr::host_accessible>;
/// A reference to a stream-ordered resource of host-accessible memory.
using host_async_resource_ref = cuda::mr::async_resource_ref<cuda::mr::host_accessible>;
/// A reference to a stream-ordered resource of memory accessible from host and device.
using host_device_async_resource_ref =
    cuda::mr::async_resource_ref<cuda::mr::host_accessible, cuda::mr::device_accessible>;
/// A reference to a resource of memory accessible from host and device.
using host_device_resource_ref =
    cuda::mr::resource_ref<cuda::mr::host_accessible, cuda::mr::device_accessible>;

/**
 * @brief A reference to `resource`, whatever its form: a resource, a pointer to one, or a
 * reference already.
 */
template <typename Resource>
[[nodiscard]] device_async_resource_ref to_device_async_resource_ref(Resource& resource) {
  return device_async_resource_ref{resource};
}
/// @copydoc to_device_async_resource_ref(Resource&)
template <typename Resource>
[[nodiscard]] device_async_resource_ref to_device_async_resource_ref(Resource* resource) {
  return device_async_resource_ref{*resource};
}
/// @copydoc to_device_async_resource_ref(Resource&)
[[nodiscard]] inline device_async_resource_ref to_device_async_resource_ref(
    device_async_resource_ref resource) {
  return resource;
}

}  // namespace gpumem
