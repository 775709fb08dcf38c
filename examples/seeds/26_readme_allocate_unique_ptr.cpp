// Seed example 26: the README's library function that allocates a device_buffer owned by a
// unique_ptr, with a resource that defaults to the current device resource (seed
// 003_f3e86e99edc59517.txt, lines 909-914). The seed's lines are as printed; every line that is
// not the seed's says `added`.
#include <cstddef>                                       // added: the seed includes no header
#include <memory>                                        // added: the seed includes no header
#include <rmm/device_buffer.hpp>                         // added: the seed includes no header
#include <rmm/mr/per_device_resource.hpp>                // added: the seed includes no header
#include <rmm/mr/device/statistics_resource_adaptor.hpp>  // added: for the check
#include <rmm/mr/device/cuda_memory_resource.hpp>        // added: for the check

#include "example_checks.hpp"  // added: the checks after the seed's code

using rmm::mr::get_current_device_resource;  // added: the seed calls it unqualified

std::unique_ptr<rmm::device_buffer> allocate(
  std::size_t size,
  rmm::mr::device_async_resource_ref mr = get_current_device_resource())
{
    return std::make_unique<rmm::device_buffer>(size, rmm::cuda_stream_default, mr);
}

// added: check: without a resource, allocate() uses the current device resource; with one, that
// one; the unique_ptr owns a buffer of the size asked for
int main() {
  using namespace example_checks;
  rmm::mr::cuda_memory_resource cuda_mr;
  rmm::mr::statistics_resource_adaptor current{cuda_mr};
  rmm::mr::set_current_device_resource(&current);
  rmm::mr::statistics_resource_adaptor explicit_mr{cuda_mr};
  {
    auto from_current = allocate(1024);
    expect(from_current != nullptr && from_current->size() == 1024, "allocate(1024) gives a 1024-byte buffer");
    expect(current.get_bytes_counter().value == 1024, "allocate(1024) used the current device resource");
    auto from_explicit = allocate(512, explicit_mr);
    expect(from_explicit->size() == 512 && explicit_mr.get_bytes_counter().value == 512,
           "allocate(512, explicit_mr) used explicit_mr");
    expect(current.get_bytes_counter().value == 1024, "allocate(512, explicit_mr) left the current resource alone");
    round_trip(from_current->data(), from_current->size());
    round_trip(from_explicit->data(), from_explicit->size());
  }
  expect(current.get_bytes_counter().value == 0 && explicit_mr.get_bytes_counter().value == 0,
         "the unique_ptrs freed their buffers");
  rmm::mr::set_current_device_resource(nullptr);
  return finish("readme_allocate_unique_ptr");
}
