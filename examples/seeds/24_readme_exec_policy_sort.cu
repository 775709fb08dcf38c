// Seed example 24: the README's Thrust algorithm with rmm::exec_policy (seed
// 003_f3e86e99edc59517.txt, line 607): `thrust::sort(rmm::exec_policy(stream, ...);`. As printed
// it is not C++: "..." stands for the policy's further argument (the resource for temporary
// storage) and the algorithm's range, and the closing parenthesis is missing. Thrust's sort
// launches kernels: nvcc builds this file and it runs on a GPU only. Every line that is not the
// seed's says `added`.
#include <rmm/cuda_stream.hpp>                             // added: the seed includes no header
#include <rmm/device_uvector.hpp>                          // added: the seed includes no header
#include <rmm/exec_policy.hpp>                             // added: the seed includes no header
#include <rmm/mr/device/cuda_memory_resource.hpp>          // added: the seed includes no header
#include <rmm/mr/device/statistics_resource_adaptor.hpp>  // added: the seed includes no header
#include <thrust/sort.h>                                   // added: the seed includes no header

#include <algorithm>           // added: for the check
#include <vector>              // added: for the check
#include "example_checks.hpp"  // added: the checks after the seed's code

int main() {  // added: the seed's statement runs in main()
  using namespace example_checks;  // added
  // added: what the seed's line needs: `stream`, a resource that counts the temporary storage
  // sort takes through the policy, and a range to sort: 2^20 ints in descending order (enough
  // that sort needs temporary storage)
  rmm::cuda_stream stream;
  rmm::mr::cuda_memory_resource cuda_mr;
  rmm::mr::statistics_resource_adaptor stats_mr{cuda_mr};
  constexpr int count = 1 << 20;
  std::vector<int> host(count);
  for (int i = 0; i < count; ++i) host[i] = count - 1 - i;
  rmm::device_uvector<int> vec(count, stream.view());
  expect_cuda(cudaMemcpyAsync(vec.data(), host.data(), count * sizeof(int), cudaMemcpyDefault, stream.value()),
              "cudaMemcpyAsync");
// added: the seed's line is `thrust::sort(rmm::exec_policy(stream, ...);`; with its "..." filled
// in and its parenthesis closed:
thrust::sort(rmm::exec_policy(stream, stats_mr), vec.begin(), vec.end());

  // added: check: the range is sorted; sort's temporary storage came from stats_mr and was freed
  stream.synchronize();
  std::sort(host.begin(), host.end());
  expect(to_host(vec.data(), vec.size()) == host, "the vector is sorted: 0, 1, ..., 2^20 - 1");
  const auto allocations = stats_mr.get_allocations_counter();
  std::printf("temporary storage: %lld allocation(s), peak %lld bytes\n", static_cast<long long>(allocations.total),
              static_cast<long long>(stats_mr.get_bytes_counter().peak));
  expect(allocations.total >= 1, "sort took its temporary storage from the policy's resource");
  expect(allocations.value == 0, "sort gave its temporary storage back");
  return finish("readme_exec_policy_sort");
}  // added
