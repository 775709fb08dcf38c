#pragma once

/**
 * @file error_macros.hpp
 * @brief Precondition and CUDA-call checks that throw gpumem's exceptions with the place of
 * the failure in the message.
 *
 * - GPUMEM_EXPECTS(condition, message[, exception_type])  throws (default gpumem::logic_error)
 *   when the condition is false;
 * - GPUMEM_FAIL(message[, exception_type])                 always throws;
 * - GPUMEM_CUDA_TRY(call[, exception_type])                throws (default gpumem::cuda_error)
 *   when a CUDA runtime call fails, naming the error;
 * - GPUMEM_CUDA_TRY_ALLOC(call[, bytes])                   throws gpumem::out_of_memory for
 *   cudaErrorMemoryAllocation and gpumem::bad_alloc for any other failure;
 * - GPUMEM_ASSERT_CUDA_SUCCESS(call)                       for noexcept code (destructors):
 *   checks with assert in debug builds, ignores the result otherwise.
 * Each failed CUDA call is cleared from the thread's last error with cudaGetLastError.
 */

#include <cuda_runtime_api.h>

#include <cassert>
#include <string>

#include "gpumem/detail/cuda_calls.hpp"
#include "gpumem/error.hpp"

namespace gpumem::detail {

/**
 * @brief The failure path of GPUMEM_CUDA_TRY_ALLOC: clears the thread's last CUDA error and
 * throws with the message "CUDA error <request>at: <place>: <error name> <error string>".
 * @param status the failed call's result (not cudaSuccess)
 * @param place "file:line" of the call
 * @param request what was asked, ending in a space (e.g. "(failed to allocate 64 bytes) "), or
 * empty
 * @throws gpumem::out_of_memory for cudaErrorMemoryAllocation
 * @throws gpumem::bad_alloc for any other error
 */
[[noreturn]] inline void throw_allocation_error(cudaError_t status,
                                                const char* place,
                                                const std::string& request) {
  ::gpumem::detail::cuda_calls::clear_last_error();
  const std::string message = "CUDA error " + request + "at: " + place + ": " +
                              ::gpumem::detail::cuda_calls::error_name(status) + " " +
                              ::gpumem::detail::cuda_calls::error_string(status);
  if (status == cudaErrorMemoryAllocation) throw ::gpumem::out_of_memory{message};
  throw ::gpumem::bad_alloc{message};
}

}  // namespace gpumem::detail

#define GPUMEM_STRINGIFY_DETAIL(x) #x
#define GPUMEM_STRINGIFY(x) GPUMEM_STRINGIFY_DETAIL(x)
#define GPUMEM_PLACE __FILE__ ":" GPUMEM_STRINGIFY(__LINE__)

#define GPUMEM_EXPECTS(...) \
  GPUMEM_OVERLOAD_3(__VA_ARGS__, GPUMEM_EXPECTS_3, GPUMEM_EXPECTS_2, unused)(__VA_ARGS__)
#define GPUMEM_EXPECTS_3(condition, message, exception_type) \
  GPUMEM_EXPECTS_AT("gpumem failure at: ", condition, message, exception_type)
#define GPUMEM_EXPECTS_2(condition, message) \
  GPUMEM_EXPECTS_3(condition, message, ::gpumem::logic_error)
/// GPUMEM_EXPECTS with the words before the place chosen (RMM_EXPECTS says "RMM failure at: ").
#define GPUMEM_EXPECTS_AT(prefix, condition, message, exception_type)          \
  do {                                                                         \
    if (!(condition)) [[unlikely]] {                                           \
      throw exception_type{std::string{prefix GPUMEM_PLACE ": "} + (message)}; \
    }                                                                          \
  } while (false)

#define GPUMEM_FAIL(...) GPUMEM_OVERLOAD_2(__VA_ARGS__, GPUMEM_FAIL_2, GPUMEM_FAIL_1)(__VA_ARGS__)
#define GPUMEM_FAIL_2(message, exception_type) \
  GPUMEM_FAIL_AT("gpumem failure at: ", message, exception_type)
/// GPUMEM_FAIL with the words before the place chosen.
#define GPUMEM_FAIL_AT(prefix, message, exception_type) \
  throw exception_type {                                \
    std::string{prefix GPUMEM_PLACE ": "} + (message)   \
  }
#define GPUMEM_FAIL_1(message) GPUMEM_FAIL_2(message, ::gpumem::logic_error)

#define GPUMEM_CUDA_TRY(...) \
  GPUMEM_OVERLOAD_2(__VA_ARGS__, GPUMEM_CUDA_TRY_2, GPUMEM_CUDA_TRY_1)(__VA_ARGS__)
#define GPUMEM_CUDA_TRY_2(call, exception_type)                                            \
  do {                                                                                     \
    const cudaError_t gpumem_status = (call);                                              \
    if (gpumem_status != cudaSuccess) [[unlikely]] {                                       \
      ::gpumem::detail::cuda_calls::clear_last_error();                                    \
      throw exception_type{std::string{"CUDA error at: " GPUMEM_PLACE ": "} +              \
                           ::gpumem::detail::cuda_calls::error_name(gpumem_status) + " " + \
                           ::gpumem::detail::cuda_calls::error_string(gpumem_status)};     \
    }                                                                                      \
  } while (false)
#define GPUMEM_CUDA_TRY_1(call) GPUMEM_CUDA_TRY_2(call, ::gpumem::cuda_error)

#define GPUMEM_CUDA_TRY_ALLOC(...) \
  GPUMEM_OVERLOAD_2(__VA_ARGS__, GPUMEM_CUDA_TRY_ALLOC_2, GPUMEM_CUDA_TRY_ALLOC_1)(__VA_ARGS__)
#define GPUMEM_CUDA_TRY_ALLOC_2(call, bytes)                            \
  do {                                                                  \
    const cudaError_t gpumem_status = (call);                           \
    if (gpumem_status != cudaSuccess) [[unlikely]] {                    \
      ::gpumem::detail::throw_allocation_error(                         \
          gpumem_status,                                                \
          GPUMEM_PLACE,                                                 \
          "(failed to allocate " + std::to_string(bytes) + " bytes) "); \
    }                                                                   \
  } while (false)
#define GPUMEM_CUDA_TRY_ALLOC_1(call)                                                       \
  do {                                                                                      \
    const cudaError_t gpumem_status = (call);                                               \
    if (gpumem_status != cudaSuccess) [[unlikely]] {                                        \
      ::gpumem::detail::throw_allocation_error(gpumem_status, GPUMEM_PLACE, std::string{}); \
    }                                                                                       \
  } while (false)

#ifdef NDEBUG
#define GPUMEM_ASSERT_CUDA_SUCCESS(call) \
  do {                                   \
    (void)(call);                        \
  } while (false)
#else
#define GPUMEM_ASSERT_CUDA_SUCCESS(call)      \
  do {                                        \
    const cudaError_t gpumem_status = (call); \
    assert(gpumem_status == cudaSuccess);     \
    (void)gpumem_status;                      \
  } while (false)
#endif

// Pick a macro by the number of arguments.
#define GPUMEM_OVERLOAD_2(_1, _2, name, ...) name
#define GPUMEM_OVERLOAD_3(_1, _2, _3, name, ...) name
