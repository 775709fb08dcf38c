// Seed example 27: the user-guide pull request's first example, as quoted in its review (seed
// 004_6ce94eb6b0907dad.txt, lines 301-305): a cuda_async_memory_resource made the current device
// resource by reference; RMM 26.06's header paths (no device/). The seed's lines are as printed;
// every line that is not the seed's says `added`.
#include <rmm/mr/cuda_async_memory_resource.hpp>
#include <rmm/mr/per_device_resource.hpp>

#include <rmm/device_buffer.hpp>  // added: for the check
#include "example_checks.hpp"     // added: the checks after the seed's code

int main() {  // added: the seed's statements are top-level; they run in main()
rmm::mr::cuda_async_memory_resource mr;
rmm::mr::set_current_device_resource_ref(mr);

  // added: check: mr is the current device resource and serves a buffer made without a resource
  using namespace example_checks;
  expect(rmm::mr::get_current_device_resource_ref() == rmm::device_async_resource_ref{mr}, "mr is current");
  rmm::device_buffer buffer(1024, rmm::cuda_stream_default);
  expect(buffer.memory_resource() == rmm::device_async_resource_ref{mr}, "the buffer came from mr");
  round_trip(buffer.data(), buffer.size());
  return finish("pr_set_current_ref");
}  // added
