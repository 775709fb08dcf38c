// Seed example 08: the Programming Guide's statistics_resource_adaptor (seed
// 000_0f306e1fe9c1a347.txt, lines 263-278): statistics over a cuda_async_memory_resource as the
// current resource, one 1024-byte buffer, print the byte counter. The seed's lines are as printed;
// every line that is not the seed's says `added`.
#include <rmm/mr/device/statistics_resource_adaptor.hpp>
#include <rmm/mr/per_device_resource.hpp>
#include <rmm/mr/device/cuda_async_memory_resource.hpp>  // added: the seed uses it without including it
#include <rmm/device_buffer.hpp>                        // added: the seed uses it without including it
#include <rmm/cuda_stream.hpp>                          // added: the seed uses it without including it
#include <iostream>                                     // added: the seed uses std::cout without including it

#include "example_checks.hpp"  // added: the checks after the seed's code

int main() {  // added: the seed's statements are top-level; they run in main()
rmm::mr::cuda_async_memory_resource cuda_mr;
rmm::mr::statistics_resource_adaptor stats_mr{cuda_mr};
rmm::mr::set_current_device_resource_ref(stats_mr);

// Allocate
rmm::cuda_stream stream;
rmm::device_buffer buffer(1024, stream.view());

// Get statistics
auto bytes = stats_mr.get_bytes_counter();
std::cout << "Current bytes: " << bytes.value << "\n";
std::cout << "Peak bytes: " << bytes.peak << "\n";
std::cout << "Total bytes: " << bytes.total << "\n";

  // added: check: the counters the seed prints read 1024/1024/1024, and one allocation
  using namespace example_checks;
  expect(bytes.value == 1024 && bytes.peak == 1024 && bytes.total == 1024,
         "the byte counter reads current 1024, peak 1024, total 1024");
  const auto allocations = stats_mr.get_allocations_counter();
  expect(allocations.value == 1 && allocations.peak == 1 && allocations.total == 1,
         "the allocation counter reads 1/1/1");
  buffer = rmm::device_buffer{};
  const auto after_free = stats_mr.get_bytes_counter();
  expect(after_free.value == 0 && after_free.peak == 1024 && after_free.total == 1024,
         "freeing the buffer brings current bytes to 0 and keeps peak and total at 1024");
  return finish("statistics_adaptor");
}  // added
