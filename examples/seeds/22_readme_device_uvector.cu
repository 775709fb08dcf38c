// Seed example 22: the README's device_uvector (seed 003_f3e86e99edc59517.txt, lines 527-536):
// 100 uninitialized int32_t filled with 0 by thrust::uninitialized_fill on the vector's stream,
// and a vector from a custom resource. Thrust's algorithm launches a kernel: nvcc builds this file
// and it runs on a GPU only. The seed's lines are as printed, but for the ones with "..."
// placeholders; every line that is not the seed's says `added`.
#include <rmm/aligned.hpp>                   // added: for the check
#include <rmm/cuda_stream.hpp>               // added: the seed includes no header
#include <rmm/device_uvector.hpp>            // added: the seed includes no header
#include <thrust/execution_policy.h>         // added: the seed includes no header (thrust::cuda::par)
#include <thrust/uninitialized_fill.h>       // added: the seed includes no header

#include <cstdint>                 // added: the seed uses int32_t without including it
#include "example_checks.hpp"      // added: the checks after the seed's code
#include "my_custom_resource.hpp"  // added: the seed uses my_custom_resource without defining it

int main() {  // added: the seed's statements are top-level; they run in main()
  using rmm::cuda_stream_view;  // added: the seed writes cuda_stream_view unqualified
  rmm::cuda_stream stream;      // added: the stream the seed's `s{...}` stands for
// added: the seed's line is `cuda_stream_view s{...};`; "..." is a stream:
cuda_stream_view s{stream.view()};
// Allocates uninitialized storage for 100 `int32_t` elements on stream `s` using the
// default resource
rmm::device_uvector<int32_t> v(100, s);
// Initializes the elements to 0
thrust::uninitialized_fill(thrust::cuda::par.on(s.value()), v.begin(), v.end(), int32_t{0});

// added: the seed's line is `... = new my_custom_resource{...};`; it takes no arguments:
rmm::mr::device_memory_resource * mr = new my_custom_resource{};
// Allocates uninitialized storage for 100 `int32_t` elements on stream `s` using the resource `mr`
rmm::device_uvector<int32_t> v2{100, s, mr};

  // added: check: v holds 100 zeros; v2's 400 bytes came from the custom resource
  using namespace example_checks;
  s.synchronize();
  expect(v.size() == 100 && to_host(v.data(), v.size()) == std::vector<int32_t>(100, 0), "v holds 100 zeros");
  const auto* custom = dynamic_cast<my_custom_resource*>(mr);
  // A resource sees sizes rounded up to CUDA's 256-byte alignment, as in RMM.
  expect(custom->outstanding_allocations() == 1 &&
             custom->outstanding_bytes() == rmm::align_up(100 * sizeof(int32_t), rmm::CUDA_ALLOCATION_ALIGNMENT),
         "v2's 400 bytes came from the custom resource");
  expect(v2.size() == 100, "v2 has 100 elements");
  round_trip(v2.data(), v2.size() * sizeof(int32_t), s.value());
  // added: the seed never deletes `mr`; it is left for the process exit, as printed (v2, freed
  // through it when main returns, needs it alive until then)
  return finish("readme_device_uvector");
}  // added
