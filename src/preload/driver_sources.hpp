#pragma once
// The bottoms of the shim's stacks: device memory, the driver's stream-ordered pool and managed
// memory, taken from the real driver entry points (never from an interposed symbol).

#include "config/stack_builder.hpp"

namespace gpumem::preload {

/// Whether `pointer` is the start of memory a stack took from the driver (a slab), or lies in
/// an expandable source's reservation (the driver reports that whole range for any address in
/// it): freeing it behind the shim's back (a double free that reaches CUDA) must not give it
/// away, and an IPC handle must not share it.
bool is_stack_memory(const void* pointer) noexcept;

/// Forgets the allocations `device`'s sources held: its context was reset, and the memory
/// went with it (CUDA may hand the same addresses out again).
void forget_stack_memory(int device) noexcept;

/// Makes the source layers (cuda, cuda_async, managed, expandable) of `device`, whose memory is
/// `device_total_bytes` (for shares).
config::source_factory driver_sources(int device, std::uint64_t device_total_bytes);

}  // namespace gpumem::preload
