// device_buffer: allocation, copies, moves, resizing, its stream and resource, the device it
// records, and no leak when a constructor fails; on the simulator (two devices) and on the GPU.
// Also the RMM spellings through <rmm/device_buffer.hpp>.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <rmm/cuda_stream.hpp>
#include <rmm/device_buffer.hpp>
#include <type_traits>
#include <utility>
#include <vector>

#include "cuda_platform.hpp"
#include "gpumem/cuda_device.hpp"
#include "gpumem/cuda_stream.hpp"
#include "gpumem/device_buffer.hpp"
#include "gpumem/error.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/mr/device_memory_resource.hpp"
#include "gpumem/mr/per_device_resource.hpp"

namespace {

namespace simulator = gpumem::test::simulator;

/**
 * A cudaMalloc resource that records, for every allocation and free, the device current at the
 * call and the stream; it can be told to fail its next allocation with out_of_memory.
 */
class call_recording_resource final : public gpumem::mr::device_memory_resource {
 public:
  struct call {
    bool allocation;
    int device;
    cudaStream_t stream;
    void* pointer;
    std::size_t bytes;
  };

  std::vector<call> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::size_t allocations() const { return count(true); }
  std::size_t deallocations() const { return count(false); }
  std::size_t outstanding() const { return allocations() - deallocations(); }
  void fail_next_allocation() {
    std::lock_guard lock(mutex_);
    fail_next_ = true;
  }

 private:
  std::size_t count(bool allocation) const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& c : calls_)
      n += c.allocation == allocation ? 1 : 0;
    return n;
  }
  static int current_device() {
    int device = -1;
    EXPECT_EQ(cudaGetDevice(&device), cudaSuccess);
    return device;
  }
  void* do_allocate(std::size_t bytes, gpumem::cuda_stream_view stream) override {
    std::lock_guard lock(mutex_);
    if (fail_next_) {
      fail_next_ = false;
      throw gpumem::out_of_memory{"call_recording_resource: told to fail"};
    }
    void* pointer = cuda_.allocate(bytes, stream);
    calls_.push_back({true, current_device(), stream.value(), pointer, bytes});
    return pointer;
  }
  void do_deallocate(void* pointer, std::size_t bytes, gpumem::cuda_stream_view stream) override {
    std::lock_guard lock(mutex_);
    calls_.push_back({false, current_device(), stream.value(), pointer, bytes});
    cuda_.deallocate(pointer, bytes, stream);
  }

  gpumem::mr::cuda_memory_resource cuda_;
  mutable std::mutex mutex_;
  std::vector<call> calls_;
  bool fail_next_ = false;
};

std::vector<std::uint8_t> pattern(std::size_t bytes, std::uint8_t seed = 1) {
  std::vector<std::uint8_t> data(bytes);
  for (std::size_t i = 0; i < bytes; ++i)
    data[i] = static_cast<std::uint8_t>(seed + i * 7);
  return data;
}

/// The first `bytes` bytes of the buffer, read on its stream after synchronizing it.
std::vector<std::uint8_t> contents(const gpumem::device_buffer& buffer, std::size_t bytes) {
  std::vector<std::uint8_t> host(bytes);
  buffer.stream().synchronize();
  if (bytes > 0) {
    EXPECT_EQ(cudaMemcpy(host.data(), buffer.data(), bytes, cudaMemcpyDefault), cudaSuccess);
  }
  return host;
}

int device_of(const void* pointer) {
  cudaPointerAttributes attributes{};
  EXPECT_EQ(cudaPointerGetAttributes(&attributes, pointer), cudaSuccess);
  return attributes.device;
}

static_assert(!std::is_copy_constructible_v<gpumem::device_buffer>);
static_assert(!std::is_copy_assignable_v<gpumem::device_buffer>);
static_assert(std::is_nothrow_move_constructible_v<gpumem::device_buffer>);
static_assert(std::is_nothrow_move_assignable_v<gpumem::device_buffer>);
static_assert(!std::is_convertible_v<std::size_t, gpumem::device_buffer>,
              "the size constructor is explicit");

TEST(DeviceBuffer, DefaultIsEmptyWithTheCurrentResource) {
  const gpumem::device_buffer buffer;
  EXPECT_EQ(buffer.data(), nullptr);
  EXPECT_EQ(buffer.size(), 0U);
  EXPECT_EQ(buffer.ssize(), 0);
  EXPECT_EQ(buffer.capacity(), 0U);
  EXPECT_TRUE(buffer.is_empty());
  EXPECT_EQ(buffer.stream(), gpumem::cuda_stream_view{});
  EXPECT_TRUE(buffer.memory_resource() == gpumem::mr::get_current_device_resource_ref());
}

