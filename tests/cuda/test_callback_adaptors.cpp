// failure_callback_resource_adaptor and callback_memory_resource, on the simulator and on the GPU.

#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

#include "adaptor_test_resources.hpp"
#include "cuda_platform.hpp"
#include "gpumem/error.hpp"
#include "gpumem/mr/callback_memory_resource.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/failure_callback_resource_adaptor.hpp"

namespace {

using gpumem::mr::callback_memory_resource;
using gpumem::mr::cuda_memory_resource;
using gpumem::mr::failure_callback_resource_adaptor;
using gpumem::test::recording_host_resource;

/// What a failure callback saw; it allows `retries` retries, then gives up.
struct retry_budget {
  int retries;
  int calls{0};
  std::vector<std::size_t> sizes{};
};

bool retry_while_budget_lasts(std::size_t bytes, void* arg) {
  auto* budget = static_cast<retry_budget*>(arg);
  ++budget->calls;
  budget->sizes.push_back(bytes);
  return budget->calls <= budget->retries;
}

// --- failure_callback_resource_adaptor

TEST(FailureCallbackAdaptor, RetriesAsLongAsTheCallbackSaysSo) {
  recording_host_resource upstream;
  retry_budget budget{5};
  failure_callback_resource_adaptor<recording_host_resource> retrying{
      &upstream, retry_while_budget_lasts, &budget};
  upstream.fail_next(2);
  void* ptr = retrying.allocate(1000);
  EXPECT_EQ(budget.calls, 2);
  EXPECT_EQ(budget.sizes, (std::vector<std::size_t>{1000, 1000}));
  EXPECT_EQ(upstream.allocate_calls(), 3U);
  ASSERT_EQ(upstream.allocations().size(), 1U);
  EXPECT_EQ(upstream.allocations()[0].ptr, ptr);
  retrying.deallocate(ptr, 1000);
  EXPECT_EQ(upstream.deallocations().size(), 1U);
}

TEST(FailureCallbackAdaptor, RethrowsWhenTheCallbackGivesUp) {
  recording_host_resource upstream;
  retry_budget budget{1};
  failure_callback_resource_adaptor retrying{upstream, retry_while_budget_lasts, &budget};
  upstream.fail_next(10);
  EXPECT_THROW((void)retrying.allocate(512), gpumem::out_of_memory);
  EXPECT_EQ(budget.calls, 2);                // one retry allowed, the second call says no
  EXPECT_EQ(upstream.allocate_calls(), 2U);  // the first try and the retry
}

TEST(FailureCallbackAdaptor, OtherExceptionsPropagateWithoutACall) {
  recording_host_resource upstream;
  retry_budget budget{5};
  failure_callback_resource_adaptor retrying{upstream, retry_while_budget_lasts, &budget};
  upstream.fail_next_with_bad_alloc(1);
  EXPECT_THROW((void)retrying.allocate(512), gpumem::bad_alloc);
  EXPECT_EQ(budget.calls, 0);
}

TEST(FailureCallbackAdaptor, ExceptionTypeChoosesWhatIsRetried) {
  recording_host_resource upstream;
  retry_budget budget{5};
  failure_callback_resource_adaptor<recording_host_resource, gpumem::bad_alloc> retrying{
      upstream, retry_while_budget_lasts, &budget};
  upstream.fail_next_with_bad_alloc(1);
  upstream.fail_next(1);  // out_of_memory is a bad_alloc too
  void* ptr = retrying.allocate(512);
  EXPECT_EQ(budget.calls, 2);
  retrying.deallocate(ptr, 512);
}

TEST(FailureCallbackAdaptor, DeviceOutOfMemoryCallsTheCallbackThenPropagates) {
  cuda_memory_resource cuda_mr;
  retry_budget budget{0};
  failure_callback_resource_adaptor retrying{cuda_mr, retry_while_budget_lasts, &budget};
  EXPECT_THROW((void)retrying.allocate(gpumem::test::more_than_any_device), gpumem::out_of_memory);
  EXPECT_EQ(budget.calls, 1);
  EXPECT_EQ(budget.sizes, std::vector<std::size_t>{gpumem::test::more_than_any_device});
}

TEST(FailureCallbackAdaptor, InjectedOutOfMemoryIsRetried) {
  GPUMEM_REQUIRE_SIMULATOR();
  cuda_memory_resource cuda_mr;
  retry_budget budget{3};
  failure_callback_resource_adaptor retrying{cuda_mr, retry_while_budget_lasts, &budget};
  gpumem::test::simulator::fail_allocation(1);
  void* ptr = retrying.allocate(4096);
  EXPECT_EQ(budget.calls, 1);
  retrying.deallocate(ptr, 4096);
}

TEST(FailureCallbackAdaptor, EmptyCallbackIsRefused) {
  cuda_memory_resource cuda_mr;
  EXPECT_THROW(
      (failure_callback_resource_adaptor{cuda_mr, gpumem::mr::failure_callback_t{}, nullptr}),
      gpumem::logic_error);
}

// --- callback_memory_resource

struct callback_log {
  std::vector<std::size_t> allocated_sizes;
  std::vector<cudaStream_t> allocate_streams;
  std::vector<void*> freed;
  std::vector<std::size_t> freed_sizes;
  std::vector<cudaStream_t> free_streams;
};

TEST(CallbackMemoryResource, CallsItsCallbacksWithTheirArguments) {
  cuda_memory_resource cuda_mr;
  callback_log allocate_log;
  callback_log free_log;
  callback_memory_resource resource{
      [&cuda_mr](std::size_t bytes, gpumem::cuda_stream_view stream, void* arg) {
        auto* log = static_cast<callback_log*>(arg);
        log->allocated_sizes.push_back(bytes);
        log->allocate_streams.push_back(stream.value());
        return cuda_mr.allocate(bytes, stream);
      },
      [&cuda_mr](void* ptr, std::size_t bytes, gpumem::cuda_stream_view stream, void* arg) {
        auto* log = static_cast<callback_log*>(arg);
        log->freed.push_back(ptr);
        log->freed_sizes.push_back(bytes);
        log->free_streams.push_back(stream.value());
        cuda_mr.deallocate(ptr, bytes, stream);
      },
      &allocate_log,
      &free_log};
  void* ptr = resource.allocate(3000, gpumem::cuda_stream_per_thread);
  EXPECT_TRUE(gpumem::is_pointer_aligned(ptr));
  EXPECT_EQ(allocate_log.allocated_sizes, std::vector<std::size_t>{3000});
  EXPECT_EQ(allocate_log.allocate_streams, std::vector<cudaStream_t>{cudaStreamPerThread});
  EXPECT_TRUE(free_log.freed.empty());
  resource.deallocate(ptr, 3000, gpumem::cuda_stream_per_thread);
  EXPECT_EQ(free_log.freed, std::vector<void*>{ptr});
  EXPECT_EQ(free_log.freed_sizes, std::vector<std::size_t>{3000});
  EXPECT_EQ(free_log.free_streams, std::vector<cudaStream_t>{cudaStreamPerThread});
  EXPECT_TRUE(allocate_log.freed.empty());
}

TEST(CallbackMemoryResource, AllocateCallbackExceptionsPropagate) {
  callback_memory_resource resource{[](std::size_t, gpumem::cuda_stream_view, void*) -> void* {
                                      throw gpumem::out_of_memory{"callback: none left"};
                                    },
                                    [](void*, std::size_t, gpumem::cuda_stream_view, void*) {}};
  EXPECT_THROW((void)resource.allocate(256), gpumem::out_of_memory);
}

TEST(CallbackMemoryResource, EmptyCallbacksAreRefused) {
  const auto allocate = [](std::size_t, gpumem::cuda_stream_view, void*) -> void* {
    return nullptr;
  };
  const auto deallocate = [](void*, std::size_t, gpumem::cuda_stream_view, void*) {};
  EXPECT_THROW((callback_memory_resource{gpumem::mr::allocate_callback_t{}, deallocate}),
               gpumem::logic_error);
  EXPECT_THROW((callback_memory_resource{allocate, gpumem::mr::deallocate_callback_t{}}),
               gpumem::logic_error);
}

TEST(CallbackMemoryResource, IsEqualOnlyToItselfAndMovable) {
  const auto allocate = [](std::size_t, gpumem::cuda_stream_view, void*) -> void* {
    return nullptr;
  };
  const auto deallocate = [](void*, std::size_t, gpumem::cuda_stream_view, void*) {};
  callback_memory_resource first{allocate, deallocate};
  callback_memory_resource second{allocate, deallocate};
  EXPECT_TRUE(first.is_equal(first));
  EXPECT_FALSE(first.is_equal(second));
  callback_memory_resource moved{std::move(first)};
  EXPECT_EQ(moved.allocate(256), nullptr);
  static_assert(
      cuda::mr::async_resource_with<callback_memory_resource, cuda::mr::device_accessible>);
}

}  // namespace
