// Seed example 04: the Programming Guide's per-device resources (seed 000_0f306e1fe9c1a347.txt,
// lines 135-143): get device 0's resource, then make a cuda_async_memory_resource device 0's
// resource. The seed's lines are as printed; every line that is not the seed's says `added`.
#include <rmm/mr/per_device_resource.hpp>
#include <rmm/cuda_device.hpp>
#include <rmm/mr/device/cuda_async_memory_resource.hpp>  // added: the seed uses it without including it

#include "example_checks.hpp"  // added: the checks after the seed's code

int main() {  // added: the seed's statements are top-level; they run in main()
// Get per-device resource ref
rmm::device_async_resource_ref mr0 = rmm::mr::get_per_device_resource_ref(rmm::cuda_device_id{0});

// Set per-device resource ref
rmm::mr::cuda_async_memory_resource async_mr;
rmm::mr::set_per_device_resource_ref(rmm::cuda_device_id{0}, async_mr);

  // added: check: mr0 was device 0's resource before; async_mr is device 0's resource now (and,
  // device 0 being current, the current one) and serves allocations
  using namespace example_checks;
  const rmm::device_async_resource_ref async_ref{async_mr};
  expect(mr0 != async_ref, "device 0's resource before the seed's code is not async_mr");
  expect(rmm::mr::get_per_device_resource_ref(rmm::cuda_device_id{0}) == async_ref, "async_mr is device 0's resource");
  expect(current_device() != 0 || rmm::mr::get_current_device_resource_ref() == async_ref,
         "with device 0 current, async_mr is the current device resource");
  auto resource = rmm::mr::get_per_device_resource_ref(rmm::cuda_device_id{0});
  void* ptr = resource.allocate_async(1024, rmm::CUDA_ALLOCATION_ALIGNMENT, rmm::cuda_stream_default);
  expect(is_device_memory_of(ptr, 0), "device 0's resource gives device 0 memory");
  round_trip(ptr, 1024);
  resource.deallocate_async(ptr, 1024, rmm::CUDA_ALLOCATION_ALIGNMENT, rmm::cuda_stream_default);
  return finish("per_device_resources");
}  // added
