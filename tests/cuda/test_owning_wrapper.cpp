// owning_wrapper and make_owning_wrapper, on the simulator and on the GPU.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "adaptor_test_resources.hpp"
#include "gpumem/error.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/failure_callback_resource_adaptor.hpp"
#include "gpumem/mr/limiting_resource_adaptor.hpp"
#include "gpumem/mr/owning_wrapper.hpp"
#include "gpumem/mr/statistics_resource_adaptor.hpp"

namespace {

using gpumem::mr::cuda_memory_resource;
using gpumem::mr::make_owning_wrapper;
using gpumem::test::recording_host_resource;

/// An upstream that says when it is destroyed.
class witnessed_upstream final : public gpumem::mr::device_memory_resource {
 public:
  explicit witnessed_upstream(std::vector<std::string>* events) : events_{events} {}
  ~witnessed_upstream() override { events_->push_back("upstream destroyed"); }
  witnessed_upstream(const witnessed_upstream&) = delete;
  witnessed_upstream& operator=(const witnessed_upstream&) = delete;

 private:
  void* do_allocate(std::size_t bytes, gpumem::cuda_stream_view stream) override {
    return cuda_mr_.allocate(bytes, stream);
  }
  void do_deallocate(void* ptr,
                     std::size_t bytes,
                     gpumem::cuda_stream_view stream) noexcept override {
    cuda_mr_.deallocate(ptr, bytes, stream);
  }
  cuda_memory_resource cuda_mr_;
  std::vector<std::string>* events_;
};

/// A resource over one upstream that says when it is destroyed.
template <typename Upstream>
class witnessed_resource final : public gpumem::mr::device_memory_resource {
 public:
  witnessed_resource(Upstream* upstream, std::vector<std::string>* events)
      : upstream_{upstream}, events_{events} {}
  ~witnessed_resource() override { events_->push_back("resource destroyed"); }
  witnessed_resource(const witnessed_resource&) = delete;
  witnessed_resource& operator=(const witnessed_resource&) = delete;

 private:
  void* do_allocate(std::size_t bytes, gpumem::cuda_stream_view stream) override {
    return upstream_->allocate(bytes, stream);
  }
  void do_deallocate(void* ptr,
                     std::size_t bytes,
                     gpumem::cuda_stream_view stream) noexcept override {
    upstream_->deallocate(ptr, bytes, stream);
  }
  Upstream* upstream_;
  std::vector<std::string>* events_;
};

TEST(OwningWrapper, KeepsTheUpstreamAliveUntilItIsDestroyed) {
  auto upstream = std::make_shared<recording_host_resource>();
  const std::weak_ptr<recording_host_resource> watch = upstream;
  auto stats = make_owning_wrapper<gpumem::mr::statistics_resource_adaptor>(upstream);
  static_assert(std::is_same_v<decltype(stats)::element_type,
                               gpumem::mr::owning_wrapper<
                                   gpumem::mr::statistics_resource_adaptor<recording_host_resource>,
                                   recording_host_resource>>);
  upstream.reset();
  ASSERT_FALSE(watch.expired());
  void* ptr = stats->allocate(1000);
  EXPECT_EQ(stats->wrapped().get_bytes_counter().value, 1000);
  EXPECT_EQ(watch.lock()->allocations().size(), 1U);
  stats->deallocate(ptr, 1000);
  EXPECT_EQ(stats->wrapped().get_bytes_counter().value, 0);
  EXPECT_EQ(watch.lock()->outstanding(), 0U);
  stats.reset();
  EXPECT_TRUE(watch.expired());
}

TEST(OwningWrapper, DestroysTheResourceBeforeTheUpstream) {
  std::vector<std::string> events;
  {
    auto wrapper = make_owning_wrapper<witnessed_resource>(
        std::make_shared<witnessed_upstream>(&events), &events);
    void* ptr = wrapper->allocate(256);
    wrapper->deallocate(ptr, 256);
  }
  EXPECT_EQ(events, (std::vector<std::string>{"resource destroyed", "upstream destroyed"}));
}

TEST(OwningWrapper, ForwardsTheResourcesArguments) {
  auto limited = make_owning_wrapper<gpumem::mr::limiting_resource_adaptor>(
      std::make_shared<cuda_memory_resource>(), 4096);
  EXPECT_EQ(limited->wrapped().get_allocation_limit(), 4096U);
  void* ptr = limited->allocate(4096);
  EXPECT_THROW((void)limited->allocate(256), gpumem::out_of_memory);
  limited->deallocate(ptr, 4096);
  EXPECT_EQ(limited->wrapped().get_allocated_bytes(), 0U);
}

TEST(OwningWrapper, WrapsATemplateWithADefaultedParameter) {
  int calls = 0;
  auto retrying = make_owning_wrapper<gpumem::mr::failure_callback_resource_adaptor>(
      std::make_shared<recording_host_resource>(),
      [](std::size_t, void* arg) {
        ++*static_cast<int*>(arg);
        return true;
      },
      &calls);
  std::get<0>(retrying->upstreams())->fail_next(2);
  void* ptr = retrying->allocate(256);
  EXPECT_EQ(calls, 2);
  retrying->deallocate(ptr, 256);
}

TEST(OwningWrapper, TupleFormOwnsEveryUpstream) {
  auto upstream = std::make_shared<recording_host_resource>();
  const std::weak_ptr<recording_host_resource> watch = upstream;
  auto stats = make_owning_wrapper<gpumem::mr::statistics_resource_adaptor>(
      std::make_tuple(std::move(upstream)));
  EXPECT_FALSE(watch.expired());
  EXPECT_EQ(std::get<0>(stats->upstreams()).get(), watch.lock().get());
  stats.reset();
  EXPECT_TRUE(watch.expired());
}

TEST(OwningWrapper, EqualityFollowsTheWrappedResource) {
  auto upstream = std::make_shared<recording_host_resource>();
  auto first = make_owning_wrapper<gpumem::mr::statistics_resource_adaptor>(upstream);
  auto second = make_owning_wrapper<gpumem::mr::statistics_resource_adaptor>(upstream);
  auto elsewhere = make_owning_wrapper<gpumem::mr::statistics_resource_adaptor>(
      std::make_shared<recording_host_resource>());
  EXPECT_TRUE(first->is_equal(*first));
  EXPECT_TRUE(first->is_equal(*second));  // statistics adaptors over the same upstream
  EXPECT_TRUE(first->is_equal(first->wrapped()));
  EXPECT_FALSE(first->is_equal(*elsewhere));
  static_assert(
      cuda::mr::async_resource_with<decltype(first)::element_type, cuda::mr::device_accessible>);
  gpumem::device_async_resource_ref ref{*first};
  void* ptr = ref.allocate_async(512, 256, gpumem::cuda_stream_view{});
  ref.deallocate_async(ptr, 512, 256, gpumem::cuda_stream_view{});
  EXPECT_EQ(first->wrapped().get_allocations_counter().total, 1);
}

}  // namespace
