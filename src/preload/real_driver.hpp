#pragma once
// The real CUDA driver, as the preload's own stacks and pass-through paths call it: looked up
// once from libcuda.so.1 through the real dlsym and the real cuGetProcAddress, so nothing the
// shim calls can land back in the shim.

#include <cuda.h>
#include <cuda_runtime_api.h>

#include "driver/driver_entry_points.hpp"

namespace gpumem::preload {

/// The real driver's entry points (loaded on first use; `loaded` false without a driver).
const driver::driver_library& real_driver();

/// The real cuGetProcAddress of CUDA 11.3 (4 arguments), for programs that ask for that one.
using get_proc_address_v1 = CUresult (*)(const char*, void**, int, cuuint64_t);
get_proc_address_v1 real_get_proc_address_v1();

/// The runtime error CUDA's runtime reports for a driver result.
cudaError_t to_runtime_error(CUresult result);

}  // namespace gpumem::preload