TEST(DeviceBuffer, AllocatesSizeBytesOnItsStreamFromItsResource) {
  call_recording_resource resource;
  const gpumem::cuda_stream stream;
  {
    gpumem::device_buffer buffer{1000, stream, resource};
    ASSERT_NE(buffer.data(), nullptr);
    EXPECT_EQ(buffer.size(), 1000U);
    EXPECT_EQ(buffer.ssize(), 1000);
    EXPECT_EQ(buffer.capacity(), 1000U);
    EXPECT_FALSE(buffer.is_empty());
    EXPECT_EQ(buffer.stream(), stream.view());
    EXPECT_TRUE(buffer.memory_resource() == gpumem::device_async_resource_ref{resource});
    ASSERT_EQ(resource.allocations(), 1U);
    EXPECT_GE(resource.calls()[0].bytes, 1000U);
    EXPECT_EQ(resource.calls()[0].pointer, buffer.data());
    EXPECT_EQ(resource.calls()[0].stream, stream.value());
    // The memory is usable device memory.
    ASSERT_EQ(cudaMemsetAsync(buffer.data(), 0x11, buffer.size(), stream.value()), cudaSuccess);
    EXPECT_EQ(contents(buffer, 1000), std::vector<std::uint8_t>(1000, 0x11));
  }
  ASSERT_EQ(resource.deallocations(), 1U);
  const auto freed = resource.calls().back();
  EXPECT_EQ(freed.pointer, resource.calls()[0].pointer);
  EXPECT_EQ(freed.bytes, resource.calls()[0].bytes);
  EXPECT_EQ(freed.stream, stream.value());
}

TEST(DeviceBuffer, ZeroBytesAllocateNothing) {
  call_recording_resource resource;
  {
    const gpumem::device_buffer buffer{0, gpumem::cuda_stream_default, resource};
    EXPECT_EQ(buffer.data(), nullptr);
    EXPECT_TRUE(buffer.is_empty());
  }
  EXPECT_EQ(resource.calls().size(), 0U);
}

TEST(DeviceBuffer, UsesTheCurrentDeviceResourceByDefault) {
  call_recording_resource resource;
  const auto previous = gpumem::mr::set_current_device_resource_ref(resource);
  {
    const gpumem::device_buffer buffer{64, gpumem::cuda_stream_default};
    EXPECT_EQ(resource.allocations(), 1U);
    EXPECT_TRUE(buffer.memory_resource() == gpumem::device_async_resource_ref{resource});
  }
  gpumem::mr::set_current_device_resource_ref(previous);
  EXPECT_EQ(resource.outstanding(), 0U);
}

TEST(DeviceBuffer, CopiesFromHostMemory) {
  const gpumem::cuda_stream stream;
  const auto host = pattern(4099);
  const gpumem::device_buffer buffer{host.data(), host.size(), stream};
  EXPECT_EQ(buffer.size(), host.size());
  EXPECT_EQ(contents(buffer, host.size()), host);
}

TEST(DeviceBuffer, CopiesFromDeviceMemory) {
  const gpumem::cuda_stream stream;
  const auto host = pattern(512, 3);
  void* device = nullptr;
  ASSERT_EQ(cudaMalloc(&device, host.size()), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(device, host.data(), host.size(), cudaMemcpyHostToDevice), cudaSuccess);
  {
    const gpumem::device_buffer buffer{device, host.size(), stream};
    EXPECT_NE(buffer.data(), device);
    EXPECT_EQ(contents(buffer, host.size()), host);
  }
  EXPECT_EQ(cudaFree(device), cudaSuccess);
}

TEST(DeviceBuffer, CopyConstructorIsDeepAndExact) {
  call_recording_resource first_resource;
  call_recording_resource second_resource;
  const gpumem::cuda_stream stream;
  const auto host = pattern(300, 5);
  gpumem::device_buffer original{host.data(), host.size(), stream, first_resource};
  original.reserve(1000, stream);  // the copy allocates size(), not capacity()
  const gpumem::device_buffer copy{original, stream, second_resource};
  EXPECT_NE(copy.data(), original.data());
  EXPECT_EQ(copy.size(), 300U);
  EXPECT_EQ(copy.capacity(), 300U);
  EXPECT_TRUE(copy.memory_resource() == gpumem::device_async_resource_ref{second_resource});
  EXPECT_EQ(second_resource.allocations(), 1U);
  // Changing the original leaves the copy as it was.
  ASSERT_EQ(cudaMemsetAsync(original.data(), 0, original.size(), stream.value()), cudaSuccess);
  EXPECT_EQ(contents(copy, 300), host);
  EXPECT_EQ(contents(original, 300), std::vector<std::uint8_t>(300, 0));
}

