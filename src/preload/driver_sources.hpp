#pragma once
// The bottoms of the shim's stacks: device memory, the driver's stream-ordered pool and managed
// memory, taken from the real driver entry points (never from an interposed symbol).

#include "config/stack_builder.hpp"

namespace gpumem::preload {

/// Makes the source layers (cuda, cuda_async, managed) of `device`, whose memory is
/// `device_total_bytes` (for shares).
config::source_factory driver_sources(int device, std::uint64_t device_total_bytes);

}  // namespace gpumem::preload
