// Seed example 28: the user-guide pull request's pool size, as quoted in its review (seed
// 004_6ce94eb6b0907dad.txt, lines 325-327): 80% of the GPU's memory, rounded down to a multiple
// of 256 bytes. The seed's lines are as printed; every line that is not the seed's says `added`.
#include <rmm/cuda_device.hpp>  // added: the seed includes no header
#include <rmm/aligned.hpp>      // added: for the check
#include <cstddef>              // added: the seed includes no header

#include "example_checks.hpp"  // added: the checks after the seed's code

int main() {  // added: the seed's statements are top-level; they run in main()
// Use 80% of GPU memory, rounded down to nearest 256 bytes
auto [free_memory, total_memory] = rmm::available_device_memory();
std::size_t pool_size = (static_cast<std::size_t>(total_memory * 0.8) / 256) * 256;

  // added: check: pool_size is 80% of the device's memory rounded down to 256 bytes, which is
  // what the reviewer's rmm::align_down gives
  using namespace example_checks;
  std::printf("free %zu, total %zu, pool_size %zu bytes\n", free_memory, total_memory, pool_size);
  expect(free_memory <= total_memory && total_memory > 0, "free memory is at most the total, which is not 0");
  const auto eighty_percent = static_cast<std::size_t>(total_memory * 0.8);
  expect(pool_size % 256 == 0 && pool_size <= eighty_percent && eighty_percent - pool_size < 256,
         "pool_size is 80% of the total rounded down to a multiple of 256");
  expect(pool_size == rmm::align_down(eighty_percent, 256), "pool_size == rmm::align_down(80% of total, 256)");
  return finish("pr_pool_size_80pct");
}  // added
