// Seed example 23: the README's device_scalar (seed 003_f3e86e99edc59517.txt, lines 546-553): set
// the value to 42 on a stream, pass the device pointer to a kernel, read the value back. It
// launches a kernel: nvcc builds this file and it runs on a GPU only. The seed's lines are as
// printed, but for the ones with "..." placeholders; every line that is not the seed's says
// `added`.
#include <rmm/cuda_stream.hpp>    // added: the seed includes no header
#include <rmm/device_scalar.hpp>  // added: the seed includes no header

#include <cstdint>             // added: the seed uses int32_t without including it
#include "example_checks.hpp"  // added: the checks after the seed's code

// added: the seed launches `kernel` without defining it; this one adds 1 to the value
__global__ void kernel(int32_t* value) { *value += 1; }

int main() {  // added: the seed's statements are top-level; they run in main()
  using rmm::cuda_stream_view;  // added: the seed writes cuda_stream_view unqualified
  rmm::cuda_stream stream;      // added: the stream the seed's `s{...}` stands for
// added: the seed's line is `cuda_stream_view s{...};`; "..." is a stream:
cuda_stream_view s{stream.view()};
// Allocates uninitialized storage for a single `int32_t` in device memory
rmm::device_scalar<int32_t> a{s};
a.set_value(42, s); // Updates the value in device memory to `42` on stream `s`

// added: the seed's launch configuration is "..." (kernel<<<...,s.value()>>>); one block of one
// thread, no dynamic shared memory:
kernel<<<1, 1, 0, s.value()>>>(a.data()); // Pass raw pointer to underlying element in device memory

int32_t v = a.value(s); // Retrieves the value from device to host on stream `s`

  // added: check: the kernel, on s after set_value, saw 42; the value read back after it is 43
  using namespace example_checks;
  expect_cuda(cudaGetLastError(), "kernel<<<>>>");
  expect(v == 43, "a.value(s) reads 43: set_value(42), then the kernel's +1, in stream order");
  return finish("readme_device_scalar");
}  // added
