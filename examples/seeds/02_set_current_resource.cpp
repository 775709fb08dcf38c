// Seed example 02: the Programming Guide's "get and set the current device resource" (seed
// 000_0f306e1fe9c1a347.txt, lines 52-60). The seed's lines are as printed; every line that is not
// the seed's says `added`.
#include <rmm/mr/device/cuda_async_memory_resource.hpp>
#include <rmm/mr/per_device_resource.hpp>

#include <rmm/device_buffer.hpp>  // added: for the check
#include "example_checks.hpp"     // added: the checks after the seed's code

int main() {  // added: the seed's statements are top-level; they run in main()
// Get current device resource ref
rmm::device_async_resource_ref mr = rmm::mr::get_current_device_resource_ref();

// Set current device resource ref
rmm::mr::cuda_async_memory_resource async_mr;
rmm::mr::set_current_device_resource_ref(async_mr);

  // added: check: `mr` was the resource current before (not async_mr); async_mr is current now
  // and serves an allocation that uses the current resource
  using namespace example_checks;
  const rmm::device_async_resource_ref async_ref{async_mr};
  expect(mr != async_ref, "the resource current before the seed's code is not async_mr");
  expect(rmm::mr::get_current_device_resource_ref() == async_ref, "async_mr is the current device resource");
  rmm::device_buffer buffer(512, rmm::cuda_stream_default);
  expect(buffer.memory_resource() == async_ref, "a device_buffer without a resource comes from async_mr");
  round_trip(buffer.data(), buffer.size());
  return finish("set_current_resource");
}  // added
