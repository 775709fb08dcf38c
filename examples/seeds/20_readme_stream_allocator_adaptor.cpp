// Seed example 20: the README's stream_allocator_adaptor (seed 003_f3e86e99edc59517.txt, lines
// 479-489): a polymorphic_allocator<int> adapted to the standard Allocator interface on a stream.
// The seed's lines are as printed, but for its "..." line; every line that is not the seed's says
// `added`. Note: the seed's comment says "100 bytes"; allocate(100) of an int allocator is 100
// ints, 400 bytes (the check below uses 400).
#include <rmm/cuda_stream.hpp>                      // added: the seed includes no header
#include <rmm/mr/device/polymorphic_allocator.hpp>  // added: the seed includes no header

#include <type_traits>         // added: for the check
#include "example_checks.hpp"  // added: the checks after the seed's code

int main() {  // added: the seed's statements are top-level; they run in main()
rmm::cuda_stream stream;
rmm::mr::polymorphic_allocator<int> stream_alloc;

// Constructs an adaptor that forwards all (de)allocations to `stream_alloc` on `stream`.
auto adapted = rmm::mr::stream_allocator_adaptor(stream_alloc, stream);

// Allocates 100 bytes using `stream_alloc` on `stream`
auto p = adapted.allocate(100);
// added: the seed's "..." is the code that uses p; here, a check: the adaptor wraps stream_alloc
// on `stream`, and p is 100 usable ints of device memory
using namespace example_checks;  // added
static_assert(std::is_same_v<decltype(adapted), rmm::mr::stream_allocator_adaptor<rmm::mr::polymorphic_allocator<int>>>);  // added
static_assert(std::is_same_v<decltype(p), int*>);  // added
expect(adapted.stream() == stream.view(), "the adaptor allocates on `stream`");  // added
expect(adapted.underlying_allocator() == stream_alloc, "the adaptor forwards to stream_alloc");  // added
expect(is_device_memory_of(p, current_device()), "p is device memory");  // added
round_trip(p, 100 * sizeof(int), stream.value());  // added
// Deallocates using `stream_alloc` on `stream`
adapted.deallocate(p,100);

  // added: check
  stream.synchronize();
  return finish("readme_stream_allocator_adaptor");
}  // added
