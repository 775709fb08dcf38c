// Seed example 30: the user-guide pull request's cuda_async_memory_resource, as quoted in its
// review (seed 004_6ce94eb6b0907dad.txt, lines 361-364); RMM 26.06's header paths (no device/).
// The seed's lines are as printed; every line that is not the seed's says `added`.
#include <rmm/mr/cuda_async_memory_resource.hpp>
#include <rmm/mr/per_device_resource.hpp>

#include "example_checks.hpp"  // added: the checks after the seed's code

int main() {  // added: the seed's statement is top-level; it runs in main()
rmm::mr::cuda_async_memory_resource mr;

  // added: check: mr gives stream-ordered device memory
  using namespace example_checks;
  rmm::cuda_stream_view stream{};
  void* ptr = mr.allocate(4096, stream);
  expect(is_device_memory_of(ptr, current_device()), "mr gives device memory of the current device");
  round_trip(ptr, 4096, stream.value());
  mr.deallocate(ptr, 4096, stream);
  return finish("pr_async_mr");
}  // added
