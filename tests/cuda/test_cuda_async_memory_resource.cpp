// cuda_async_memory_resource (its own CUDA memory pool) and cuda_async_view_memory_resource
// (a pool it is given), on the simulator and on the GPU.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cuda_platform.hpp"
#include "gpumem/aligned.hpp"
#include "gpumem/cuda_device.hpp"
#include "gpumem/error.hpp"
#include "gpumem/mr/cuda_async_memory_resource.hpp"
#include "gpumem/mr/cuda_async_view_memory_resource.hpp"
#include "gpumem/mr/cuda_memory_resource.hpp"
#include "gpumem/resource_ref.hpp"

namespace {

namespace simulator = gpumem::test::simulator;
using gpumem::mr::cuda_async_memory_resource;
using gpumem::mr::cuda_async_view_memory_resource;
using handle_type = cuda_async_memory_resource::allocation_handle_type;

static_assert(
    cuda::mr::async_resource_with<cuda_async_memory_resource, cuda::mr::device_accessible>);
static_assert(
    cuda::mr::async_resource_with<cuda_async_view_memory_resource, cuda::mr::device_accessible>);
static_assert(!cuda::mr::resource_with<cuda_async_memory_resource, cuda::mr::host_accessible>);
static_assert(!std::is_copy_constructible_v<cuda_async_memory_resource>);
static_assert(!std::is_move_constructible_v<cuda_async_memory_resource>);
static_assert(std::is_copy_constructible_v<cuda_async_view_memory_resource>);

/// A RAII created stream.
class created_stream {
 public:
  created_stream() { EXPECT_EQ(cudaStreamCreate(&stream_), cudaSuccess); }
  ~created_stream() { EXPECT_EQ(cudaStreamDestroy(stream_), cudaSuccess); }
  created_stream(const created_stream&) = delete;
  created_stream& operator=(const created_stream&) = delete;
  [[nodiscard]] cudaStream_t get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

std::vector<int> counting_from(int first, std::size_t count) {
  std::vector<int> values(count);
  std::iota(values.begin(), values.end(), first);
  return values;
}

/// Copies `count` ints into device memory at `device` and back; what came back.
std::vector<int> copy_through(void* device, std::size_t count, int first) {
  const std::vector<int> input = counting_from(first, count);
  std::vector<int> output(count, -1);
  EXPECT_EQ(cudaMemcpy(device, input.data(), count * sizeof(int), cudaMemcpyHostToDevice),
            cudaSuccess);
  EXPECT_EQ(cudaMemcpy(output.data(), device, count * sizeof(int), cudaMemcpyDeviceToHost),
            cudaSuccess);
  return output;
}

cudaMemPool_t default_pool() {
  cudaMemPool_t pool = nullptr;
  EXPECT_EQ(cudaDeviceGetDefaultMemPool(&pool, gpumem::get_current_cuda_device().value()),
            cudaSuccess);
  return pool;
}

std::uint64_t pool_attribute(cudaMemPool_t pool, cudaMemPoolAttr attribute) {
  std::uint64_t value = 0;
  EXPECT_EQ(cudaMemPoolGetAttribute(pool, attribute, &value), cudaSuccess);
  return value;
}

int supported_handle_types() {
  int mask = 0;
  EXPECT_EQ(cudaDeviceGetAttribute(&mask,
                                   cudaDevAttrMemoryPoolSupportedHandleTypes,
                                   gpumem::get_current_cuda_device().value()),
            cudaSuccess);
  return mask;
}

std::size_t device_total_memory() {
  return gpumem::available_device_memory().second;
}

constexpr std::size_t MiB = std::size_t{1} << 20;

// --- cuda_async_memory_resource

TEST(CudaAsyncMemoryResource, DeviceMemoryHoldsWhatIsCopiedIn) {
  cuda_async_memory_resource mr;
  constexpr std::size_t count = 1 << 18;
  void* pointer = mr.allocate(count * sizeof(int));
  ASSERT_NE(pointer, nullptr);
  cudaPointerAttributes attributes{};
  ASSERT_EQ(cudaPointerGetAttributes(&attributes, pointer), cudaSuccess);
  EXPECT_EQ(attributes.type, cudaMemoryTypeDevice);
  EXPECT_EQ(copy_through(pointer, count, 7), counting_from(7, count));
  mr.deallocate(pointer, count * sizeof(int));
}

TEST(CudaAsyncMemoryResource, AllocationsAreAlignedTo256Bytes) {
  cuda_async_memory_resource mr;
  std::vector<std::pair<void*, std::size_t>> blocks;
  for (const std::size_t size : {1UL, 8UL, 100UL, 255UL, 257UL, 4000UL, 1000000UL}) {
    void* pointer = mr.allocate(size);
    EXPECT_TRUE(gpumem::is_pointer_aligned(pointer, gpumem::CUDA_ALLOCATION_ALIGNMENT)) << size;
    blocks.emplace_back(pointer, size);
  }
  for (const auto& [pointer, size] : blocks)
    mr.deallocate(pointer, size);
}

TEST(CudaAsyncMemoryResource, ZeroBytesGiveNull) {
  cuda_async_memory_resource mr;
  void* pointer = mr.allocate(0);
  EXPECT_EQ(pointer, nullptr);
  EXPECT_NO_THROW(mr.deallocate(pointer, 0));
}

TEST(CudaAsyncMemoryResource, UsesItsOwnPoolNotTheDevicesDefault) {
  cudaMemPool_t current_before = nullptr;
  ASSERT_EQ(cudaDeviceGetMemPool(&current_before, 0), cudaSuccess);
  cuda_async_memory_resource mr;
  ASSERT_NE(mr.pool_handle(), nullptr);
  EXPECT_NE(mr.pool_handle(), default_pool());
  cudaMemPool_t current_after = nullptr;
  ASSERT_EQ(cudaDeviceGetMemPool(&current_after, 0), cudaSuccess);
  EXPECT_EQ(current_after, current_before);

  // The allocations come out of that pool.
  constexpr std::size_t bytes = 4 * MiB;
  void* pointer = mr.allocate(bytes);
  EXPECT_GE(pool_attribute(mr.pool_handle(), cudaMemPoolAttrUsedMemCurrent), bytes);
  mr.deallocate(pointer, bytes);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_EQ(pool_attribute(mr.pool_handle(), cudaMemPoolAttrUsedMemCurrent), 0U);
}

TEST(CudaAsyncMemoryResource, DefaultReleaseThresholdIsTheDeviceMemory) {
  cuda_async_memory_resource mr;
  EXPECT_EQ(pool_attribute(mr.pool_handle(), cudaMemPoolAttrReleaseThreshold),
            device_total_memory());
}

TEST(CudaAsyncMemoryResource, ReleaseThresholdIsSetAsGiven) {
  cuda_async_memory_resource mr{std::nullopt, 64 * MiB};
  EXPECT_EQ(pool_attribute(mr.pool_handle(), cudaMemPoolAttrReleaseThreshold), 64 * MiB);
  cuda_async_memory_resource keeps_nothing{std::nullopt, 0};
  EXPECT_EQ(pool_attribute(keeps_nothing.pool_handle(), cudaMemPoolAttrReleaseThreshold), 0U);
}

TEST(CudaAsyncMemoryResource, InitialPoolSizeStaysReservedInThePool) {
  if (gpumem::test::on_simulator()) {
    // TODO(simulator): the simulator keeps no memory reserved beyond use
    // (cudaMemPoolAttrReservedMemCurrent == cudaMemPoolAttrUsedMemCurrent); the simulator-side
    // check is InitialPoolSizeIsAllocatedOnceAndFreed.
    GTEST_SKIP() << "the simulator does not model memory reserved by a pool";
  }
  constexpr std::size_t initial = 64 * MiB;
  cuda_async_memory_resource mr{initial};
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_GE(pool_attribute(mr.pool_handle(), cudaMemPoolAttrReservedMemCurrent), initial);
  EXPECT_EQ(pool_attribute(mr.pool_handle(), cudaMemPoolAttrUsedMemCurrent), 0U);
}

TEST(CudaAsyncMemoryResource, InitialPoolSizeIsAllocatedOnceAndFreed) {
  GPUMEM_REQUIRE_SIMULATOR();
  const std::size_t outstanding_before = simulator::outstanding_allocations();
  const std::uint64_t in_use_before = simulator::bytes_in_use(0);
  simulator::reset_call_counts();
  {
    cuda_async_memory_resource mr{32 * MiB};
    EXPECT_EQ(simulator::call_count("cuMemAllocFromPoolAsync"), 1U);
    EXPECT_EQ(simulator::call_count("cuMemFreeAsync"), 1U);
    EXPECT_EQ(simulator::call_count("cuMemPoolCreate"), 1U);
    EXPECT_EQ(simulator::outstanding_allocations(), outstanding_before);
    EXPECT_EQ(simulator::bytes_in_use(0), in_use_before);
  }
  EXPECT_EQ(simulator::call_count("cuMemPoolDestroy"), 1U);
  cuda_async_memory_resource not_primed{0};
  EXPECT_EQ(simulator::call_count("cuMemAllocFromPoolAsync"), 1U) << "0 bytes: no priming";
  cuda_async_memory_resource without_initial_size;
  EXPECT_EQ(simulator::call_count("cuMemAllocFromPoolAsync"), 2U)
      << "without a size the pool is primed (RMM 25.10)";
  EXPECT_EQ(simulator::outstanding_allocations(), outstanding_before);
}

TEST(CudaAsyncMemoryResource, WithoutAnInitialSizeHalfTheFreeMemoryIsPrimed) {
  if (gpumem::test::on_simulator()) {
    // TODO(simulator): no memory reserved beyond use; the call is counted in
    // InitialPoolSizeIsAllocatedOnceAndFreed.
    GTEST_SKIP() << "the simulator does not model memory reserved by a pool";
  }
  const std::size_t free_before = gpumem::available_device_memory().first;
  cuda_async_memory_resource mr;
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const std::uint64_t reserved =
      pool_attribute(mr.pool_handle(), cudaMemPoolAttrReservedMemCurrent);
  EXPECT_GE(reserved, free_before / 2 - 64 * MiB) << "RMM 25.10 primes half the free memory";
  EXPECT_LE(reserved, free_before / 2 + 64 * MiB);
  EXPECT_EQ(pool_attribute(mr.pool_handle(), cudaMemPoolAttrUsedMemCurrent), 0U);
  cuda_async_memory_resource not_primed{0};
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_EQ(pool_attribute(not_primed.pool_handle(), cudaMemPoolAttrReservedMemCurrent), 0U);
}

TEST(CudaAsyncMemoryResource, StreamOrderedOnACreatedStream) {
  cuda_async_memory_resource mr;
  created_stream stream;
  constexpr std::size_t count = 1 << 16;
  constexpr std::size_t bytes = count * sizeof(int);
  const std::vector<int> input = counting_from(3, count);
  std::vector<int> output(count, -1);

  void* pointer = mr.allocate(bytes, stream.get());
  ASSERT_NE(pointer, nullptr);
  ASSERT_EQ(cudaMemcpyAsync(pointer, input.data(), bytes, cudaMemcpyHostToDevice, stream.get()),
            cudaSuccess);
  ASSERT_EQ(cudaMemcpyAsync(output.data(), pointer, bytes, cudaMemcpyDeviceToHost, stream.get()),
            cudaSuccess);
  mr.deallocate(pointer, bytes, stream.get());
  ASSERT_EQ(cudaStreamSynchronize(stream.get()), cudaSuccess);
  EXPECT_EQ(output, input);

  // The same through a resource reference (CCCL's interface, with an alignment).
  gpumem::device_async_resource_ref ref{mr};
  void* through_ref = ref.allocate_async(bytes, gpumem::CUDA_ALLOCATION_ALIGNMENT, stream.get());
  EXPECT_TRUE(gpumem::is_pointer_aligned(through_ref));
  ASSERT_EQ(cudaMemsetAsync(through_ref, 0, bytes, stream.get()), cudaSuccess);
  ref.deallocate_async(through_ref, bytes, gpumem::CUDA_ALLOCATION_ALIGNMENT, stream.get());
  ASSERT_EQ(cudaStreamSynchronize(stream.get()), cudaSuccess);
}

TEST(CudaAsyncMemoryResource, RequestLargerThanTheDeviceThrowsOutOfMemory) {
  cuda_async_memory_resource mr;
  EXPECT_THROW((void)mr.allocate(2 * device_total_memory()), gpumem::out_of_memory);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);  // the failure does not linger as the last error
  void* pointer = mr.allocate(MiB);            // and the resource still works
  EXPECT_NE(pointer, nullptr);
  mr.deallocate(pointer, MiB);
}

TEST(CudaAsyncMemoryResource, InitialPoolSizeLargerThanTheDeviceThrowsOutOfMemory) {
  EXPECT_THROW(cuda_async_memory_resource{2 * device_total_memory()}, gpumem::out_of_memory);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

TEST(CudaAsyncMemoryResource, EqualOnlyToResourcesOfTheSamePool) {
  cuda_async_memory_resource first;
  cuda_async_memory_resource second;
  gpumem::mr::cuda_memory_resource cuda_mr;
  EXPECT_TRUE(first == first);
  EXPECT_FALSE(first == second);
  EXPECT_TRUE(first != second);
  EXPECT_FALSE(first.is_equal(cuda_mr));
  EXPECT_FALSE(cuda_mr.is_equal(first));

  const cuda_async_view_memory_resource view_of_first{first.pool_handle()};
  EXPECT_TRUE(first.is_equal(view_of_first));
  EXPECT_TRUE(view_of_first.is_equal(first));
  EXPECT_FALSE(second.is_equal(view_of_first));
  EXPECT_FALSE(view_of_first.is_equal(second));

  // Equal resources free each other's memory.
  void* pointer = first.allocate(MiB);
  cuda_async_view_memory_resource{first.pool_handle()}.deallocate(pointer, MiB);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

TEST(CudaAsyncMemoryResource, ExportHandleTypeIsCheckedAgainstTheDevice) {
  const int mask = supported_handle_types();
  // No Linux driver supports Windows handles, so at least one type is refused everywhere.
  EXPECT_EQ(mask & static_cast<int>(handle_type::win32), 0);
  for (const auto& [type, name] :
       {std::pair{handle_type::posix_file_descriptor, "posix_file_descriptor"},
        std::pair{handle_type::win32, "win32"},
        std::pair{handle_type::win32_kmt, "win32_kmt"},
        std::pair{handle_type::fabric, "fabric"}}) {
    SCOPED_TRACE(name);
    const int bits = static_cast<int>(type);
    if ((mask & bits) == bits) {
      cuda_async_memory_resource mr{std::nullopt, std::nullopt, type};
      void* pointer = mr.allocate(MiB);
      EXPECT_EQ(copy_through(pointer, 1024, 11), counting_from(11, 1024));
      mr.deallocate(pointer, MiB);
    } else {
      try {
        cuda_async_memory_resource mr{std::nullopt, std::nullopt, type};
        ADD_FAILURE() << "an unsupported export handle type was accepted";
      } catch (const gpumem::logic_error& error) {
        EXPECT_NE(std::string{error.what()}.find(name), std::string::npos) << error.what();
        EXPECT_NE(std::string{error.what()}.find("handle type"), std::string::npos) << error.what();
      }
    }
  }
  // none asks for nothing and always works.
  cuda_async_memory_resource none{std::nullopt, std::nullopt, handle_type::none};
  void* pointer = none.allocate(MiB);
  none.deallocate(pointer, MiB);
}

TEST(CudaAsyncMemoryResource, SimulatorSupportsOnlyPosixFileDescriptorExport) {
  GPUMEM_REQUIRE_SIMULATOR();
  EXPECT_EQ(supported_handle_types(), static_cast<int>(handle_type::posix_file_descriptor));
  const std::size_t outstanding_before = simulator::outstanding_allocations();
  simulator::reset_call_counts();
  EXPECT_THROW(cuda_async_memory_resource(std::nullopt, std::nullopt, handle_type::fabric),
               gpumem::logic_error);
  // Refused before any pool is made.
  EXPECT_EQ(simulator::call_count("cuMemPoolCreate"), 0U);
  EXPECT_EQ(simulator::outstanding_allocations(), outstanding_before);
}

TEST(CudaAsyncMemoryResource, DestructionReturnsEverything) {
  GPUMEM_REQUIRE_SIMULATOR();
  const std::size_t outstanding_before = simulator::outstanding_allocations();
  const std::uint64_t in_use_before = simulator::bytes_in_use(0);
  {
    cuda_async_memory_resource mr{16 * MiB};
    created_stream stream;
    void* on_default = mr.allocate(MiB);
    void* on_stream = mr.allocate(3 * MiB, stream.get());
    EXPECT_EQ(simulator::outstanding_allocations(), outstanding_before + 2);
    EXPECT_GE(simulator::bytes_in_use(0), in_use_before + 4 * MiB);
    mr.deallocate(on_default, MiB);
    mr.deallocate(on_stream, 3 * MiB, stream.get());
    ASSERT_EQ(cudaStreamSynchronize(stream.get()), cudaSuccess);
  }
  EXPECT_EQ(simulator::outstanding_allocations(), outstanding_before);
  EXPECT_EQ(simulator::bytes_in_use(0), in_use_before);
}

// --- cuda_async_view_memory_resource

TEST(CudaAsyncViewMemoryResource, NullPoolIsALogicError) {
  EXPECT_THROW(cuda_async_view_memory_resource{nullptr}, gpumem::logic_error);
}

TEST(CudaAsyncViewMemoryResource, WorksOnTheDevicesDefaultPool) {
  cuda_async_view_memory_resource mr{default_pool()};
  EXPECT_EQ(mr.pool_handle(), default_pool());
  constexpr std::size_t count = 1 << 16;
  void* pointer = mr.allocate(count * sizeof(int));
  EXPECT_TRUE(gpumem::is_pointer_aligned(pointer));
  EXPECT_EQ(copy_through(pointer, count, 5), counting_from(5, count));
  mr.deallocate(pointer, count * sizeof(int));

  created_stream stream;
  void* on_stream = mr.allocate(MiB, stream.get());
  ASSERT_EQ(cudaMemsetAsync(on_stream, 0x5a, MiB, stream.get()), cudaSuccess);
  std::vector<unsigned char> output(MiB);
  ASSERT_EQ(cudaMemcpyAsync(output.data(), on_stream, MiB, cudaMemcpyDeviceToHost, stream.get()),
            cudaSuccess);
  mr.deallocate(on_stream, MiB, stream.get());
  ASSERT_EQ(cudaStreamSynchronize(stream.get()), cudaSuccess);
  EXPECT_EQ(output, std::vector<unsigned char>(MiB, 0x5a));
}

TEST(CudaAsyncViewMemoryResource, EqualWhenViewingTheSamePool) {
  const cuda_async_view_memory_resource first{default_pool()};
  const cuda_async_view_memory_resource copy =
      first;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_TRUE(first == copy);
  EXPECT_TRUE(first == cuda_async_view_memory_resource{default_pool()});
  cuda_async_memory_resource owner;
  EXPECT_FALSE(first == cuda_async_view_memory_resource{owner.pool_handle()});
  EXPECT_FALSE(first.is_equal(owner));
  EXPECT_FALSE(first.is_equal(gpumem::mr::cuda_memory_resource{}));
}

TEST(CudaAsyncViewMemoryResource, DoesNotOwnThePool) {
  cudaMemPoolProps properties{};
  properties.allocType = cudaMemAllocationTypePinned;
  properties.location.type = cudaMemLocationTypeDevice;
  properties.location.id = gpumem::get_current_cuda_device().value();
  cudaMemPool_t pool = nullptr;
  ASSERT_EQ(cudaMemPoolCreate(&pool, &properties), cudaSuccess);
  {
    cuda_async_view_memory_resource mr{pool};
    void* pointer = mr.allocate(MiB);
    EXPECT_EQ(copy_through(pointer, 1024, 1), counting_from(1, 1024));
    mr.deallocate(pointer, MiB);
  }
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  // The pool outlives the view: it still answers, and its owner destroys it.
  std::uint64_t threshold = 1;
  EXPECT_EQ(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold),
            cudaSuccess);
  EXPECT_EQ(threshold, 0U);
  EXPECT_EQ(cudaMemPoolDestroy(pool), cudaSuccess);
}

TEST(CudaAsyncViewMemoryResource, DestructionReturnsEverything) {
  GPUMEM_REQUIRE_SIMULATOR();
  const std::size_t outstanding_before = simulator::outstanding_allocations();
  {
    cuda_async_view_memory_resource mr{default_pool()};
    void* pointer = mr.allocate(MiB);
    EXPECT_EQ(simulator::outstanding_allocations(), outstanding_before + 1);
    mr.deallocate(pointer, MiB);
  }
  EXPECT_EQ(simulator::outstanding_allocations(), outstanding_before);
}

}  // namespace
