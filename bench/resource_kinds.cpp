#include "resource_kinds.hpp"

#include "gpumem/aligned.hpp"
#include "gpumem/mr/arena_memory_resource.hpp"
#include "gpumem/mr/binning_memory_resource.hpp"
#include "gpumem/mr/cuda_async_memory_resource.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/owning_wrapper.hpp"
#include "gpumem/mr/pool_memory_resource.hpp"

namespace gpumem::bench {
namespace {

mr::cuda_memory_resource& cuda_upstream() {
  static mr::cuda_memory_resource upstream;
  return upstream;
}

}  // namespace

std::vector<resource_kind> all_resource_kinds() {
  return {resource_kind::cuda,
          resource_kind::cuda_async,
          resource_kind::pool,
          resource_kind::arena,
          resource_kind::binning};
}

std::string resource_name(resource_kind kind) {
  switch (kind) {
    case resource_kind::cuda:
      return "cuda";
    case resource_kind::cuda_async:
      return "cuda_async";
    case resource_kind::pool:
      return "pool";
    case resource_kind::arena:
      return "arena";
    case resource_kind::binning:
      return "binning";
  }
  return "unknown";
}

std::unique_ptr<mr::device_memory_resource> make_resource(resource_kind kind, std::size_t reserve) {
  reserve = align_down(reserve, CUDA_ALLOCATION_ALIGNMENT);
  switch (kind) {
    case resource_kind::cuda:
      return std::make_unique<mr::cuda_memory_resource>();
    case resource_kind::cuda_async:
      // Keep freed memory in the driver's pool, as a warm cudaMallocAsync user would.
      return std::make_unique<mr::cuda_async_memory_resource>(std::nullopt, SIZE_MAX);
    case resource_kind::pool:
      return std::make_unique<mr::pool_memory_resource<mr::cuda_memory_resource>>(cuda_upstream(),
                                                                                  reserve);
    case resource_kind::arena:
      return std::make_unique<mr::arena_memory_resource<mr::cuda_memory_resource>>(cuda_upstream(),
                                                                                   reserve);
    case resource_kind::binning: {
      // Small sizes from the pool below the bins too: RMM's benchmark configuration.
      using pool_type = mr::pool_memory_resource<mr::cuda_memory_resource>;
      auto pool = std::make_shared<pool_type>(cuda_upstream(), reserve);
      using binning_type = mr::binning_memory_resource<pool_type>;
      auto binning = std::make_unique<mr::owning_wrapper<binning_type, pool_type>>(
          std::make_tuple(pool), 18, 22);
      return binning;
    }
  }
  return nullptr;
}

}  // namespace gpumem::bench
