// Seed example 16: the README's per-device pools (seed 003_f3e86e99edc59517.txt, lines 350-359):
// one pool_memory_resource per device, each created with its device current and set as that
// device's resource. It loops over the devices present, so it runs on one device as on several.
// The seed's lines are as printed, but for one that cannot compile (see below); every line that
// is not the seed's says `added`.
#include <rmm/cuda_device.hpp>                     // added: the seed includes no header
#include <rmm/mr/device/cuda_memory_resource.hpp>  // added: the seed includes no header
#include <rmm/mr/device/pool_memory_resource.hpp>  // added: the seed includes no header
#include <rmm/mr/per_device_resource.hpp>          // added: the seed includes no header
#include <memory>                                  // added: the seed includes no header
#include <vector>                                  // added: the seed includes no header

#include <string>              // added: for the check
#include "example_checks.hpp"  // added: the checks after the seed's code

int main() {  // added: the seed's statements are top-level; they run in main()
  using std::unique_ptr;                     // added: the seed writes unique_ptr, cuda_device_id and
  using rmm::cuda_device_id;                 // added: set_per_device_resource unqualified
  using rmm::mr::set_per_device_resource;    // added
  const int N = rmm::get_num_cuda_devices();  // added: the seed's N is the number of devices
  const std::size_t pool_initial_size = std::size_t{64} << 20;  // added: each pool starts at 64 MiB
  // added: the upstream resources the seed's note omits; declared first, they outlive the pools
  std::vector<unique_ptr<rmm::mr::cuda_memory_resource>> upstreams;
using pool_mr = rmm::mr::pool_memory_resource<rmm::mr::cuda_memory_resource>;
std::vector<unique_ptr<pool_mr>> per_device_pools;
for(int i = 0; i < N; ++i) {
  cudaSetDevice(i); // set device i before creating MR
  // Use a vector of unique_ptr to maintain the lifetime of the MRs
  // Note: for brevity, omitting creation of upstream and computing initial_size
  // added: what the note omits, with device i current:
  auto& upstream = *upstreams.emplace_back(std::make_unique<rmm::mr::cuda_memory_resource>());
  const std::size_t initial_size = pool_initial_size;
  per_device_pools.push_back(std::make_unique<pool_mr>(upstream, initial_size));
  // Set the per-device resource for device i
  // added: as printed (`set_per_device_resource(cuda_device_id{i}, &per_device_pools.back());`)
  // this does not compile: &per_device_pools.back() is a unique_ptr<pool_mr>*, not a resource
  // pointer. The pool's pointer is per_device_pools.back().get():
  set_per_device_resource(cuda_device_id{i}, per_device_pools.back().get());
}

  // added: check: each device's resource is its own pool, which took 64 MiB on that device
  // and gives memory of that device
  using namespace example_checks;
  std::printf("%d device(s)\n", N);
  expect(N >= 1 && per_device_pools.size() == static_cast<std::size_t>(N), "one pool per device");
  for (int i = 0; i < N; ++i) {
    const std::string device = "device " + std::to_string(i);
    rmm::cuda_set_device_raii on_device{cuda_device_id{i}};
    expect(rmm::mr::get_per_device_resource(cuda_device_id{i}) == per_device_pools[i].get(),
           device + "'s resource is per_device_pools[i]");
    expect(rmm::mr::get_current_device_resource() == per_device_pools[i].get(),
           "with " + device + " current, the current resource is its pool");
    expect(per_device_pools[i]->pool_size() == pool_initial_size, device + "'s pool holds its 64 MiB");
    void* ptr = per_device_pools[i]->allocate(4096, rmm::cuda_stream_default);
    expect(is_device_memory_of(ptr, i), device + "'s pool gives " + device + " memory");
    round_trip(ptr, 4096);
    per_device_pools[i]->deallocate(ptr, 4096, rmm::cuda_stream_default);
  }
  // added: each pool is destroyed with its device current, as the README requires, after its
  // device's resource is reset to the initial one (so none points to a destroyed pool)
  for (int i = N - 1; i >= 0; --i) {
    rmm::cuda_set_device_raii on_device{cuda_device_id{i}};
    set_per_device_resource(cuda_device_id{i}, nullptr);
    per_device_pools[i].reset();
  }
  return finish("readme_per_device_pools");
}  // added
