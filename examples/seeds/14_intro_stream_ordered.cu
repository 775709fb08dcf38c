// Seed example 14: the Introduction's stream-ordered allocation (seed 001_eedc435f2caad2c4.txt,
// lines 96-102): a buffer allocated on a stream is used by a kernel on the same stream with no
// synchronization in between. It launches a kernel: nvcc builds this file and it runs on a GPU
// only. The seed's lines are as printed; every line that is not the seed's says `added`.
#include <rmm/cuda_stream.hpp>    // added: the seed includes no header
#include <rmm/device_buffer.hpp>  // added: the seed includes no header

#include "example_checks.hpp"  // added: the checks after the seed's code

// added: the seed launches `kernel` without defining it; this one writes each byte's index
// (modulo 256) into it
__global__ void kernel(void* data) {
  const unsigned index = blockIdx.x * blockDim.x + threadIdx.x;
  static_cast<unsigned char*>(data)[index] = static_cast<unsigned char>(index % 256);
}

int main() {  // added: the seed's statements are top-level; they run in main()
  const dim3 grid{4};     // added: the seed's launch uses `grid` without defining it
  const dim3 block{256};  // added: the seed's launch uses `block` without defining it (4 x 256 = 1024 bytes)
rmm::cuda_stream stream;

// Allocate on stream
auto buffer = rmm::device_buffer(1024, stream.view());

// Use immediately on same stream (no synchronization needed)
kernel<<<grid, block, 0, stream.value()>>>(buffer.data());

  // added: check: the kernel wrote every byte of the buffer
  using namespace example_checks;
  expect_cuda(cudaGetLastError(), "kernel<<<>>>");
  stream.synchronize();
  const auto bytes = to_host(static_cast<const unsigned char*>(buffer.data()), buffer.size());
  bool all_written = bytes.size() == 1024;
  for (std::size_t i = 0; i < bytes.size(); ++i) all_written = all_written && static_cast<std::size_t>(bytes[i]) == i % 256;
  expect(all_written, "the kernel wrote each of the 1024 bytes");
  return finish("intro_stream_ordered");
}  // added
