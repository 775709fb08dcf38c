// Resource references made in the program compare equal to the ones the per-device functions
// give for the same resource, as in RMM's own tests (mr_ref_tests.cpp): CCCL compares the
// function tables a reference was made with, and this program is built with hidden symbols,
// so a reference made inside libgpumem.so would compare unequal here. Written as RMM code is,
// against include/rmm/ only. On the simulator and on the GPU.

#include <iostream>
#include <rmm/cuda_device.hpp>
#include <rmm/mr/device/cuda_memory_resource.hpp>
#include <rmm/mr/device/per_device_resource.hpp>
#include <rmm/mr/device/pool_memory_resource.hpp>
#include <rmm/resource_ref.hpp>
#include <string>

namespace rmm::test {
namespace {

int failures = 0;

void expect(bool holds, const std::string& what) {
  if (!holds) {
    std::cout << "rmm resource_ref equality: FAILED: " << what << '\n';
    ++failures;
  }
}

void the_initial_resource() {
  expect(rmm::mr::get_current_device_resource()->is_equal(rmm::mr::cuda_memory_resource{}),
         "the initial resource is a cuda_memory_resource");
  expect(rmm::mr::get_current_device_resource_ref() ==
             rmm::device_async_resource_ref{rmm::mr::detail::initial_resource()},
         "get_current_device_resource_ref() == ref{detail::initial_resource()}");
  expect(rmm::mr::get_per_device_resource_ref(rmm::get_current_cuda_device()) ==
             rmm::device_async_resource_ref{
                 rmm::mr::get_per_device_resource(rmm::get_current_cuda_device())},
         "get_per_device_resource_ref(d) == ref{get_per_device_resource(d)}");
}

void a_resource_set_as_a_pointer(rmm::mr::device_memory_resource* pool) {
  rmm::mr::set_current_device_resource(pool);
  expect(rmm::mr::get_current_device_resource() == pool, "the pointer set is the pointer got");
  expect(rmm::mr::get_current_device_resource_ref() == rmm::device_async_resource_ref{pool},
         "a resource set as a pointer: its ref equals a ref made here");
  expect(!(rmm::mr::get_current_device_resource_ref() ==
           rmm::device_async_resource_ref{rmm::mr::detail::initial_resource()}),
         "a resource set as a pointer: its ref differs from the initial resource's");
  rmm::mr::set_current_device_resource(nullptr);
  expect(rmm::mr::get_current_device_resource_ref() ==
             rmm::device_async_resource_ref{rmm::mr::detail::initial_resource()},
         "set_current_device_resource(nullptr) restores the initial ref");
}

void references_set_as_references(rmm::device_async_resource_ref pool_ref) {
  rmm::mr::cuda_memory_resource cuda_mr{};
  auto cuda_ref = rmm::device_async_resource_ref{cuda_mr};
  rmm::mr::set_current_device_resource_ref(cuda_ref);
  auto old = rmm::mr::set_current_device_resource_ref(pool_ref);
  expect(old == cuda_ref, "set_current_device_resource_ref returns the ref set before");
  expect(pool_ref == rmm::mr::get_current_device_resource_ref(), "the ref set is the ref got");
  auto previous = rmm::mr::reset_current_device_resource_ref();
  expect(previous == pool_ref, "reset_current_device_resource_ref returns the ref set before");
  expect(rmm::device_async_resource_ref{rmm::mr::detail::initial_resource()} ==
             rmm::mr::get_current_device_resource_ref(),
         "reset restores the initial ref");
}

}  // namespace
}  // namespace rmm::test

int main() {
  rmm::mr::cuda_memory_resource upstream;
  rmm::mr::pool_memory_resource<rmm::mr::cuda_memory_resource> pool{&upstream, 1 << 20};
  rmm::test::the_initial_resource();
  rmm::test::a_resource_set_as_a_pointer(&pool);
  rmm::test::references_set_as_references(rmm::device_async_resource_ref{pool});
  rmm::test::the_initial_resource();
  if (rmm::test::failures != 0) return 1;
  std::cout << "rmm resource_ref equality: ok\n";
  return 0;
}
