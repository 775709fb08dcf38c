// cuda_stream (owning stream) and cuda_stream_pool, on the simulator and on the GPU.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "cuda_platform.hpp"
#include "gpumem/cuda_stream.hpp"
#include "gpumem/cuda_stream_pool.hpp"
#include "gpumem/cuda_stream_view.hpp"
#include "gpumem/error.hpp"

namespace {

namespace simulator = gpumem::test::simulator;

unsigned int flags_of(cudaStream_t stream) {
  unsigned int flags = ~0U;
  EXPECT_EQ(cudaStreamGetFlags(stream, &flags), cudaSuccess);
  return flags;
}

void expect_not_a_default_stream(gpumem::cuda_stream_view stream) {
  EXPECT_NE(stream.value(), nullptr);
  EXPECT_NE(stream.value(), cudaStreamLegacy);
  EXPECT_NE(stream.value(), cudaStreamPerThread);
  EXPECT_FALSE(stream.is_default());
  EXPECT_FALSE(stream.is_per_thread_default());
}

static_assert(!std::is_copy_constructible_v<gpumem::cuda_stream>);
static_assert(!std::is_copy_assignable_v<gpumem::cuda_stream>);
static_assert(std::is_nothrow_move_constructible_v<gpumem::cuda_stream>);
static_assert(std::is_nothrow_move_assignable_v<gpumem::cuda_stream>);
static_assert(std::is_convertible_v<gpumem::cuda_stream, gpumem::cuda_stream_view>);
static_assert(!std::is_convertible_v<gpumem::cuda_stream, cudaStream_t>,
              "the conversion is explicit");
static_assert(!std::is_copy_constructible_v<gpumem::cuda_stream_pool>);
static_assert(!std::is_move_constructible_v<gpumem::cuda_stream_pool>);

TEST(CudaStreamView, NamedStreams) {
  EXPECT_TRUE(gpumem::cuda_stream_default.is_default());
  EXPECT_TRUE(gpumem::cuda_stream_legacy.is_default());
  EXPECT_TRUE(gpumem::cuda_stream_per_thread.is_per_thread_default());
  EXPECT_FALSE(gpumem::cuda_stream_per_thread.is_default());
}

TEST(CudaStream, IsNeverADefaultStream) {
  const gpumem::cuda_stream first;
  const gpumem::cuda_stream second;
  EXPECT_TRUE(first.is_valid());
  expect_not_a_default_stream(first.view());
  expect_not_a_default_stream(second.view());
  EXPECT_NE(first.value(), second.value());
}

TEST(CudaStream, CreationFlags) {
  const gpumem::cuda_stream by_default;
  EXPECT_EQ(flags_of(by_default.value()), static_cast<unsigned int>(cudaStreamDefault));
  const gpumem::cuda_stream non_blocking{gpumem::cuda_stream::flags::non_blocking};
  EXPECT_EQ(flags_of(non_blocking.value()), static_cast<unsigned int>(cudaStreamNonBlocking));
  const gpumem::cuda_stream sync_default{gpumem::cuda_stream::flags::sync_default};
  EXPECT_EQ(flags_of(sync_default.value()), static_cast<unsigned int>(cudaStreamDefault));
}

TEST(CudaStream, ViewsAndConversionsNameTheOwnedStream) {
  const gpumem::cuda_stream stream;
  const gpumem::cuda_stream_view implicit_view = stream;
  EXPECT_EQ(implicit_view.value(), stream.value());
  EXPECT_EQ(stream.view().value(), stream.value());
  EXPECT_EQ(static_cast<cudaStream_t>(stream), stream.value());
}

TEST(CudaStream, MovedFromIsInvalid) {
  gpumem::cuda_stream original;
  const cudaStream_t handle = original.value();
  gpumem::cuda_stream moved{std::move(original)};
  EXPECT_FALSE(
      original.is_valid());  // NOLINT(bugprone-use-after-move): the moved-from state is the subject
  EXPECT_EQ(original.value(), nullptr);
  EXPECT_TRUE(moved.is_valid());
  EXPECT_EQ(moved.value(), handle);

  gpumem::cuda_stream target;
  target = std::move(moved);
  EXPECT_FALSE(moved.is_valid());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(target.value(), handle);
  target.synchronize();  // the stream still works after two moves
}

TEST(CudaStream, DestroysItsStreamExactlyOnce) {
  GPUMEM_REQUIRE_SIMULATOR();
  const auto destroyed = [] {
    return simulator::call_count("cuStreamDestroy") + simulator::call_count("cuStreamDestroy_v2");
  };
  const auto before = destroyed();
  {
    gpumem::cuda_stream kept;
    gpumem::cuda_stream replaced;
    replaced = std::move(kept);  // destroys replaced's own stream now
    EXPECT_EQ(destroyed(), before + 1);
  }  // destroys the moved stream once; the moved-from object destroys nothing
  EXPECT_EQ(destroyed(), before + 2);
}

TEST(CudaStream, SynchronizeWaitsForWork) {
  const gpumem::cuda_stream stream;
  void* device = nullptr;
  ASSERT_EQ(cudaMalloc(&device, 1024), cudaSuccess);
  std::vector<unsigned char> host(1024, 0);
  ASSERT_EQ(cudaMemsetAsync(device, 0x7F, 1024, stream.value()), cudaSuccess);
  ASSERT_EQ(cudaMemcpyAsync(host.data(), device, 1024, cudaMemcpyDeviceToHost, stream.value()),
            cudaSuccess);
  stream.synchronize();
  EXPECT_EQ(cudaStreamQuery(stream.value()), cudaSuccess);
  EXPECT_EQ(host.front(), 0x7F);
  EXPECT_EQ(host.back(), 0x7F);
  stream.synchronize_no_throw();
  EXPECT_EQ(cudaFree(device), cudaSuccess);
}

TEST(CudaStreamPool, DefaultSizeIsSixteen) {
  const gpumem::cuda_stream_pool pool;
  EXPECT_EQ(gpumem::cuda_stream_pool::default_size, 16U);
  EXPECT_EQ(pool.get_pool_size(), 16U);
}

TEST(CudaStreamPool, SizeZeroThrowsLogicError) {
  EXPECT_THROW(gpumem::cuda_stream_pool{0}, gpumem::logic_error);
}

TEST(CudaStreamPool, StreamsAreDistinctAndNeverDefault) {
  const gpumem::cuda_stream_pool pool{5};
  std::set<cudaStream_t> streams;
  for (std::size_t id = 0; id < pool.get_pool_size(); ++id) {
    expect_not_a_default_stream(pool.get_stream(id));
    streams.insert(pool.get_stream(id).value());
  }
  EXPECT_EQ(streams.size(), 5U);
}

TEST(CudaStreamPool, GetStreamIsRoundRobin) {
  const gpumem::cuda_stream_pool pool{3};
  std::vector<gpumem::cuda_stream_view> handed;
  for (int i = 0; i < 9; ++i)
    handed.push_back(pool.get_stream());
  EXPECT_NE(handed[0], handed[1]);
  EXPECT_NE(handed[1], handed[2]);
  EXPECT_NE(handed[0], handed[2]);
  for (std::size_t i = 3; i < handed.size(); ++i)
    EXPECT_EQ(handed[i], handed[i - 3]) << i;
  const std::set<cudaStream_t> by_id{
      pool.get_stream(0).value(), pool.get_stream(1).value(), pool.get_stream(2).value()};
  const std::set<cudaStream_t> round{handed[0].value(), handed[1].value(), handed[2].value()};
  EXPECT_EQ(round, by_id);
}

TEST(CudaStreamPool, GetStreamByIdIsModuloTheSize) {
  const gpumem::cuda_stream_pool pool{4};
  for (std::size_t id = 0; id < 4; ++id) {
    EXPECT_EQ(pool.get_stream(id), pool.get_stream(id + 4)) << id;
    EXPECT_EQ(pool.get_stream(id), pool.get_stream(id + 4 * 1000)) << id;
  }
  EXPECT_NE(pool.get_stream(0), pool.get_stream(1));
  EXPECT_NE(pool.get_stream(1), pool.get_stream(6));
}

TEST(CudaStreamPool, ConcurrentCallersShareTheStreamsEvenly) {
  const gpumem::cuda_stream_pool pool{4};
  constexpr int threads = 4;
  constexpr int calls_per_thread = 1000;
  std::vector<std::vector<cudaStream_t>> seen(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&pool, &seen, t] {
      for (int i = 0; i < calls_per_thread; ++i)
        seen[t].push_back(pool.get_stream().value());
    });
  }
  for (auto& worker : workers)
    worker.join();
  std::map<cudaStream_t, int> uses;
  for (const auto& list : seen) {
    for (const cudaStream_t stream : list)
      ++uses[stream];
  }
  // Every counter value is handed out once, so each stream is handed out equally often.
  ASSERT_EQ(uses.size(), 4U);
  for (const auto& [stream, count] : uses)
    EXPECT_EQ(count, threads * calls_per_thread / 4) << stream;
}

TEST(CudaStreamPool, CreationFlagsApplyToEveryStream) {
  const gpumem::cuda_stream_pool blocking{2};
  EXPECT_EQ(flags_of(blocking.get_stream(1).value()), static_cast<unsigned int>(cudaStreamDefault));
  const gpumem::cuda_stream_pool non_blocking{2, gpumem::cuda_stream::flags::non_blocking};
  EXPECT_EQ(flags_of(non_blocking.get_stream(0).value()),
            static_cast<unsigned int>(cudaStreamNonBlocking));
  EXPECT_EQ(flags_of(non_blocking.get_stream(1).value()),
            static_cast<unsigned int>(cudaStreamNonBlocking));
}

}  // namespace