TEST(DeviceBuffer, MoveConstructorLeavesTheSourceEmpty) {
  call_recording_resource resource;
  const gpumem::cuda_stream stream;
  const auto host = pattern(256);
  gpumem::device_buffer source{host.data(), host.size(), stream, resource};
  const void* pointer = source.data();
  gpumem::device_buffer target{std::move(source)};
  EXPECT_EQ(target.data(), pointer);
  EXPECT_EQ(target.size(), 256U);
  EXPECT_EQ(target.capacity(), 256U);
  EXPECT_EQ(target.stream(), stream.view());
  EXPECT_TRUE(target.memory_resource() == gpumem::device_async_resource_ref{resource});
  // NOLINTBEGIN(bugprone-use-after-move): the moved-from state is the subject
  EXPECT_EQ(source.data(), nullptr);
  EXPECT_EQ(source.size(), 0U);
  EXPECT_EQ(source.capacity(), 0U);
  EXPECT_TRUE(source.is_empty());
  EXPECT_EQ(source.stream(), gpumem::cuda_stream_view{});
  // NOLINTEND(bugprone-use-after-move)
  EXPECT_EQ(contents(target, 256), host);
  EXPECT_EQ(resource.allocations(), 1U);
  EXPECT_EQ(resource.deallocations(), 0U);
}

TEST(DeviceBuffer, MoveAssignmentFreesItsOwnMemoryOnItsOwnStreamFirst) {
  call_recording_resource source_resource;
  call_recording_resource target_resource;
  const gpumem::cuda_stream source_stream;
  const gpumem::cuda_stream target_stream;
  gpumem::device_buffer source{128, source_stream, source_resource};
  gpumem::device_buffer target{64, target_stream, target_resource};
  const void* source_pointer = source.data();
  const void* target_pointer = target.data();

  target = std::move(source);
  ASSERT_EQ(target_resource.deallocations(), 1U);
  const auto freed = target_resource.calls().back();
  EXPECT_EQ(freed.pointer, target_pointer);
  EXPECT_EQ(freed.stream, target_stream.value());
  EXPECT_EQ(target.data(), source_pointer);
  EXPECT_EQ(target.size(), 128U);
  EXPECT_EQ(target.stream(), source_stream.view());
  EXPECT_TRUE(target.memory_resource() == gpumem::device_async_resource_ref{source_resource});
  EXPECT_EQ(source.data(), nullptr);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(source.size(), 0U);
  EXPECT_EQ(source.capacity(), 0U);
  EXPECT_EQ(source_resource.deallocations(), 0U);
}

TEST(DeviceBuffer, ResizeWithinCapacityNeitherAllocatesNorMoves) {
  call_recording_resource resource;
  const gpumem::cuda_stream stream;
  const auto host = pattern(1000);
  gpumem::device_buffer buffer{host.data(), host.size(), stream, resource};
  const void* pointer = buffer.data();
  buffer.resize(400, stream);
  EXPECT_EQ(buffer.size(), 400U);
  EXPECT_EQ(buffer.capacity(), 1000U);
  EXPECT_EQ(buffer.data(), pointer);
  buffer.resize(1000, stream);  // back up to the capacity: still no allocation
  EXPECT_EQ(buffer.data(), pointer);
  EXPECT_EQ(resource.allocations(), 1U);
  EXPECT_EQ(contents(buffer, 1000), host);
}

TEST(DeviceBuffer, GrowingResizeReallocatesAndKeepsTheContents) {
  call_recording_resource resource;
  const gpumem::cuda_stream first_stream;
  const gpumem::cuda_stream second_stream;
  const auto host = pattern(1000);
  gpumem::device_buffer buffer{host.data(), host.size(), first_stream, resource};
  const void* old_pointer = buffer.data();
  buffer.resize(3000, second_stream);
  EXPECT_EQ(buffer.size(), 3000U);
  EXPECT_EQ(buffer.capacity(), 3000U);
  EXPECT_EQ(buffer.stream(), second_stream.view());
  EXPECT_EQ(resource.allocations(), 2U);
  ASSERT_EQ(resource.deallocations(), 1U);
  EXPECT_EQ(resource.calls().back().pointer, old_pointer);
  EXPECT_EQ(resource.calls().back().stream, second_stream.value());  // freed on the new stream
  const auto after = contents(buffer, 3000);
  EXPECT_EQ(std::vector<std::uint8_t>(after.begin(), after.begin() + 1000), host);
}

