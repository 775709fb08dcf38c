#pragma once
/**
 * @file gpumem_namespace.hpp
 * @brief RMM compatibility: `rmm` and `rmm::mr` are real namespaces (code may reopen them, as
 * RMM's own tests do with `namespace rmm::test`), and each header under include/rmm/ names
 * gpumem's entities in them with using-declarations, so `rmm::device_buffer` and
 * `gpumem::device_buffer` are one type. A program cannot use RMM itself and these headers
 * together.
 */

#include "gpumem/detail/error_macros.hpp"
#include "gpumem/resource_ref.hpp"

namespace gpumem::mr {
/// RMM also spells the resource reference `rmm::mr::device_async_resource_ref`.
using gpumem::device_async_resource_ref;
}  // namespace gpumem::mr

namespace rmm {
using gpumem::device_async_resource_ref;
using gpumem::device_resource_ref;
using gpumem::host_async_resource_ref;
using gpumem::host_device_async_resource_ref;
using gpumem::host_device_resource_ref;
using gpumem::host_resource_ref;
using gpumem::to_device_async_resource_ref;
namespace mr {
using gpumem::device_async_resource_ref;
}  // namespace mr
}  // namespace rmm

// RMM's checks (detail/error_macros.hpp does the work), with RMM's words: a failed
// expectation reads "RMM failure at: FILE:LINE: message", a CUDA error "CUDA error at:
// FILE:LINE: cudaErrorName description", as code and tests written for RMM expect.
#ifndef RMM_CUDA_TRY
#define RMM_CUDA_TRY(...) GPUMEM_CUDA_TRY(__VA_ARGS__)
#define RMM_CUDA_TRY_ALLOC(...) GPUMEM_CUDA_TRY_ALLOC(__VA_ARGS__)
#define RMM_EXPECTS(...) \
  GPUMEM_OVERLOAD_3(__VA_ARGS__, RMM_EXPECTS_3, RMM_EXPECTS_2, unused)(__VA_ARGS__)
#define RMM_EXPECTS_3(condition, message, exception_type) \
  GPUMEM_EXPECTS_AT("RMM failure at: ", condition, message, exception_type)
#define RMM_EXPECTS_2(condition, message) RMM_EXPECTS_3(condition, message, ::gpumem::logic_error)
#define RMM_FAIL(...) GPUMEM_OVERLOAD_2(__VA_ARGS__, RMM_FAIL_2, RMM_FAIL_1)(__VA_ARGS__)
#define RMM_FAIL_2(message, exception_type) \
  GPUMEM_FAIL_AT("RMM failure at: ", message, exception_type)
#define RMM_FAIL_1(message) RMM_FAIL_2(message, ::gpumem::logic_error)
#define RMM_ASSERT_CUDA_SUCCESS(...) GPUMEM_ASSERT_CUDA_SUCCESS(__VA_ARGS__)
#endif
