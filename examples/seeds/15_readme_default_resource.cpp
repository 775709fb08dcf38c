// Seed example 15: the README's default resource (seed 003_f3e86e99edc59517.txt, lines 327-333):
// a pool over cuda_memory_resource, initially half of the free device memory, made the current
// resource (pointer form). The seed's lines are as printed; every line that is not the seed's says
// `added`.
#include <rmm/cuda_device.hpp>                        // added: the seed includes no header
#include <rmm/mr/device/cuda_memory_resource.hpp>     // added: the seed includes no header
#include <rmm/mr/device/pool_memory_resource.hpp>     // added: the seed includes no header
#include <rmm/mr/per_device_resource.hpp>             // added: the seed includes no header

#include <rmm/device_buffer.hpp>  // added: for the check
#include "example_checks.hpp"     // added: the checks after the seed's code

int main() {  // added: the seed's statements are top-level; they run in main()
rmm::mr::cuda_memory_resource cuda_mr;
// Construct a resource that uses a coalescing best-fit pool allocator
// With the pool initially half of available device memory
auto initial_size = rmm::percent_of_free_device_memory(50);
rmm::mr::pool_memory_resource<rmm::mr::cuda_memory_resource> pool_mr{&cuda_mr, initial_size};
rmm::mr::set_current_device_resource(&pool_mr); // Updates the current device resource pointer to `pool_mr`
rmm::mr::device_memory_resource* mr = rmm::mr::get_current_device_resource(); // Points to `pool_mr`

  // added: check: `mr` points to pool_mr; the pool holds half of the free memory (a multiple of
  // 256 bytes) and serves allocations through the current resource without growing
  using namespace example_checks;
  const auto [free_bytes, total_bytes] = rmm::available_device_memory();
  std::printf("initial_size %zu of %zu bytes (%zu free now)\n", initial_size, total_bytes, free_bytes);
  expect(mr == &pool_mr, "mr points to pool_mr");
  expect(initial_size > 0 && initial_size % 256 == 0 && initial_size <= total_bytes / 2,
         "initial_size is a non-zero multiple of 256 bytes, at most half of the device's memory");
  expect(pool_mr.pool_size() == initial_size, "the pool took initial_size bytes");
  rmm::device_buffer buffer(1 << 20, rmm::cuda_stream_default, mr);
  round_trip(buffer.data(), buffer.size());
  expect(pool_mr.pool_size() == initial_size, "the pool served 1 MiB without growing");
  return finish("readme_default_resource");
}  // added
