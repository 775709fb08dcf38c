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
 *
 * A reference compares equal to another only when both were made with the same CCCL function
 * table, which lives in the code that made the reference. So the reference of a resource set
 * as a pointer (and of the initial resource) is made by the `_ref` getters inline, in the
 * caller's code, from the pointer: `get_current_device_resource_ref() ==
 * device_async_resource_ref{get_current_device_resource()}` holds in any program or library,
 * whatever its symbol visibility. A reference set as a reference is returned as it was set.
 */

#include <optional>

#include "gpumem/cuda_device.hpp"
#include "gpumem/mr/device_memory_resource.hpp"
#include "gpumem/resource_ref.hpp"

namespace gpumem::mr {

namespace detail {

/// A device's entry in the table: its resource, and the reference set as one (if any).
struct per_device_entry {
  device_memory_resource* resource;                    ///< never null
  std::optional<device_async_resource_ref> reference;  ///< empty: the resource's own reference
};

/// The entry of `device`.
[[nodiscard]] per_device_entry per_device_entry_of(cuda_device_id device);

/**
 * @brief Sets the reference of `device` (the pointer stays); an empty `new_reference`
 * restores the initial resource, pointer and reference.
 * @return the previous entry
 */
per_device_entry exchange_per_device_reference(
    cuda_device_id device, std::optional<device_async_resource_ref> new_reference);

/// The reference an entry stands for, made here, in the caller's code (see the file comment).
[[nodiscard]] inline device_async_resource_ref reference_of(const per_device_entry& entry) {
  return entry.reference ? *entry.reference : device_async_resource_ref{entry.resource};
}

/// The initial resource of every device: one cuda_memory_resource (RMM's detail function).
[[nodiscard]] device_memory_resource* initial_resource();

}  // namespace detail

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
[[nodiscard]] inline device_async_resource_ref get_per_device_resource_ref(cuda_device_id device) {
  return detail::reference_of(detail::per_device_entry_of(device));
}

/**
 * @brief Sets the resource reference of `device`.
 * @return the previous reference
 */
inline device_async_resource_ref set_per_device_resource_ref(
    cuda_device_id device, device_async_resource_ref new_resource) {
  return detail::reference_of(detail::exchange_per_device_reference(device, new_resource));
}

/// The resource reference of the current device.
[[nodiscard]] inline device_async_resource_ref get_current_device_resource_ref() {
  return get_per_device_resource_ref(get_current_cuda_device());
}

/**
 * @brief Sets the resource reference of the current device.
 * @return the previous reference
 */
inline device_async_resource_ref set_current_device_resource_ref(
    device_async_resource_ref new_resource) {
  return set_per_device_resource_ref(get_current_cuda_device(), new_resource);
}

/**
 * @brief Restores the initial resource (a cuda_memory_resource) of `device`, pointer and reference.
 * @return the previous reference
 */
inline device_async_resource_ref reset_per_device_resource_ref(cuda_device_id device) {
  return detail::reference_of(detail::exchange_per_device_reference(device, std::nullopt));
}

/**
 * @brief Restores the initial resource of the current device, pointer and reference.
 * @return the previous reference
 */
inline device_async_resource_ref reset_current_device_resource_ref() {
  return reset_per_device_resource_ref(get_current_cuda_device());
}

}  // namespace gpumem::mr
