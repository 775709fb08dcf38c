// Seed example 05: the Programming Guide's device_buffer (seed 000_0f306e1fe9c1a347.txt, lines
// 167-182): allocate 1024 bytes, read data() and size(), resize to 2048, deep-copy. The seed's
// lines are as printed; every line that is not the seed's says `added`.
#include <rmm/device_buffer.hpp>
#include <rmm/cuda_stream.hpp>  // added: the seed uses rmm::cuda_stream without including its header

#include "example_checks.hpp"  // added: the checks after the seed's code

int main() {  // added: the seed's statements are top-level; they run in main()
rmm::cuda_stream stream;

// Allocate 1024 bytes
rmm::device_buffer buffer(1024, stream.view());

// Access pointer and size
void* ptr = buffer.data();
std::size_t size = buffer.size();

// Resize (may reallocate)
buffer.resize(2048, stream.view());

// Copy construct (deep copy)
rmm::device_buffer buffer2(buffer, stream.view());

  // added: check: the sizes the seed's comments name; the copy holds the original's bytes in its
  // own memory (writing the original afterwards leaves the copy unchanged)
  using namespace example_checks;
  expect(ptr != nullptr && size == 1024, "the first allocation has 1024 bytes at a non-null pointer");
  expect(buffer.size() == 2048, "the resized buffer has 2048 bytes");
  expect(buffer2.size() == 2048, "the copy has 2048 bytes");
  expect(buffer2.data() != buffer.data(), "the copy has its own memory");
  stream.synchronize();
  const auto copy_before = to_host(static_cast<const unsigned char*>(buffer2.data()), buffer2.size());
  expect(copy_before == to_host(static_cast<const unsigned char*>(buffer.data()), buffer.size()),
         "the copy holds the original's 2048 bytes");
  expect_cuda(cudaMemsetAsync(buffer.data(), 0x11, buffer.size(), stream.value()), "cudaMemsetAsync");
  stream.synchronize();
  expect(to_host(static_cast<const unsigned char*>(buffer.data()), buffer.size()) ==
             std::vector<unsigned char>(2048, 0x11),
         "the original holds what was written into it");
  expect(to_host(static_cast<const unsigned char*>(buffer2.data()), buffer2.size()) == copy_before,
         "writing the original leaves the copy unchanged");
  return finish("device_buffer");
}  // added
