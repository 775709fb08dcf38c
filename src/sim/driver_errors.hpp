#pragma once

#include <cuda.h>

namespace gpumem::sim {

/// The name and description CUDA gives a driver result code.
struct driver_error_description {
  CUresult code;
  const char* name;
  const char* text;
};

/// The description of a driver result code, or null for a code CUDA does not define (of those
/// the simulator knows).
const driver_error_description* describe_driver_error(CUresult code);

}  // namespace gpumem::sim
