#pragma once

#include <cuda.h>
#include <cuda_runtime_api.h>

namespace gpumem::sim {

/// The runtime error CUDA reports for a driver result.
cudaError_t to_runtime_error(CUresult result);

/// cudaGetErrorName's answer for a code ("cudaErrorMemoryAllocation").
const char* runtime_error_name(cudaError_t error);

/// cudaGetErrorString's answer for a code ("out of memory").
const char* runtime_error_text(cudaError_t error);

}  // namespace gpumem::sim
