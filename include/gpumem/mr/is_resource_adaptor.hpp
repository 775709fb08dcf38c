#pragma once

/**
 * @file is_resource_adaptor.hpp
 * @brief Telling resource adaptors from other resources at compile time (RMM 25.10's
 * `rmm::mr::is_resource_adaptor`).
 */

#include <type_traits>
#include <utility>

#include "gpumem/detail/cccl.hpp"

namespace gpumem::mr {

/**
 * @brief Whether `Resource` is a resource adaptor: a memory resource (`cuda::mr::resource`)
 * with `get_upstream_resource()`. The second parameter is RMM's detection slot; leave it.
 */
template <class Resource, class = void>
inline constexpr bool is_resource_adaptor = false;

template <class Resource>
inline constexpr bool
    is_resource_adaptor<Resource,
                        std::void_t<decltype(std::declval<Resource&>().get_upstream_resource())>> =
        cuda::mr::resource<Resource>;

}  // namespace gpumem::mr
