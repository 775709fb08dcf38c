#pragma once
// The resources the benchmarks compare, made the same way in every benchmark program.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "gpumem/mr/device_memory_resource.hpp"

namespace gpumem::bench {

/// A resource under test. The upstream of the sub-allocators is cudaMalloc.
enum class resource_kind : int {
  cuda,        ///< cuda_memory_resource: cudaMalloc / cudaFree
  cuda_async,  ///< cuda_async_memory_resource: the driver's pool, release threshold at maximum
               ///< (warm)
  pool,        ///< pool_memory_resource
  arena,       ///< arena_memory_resource
  binning,     ///< binning_memory_resource: fixed-size bins of 256 KiB .. 4 MiB over a pool (RMM's
               ///< usual setup)
};

/// Every kind, in the order results are reported.
std::vector<resource_kind> all_resource_kinds();

/// The kind's name in benchmark names.
std::string resource_name(resource_kind kind);

/// A new resource of `kind`; sub-allocators start with `reserve` bytes.
std::unique_ptr<mr::device_memory_resource> make_resource(resource_kind kind, std::size_t reserve);

}  // namespace gpumem::bench
