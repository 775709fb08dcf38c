// Seed example 09: the Programming Guide's logging_resource_adaptor (seed
// 000_0f306e1fe9c1a347.txt, lines 303-311): logging over a cuda_async_memory_resource as the
// current resource, writing allocations.csv in the working directory; one 1024-byte buffer. The
// seed's lines are as printed; every line that is not the seed's says `added`.
#include <rmm/mr/device/logging_resource_adaptor.hpp>
#include <rmm/mr/per_device_resource.hpp>
#include <rmm/mr/device/cuda_async_memory_resource.hpp>  // added: the seed uses it without including it
#include <rmm/device_buffer.hpp>                        // added: the seed uses it without including it

#include "example_checks.hpp"  // added: the checks after the seed's code

int main() {  // added: the seed's statements are top-level; they run in main()
rmm::mr::cuda_async_memory_resource cuda_mr;
rmm::mr::logging_resource_adaptor log_mr{cuda_mr, "allocations.csv"};
rmm::mr::set_current_device_resource_ref(log_mr);

// All allocations logged to CSV
rmm::device_buffer buffer(1024, rmm::cuda_stream_default);

  // added: check: allocations.csv starts with the CSV header and has the buffer's allocate row
  // (its pointer, 1024 bytes); after the buffer is freed, also its free row
  using namespace example_checks;
  log_mr.flush();
  const void* ptr = buffer.data();
  expect_csv_log("allocations.csv", {log_row_part("allocate", ptr, 1024)});
  buffer = rmm::device_buffer{};
  log_mr.flush();
  expect_csv_log("allocations.csv", {log_row_part("allocate", ptr, 1024), log_row_part("free", ptr, 1024)});
  return finish("logging_adaptor");
}  // added
