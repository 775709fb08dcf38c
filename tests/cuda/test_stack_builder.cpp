// Stacks made from configurations, on the simulator and on the GPU: each layer is built with
// its options over the one below, and allocations go through all of them.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "config/stack_builder.hpp"
#include "gpumem/cuda_device.hpp"
#include "gpumem/mr/expandable_memory_resource.hpp"
#include "gpumem/mr/pool_memory_resource.hpp"
#include "gpumem/mr/statistics_resource_adaptor.hpp"
#include "scratch_folder.hpp"

namespace {

using gpumem::config::build_stack;
using gpumem::config::configuration;
using gpumem::config::runtime_sources;

constexpr std::size_t kMiB = std::size_t{1} << 20;

std::uint64_t device_total() {
  return gpumem::available_device_memory().second;
}

gpumem::config::built_stack build_from(const gpumem::config::environment& env) {
  const configuration config = configuration::load(std::nullopt, env);
  EXPECT_TRUE(config.valid()) << (config.errors().empty() ? "" : config.errors().front());
  return build_stack(config.device_stack(0), device_total(), runtime_sources(device_total()));
}

TEST(StackBuilder, DefaultStackIsAPoolOverTheExpandableSource) {
  auto stack = build_from({});
  EXPECT_EQ(stack.names(), (std::vector<std::string>{"pool", "expandable"}));
  EXPECT_NE(dynamic_cast<gpumem::mr::expandable_memory_resource*>(stack.find("expandable")),
            nullptr)
      << "this device has virtual memory management: no fallback to cudaMalloc slabs";
  void* block = stack.top().allocate(1000);
  EXPECT_TRUE(gpumem::is_pointer_aligned(block));
  stack.top().deallocate(block, 1000);
  EXPECT_NE(dynamic_cast<gpumem::mr::detail::pool_resource_core*>(stack.find("pool")), nullptr);
}

TEST(StackBuilder, AllocationsGoThroughEveryLayer) {
  auto stack =
      build_from({{"GPUMEM_STACK", "statistics,pool,cuda"}, {"GPUMEM_POOL_INITIAL_SIZE", "8MiB"}});
  auto* stats =
      dynamic_cast<gpumem::mr::detail::statistics_adaptor_core*>(stack.find("statistics"));
  ASSERT_NE(stats, nullptr);
  auto* pool = dynamic_cast<gpumem::mr::detail::pool_resource_core*>(stack.find("pool"));
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->pool_size(), 8 * kMiB);
  void* block = stack.top().allocate(4096);
  EXPECT_EQ(stats->get_bytes_counter().value, 4096);
  EXPECT_EQ(pool->state().allocated_bytes, 4096U);
  stack.top().deallocate(block, 4096);
  EXPECT_EQ(stats->get_allocations_counter().total, 1);
}

TEST(StackBuilder, SharesAreOfTheDevicesMemory) {
  auto stack = build_from({{"GPUMEM_POOL_INITIAL_SIZE", "1%"}});
  auto* pool = dynamic_cast<gpumem::mr::detail::pool_resource_core*>(stack.find("pool"));
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->pool_size(), device_total() / 100 / 256 * 256);
}

TEST(StackBuilder, LimitRefusesBeyondItsSize) {
  auto stack = build_from({{"GPUMEM_STACK", "limit,cuda"}, {"GPUMEM_LIMIT_SIZE", "1MiB"}});
  void* block = stack.top().allocate(kMiB / 2);
  EXPECT_THROW((void)stack.top().allocate(kMiB), gpumem::out_of_memory);
  stack.top().deallocate(block, kMiB / 2);
}

TEST(StackBuilder, BinsTakeBlocksFromTheLayerBelow) {
  auto stack = build_from({{"GPUMEM_STACK", "binning,statistics,cuda"},
                           {"GPUMEM_BINNING_BINS", "256KiB,1MiB"},
                           {"GPUMEM_BINNING_BIN_BLOCKS", "4"}});
  auto* stats =
      dynamic_cast<gpumem::mr::detail::statistics_adaptor_core*>(stack.find("statistics"));
  ASSERT_NE(stats, nullptr);
  const auto before = stats->get_bytes_counter().value;  // the bins' first chunks
  EXPECT_EQ(before, static_cast<std::int64_t>(4 * 256 * 1024 + 4 * kMiB));
  void* small = stack.top().allocate(1000);  // from the 256 KiB bin: nothing new below
  EXPECT_EQ(stats->get_bytes_counter().value, before);
  void* large = stack.top().allocate(2 * kMiB);  // above every bin: straight below
  EXPECT_EQ(stats->get_bytes_counter().value, before + static_cast<std::int64_t>(2 * kMiB));
  stack.top().deallocate(large, 2 * kMiB);
  stack.top().deallocate(small, 1000);
}

TEST(StackBuilder, LoggingWritesItsFileNamedWithThePid) {
  const gpumem::test::scratch_folder folder;
  const std::string pattern = folder.file("stack_log_{pid}.csv");
  const std::string path = folder.file("stack_log_" + std::to_string(::getpid()) + ".csv");
  {
    auto stack = build_from({{"GPUMEM_STACK", "logging,cuda"}, {"GPUMEM_LOGGING_FILE", pattern}});
    stack.top().deallocate(stack.top().allocate(512), 512);
  }
  std::ifstream log{path};
  std::string header;
  std::getline(log, header);
  EXPECT_EQ(header, "Thread,Time,Action,Pointer,Size,Stream");
  std::string first;
  std::getline(log, first);
  EXPECT_NE(first.find(",allocate,"), std::string::npos) << first;
}

TEST(StackBuilder, DriverPoolSourceAndArena) {
  auto stack = build_from({{"GPUMEM_STACK", "arena,cuda_async"},
                           {"GPUMEM_ARENA_SIZE", "64MiB"},
                           {"GPUMEM_CUDA_ASYNC_RELEASE_THRESHOLD", "32MiB"}});
  EXPECT_EQ(stack.names(), (std::vector<std::string>{"arena", "cuda_async"}));
  void* block = stack.top().allocate(3000, gpumem::cuda_stream_per_thread);
  ASSERT_EQ(cudaMemset(block, 0, 3000), cudaSuccess);
  stack.top().deallocate(block, 3000, gpumem::cuda_stream_per_thread);
}

TEST(StackBuilder, ManagedStackHandsOutHostAccessibleMemory) {
  const configuration config =
      configuration::load(std::nullopt, {{"GPUMEM_MANAGED_STACK", "statistics,pool,managed"}});
  ASSERT_TRUE(config.valid());
  auto stack = build_stack(config.managed_stack(), device_total(), runtime_sources(device_total()));
  auto* block = static_cast<char*>(stack.top().allocate(4096));
  block[0] = 'x';  // managed memory is host accessible
  EXPECT_EQ(block[0], 'x');
  stack.top().deallocate(block, 4096);
}

}  // namespace
