// pool_memory_resource's own behaviour, on the simulator and on the GPU.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <new>
#include <set>
#include <thread>
#include <vector>

#include "cuda_platform.hpp"
#include "gpumem/cuda_device.hpp"
#include "gpumem/cuda_stream.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/pool_memory_resource.hpp"
#include "gpumem/stream_destroyed.hpp"
#include "stream_pair.hpp"

namespace {

using gpumem::mr::cuda_memory_resource;
using gpumem::mr::pool_memory_resource;
namespace simulator = gpumem::test::simulator;

constexpr std::size_t kMiB = std::size_t{1} << 20;

static_assert(cuda::mr::async_resource_with<pool_memory_resource<cuda_memory_resource>,
                                            cuda::mr::device_accessible>);

using StreamPair = gpumem::test::stream_pair_test;

TEST(PoolMemoryResource, ConstructionForms) {
  cuda_memory_resource cuda_mr;
  pool_memory_resource<cuda_memory_resource> by_pointer{&cuda_mr, 4 * kMiB};
  pool_memory_resource deduced{cuda_mr, 4 * kMiB, 16 * kMiB};
  static_assert(std::is_same_v<decltype(deduced), pool_memory_resource<cuda_memory_resource>>);
  pool_memory_resource deduced_pointer{&cuda_mr, 0};
  static_assert(
      std::is_same_v<decltype(deduced_pointer), pool_memory_resource<cuda_memory_resource>>);
  pool_memory_resource from_ref{gpumem::device_async_resource_ref{cuda_mr}, 2 * kMiB};
  pool_memory_resource nested{by_pointer, 1 * kMiB};  // a pool over a pool
  EXPECT_EQ(by_pointer.pool_size(), 4 * kMiB);
  EXPECT_EQ(deduced.maximum_pool_size(), 16 * kMiB);
  EXPECT_EQ(deduced_pointer.pool_size(), 0U);
  EXPECT_EQ(from_ref.pool_size(), 2 * kMiB);
  EXPECT_EQ(nested.get_upstream_resource(), gpumem::device_async_resource_ref{by_pointer});
  pool_memory_resource share{cuda_mr,
                             gpumem::align_down(gpumem::percent_of_free_device_memory(1), 256)};
  EXPECT_GT(share.pool_size(), 0U);
}

TEST(PoolMemoryResource, InvalidSizesAreRefused) {
  cuda_memory_resource cuda_mr;
  EXPECT_THROW(pool_memory_resource(cuda_mr, 1000), gpumem::logic_error);
  EXPECT_THROW(pool_memory_resource(cuda_mr, 0, 1000), gpumem::logic_error);
  EXPECT_THROW(pool_memory_resource(cuda_mr, 2 * kMiB, kMiB), gpumem::logic_error);
  EXPECT_THROW(pool_memory_resource<cuda_memory_resource>(nullptr, kMiB), gpumem::logic_error);
}

TEST(PoolMemoryResource, ZeroBytesIsNull) {
  cuda_memory_resource cuda_mr;
  pool_memory_resource pool{cuda_mr, kMiB};
  EXPECT_EQ(pool.allocate(0), nullptr);
  pool.deallocate(nullptr, 0);
}

TEST(PoolMemoryResource, BlocksAreAlignedDisjointAndInsideThePool) {
  cuda_memory_resource cuda_mr;
  pool_memory_resource pool{cuda_mr, 64 * kMiB};
  std::vector<std::pair<char*, std::size_t>> blocks;
  for (const std::size_t size : {1UL, 255UL, 256UL, 257UL, 1000UL, 4096UL, 100000UL, 3 * kMiB}) {
    auto* block = static_cast<char*>(pool.allocate(size));
    EXPECT_TRUE(gpumem::is_pointer_aligned(block)) << size;
    blocks.emplace_back(block, size);
  }
  std::sort(blocks.begin(), blocks.end());
  for (std::size_t i = 1; i < blocks.size(); ++i) {
    EXPECT_LE(blocks[i - 1].first + blocks[i - 1].second, blocks[i].first);
  }
  EXPECT_EQ(pool.pool_size(), 64 * kMiB);  // no growth needed
  // The memory is real device memory: write and read it back.
  std::vector<char> pattern(100000, 'x');
  auto* target =
      std::find_if(blocks.begin(), blocks.end(), [](auto& b) { return b.second == 100000; })->first;
  ASSERT_EQ(cudaMemcpy(target, pattern.data(), pattern.size(), cudaMemcpyHostToDevice),
            cudaSuccess);
  std::vector<char> back(pattern.size());
  ASSERT_EQ(cudaMemcpy(back.data(), target, back.size(), cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(back, pattern);
  for (auto [block, size] : blocks)
    pool.deallocate(block, size);
  EXPECT_EQ(pool.state().allocated_bytes, 0U);
  // Everything merges back: the whole pool is one block again, with no growth.
  void* whole = pool.allocate(64 * kMiB);
  EXPECT_EQ(whole, std::min_element(blocks.begin(), blocks.end())->first);
  EXPECT_EQ(pool.pool_size(), 64 * kMiB);
  pool.deallocate(whole, 64 * kMiB);
}

TEST_F(StreamPair, FreedBlockIsReusedOnTheSameStreamAtOnce) {
  cuda_memory_resource cuda_mr;
  pool_memory_resource pool{cuda_mr, 8 * kMiB};
  void* first = pool.allocate(kMiB, first_);
  pool.deallocate(first, kMiB, first_);
  EXPECT_EQ(pool.allocate(kMiB, first_), first);
  pool.deallocate(first, kMiB, first_);
}

TEST_F(StreamPair, AnotherStreamGetsAFreedBlockAfterAnEventWait) {
  cuda_memory_resource cuda_mr;
  pool_memory_resource pool{cuda_mr, 0};
  void* block = pool.allocate(4 * kMiB, first_);
  pool.deallocate(block, 4 * kMiB, first_);
  if (gpumem::test::on_simulator()) simulator::reset_call_counts();
  void* reused = pool.allocate(4 * kMiB, second_);  // no new slab: the block moves streams
  EXPECT_EQ(reused, block);
  EXPECT_EQ(pool.pool_size(), 4 * kMiB);
  if (gpumem::test::on_simulator()) {
    EXPECT_EQ(
        simulator::call_count("cuEventRecord") + simulator::call_count("cuEventRecordWithFlags"),
        1U);
    EXPECT_EQ(simulator::call_count("cuStreamWaitEvent"), 1U);
    EXPECT_EQ(simulator::call_count("cuEventSynchronize"), 0U);  // the host never waits
    EXPECT_EQ(simulator::call_count("cuStreamSynchronize"), 0U);
    EXPECT_EQ(simulator::call_count("cuCtxSynchronize"), 0U);
  }
  pool.deallocate(reused, 4 * kMiB, second_);
}

TEST_F(StreamPair, SameStreamReuseRecordsNoEvent) {
  GPUMEM_REQUIRE_SIMULATOR();
  cuda_memory_resource cuda_mr;
  pool_memory_resource pool{cuda_mr, 8 * kMiB};
  simulator::reset_call_counts();
  for (int i = 0; i < 100; ++i)
    pool.deallocate(pool.allocate(4096, first_), 4096, first_);
  EXPECT_EQ(
      simulator::call_count("cuEventRecord") + simulator::call_count("cuEventRecordWithFlags"), 0U);
  EXPECT_EQ(simulator::call_count("cuMemAlloc_v2"), 0U);
}

TEST(PoolMemoryResource, GrowsWithinTheMaximumAndReportsOutOfMemory) {
  cuda_memory_resource cuda_mr;
  pool_memory_resource pool{cuda_mr, 2 * kMiB, 8 * kMiB};
  void* a = pool.allocate(2 * kMiB);
  void* b = pool.allocate(4 * kMiB);  // grows
  EXPECT_LE(pool.pool_size(), 8 * kMiB);
  try {
    (void)pool.allocate(4 * kMiB);
    FAIL() << "no out_of_memory";
  } catch (const gpumem::out_of_memory& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("cannot allocate 4.0 MiB (4194304 bytes)"), std::string::npos)
        << message;
    EXPECT_NE(message.find("maximum 8.0 MiB"), std::string::npos) << message;
    EXPECT_NE(message.find("in use 6.0 MiB"), std::string::npos) << message;
    EXPECT_NE(message.find("largest free block"), std::string::npos) << message;
    EXPECT_NE(message.find("pool size"), std::string::npos) << message;
  }
  pool.deallocate(a, 2 * kMiB);
  pool.deallocate(b, 4 * kMiB);
}

TEST(PoolMemoryResource, UpstreamOutOfMemoryBecomesPoolOutOfMemory) {
  cuda_memory_resource cuda_mr;
  pool_memory_resource pool{cuda_mr, 0};
  const auto total = gpumem::available_device_memory().second;
  EXPECT_THROW((void)pool.allocate(total * 2), gpumem::out_of_memory);
  EXPECT_NE(pool.allocate(kMiB), nullptr);  // still usable
}

TEST(PoolMemoryResource, ReleaseGivesFreeSlabsBack) {
  cuda_memory_resource cuda_mr;
  pool_memory_resource pool{cuda_mr, 0};
  void* kept = pool.allocate(kMiB);
  std::vector<void*> blocks;
  for (int i = 0; i < 4; ++i)
    blocks.push_back(pool.allocate(32 * kMiB));  // several slabs
  const std::size_t before = pool.pool_size();
  for (void* block : blocks)
    pool.deallocate(block, 32 * kMiB);
  const std::size_t released = pool.release();
  EXPECT_GT(released, 0U);
  EXPECT_EQ(pool.pool_size(), before - released);
  EXPECT_GE(pool.pool_size(), kMiB);  // the slab holding `kept` stays
  pool.deallocate(kept, kMiB);
}

TEST(PoolMemoryResource, DestructionReturnsEverythingUpstream) {
  GPUMEM_REQUIRE_SIMULATOR();
  const std::size_t before = simulator::outstanding_allocations();
  {
    cuda_memory_resource cuda_mr;
    pool_memory_resource pool{cuda_mr, 4 * kMiB};
    std::vector<void*> blocks;
    for (int i = 0; i < 50; ++i)
      blocks.push_back(pool.allocate(256 * 1024));
    EXPECT_GT(simulator::outstanding_allocations(), before);
    for (void* block : blocks)
      pool.deallocate(block, 256 * 1024);
  }
  EXPECT_EQ(simulator::outstanding_allocations(), before);
}

TEST(PoolMemoryResource, ManyThreadsAtOnce) {
  cuda_memory_resource cuda_mr;
  pool_memory_resource pool{cuda_mr, 64 * kMiB};
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::vector<std::vector<void*>> kept(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::size_t size = 256 * static_cast<std::size_t>(1 + (i * 7 + t) % 64);
        void* block = pool.allocate(size, gpumem::cuda_stream_per_thread);
        if (i % 10 == 0) {
          kept[t].push_back(block);
        } else {
          pool.deallocate(block, size, gpumem::cuda_stream_per_thread);
        }
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  std::set<void*> distinct;
  for (const auto& blocks : kept)
    distinct.insert(blocks.begin(), blocks.end());
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(kThreads * 200));
  EXPECT_EQ(pool.state().allocated_blocks, static_cast<std::size_t>(kThreads * 200));
  for (const auto& blocks : kept) {
    for (void* block : blocks)
      pool.deallocate(block, 256, gpumem::cuda_stream_per_thread);
  }
  EXPECT_EQ(pool.state().allocated_bytes, 0U);
}

TEST(PoolMemoryResource, FreeOfAForeignPointerIsIgnored) {
  cuda_memory_resource cuda_mr;
  pool_memory_resource pool{cuda_mr, kMiB};
  void* foreign = cuda_mr.allocate(256);
  testing::internal::CaptureStderr();
  pool.deallocate(foreign, 256);
  const std::string said = testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find("gpumem: pool_memory_resource: deallocate of"), std::string::npos) << said;
  cuda_mr.deallocate(foreign, 256);
  EXPECT_EQ(pool.state().allocated_blocks, 0U);
}

}  // namespace

