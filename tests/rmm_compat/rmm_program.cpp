// A program written only against RMM 25.10's headers and names, in both dialects the seeds
// use (pointers with explicit template arguments; references with deduced types). It compiles
// against gpumem with no source change and checks what it gets.

#include <cstdint>
#include <cstdio>
#include <rmm/aligned.hpp>
#include <rmm/cuda_device.hpp>
#include <rmm/cuda_stream_view.hpp>
#include <rmm/detail/error.hpp>
#include <rmm/error.hpp>
#include <rmm/mr/device/arena_memory_resource.hpp>
#include <rmm/mr/device/cuda_memory_resource.hpp>
#include <rmm/mr/device/limiting_resource_adaptor.hpp>
#include <rmm/mr/device/logging_resource_adaptor.hpp>
#include <rmm/mr/device/pool_memory_resource.hpp>
#include <rmm/mr/device/statistics_resource_adaptor.hpp>
#include <rmm/mr/per_device_resource.hpp>
#include <rmm/resource_ref.hpp>
#include <string>

namespace {

int failures = 0;

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "rmm_program: FAILED: %s\n", what);
    ++failures;
  }
}

}  // namespace

int main() {
  RMM_CUDA_TRY(cudaSetDevice(0));

  // Dialect 1: pointers and explicit template arguments (RMM's README).
  rmm::mr::cuda_memory_resource cuda_mr;
  auto const initial_size = rmm::align_down(rmm::percent_of_free_device_memory(5), 256);
  rmm::mr::pool_memory_resource<rmm::mr::cuda_memory_resource> pool_mr{&cuda_mr, initial_size};
  rmm::mr::device_memory_resource* previous = rmm::mr::set_current_device_resource(&pool_mr);
  rmm::mr::device_memory_resource* mr = rmm::mr::get_current_device_resource();
  check(mr == &pool_mr, "set_current_device_resource");
  void* block = mr->allocate(1000, rmm::cuda_stream_default);
  check(rmm::is_aligned(reinterpret_cast<std::uintptr_t>(block), rmm::CUDA_ALLOCATION_ALIGNMENT),
        "alignment");
  mr->deallocate(block, 1000, rmm::cuda_stream_default);
  rmm::mr::set_current_device_resource(previous);

  // Dialect 2: references and deduced types (the Programming Guide).
  rmm::mr::pool_memory_resource pool{cuda_mr, 1ULL << 24};
  rmm::mr::statistics_resource_adaptor stats_mr{pool};
  rmm::mr::logging_resource_adaptor log_mr{stats_mr, std::string{"rmm_program_log.csv"}};
  rmm::mr::set_current_device_resource_ref(log_mr);
  rmm::device_async_resource_ref ref = rmm::mr::get_current_device_resource_ref();
  void* logged = ref.allocate_async(4096, 256, rmm::cuda_stream_view{});
  check(stats_mr.get_bytes_counter().value == 4096, "statistics counts the allocation");
  ref.deallocate_async(logged, 4096, 256, rmm::cuda_stream_view{});
  check(stats_mr.get_allocations_counter().total == 1, "statistics counts one allocation in total");
  rmm::mr::reset_current_device_resource_ref();
  rmm::mr::device_async_resource_ref mr_ref =
      rmm::mr::get_per_device_resource_ref(rmm::cuda_device_id{0});
  void* direct = mr_ref.allocate_async(512, 256, rmm::cuda_stream_view{});
  mr_ref.deallocate_async(direct, 512, 256, rmm::cuda_stream_view{});
  check(stats_mr.get_allocations_counter().total == 1,
        "after the reset, allocations bypass the adaptors");

  rmm::mr::limiting_resource_adaptor limited{cuda_mr, 1 << 20};
  try {
    (void)limited.allocate(2 << 20);
    check(false, "the limit throws");
  } catch (rmm::out_of_memory const&) {
  }
  rmm::mr::arena_memory_resource arena{cuda_mr, std::size_t{1} << 26};
  arena.deallocate(arena.allocate(100), 100);

  std::remove("rmm_program_log.csv");
  if (failures == 0) std::puts("rmm_program: all checks passed");
  return failures == 0 ? 0 : 1;
}
