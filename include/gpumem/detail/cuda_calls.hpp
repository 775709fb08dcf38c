#pragma once

/**
 * @file cuda_calls.hpp
 * @brief The few CUDA operations gpumem's resources make besides allocating: events, waits,
 * synchronization, the current device, memory info, error names.
 *
 * The library implements them with the CUDA runtime (src/cuda_calls_runtime.cpp). The preload
 * compiles the same resource code with an implementation over the real driver entry points
 * it looked up itself (src/preload/cuda_calls_driver.cpp), so a shim never calls the runtime,
 * nor an interposed symbol, from inside a stack. Errors are reported as cudaError_t in both.
 */

#include <cuda_runtime_api.h>

#include <cstddef>

namespace gpumem::detail::cuda_calls {

cudaError_t event_create(cudaEvent_t* event);  ///< an event without timing
cudaError_t event_record(cudaEvent_t event, cudaStream_t stream);
cudaError_t event_destroy(cudaEvent_t event);
cudaError_t event_synchronize(cudaEvent_t event);
cudaError_t stream_wait_event(cudaStream_t stream, cudaEvent_t event);
cudaError_t stream_synchronize(cudaStream_t stream);
cudaError_t device_synchronize();
cudaError_t get_device(int* device);
cudaError_t set_device(int device);
cudaError_t device_count(int* count);
cudaError_t memory_info(std::size_t* free_bytes, std::size_t* total_bytes);
/// Prefetches managed memory to `device` on `stream`.
cudaError_t prefetch(const void* pointer, std::size_t bytes, int device, cudaStream_t stream);
const char* error_name(cudaError_t error);
const char* error_string(cudaError_t error);
/// Forgets the calling thread's last error (the runtime's; nothing for the driver).
void clear_last_error();

}  // namespace gpumem::detail::cuda_calls