// A program that makes a stream per task: the pool forgets each destroyed stream once its
// blocks moved on, so its list of streams (and the scan over it) does not grow with them.
TEST(PoolMemoryResource, DestroyedStreamsAreForgotten) {
  cuda_memory_resource cuda;
  pool_memory_resource pool{&cuda, std::size_t{1} << 20};
  for (int task = 0; task < 200; ++task) {
    gpumem::cuda_stream stream;  // announces its destruction (gpumem/stream_destroyed.hpp)
    void* block = pool.allocate(4096, stream.view());
    pool.deallocate(block, 4096, stream.view());
  }
  EXPECT_LE(pool.state().streams, 2U) << "one entry per destroyed stream was kept";
  // The same with a stream the program destroys itself, after saying so.
  for (int task = 0; task < 200; ++task) {
    cudaStream_t stream = nullptr;
    ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
    void* block = pool.allocate(4096, gpumem::cuda_stream_view{stream});
    pool.deallocate(block, 4096, gpumem::cuda_stream_view{stream});
    gpumem::notify_stream_destroyed(stream);
    ASSERT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  }
  EXPECT_LE(pool.state().streams, 2U);
  // Every block is still there to be used.
  void* whole = pool.allocate(std::size_t{1} << 20, gpumem::cuda_stream_view{});
  EXPECT_NE(whole, nullptr);
  pool.deallocate(whole, std::size_t{1} << 20, gpumem::cuda_stream_view{});
}

