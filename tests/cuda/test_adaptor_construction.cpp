// Every adaptor's construction forms (pointer, reference, device_async_resource_ref, deduced
// upstream type), its CCCL resource concepts, its equality and its use through a resource
// reference, on the simulator and on the GPU.

#include <gtest/gtest.h>

#include <cstddef>
#include <sstream>
#include <type_traits>
#include <utility>

#include "adaptor_test_resources.hpp"
#include "gpumem/error.hpp"
#include "gpumem/mr/aligned_resource_adaptor.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/failure_callback_resource_adaptor.hpp"
#include "gpumem/mr/limiting_resource_adaptor.hpp"
#include "gpumem/mr/logging_resource_adaptor.hpp"
#include "gpumem/mr/prefetch_resource_adaptor.hpp"
#include "gpumem/mr/statistics_resource_adaptor.hpp"
#include "gpumem/mr/thread_safe_resource_adaptor.hpp"
#include "gpumem/mr/tracking_resource_adaptor.hpp"

namespace {

using gpumem::device_async_resource_ref;
using gpumem::mr::cuda_memory_resource;
using gpumem::mr::device_memory_resource;
using gpumem::test::recording_host_resource;

bool never_retry(std::size_t /*bytes*/, void* /*arg*/) {
  return false;
}

void allocate_and_free(device_memory_resource& resource) {
  void* ptr = resource.allocate(1000);
  EXPECT_TRUE(gpumem::is_pointer_aligned(ptr));
  resource.deallocate(ptr, 1000);
}

void allocate_and_free_through_a_reference(device_async_resource_ref ref) {
  void* ptr =
      ref.allocate_async(1000, gpumem::CUDA_ALLOCATION_ALIGNMENT, gpumem::cuda_stream_view{});
  EXPECT_TRUE(gpumem::is_pointer_aligned(ptr));
  ref.deallocate_async(ptr, 1000, gpumem::CUDA_ALLOCATION_ALIGNMENT, gpumem::cuda_stream_view{});
}

// Builds `Adaptor` every way RMM's seeds do, with the adaptor's own arguments after the upstream.
#define GPUMEM_TEST_CONSTRUCTION_FORMS(Adaptor, ...)                                              \
  TEST(AdaptorConstruction, Adaptor) {                                                            \
    using gpumem::mr::Adaptor;                                                                    \
    static_assert(cuda::mr::async_resource_with<Adaptor<cuda_memory_resource>,                    \
                                                cuda::mr::device_accessible>);                    \
    static_assert(                                                                                \
        cuda::mr::resource_with<Adaptor<cuda_memory_resource>, cuda::mr::device_accessible>);     \
    static_assert(!std::is_copy_constructible_v<Adaptor<cuda_memory_resource>>);                  \
    std::ostringstream out;                                                                       \
    cuda_memory_resource cuda_mr;                                                                 \
    device_async_resource_ref cuda_ref{cuda_mr};                                                  \
    const device_async_resource_ref const_cuda_ref{cuda_mr};                                      \
                                                                                                  \
    Adaptor<cuda_memory_resource> by_pointer{&cuda_mr __VA_OPT__(, ) __VA_ARGS__};                \
    Adaptor<cuda_memory_resource> by_reference{cuda_mr __VA_OPT__(, ) __VA_ARGS__};               \
    Adaptor<cuda_memory_resource> by_resource_ref{cuda_ref __VA_OPT__(, ) __VA_ARGS__};           \
    Adaptor deduced_from_reference{cuda_mr __VA_OPT__(, ) __VA_ARGS__};                           \
    Adaptor deduced_from_pointer{&cuda_mr __VA_OPT__(, ) __VA_ARGS__};                            \
    Adaptor deduced_from_resource_ref{cuda_ref __VA_OPT__(, ) __VA_ARGS__};                       \
    Adaptor deduced_from_const_resource_ref{const_cuda_ref __VA_OPT__(, ) __VA_ARGS__};           \
    Adaptor deduced_from_temporary_ref{device_async_resource_ref{cuda_mr} __VA_OPT__(, )          \
                                           __VA_ARGS__};                                          \
    static_assert(                                                                                \
        std::is_same_v<decltype(deduced_from_reference), Adaptor<cuda_memory_resource>>);         \
    static_assert(std::is_same_v<decltype(deduced_from_pointer), Adaptor<cuda_memory_resource>>); \
    static_assert(                                                                                \
        std::is_same_v<decltype(deduced_from_resource_ref), Adaptor<device_memory_resource>>);    \
    static_assert(std::is_same_v<decltype(deduced_from_const_resource_ref),                       \
                                 Adaptor<device_memory_resource>>);                               \
    static_assert(                                                                                \
        std::is_same_v<decltype(deduced_from_temporary_ref), Adaptor<device_memory_resource>>);   \
                                                                                                  \
    EXPECT_THROW(([&] {                                                                           \
                   Adaptor<cuda_memory_resource> from_null{                                       \
                       static_cast<cuda_memory_resource*>(nullptr) __VA_OPT__(, ) __VA_ARGS__};   \
                 }()),                                                                            \
                 gpumem::logic_error);                                                            \
                                                                                                  \
    for (device_memory_resource * adaptor :                                                       \
         {static_cast<device_memory_resource*>(&by_pointer),                                      \
          static_cast<device_memory_resource*>(&by_reference),                                    \
          static_cast<device_memory_resource*>(&by_resource_ref),                                 \
          static_cast<device_memory_resource*>(&deduced_from_reference),                          \
          static_cast<device_memory_resource*>(&deduced_from_pointer),                            \
          static_cast<device_memory_resource*>(&deduced_from_resource_ref)}) {                    \
      allocate_and_free(*adaptor);                                                                \
      EXPECT_TRUE(by_pointer.is_equal(*adaptor)); /* same kind, equal upstreams */                \
    }                                                                                             \
    allocate_and_free_through_a_reference(by_pointer);                                            \
    allocate_and_free_through_a_reference(deduced_from_resource_ref);                             \
    EXPECT_TRUE(by_pointer.get_upstream_resource() == cuda_ref);                                  \
    EXPECT_TRUE(deduced_from_resource_ref.get_upstream_resource() == cuda_ref);                   \
                                                                                                  \
    recording_host_resource first_upstream;                                                       \
    recording_host_resource second_upstream;                                                      \
    Adaptor over_first{first_upstream __VA_OPT__(, ) __VA_ARGS__};                                \
    Adaptor again_over_first{&first_upstream __VA_OPT__(, ) __VA_ARGS__};                         \
    Adaptor over_second{second_upstream __VA_OPT__(, ) __VA_ARGS__};                              \
    EXPECT_TRUE(over_first.is_equal(over_first));                                                 \
    EXPECT_TRUE(over_first == again_over_first);                                                  \
    EXPECT_FALSE(over_first == over_second);                                                      \
    EXPECT_FALSE(over_first.is_equal(first_upstream));                                            \
    EXPECT_FALSE(over_first.is_equal(by_pointer));                                                \
    allocate_and_free(over_first);                                                                \
    EXPECT_EQ(first_upstream.allocations().size(), 1U);                                           \
    EXPECT_EQ(first_upstream.outstanding(), 0U);                                                  \
  }

GPUMEM_TEST_CONSTRUCTION_FORMS(statistics_resource_adaptor)
GPUMEM_TEST_CONSTRUCTION_FORMS(logging_resource_adaptor, out)
GPUMEM_TEST_CONSTRUCTION_FORMS(tracking_resource_adaptor, true)
GPUMEM_TEST_CONSTRUCTION_FORMS(limiting_resource_adaptor, std::size_t{1} << 30)
GPUMEM_TEST_CONSTRUCTION_FORMS(aligned_resource_adaptor, 4096, 512)
GPUMEM_TEST_CONSTRUCTION_FORMS(failure_callback_resource_adaptor, never_retry, nullptr)
GPUMEM_TEST_CONSTRUCTION_FORMS(thread_safe_resource_adaptor)
GPUMEM_TEST_CONSTRUCTION_FORMS(prefetch_resource_adaptor)

TEST(AdaptorEquality, AdaptorsOfDifferentKindsOverOneUpstreamDiffer) {
  recording_host_resource upstream;
  std::ostringstream out;
  gpumem::mr::statistics_resource_adaptor statistics{upstream};
  gpumem::mr::tracking_resource_adaptor tracking{upstream};
  gpumem::mr::logging_resource_adaptor logging{upstream, out};
  gpumem::mr::limiting_resource_adaptor limiting{upstream, 1 << 20};
  gpumem::mr::aligned_resource_adaptor aligned{upstream};
  gpumem::mr::failure_callback_resource_adaptor retrying{upstream, never_retry, nullptr};
  gpumem::mr::thread_safe_resource_adaptor thread_safe{upstream};
  gpumem::mr::prefetch_resource_adaptor prefetching{upstream};
  const device_memory_resource* adaptors[] = {
      &statistics, &tracking, &logging, &limiting, &aligned, &retrying, &thread_safe, &prefetching};
  for (const auto* first : adaptors) {
    for (const auto* second : adaptors)
      EXPECT_EQ(first->is_equal(*second), first == second);
  }
}

TEST(AdaptorComposition, OuterAdaptorsSeeWhatInnerOnesPassOn) {
  // The seeds' chain: cuda -> statistics -> logging, with the upstream types deduced.
  cuda_memory_resource cuda_mr;
  gpumem::mr::statistics_resource_adaptor stats_mr{cuda_mr};
  std::ostringstream out;
  gpumem::mr::logging_resource_adaptor log_mr{stats_mr, out};
  static_assert(std::is_same_v<decltype(log_mr),
                               gpumem::mr::logging_resource_adaptor<
                                   gpumem::mr::statistics_resource_adaptor<cuda_memory_resource>>>);
  void* ptr = log_mr.allocate(1024);
  EXPECT_EQ(stats_mr.get_bytes_counter().value, 1024);
  log_mr.deallocate(ptr, 1024);
  EXPECT_EQ(stats_mr.get_bytes_counter().value, 0);
  EXPECT_EQ(stats_mr.get_allocations_counter().total, 1);
  log_mr.flush();
  EXPECT_NE(out.str().find(",allocate,"), std::string::npos);
  EXPECT_NE(out.str().find(",free,"), std::string::npos);
}

}  // namespace
