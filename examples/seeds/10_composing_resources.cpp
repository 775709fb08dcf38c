// Seed example 10: the Programming Guide's composed resources (seed 000_0f306e1fe9c1a347.txt,
// lines 336-349): cuda_async -> 1 GiB pool -> statistics -> logging to log.csv, set as the current
// resource. The seed's lines are as printed; every line that is not the seed's says `added`.
#include <rmm/mr/device/cuda_async_memory_resource.hpp>     // added: the seed includes no header
#include <rmm/mr/device/pool_memory_resource.hpp>           // added: the seed includes no header
#include <rmm/mr/device/statistics_resource_adaptor.hpp>    // added: the seed includes no header
#include <rmm/mr/device/logging_resource_adaptor.hpp>       // added: the seed includes no header
#include <rmm/mr/per_device_resource.hpp>                   // added: the seed includes no header

#include <rmm/device_buffer.hpp>  // added: for the check
#include "example_checks.hpp"     // added: the checks after the seed's code

int main() {  // added: the seed's statements are top-level; they run in main()
// Base resource
rmm::mr::cuda_async_memory_resource cuda_mr;

// Add pool
rmm::mr::pool_memory_resource pool_mr{cuda_mr, 1ULL << 30};

// Add statistics
rmm::mr::statistics_resource_adaptor stats_mr{pool_mr};

// Add logging
rmm::mr::logging_resource_adaptor log_mr{stats_mr, "log.csv"};

// Set as current
rmm::mr::set_current_device_resource_ref(log_mr);

  // added: check: an allocation through the current resource passes every layer: the logging
  // adaptor writes its row to log.csv, the statistics count it, the pool serves it from the 1 GiB
  // it took from cuda_mr at construction
  using namespace example_checks;
  expect(pool_mr.pool_size() >= (std::size_t{1} << 30), "the pool took its 1 GiB initial size");
  rmm::device_buffer buffer(1024, rmm::cuda_stream_default);
  expect(buffer.memory_resource() == rmm::device_async_resource_ref{log_mr}, "the buffer came from log_mr");
  round_trip(buffer.data(), buffer.size());
  const auto bytes = stats_mr.get_bytes_counter();
  expect(bytes.value == 1024 && bytes.total == 1024, "the statistics adaptor counted the 1024-byte buffer");
  expect(pool_mr.pool_size() == (std::size_t{1} << 30), "the pool served it without growing");
  log_mr.flush();
  expect_csv_log("log.csv", {log_row_part("allocate", buffer.data(), 1024)});
  return finish("composing_resources");
}  // added
