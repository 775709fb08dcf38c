// Seed example 11: the Programming Guide's Thrust with rmm::exec_policy (seed
// 000_0f306e1fe9c1a347.txt, lines 380-399): fill 1000 ints with descending values, sort with the
// current resource for temporary storage, sort again with a given resource. Thrust algorithms
// launch kernels: nvcc builds this file and it runs on a GPU only. The seed's lines are as
// printed; every line that is not the seed's says `added`.
#include <rmm/exec_policy.hpp>
#include <rmm/device_uvector.hpp>
#include <thrust/sequence.h>
#include <thrust/sort.h>
#include <rmm/cuda_stream.hpp>                           // added: the seed uses it without including it
#include <rmm/mr/device/cuda_async_memory_resource.hpp>  // added: the seed uses it without including it

#include <numeric>             // added: for the check
#include "example_checks.hpp"  // added: the checks after the seed's code

int main() {  // added: the seed's statements are top-level; they run in main()
rmm::cuda_stream stream;
rmm::device_uvector<int> vec(1000, stream.view());

// Fill with descending values
// added: as printed (`..., vec.size() - 1, -1);`) the call does not compile: thrust::sequence
// takes the start and the step as one type T, and they deduce std::size_t and int. The start
// value is converted to int:
thrust::sequence(rmm::exec_policy(stream.view()),
                 vec.begin(), vec.end(), static_cast<int>(vec.size() - 1), -1);

// Sort using current device resource for temporary storage
thrust::sort(rmm::exec_policy(stream.view()), vec.begin(), vec.end());

// Or use a specific memory resource for temporary storage
rmm::mr::cuda_async_memory_resource custom_mr;
thrust::sort(rmm::exec_policy(stream.view(), custom_mr), vec.begin(), vec.end());

stream.synchronize();

  // added: check: the sorted vector holds 0, 1, ..., 999
  using namespace example_checks;
  std::vector<int> expected(1000);
  std::iota(expected.begin(), expected.end(), 0);
  expect(to_host(vec.data(), vec.size()) == expected, "the vector holds 0..999 in ascending order");
  return finish("thrust_exec_policy");
}  // added
