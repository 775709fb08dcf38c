#pragma once
/**
 * @file gpumem_namespace.hpp
 * @brief RMM compatibility: the namespace `rmm` is gpumem's namespace, so `rmm::mr::...`,
 * `rmm::device_buffer` and the rest name gpumem's classes. A program cannot use RMM itself and
 * these headers together.
 */

#include "gpumem/detail/error_macros.hpp"
#include "gpumem/resource_ref.hpp"

namespace gpumem::mr {
/// RMM also spells the resource reference `rmm::mr::device_async_resource_ref`.
using gpumem::device_async_resource_ref;
}  // namespace gpumem::mr

namespace rmm = gpumem;

// RMM's names for gpumem's checks (detail/error_macros.hpp).
#ifndef RMM_CUDA_TRY
#define RMM_CUDA_TRY(...) GPUMEM_CUDA_TRY(__VA_ARGS__)
#define RMM_CUDA_TRY_ALLOC(...) GPUMEM_CUDA_TRY_ALLOC(__VA_ARGS__)
#define RMM_EXPECTS(...) GPUMEM_EXPECTS(__VA_ARGS__)
#define RMM_FAIL(...) GPUMEM_FAIL(__VA_ARGS__)
#define RMM_ASSERT_CUDA_SUCCESS(...) GPUMEM_ASSERT_CUDA_SUCCESS(__VA_ARGS__)
#endif
