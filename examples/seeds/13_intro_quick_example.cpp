// Seed example 13: the Introduction's quick example (seed 001_eedc435f2caad2c4.txt, lines 74-84):
// a cuda_async_memory_resource as the current resource (pointer form), one 1024-byte buffer on a
// new stream. The seed's lines are as printed; every line that is not the seed's says `added`.
#include <rmm/mr/device/cuda_async_memory_resource.hpp>
#include <rmm/device_buffer.hpp>
#include <rmm/mr/per_device_resource.hpp>  // added: the seed uses set_current_device_resource without including it
#include <rmm/cuda_stream.hpp>             // added: the seed uses rmm::cuda_stream without including it

#include "example_checks.hpp"  // added: the checks after the seed's code

int main() {  // added: the seed's statements are top-level; they run in main()
// Use CUDA async memory pool
auto async_mr = rmm::mr::cuda_async_memory_resource{};
rmm::mr::set_current_device_resource(&async_mr);

// Allocate device memory asynchronously
rmm::cuda_stream stream;
rmm::device_buffer buffer(1024, stream.view());
stream.synchronize();

  // added: check: async_mr is the current resource; the buffer holds 1024 usable bytes from the
  // current resource
  using namespace example_checks;
  expect(rmm::mr::get_current_device_resource() == &async_mr, "async_mr is the current device resource");
  expect(buffer.size() == 1024, "the buffer's size is 1024");
  expect(buffer.memory_resource() == rmm::mr::get_current_device_resource_ref(),
         "the buffer came from the current device resource");
  round_trip(buffer.data(), buffer.size(), stream.value());
  return finish("intro_quick_example");
}  // added