// A thread per task on its per-thread default stream: the pool forgets each thread's stream
// when the thread ends (after ordering its blocks through the legacy stream), and a new thread
// (which may get the old one's id) never takes them without that order.
TEST(PoolMemoryResource, EndedThreadsPerThreadStreamsAreForgotten) {
  cuda_memory_resource cuda;
  pool_memory_resource pool{&cuda, std::size_t{1} << 20};
  const gpumem::cuda_stream_view per_thread{cudaStreamPerThread};
  for (int task = 0; task < 100; ++task) {
    std::thread worker([&] {
      void* block = pool.allocate(4096, per_thread);
      pool.deallocate(block, 4096, per_thread);
    });
    worker.join();
  }
  EXPECT_LE(pool.state().streams, 2U) << "one entry per ended thread was kept";
  void* whole = pool.allocate(std::size_t{1} << 20, gpumem::cuda_stream_view{});
  EXPECT_NE(whole, nullptr);
  pool.deallocate(whole, std::size_t{1} << 20, gpumem::cuda_stream_view{});
}

namespace {

/// Host memory up to a budget of bytes in all (an upstream that runs out, as a device does).
class budget_resource final : public gpumem::mr::device_memory_resource {
 public:
  explicit budget_resource(std::size_t budget) : left_{budget} {}

