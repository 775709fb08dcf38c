// Seed example 29: the user-guide pull request's managed-memory pool, as quoted in its review
// (seed 004_6ce94eb6b0907dad.txt, lines 339-340): a pool over managed_memory_resource (deduced
// template argument). The seed's lines are as printed; every line that is not the seed's says
// `added`.
#include <rmm/mr/device/managed_memory_resource.hpp>  // added: the seed includes no header
#include <rmm/mr/device/pool_memory_resource.hpp>     // added: the seed includes no header
#include <cstddef>                                    // added: the seed includes no header

#include <type_traits>         // added: for the check
#include "example_checks.hpp"  // added: the checks after the seed's code

int main() {  // added: the seed's statements are top-level; they run in main()
  // added: the seed's pool_size comes from the snippet before it in the pull request (example 28:
  // 80% of the GPU's memory); a fixed 256 MiB keeps this program light on any machine
  const std::size_t pool_size = std::size_t{256} << 20;
rmm::mr::managed_memory_resource managed_mr;
rmm::mr::pool_memory_resource pool_mr{managed_mr, pool_size};

  // added: check: the pool's template argument is deduced as managed_memory_resource; it took
  // pool_size of managed memory; its allocations are managed memory, usable by the device and by
  // the host
  using namespace example_checks;
  static_assert(std::is_same_v<decltype(pool_mr), rmm::mr::pool_memory_resource<rmm::mr::managed_memory_resource>>);
  expect(pool_mr.pool_size() == pool_size, "the pool took pool_size bytes");
  auto* ptr = static_cast<unsigned char*>(pool_mr.allocate(4096, rmm::cuda_stream_default));
  expect(attributes_of(ptr).type == cudaMemoryTypeManaged, "the pool gives managed memory");
  round_trip(ptr, 4096);
  expect_cuda(cudaMemset(ptr, 0x42, 4096), "cudaMemset");
  expect_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  expect(ptr[0] == 0x42 && ptr[4095] == 0x42, "the host reads what the device wrote");
  pool_mr.deallocate(ptr, 4096, rmm::cuda_stream_default);
  return finish("pr_managed_pool");
}  // added
