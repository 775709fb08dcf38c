// The library's sources for a configured stack: the CUDA runtime's allocators.

#include <cstdio>

#include "config/layer_options.hpp"
#include "config/stack_builder.hpp"
#include "gpumem/error.hpp"
#include "gpumem/mr/cuda_async_memory_resource.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/expandable_memory_resource.hpp"
#include "gpumem/mr/managed_memory_resource.hpp"

namespace gpumem::config {

source_factory runtime_sources(std::uint64_t device_total_bytes) {
  return [device_total_bytes](
             const resolved_layer& layer) -> std::unique_ptr<mr::device_memory_resource> {
    const layer_options options{layer, device_total_bytes};
    if (layer.name == "cuda") return std::make_unique<mr::cuda_memory_resource>();
    if (layer.name == "managed") return std::make_unique<mr::managed_memory_resource>();
    if (layer.name == "expandable") {
      if (!mr::expandable_memory_resource::is_supported(get_current_cuda_device())) {
        std::fprintf(stderr,
                     "gpumem: device %d lacks CUDA's virtual memory management: the expandable "
                     "source takes cudaMalloc slabs instead\n",
                     get_current_cuda_device().value());
        return std::make_unique<mr::cuda_memory_resource>();
      }
      return std::make_unique<mr::expandable_memory_resource>(
          options.bytes("reservation").value_or(0), options.bytes("chunk_size").value_or(0));
    }
    if (layer.name == "cuda_async") {
      // Configured stacks do not prime the pool unless initial_size says so (the library
      // class, as RMM 25.10's, primes half the free memory by default).
      return std::make_unique<mr::cuda_async_memory_resource>(
          options.bytes("initial_size").value_or(0), options.bytes("release_threshold"));
    }
    throw gpumem::logic_error{"gpumem: " + layer.name + " is not a memory source"};
  };
}

}  // namespace gpumem::config