TEST(DeviceBuffer, ReserveKeepsSizeAndContents) {
  call_recording_resource resource;
  const gpumem::cuda_stream stream;
  const auto host = pattern(500);
  gpumem::device_buffer buffer{host.data(), host.size(), stream, resource};
  const void* pointer = buffer.data();
  buffer.reserve(200, stream);  // not larger: nothing happens
  EXPECT_EQ(buffer.data(), pointer);
  EXPECT_EQ(buffer.capacity(), 500U);
  EXPECT_EQ(resource.allocations(), 1U);
  buffer.reserve(5000, stream);
  EXPECT_EQ(buffer.size(), 500U);
  EXPECT_EQ(buffer.capacity(), 5000U);
  EXPECT_EQ(resource.allocations(), 2U);
  EXPECT_EQ(contents(buffer, 500), host);
  buffer.resize(5000, stream);  // within the new capacity
  EXPECT_EQ(resource.allocations(), 2U);
}

TEST(DeviceBuffer, ShrinkToFitReallocatesOnlyWhenCapacityExceedsSize) {
  call_recording_resource resource;
  const gpumem::cuda_stream stream;
  const auto host = pattern(800);
  gpumem::device_buffer buffer{host.data(), host.size(), stream, resource};
  buffer.shrink_to_fit(stream);  // size == capacity
  EXPECT_EQ(resource.allocations(), 1U);
  buffer.resize(300, stream);
  buffer.shrink_to_fit(stream);
  EXPECT_EQ(buffer.size(), 300U);
  EXPECT_EQ(buffer.capacity(), 300U);
  EXPECT_EQ(resource.allocations(), 2U);
  EXPECT_EQ(resource.deallocations(), 1U);
  EXPECT_EQ(contents(buffer, 300), std::vector<std::uint8_t>(host.begin(), host.begin() + 300));
  buffer.resize(0, stream);
  buffer.shrink_to_fit(stream);
  EXPECT_EQ(buffer.data(), nullptr);
  EXPECT_EQ(buffer.capacity(), 0U);
  EXPECT_EQ(resource.outstanding(), 0U);
}

TEST(DeviceBuffer, SetStreamChoosesTheStreamOfTheFree) {
  call_recording_resource resource;
  const gpumem::cuda_stream first_stream;
  const gpumem::cuda_stream second_stream;
  {
    gpumem::device_buffer buffer{100, first_stream, resource};
    first_stream.synchronize();
    buffer.set_stream(second_stream);
    EXPECT_EQ(buffer.stream(), second_stream.view());
  }
  ASSERT_EQ(resource.deallocations(), 1U);
  EXPECT_EQ(resource.calls().back().stream, second_stream.value());
}

TEST(DeviceBuffer, FailedAllocationInAConstructorThrowsAndLeaksNothing) {
  call_recording_resource resource;
  resource.fail_next_allocation();
  EXPECT_THROW(gpumem::device_buffer(100, gpumem::cuda_stream_default, resource),
               gpumem::out_of_memory);
  const auto host = pattern(100);
  resource.fail_next_allocation();
  EXPECT_THROW(
      gpumem::device_buffer(host.data(), host.size(), gpumem::cuda_stream_default, resource),
      gpumem::out_of_memory);
  EXPECT_EQ(resource.outstanding(), 0U);
}

TEST(DeviceBuffer, FailedCopyInAConstructorFreesTheAllocation) {
  call_recording_resource resource;
  EXPECT_THROW(gpumem::device_buffer(nullptr, 100, gpumem::cuda_stream_default, resource),
               gpumem::logic_error);
  EXPECT_EQ(resource.allocations(), 1U);  // allocated, then freed when the copy was refused
  EXPECT_EQ(resource.outstanding(), 0U);
}

TEST(DeviceBuffer, FailedGrowthLeavesTheBufferAsItWas) {
  call_recording_resource resource;
  const gpumem::cuda_stream stream;
  const auto host = pattern(200);
  gpumem::device_buffer buffer{host.data(), host.size(), stream, resource};
  const void* pointer = buffer.data();
  resource.fail_next_allocation();
  EXPECT_THROW(buffer.resize(10000, stream), gpumem::out_of_memory);
  resource.fail_next_allocation();
  EXPECT_THROW(buffer.reserve(10000, stream), gpumem::out_of_memory);
  EXPECT_EQ(buffer.data(), pointer);
  EXPECT_EQ(buffer.size(), 200U);
  EXPECT_EQ(buffer.capacity(), 200U);
  EXPECT_EQ(contents(buffer, 200), host);
}

