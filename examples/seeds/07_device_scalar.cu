// Seed example 07: the Programming Guide's device_scalar (seed 000_0f306e1fe9c1a347.txt, lines
// 235-252): set the value from the host, read it back, pass the device pointer to a kernel. It
// launches a kernel: nvcc builds this file and it runs on a GPU only. The seed's lines are as
// printed; every line that is not the seed's says `added`.
#include <rmm/device_scalar.hpp>
#include <rmm/cuda_stream.hpp>  // added: the seed uses rmm::cuda_stream without including its header

#include "example_checks.hpp"  // added: the checks after the seed's code

// added: the seed calls launch_kernel<<<...>>> without defining it; this one adds 1 to the value
__global__ void launch_kernel(int* value) { *value += 1; }

int main() {  // added: the seed's statements are top-level; they run in main()
rmm::cuda_stream stream;

// Allocate single int
rmm::device_scalar<int> scalar(stream.view());

// Set value from host (async on stream)
scalar.set_value(42, stream.view());

// Get value to host (async on stream)
int value = scalar.value(stream.view());

// Access device pointer
int* d_ptr = scalar.data();

// Pass to kernel
// added: the seed's launch configuration is "..." (launch_kernel<<<..., stream.value()>>>); one
// block of one thread, no dynamic shared memory:
launch_kernel<<<1, 1, 0, stream.value()>>>(scalar.data());

  // added: check: the value read back is the 42 set; d_ptr is the scalar's device memory; the
  // kernel, ordered on the same stream, saw 42 and left 43
  using namespace example_checks;
  expect(value == 42, "scalar.value() reads back the 42 set");
  expect(d_ptr != nullptr && is_device_memory_of(d_ptr, current_device()), "data() is device memory");
  expect_cuda(cudaGetLastError(), "launch_kernel<<<>>>");
  expect(scalar.value(stream.view()) == 43, "the kernel ran on the scalar's value on the stream");
  return finish("device_scalar");
}  // added
