// Seed example 03: the Programming Guide's "available resources" (seed
// 000_0f306e1fe9c1a347.txt, lines 90-105): cuda, cuda_async, managed, and a 1 GiB pool over the
// cuda resource (deduced template argument). The seed's lines are as printed; every line that is
// not the seed's says `added`.
#include <rmm/mr/device/cuda_memory_resource.hpp>
#include <rmm/mr/device/cuda_async_memory_resource.hpp>
#include <rmm/mr/device/managed_memory_resource.hpp>
#include <rmm/mr/device/pool_memory_resource.hpp>

#include <type_traits>         // added: for the check
#include "example_checks.hpp"  // added: the checks after the seed's code

int main() {  // added: the seed's statements are top-level; they run in main()
// CudaMemoryResource - uses cudaMalloc/cudaFree
auto cuda_mr = rmm::mr::cuda_memory_resource{};

// CudaAsyncMemoryResource - uses cudaMallocAsync (recommended)
auto async_mr = rmm::mr::cuda_async_memory_resource{};

// ManagedMemoryResource - uses cudaMallocManaged
auto managed_mr = rmm::mr::managed_memory_resource{};

// PoolMemoryResource - coalescing pool with 1 GiB initial size
rmm::mr::pool_memory_resource pool_mr{cuda_mr, 1ULL << 30};

  // added: check: each resource serves a usable allocation of its kind; the pool's template
  // argument is deduced as cuda_memory_resource and it took 1 GiB from it at construction
  using namespace example_checks;
  static_assert(std::is_same_v<decltype(pool_mr), rmm::mr::pool_memory_resource<rmm::mr::cuda_memory_resource>>);
  const int device = current_device();
  constexpr std::size_t bytes = 4096;
  rmm::cuda_stream_view stream{};
  void* from_cuda = cuda_mr.allocate(bytes, stream);
  expect(is_device_memory_of(from_cuda, device), "cuda_memory_resource gives device memory");
  round_trip(from_cuda, bytes);
  cuda_mr.deallocate(from_cuda, bytes, stream);
  void* from_async = async_mr.allocate(bytes, stream);
  expect(is_device_memory_of(from_async, device), "cuda_async_memory_resource gives device memory");
  round_trip(from_async, bytes);
  async_mr.deallocate(from_async, bytes, stream);
  void* from_managed = managed_mr.allocate(bytes, stream);
  expect(attributes_of(from_managed).type == cudaMemoryTypeManaged, "managed_memory_resource gives managed memory");
  round_trip(from_managed, bytes);
  managed_mr.deallocate(from_managed, bytes, stream);
  expect(pool_mr.pool_size() >= (std::size_t{1} << 30), "the pool took its 1 GiB initial size");
  void* from_pool = pool_mr.allocate(bytes, stream);
  expect(is_device_memory_of(from_pool, device), "pool_memory_resource gives device memory");
  round_trip(from_pool, bytes);
  pool_mr.deallocate(from_pool, bytes, stream);
  return finish("available_resources");
}  // added
