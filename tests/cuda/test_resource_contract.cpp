// The contract every device memory resource and adaptor keeps, checked for each by one typed
// test suite, on the simulator and on the GPU: sizes from 0 to beyond the device, 256-byte
// alignment, real device memory, allocation and free on one stream and across streams, many
// threads at once, out-of-memory as gpumem::out_of_memory, and nothing left behind after
// destruction.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cuda_platform.hpp"
#include "gpumem/cuda_device.hpp"
#include "resource_factories.hpp"

namespace {

namespace simulator = gpumem::test::simulator;
constexpr std::size_t kMiB = std::size_t{1} << 20;

template <typename Factory>
class ResourceContract : public ::testing::Test {
 protected:
  void SetUp() override { resource_ = Factory::make(); }
  void TearDown() override { resource_.reset(); }
  gpumem::mr::device_memory_resource& resource() { return *resource_; }

  std::unique_ptr<gpumem::mr::device_memory_resource> resource_;
};

TYPED_TEST_SUITE(ResourceContract,
                 gpumem::test::all_resource_factories,
                 gpumem::test::factory_names);

/// Writes a byte pattern through CUDA into the block and reads it back.
void expect_usable(void* block, std::size_t size) {
  if (size == 0) return;
  const std::size_t probe = std::min<std::size_t>(size, 4096);
  ASSERT_EQ(cudaMemset(block, 0x5A, probe), cudaSuccess);
  std::vector<unsigned char> back(probe);
  ASSERT_EQ(cudaMemcpy(back.data(), block, probe, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_TRUE(std::all_of(back.begin(), back.end(), [](unsigned char c) { return c == 0x5A; }));
}

TYPED_TEST(ResourceContract, SizesFromZeroToLarge) {
  for (const std::size_t size : {0UL, 1UL, 255UL, 256UL, 257UL, 4096UL, kMiB + 1, 64 * kMiB}) {
    if (size > TypeParam::largest_request) {
      EXPECT_THROW((void)this->resource().allocate(size), gpumem::out_of_memory) << size;
      continue;
    }
    void* block = this->resource().allocate(size);
    if (size > 0) {
      ASSERT_NE(block, nullptr) << size;
    }
    EXPECT_TRUE(gpumem::is_pointer_aligned(block)) << size;
    expect_usable(block, size);
    this->resource().deallocate(block, size);
  }
}

TYPED_TEST(ResourceContract, LargerThanTheDeviceIsOutOfMemory) {
  if (TypeParam::oversubscribes) GTEST_SKIP() << "may hand out more than the device holds";
  const std::size_t total = gpumem::available_device_memory().second;
  EXPECT_THROW((void)this->resource().allocate(total * 2), gpumem::out_of_memory);
  void* block = this->resource().allocate(4096);  // still usable afterwards
  expect_usable(block, 4096);
  this->resource().deallocate(block, 4096);
}

TYPED_TEST(ResourceContract, OneStreamAndAcrossStreams) {
  cudaStream_t first = nullptr;
  cudaStream_t second = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&first, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaStreamCreateWithFlags(&second, cudaStreamNonBlocking), cudaSuccess);
  for (int i = 0; i < 20; ++i) {
    void* block = this->resource().allocate(100000, first);
    ASSERT_EQ(cudaMemsetAsync(block, 1, 100000, first), cudaSuccess);
    this->resource().deallocate(block, 100000, first);
  }
  // Allocated on one stream, freed on another after synchronizing, reused on a third.
  void* block = this->resource().allocate(65536, first);
  ASSERT_EQ(cudaMemsetAsync(block, 2, 65536, first), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(first), cudaSuccess);
  this->resource().deallocate(block, 65536, second);
  void* again = this->resource().allocate(65536, gpumem::cuda_stream_view{});
  expect_usable(again, 65536);
  this->resource().deallocate(again, 65536, gpumem::cuda_stream_view{});
  ASSERT_EQ(cudaStreamSynchronize(second), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(first), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(second), cudaSuccess);
}

TYPED_TEST(ResourceContract, ManyThreadsAtOnce) {
  constexpr int kThreads = 8;
  std::mutex mutex;
  std::vector<std::pair<char*, std::size_t>> kept;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::pair<char*, std::size_t>> mine;
      for (int i = 0; i < 300; ++i) {
        const std::size_t size = 256 * static_cast<std::size_t>(1 + (i * 31 + t * 7) % 100);
        auto* block =
            static_cast<char*>(this->resource().allocate(size, gpumem::cuda_stream_per_thread));
        if (i % 3 == 0) {
          mine.emplace_back(block, size);
        } else {
          this->resource().deallocate(block, size, gpumem::cuda_stream_per_thread);
        }
      }
      std::lock_guard lock(mutex);
      kept.insert(kept.end(), mine.begin(), mine.end());
    });
  }
  for (auto& thread : threads)
    thread.join();
  std::sort(kept.begin(), kept.end());
  for (std::size_t i = 1; i < kept.size(); ++i) {
    ASSERT_LE(kept[i - 1].first + kept[i - 1].second, kept[i].first) << "blocks overlap";
  }
  for (auto [block, size] : kept)
    this->resource().deallocate(block, size, gpumem::cuda_stream_per_thread);
}

TYPED_TEST(ResourceContract, EqualToItself) {
  EXPECT_TRUE(this->resource().is_equal(this->resource()));
}

TYPED_TEST(ResourceContract, NothingLeftBehindAfterDestruction) {
  GPUMEM_REQUIRE_SIMULATOR();
  this->resource_.reset();
  const std::size_t before = simulator::outstanding_allocations();
  {
    auto resource = TypeParam::make();
    std::vector<std::pair<void*, std::size_t>> blocks;
    for (std::size_t i = 1; i <= 50; ++i)
      blocks.emplace_back(resource->allocate(i * 5000), i * 5000);
    for (auto [block, size] : blocks)
      resource->deallocate(block, size);
  }
  EXPECT_EQ(simulator::outstanding_allocations(), before);
}

}  // namespace
