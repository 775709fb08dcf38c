#pragma once

/**
 * @file per_device_resource.hpp
 * @brief The default memory resource of each device, used by containers and allocators when
 * none is given.
 *
 * One table per process (it lives in libgpumem.so), guarded by a mutex: getting and setting
 * are thread safe with respect to each other. The table holds non-owning pointers and
 * references: a resource set here must outlive its use. Set a device's resource before that
 * device allocates, while the device is current (a resource belongs to the device current at
 * its construction). The initial resource of every device is a cuda_memory_resource.
 *
 * Two forms exist, as in RMM: pointers to device_memory_resource (`set_current_device_resource`)
 * and resource references (`set_current_device_resource_ref`). Setting a pointer also sets the
 * reference; setting a reference leaves the pointer table as it was, since a reference need
 * not refer to a device_memory_resource.
 */

#include "gpumem/cuda_device.hpp"
#include "gpumem/mr/device_memory_resource.hpp"
#include "gpumem/resource_ref.hpp"

namespace gpumem::mr {

/// The resource of `device` (initially a cuda_memory_resource). Not owned by the caller.
[[nodiscard]] device_memory_resource* get_per_device_resource(cuda_device_id device);

/**
 * @brief Sets the resource of `device`; `nullptr` restores the initial cuda_memory_resource.
 * @return the previous resource
 */
device_memory_resource* set_per_device_resource(cuda_device_id device,
                                                device_memory_resource* new_resource);

/// The resource of the current device.
[[nodiscard]] device_memory_resource* get_current_device_resource();

/**
 * @brief Sets the resource of the current device; `nullptr` restores the initial one.
 * @return the previous resource
 */
device_memory_resource* set_current_device_resource(device_memory_resource* new_resource);

/// The resource reference of `device`.
[[nodiscard]] device_async_resource_ref get_per_device_resource_ref(cuda_device_id device);

/**
 * @brief Sets the resource reference of `device`.
 * @return the previous reference
 */
device_async_resource_ref set_per_device_resource_ref(cuda_device_id device,
                                                      device_async_resource_ref new_resource);

/// The resource reference of the current device.
[[nodiscard]] device_async_resource_ref get_current_device_resource_ref();

/**
 * @brief Sets the resource reference of the current device.
 * @return the previous reference
 */
device_async_resource_ref set_current_device_resource_ref(device_async_resource_ref new_resource);

/**
 * @brief Restores the initial resource (a cuda_memory_resource) of `device`, pointer and reference.
 * @return the previous reference
 */
device_async_resource_ref reset_per_device_resource_ref(cuda_device_id device);

/**
 * @brief Restores the initial resource of the current device, pointer and reference.
 * @return the previous reference
 */
device_async_resource_ref reset_current_device_resource_ref();

}  // namespace gpumem::mr