TEST(DeviceBuffer, OutOfDeviceMemoryInAConstructorLeaksNothing) {
  GPUMEM_REQUIRE_SIMULATOR();
  const auto before = simulator::outstanding_allocations(0);
  simulator::fail_allocation(1);
  EXPECT_THROW(gpumem::device_buffer(4096, gpumem::cuda_stream_default), gpumem::out_of_memory);
  simulator::fail_allocation(0);
  EXPECT_EQ(simulator::outstanding_allocations(0), before);
  {
    const gpumem::device_buffer buffer{4096, gpumem::cuda_stream_default};
    EXPECT_EQ(simulator::outstanding_allocations(0), before + 1);
  }
  EXPECT_EQ(simulator::outstanding_allocations(0), before);
}

TEST(DeviceBuffer, AllocatesAndFreesWithItsOwnDeviceCurrent) {
  const int devices = gpumem::get_num_cuda_devices();
  if (devices < 2) {
    GTEST_SKIP() << "needs two CUDA devices (this machine has " << devices
                 << "); the simulator runs it with GPUMEM_SIM_DEVICES=2";
  }
  ASSERT_EQ(gpumem::get_current_cuda_device(), gpumem::cuda_device_id{0});
  call_recording_resource on_device_one;
  call_recording_resource on_device_zero;
  const auto host = pattern(1000);
  std::optional<gpumem::device_buffer> made_on_one;
  {
    const gpumem::cuda_set_device_raii device_one{gpumem::cuda_device_id{1}};
    made_on_one.emplace(host.data(), host.size(), gpumem::cuda_stream_default, on_device_one);
  }
  gpumem::device_buffer& buffer = *made_on_one;
  EXPECT_EQ(device_of(buffer.data()), 1);

  // Device 0 is current for everything from here on.
  buffer.resize(4000, gpumem::cuda_stream_default);
  buffer.reserve(8000, gpumem::cuda_stream_default);
  buffer.shrink_to_fit(gpumem::cuda_stream_default);
  EXPECT_EQ(device_of(buffer.data()), 1);
  EXPECT_EQ(gpumem::get_current_cuda_device(), gpumem::cuda_device_id{0});
  {
    const gpumem::device_buffer copy{buffer, gpumem::cuda_stream_default, on_device_zero};
    EXPECT_EQ(device_of(copy.data()), 0);
    const auto copied = contents(copy, 1000);
    EXPECT_EQ(copied, host);
  }
  // Move assignment over a device-0 buffer: device 0 frees the target's memory, and the
  // moved-in memory is still freed on device 1 later.
  gpumem::device_buffer target{256, gpumem::cuda_stream_default, on_device_zero};
  target = std::move(buffer);
  made_on_one.reset();
  EXPECT_EQ(gpumem::get_current_cuda_device(), gpumem::cuda_device_id{0});
  { const gpumem::device_buffer destroyed_here{std::move(target)}; }
  EXPECT_EQ(gpumem::get_current_cuda_device(), gpumem::cuda_device_id{0});

  EXPECT_EQ(on_device_one.outstanding(), 0U);
  EXPECT_EQ(on_device_one.allocations(), 4U);  // construction, resize, reserve, shrink_to_fit
  for (const auto& call : on_device_one.calls()) {
    EXPECT_EQ(call.device, 1) << (call.allocation ? "allocation" : "free") << " of " << call.bytes
                              << " bytes";
  }
  EXPECT_EQ(on_device_zero.outstanding(), 0U);
  for (const auto& call : on_device_zero.calls())
    EXPECT_EQ(call.device, 0);
}

TEST(RmmCompat, DeviceBufferSpellings) {
  rmm::cuda_stream stream;
  rmm::device_buffer b{100, rmm::cuda_stream_default};
  EXPECT_EQ(b.size(), 100U);
  rmm::device_buffer buffer(1024, stream.view());
  buffer.resize(2048, stream.view());
  rmm::device_buffer buffer2(buffer, stream.view());
  EXPECT_EQ(buffer2.size(), 2048U);
  gpumem::mr::cuda_memory_resource cuda_mr;
  rmm::mr::device_memory_resource* mr = &cuda_mr;
  rmm::device_buffer b2{100, stream, mr};  // a resource pointer, as RMM's README passes it
  rmm::device_buffer b3(16, rmm::cuda_stream_default, &cuda_mr);
  EXPECT_TRUE(b2.memory_resource() == rmm::device_async_resource_ref{mr});
  EXPECT_EQ(b3.size(), 16U);
  stream.synchronize();
}

}  // namespace
