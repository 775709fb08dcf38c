// gpumem::prefetch on managed memory and on memory that is not managed, on the simulator and
// on the GPU.

#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cuda/std/span>
#include <rmm/prefetch.hpp>
#include <stdexcept>
#include <utility>

#include "allocator_test_resource.hpp"
#include "cuda_platform.hpp"
#include "gpumem/cuda_device.hpp"
#include "gpumem/error.hpp"
#include "gpumem/prefetch.hpp"

namespace {

using gpumem::cuda_device_id;
using gpumem::test::test_stream;

/// Managed memory for one test (cudaMallocManaged / cudaFree).
class managed_block {
 public:
  explicit managed_block(std::size_t bytes) : bytes_{bytes} {
    if (cudaMallocManaged(&ptr_, bytes) != cudaSuccess) {
      (void)cudaGetLastError();
      throw std::runtime_error{"managed_block: cudaMallocManaged failed"};
    }
  }
  ~managed_block() { (void)cudaFree(ptr_); }
  managed_block(const managed_block&) = delete;
  managed_block& operator=(const managed_block&) = delete;
  managed_block(managed_block&&) = delete;
  managed_block& operator=(managed_block&&) = delete;
  [[nodiscard]] void* get() const noexcept { return ptr_; }
  [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }

 private:
  void* ptr_{};
  std::size_t bytes_;
};

bool device_can_prefetch() {
  int concurrent_managed_access = 0;
  return cudaDeviceGetAttribute(
             &concurrent_managed_access, cudaDevAttrConcurrentManagedAccess, 0) == cudaSuccess &&
         concurrent_managed_access != 0;
}

/// The {type, id} of the last prefetch location of a managed range, as CUDA tells it (GPU only:
/// looked up at run time, since the simulator's runtime has no cudaMemRangeGetAttribute).
std::pair<int, int> last_prefetch_location(const void* ptr, std::size_t bytes) {
  using range_attribute_function =
      cudaError_t (*)(void*, std::size_t, cudaMemRangeAttribute, const void*, std::size_t);
  const auto range_attribute =
      reinterpret_cast<range_attribute_function>(::dlsym(RTLD_DEFAULT, "cudaMemRangeGetAttribute"));
  int type = -2;
  int id = -2;
  if (range_attribute == nullptr) {
    ADD_FAILURE() << "no cudaMemRangeGetAttribute";
    return {type, id};
  }
  EXPECT_EQ(range_attribute(
                &type, sizeof type, cudaMemRangeAttributeLastPrefetchLocationType, ptr, bytes),
            cudaSuccess);
  EXPECT_EQ(
      range_attribute(&id, sizeof id, cudaMemRangeAttributeLastPrefetchLocationId, ptr, bytes),
      cudaSuccess);
  return {type, id};
}

TEST(Prefetch, ManagedMemoryIsPrefetchedOnTheStream) {
  GPUMEM_REQUIRE_SIMULATOR();
  managed_block block{1 << 20};
  test_stream stream;
  gpumem::test::simulator::reset_call_counts();
  gpumem::prefetch(block.get(), block.bytes(), cuda_device_id{0}, stream.view());
  EXPECT_EQ(gpumem::test::simulator::call_count("cuMemPrefetchAsync_v2"), 1U);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

TEST(Prefetch, ManagedMemoryLandsOnTheDevice) {
  if (gpumem::test::on_simulator()) GTEST_SKIP() << "the simulator keeps no prefetch location";
  if (!device_can_prefetch()) GTEST_SKIP() << "the device cannot prefetch managed memory";
  managed_block block{1 << 21};
  test_stream stream;
  gpumem::prefetch(block.get(), block.bytes(), cuda_device_id{0}, stream.view());
  ASSERT_EQ(cudaStreamSynchronize(stream.value()), cudaSuccess);
  const auto [type, id] = last_prefetch_location(block.get(), block.bytes());
  EXPECT_EQ(type, cudaMemLocationTypeDevice);
  EXPECT_EQ(id, 0);
}

TEST(Prefetch, CpuDeviceIdPrefetchesToTheHost) {
  managed_block block{1 << 21};
  test_stream stream;
  if (gpumem::test::on_simulator()) gpumem::test::simulator::reset_call_counts();
  gpumem::prefetch(block.get(), block.bytes(), cuda_device_id{0}, stream.view());
  gpumem::prefetch(block.get(), block.bytes(), cuda_device_id{cudaCpuDeviceId}, stream.view());
  ASSERT_EQ(cudaStreamSynchronize(stream.value()), cudaSuccess);
  if (gpumem::test::on_simulator()) {
    EXPECT_EQ(gpumem::test::simulator::call_count("cuMemPrefetchAsync_v2"), 2U);
    return;
  }
  if (!device_can_prefetch()) GTEST_SKIP() << "the device cannot prefetch managed memory";
  const auto [type, id] = last_prefetch_location(block.get(), block.bytes());
  EXPECT_EQ(type, cudaMemLocationTypeHost);
  (void)id;
  // Managed memory stays usable from the host.
  static_cast<char*>(block.get())[0] = 42;
  EXPECT_EQ(static_cast<char*>(block.get())[0], 42);
}

TEST(Prefetch, SpanCoversItsBytes) {
  managed_block block{1 << 21};
  test_stream stream;
  const cuda::std::span<const int> all{static_cast<const int*>(block.get()),
                                       block.bytes() / sizeof(int)};
  const cuda::std::span<int> first_half{static_cast<int*>(block.get()),
                                        block.bytes() / sizeof(int) / 2};
  if (gpumem::test::on_simulator()) gpumem::test::simulator::reset_call_counts();
  gpumem::prefetch(all, cuda_device_id{0}, stream.view());
  gpumem::prefetch(first_half, cuda_device_id{0}, stream.view());
  ASSERT_EQ(cudaStreamSynchronize(stream.value()), cudaSuccess);
  if (gpumem::test::on_simulator()) {
    EXPECT_EQ(gpumem::test::simulator::call_count("cuMemPrefetchAsync_v2"), 2U);
    // A span beyond the managed block is not managed memory as a whole: a no-op.
    const cuda::std::span<const int> beyond{static_cast<const int*>(block.get()), block.bytes()};
    EXPECT_NO_THROW(gpumem::prefetch(beyond, cuda_device_id{0}, stream.view()));
    return;
  }
  if (!device_can_prefetch()) GTEST_SKIP() << "the device cannot prefetch managed memory";
  const auto [type, id] = last_prefetch_location(block.get(), block.bytes());
  EXPECT_EQ(type, cudaMemLocationTypeDevice);
  EXPECT_EQ(id, 0);
}

TEST(Prefetch, MemoryThatIsNotManagedIsANoOpAndLeavesNoError) {
  void* device_memory = nullptr;
  ASSERT_EQ(cudaMalloc(&device_memory, 1 << 20), cudaSuccess);
  EXPECT_NO_THROW(
      gpumem::prefetch(device_memory, 1 << 20, cuda_device_id{0}, gpumem::cuda_stream_default));
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_EQ(cudaFree(device_memory), cudaSuccess);

  int host_value = 0;
  EXPECT_NO_THROW(gpumem::prefetch(
      &host_value, sizeof host_value, cuda_device_id{0}, gpumem::cuda_stream_default));
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

TEST(Prefetch, ZeroBytesIsANoOp) {
  managed_block block{4096};
  EXPECT_NO_THROW(gpumem::prefetch(block.get(), 0, cuda_device_id{0}, gpumem::cuda_stream_default));
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

TEST(Prefetch, InvalidDeviceThrowsCudaError) {
  if (!device_can_prefetch()) GTEST_SKIP() << "the device cannot prefetch managed memory";
  managed_block block{4096};
  EXPECT_THROW(gpumem::prefetch(block.get(),
                                block.bytes(),
                                cuda_device_id{gpumem::get_num_cuda_devices()},
                                gpumem::cuda_stream_default),
               gpumem::cuda_error);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

TEST(Prefetch, RmmSpellingIsTheSameFunction) {
  managed_block block{1 << 21};
  if (gpumem::test::on_simulator()) gpumem::test::simulator::reset_call_counts();
  rmm::prefetch(block.get(), block.bytes(), rmm::cuda_device_id{0}, rmm::cuda_stream_default);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  if (gpumem::test::on_simulator()) {
    EXPECT_EQ(gpumem::test::simulator::call_count("cuMemPrefetchAsync_v2"), 1U);
    return;
  }
  if (!device_can_prefetch()) GTEST_SKIP() << "the device cannot prefetch managed memory";
  const auto [type, id] = last_prefetch_location(block.get(), block.bytes());
  EXPECT_EQ(type, cudaMemLocationTypeDevice);
  EXPECT_EQ(id, 0);
}

}  // namespace