 private:
  void* do_allocate(std::size_t bytes, gpumem::cuda_stream_view) override {
    if (bytes > left_) throw gpumem::out_of_memory{"budget_resource: " + std::to_string(bytes)};
    left_ -= bytes;
    return ::operator new (bytes, std::align_val_t{256});
  }
  void do_deallocate(void* ptr, std::size_t bytes, gpumem::cuda_stream_view) noexcept override {
    left_ += bytes;
    ::operator delete (ptr, std::align_val_t{256});
  }
  std::size_t left_;
};

}  // namespace

// When the preferred growth does not fit, the pool grows by less, down to what the request
// needs (RMM's behaviour; RMM issue 1957).
TEST(PoolMemoryResource, GrowsByLessWhenThePreferredStepDoesNotFit) {
  budget_resource upstream{6000};
  pool_memory_resource pool{&upstream, 0};
  std::vector<std::pair<void*, std::size_t>> held;
  for (const std::size_t bytes : {1000, 4000, 500}) {
    void* block = nullptr;
    ASSERT_NO_THROW(block = pool.allocate(bytes)) << bytes << " bytes";
    held.emplace_back(block, bytes);
  }
  EXPECT_THROW((void)pool.allocate(2000), gpumem::out_of_memory);
  for (const auto& [block, bytes] : held)
    pool.deallocate(block, bytes);
}

TEST(PoolMemoryResource, GrowsByLessWithinItsMaximum) {
  budget_resource upstream{6000};
  pool_memory_resource pool{&upstream, 0, 8192};
  void* first = pool.allocate(1000);
  EXPECT_THROW((void)pool.allocate(4000), gpumem::out_of_memory);
  void* small = nullptr;
  void* medium = nullptr;
  EXPECT_NO_THROW(small = pool.allocate(500));
  EXPECT_NO_THROW(medium = pool.allocate(2000));
  pool.deallocate(medium, 2000);
  pool.deallocate(small, 500);
  pool.deallocate(first, 1000);
}

namespace {

/// Host memory whose allocations wait, once closed, until the gate opens (an upstream that
/// takes long, as cudaMalloc can).
class gated_resource final : public gpumem::mr::device_memory_resource {
 public:
  void close() { open_ = false; }
  void open() {
    {
      std::lock_guard lock{mutex_};
      open_ = true;
    }
    opened_.notify_all();
  }
  [[nodiscard]] bool someone_waits() const { return waiting_.load() != 0; }

 private:
  void* do_allocate(std::size_t bytes, gpumem::cuda_stream_view) override {
    std::unique_lock lock{mutex_};
    ++waiting_;
    opened_.wait(lock, [this] { return open_; });
    --waiting_;
    return ::operator new (bytes, std::align_val_t{256});
  }
  void do_deallocate(void* ptr, std::size_t, gpumem::cuda_stream_view) noexcept override {
    ::operator delete (ptr, std::align_val_t{256});
  }
  std::mutex mutex_;
  std::condition_variable opened_;
  bool open_ = true;
  std::atomic<int> waiting_{0};
};

}  // namespace

// Growth waits for the upstream without the pool's lock: another thread allocating what the
// pool already holds is served meanwhile (before, it spun until the upstream returned).
TEST(PoolMemoryResource, OtherThreadsAreServedWhileThePoolGrows) {
  gated_resource upstream;
  pool_memory_resource pool{&upstream, std::size_t{1} << 20};
  upstream.close();
  std::thread grower([&] {
    void* large = pool.allocate(std::size_t{8} << 20);  // beyond the initial slab: grows
    pool.deallocate(large, std::size_t{8} << 20);
  });
  while (!upstream.someone_waits())
    std::this_thread::yield();
  auto small = std::async(std::launch::async, [&] {
    void* block = pool.allocate(4096);
    pool.deallocate(block, 4096);
    return true;
  });
  const bool served = small.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  upstream.open();
  grower.join();
  EXPECT_TRUE(served) << "an allocation from the pool's free memory waited for another's growth";
  EXPECT_TRUE(small.get());
}
