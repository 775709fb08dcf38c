// Seed example 21: the README's device_buffer (seed 003_f3e86e99edc59517.txt, lines 507-516): a
// buffer from the default resource used by a kernel on its stream, and a buffer from a custom
// resource. It launches a kernel: nvcc builds this file and it runs on a GPU only. The seed's
// lines are as printed, but for the ones with "..." placeholders; every line that is not the
// seed's says `added`.
#include <rmm/aligned.hpp>        // added: for the check
#include <rmm/cuda_stream.hpp>    // added: the seed includes no header
#include <rmm/device_buffer.hpp>  // added: the seed includes no header

#include "example_checks.hpp"     // added: the checks after the seed's code
#include "my_custom_resource.hpp"  // added: the seed uses my_custom_resource without defining it

// added: the seed launches `kernel` without defining it; this one writes each byte's index into it
__global__ void kernel(void* data) {
  static_cast<unsigned char*>(data)[threadIdx.x] = static_cast<unsigned char>(threadIdx.x);
}

int main() {  // added: the seed's statements are top-level; they run in main()
  using rmm::cuda_stream_view;  // added: the seed writes cuda_stream_view unqualified
  rmm::cuda_stream stream;      // added: the stream the seed's `s{...}` stands for
// added: the seed's line is `cuda_stream_view s{...};`; "..." is a stream:
cuda_stream_view s{stream.view()};
// Allocates at least 100 bytes on stream `s` using the *default* resource
rmm::device_buffer b{100,s};
void* p = b.data();                   // Raw, untyped pointer to underlying device memory

// added: the seed's launch configuration is "..." (kernel<<<..., s.value()>>>); one block of 100
// threads, one per byte, no dynamic shared memory:
kernel<<<1, 100, 0, s.value()>>>(b.data()); // `b` is only safe to use on `s`

// added: the seed's line is `... = new my_custom_resource{...};`; it takes no arguments:
rmm::mr::device_memory_resource * mr = new my_custom_resource{};
// Allocates at least 100 bytes on stream `s` using the resource `mr`
rmm::device_buffer b2{100, s, mr};

  // added: check: the kernel wrote b's 100 bytes on s; b2 came from the custom resource
  using namespace example_checks;
  expect_cuda(cudaGetLastError(), "kernel<<<>>>");
  expect(p == b.data() && b.size() == 100, "p is b's memory, 100 bytes");
  s.synchronize();
  const auto bytes = to_host(static_cast<const unsigned char*>(p), 100);
  bool all_written = true;
  for (std::size_t i = 0; i < bytes.size(); ++i) all_written = all_written && static_cast<std::size_t>(bytes[i]) == i;
  expect(all_written, "the kernel wrote b's 100 bytes on s");
  const auto* custom = dynamic_cast<my_custom_resource*>(mr);
  // A resource sees sizes rounded up to CUDA's 256-byte alignment, as in RMM.
  expect(custom->outstanding_allocations() == 1 &&
             custom->outstanding_bytes() == rmm::align_up(100, rmm::CUDA_ALLOCATION_ALIGNMENT),
         "b2's 100 bytes came from the custom resource");
  expect(b2.size() == 100 && b2.stream() == s, "b2 has 100 bytes on s");
  round_trip(b2.data(), b2.size(), s.value());
  // added: the seed never deletes `mr`; it is left for the process exit, as printed (b2, freed
  // through it when main returns, needs it alive until then)
  return finish("readme_device_buffer");
}  // added
