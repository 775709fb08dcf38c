// Seed example 06: the Programming Guide's device_uvector (seed 000_0f306e1fe9c1a347.txt, lines
// 207-227): 100 ints, data() and iterators, thrust::fill with rmm::exec_policy, resize to 200.
// thrust::fill launches a kernel: nvcc builds this file and it runs on a GPU only. The seed's
// lines are as printed; every line that is not the seed's says `added`.
#include <rmm/device_uvector.hpp>
#include <rmm/exec_policy.hpp>
#include <thrust/fill.h>
#include <rmm/cuda_stream.hpp>  // added: the seed uses rmm::cuda_stream without including its header

#include "example_checks.hpp"  // added: the checks after the seed's code

int main() {  // added: the seed's statements are top-level; they run in main()
rmm::cuda_stream stream;

// Allocate 100 elements
rmm::device_uvector<int> vec(100, stream.view());

// Access as pointer
int* ptr = vec.data();

// Access as iterators
auto begin = vec.begin();
auto end = vec.end();

// Initialize with Thrust
thrust::fill(rmm::exec_policy(stream.view()), vec.begin(), vec.end(), 42);

// Resize
vec.resize(200, stream.view());

  // added: check: the iterators spanned the 100 elements at ptr; the fill wrote 42 into each;
  // the resize to 200 kept them
  using namespace example_checks;
  expect(ptr != nullptr && begin == ptr && end - begin == 100, "the iterators span the 100 elements at data()");
  expect(vec.size() == 200, "the resized vector has 200 elements");
  stream.synchronize();
  expect(to_host(vec.data(), 100) == std::vector<int>(100, 42), "the first 100 elements are 42 after the resize");
  return finish("device_uvector");
}  // added
