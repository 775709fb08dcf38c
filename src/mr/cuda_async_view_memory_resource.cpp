#include "gpumem/mr/cuda_async_view_memory_resource.hpp"

#include <cuda_runtime_api.h>

#include "gpumem/detail/error_macros.hpp"
#include "gpumem/mr/cuda_async_memory_resource.hpp"

namespace gpumem::mr {

cuda_async_view_memory_resource::cuda_async_view_memory_resource(cudaMemPool_t pool) : pool_{pool} {
  GPUMEM_EXPECTS(pool != nullptr,
                 "cuda_async_view_memory_resource: the memory pool handle is null");
}

void* cuda_async_view_memory_resource::do_allocate(std::size_t bytes, cuda_stream_view stream) {
  // A 0-byte request needs no memory: answer it as cudaMalloc does, with nullptr, without
  // relying on how a driver treats a 0-byte pool allocation.
  if (bytes == 0) return nullptr;
  void* pointer = nullptr;
  GPUMEM_CUDA_TRY_ALLOC(cudaMallocFromPoolAsync(&pointer, bytes, pool_, stream.value()), bytes);
  return pointer;
}

void cuda_async_view_memory_resource::do_deallocate(void* ptr,
                                                    std::size_t /*bytes*/,
                                                    cuda_stream_view stream) noexcept {
  if (ptr == nullptr) return;
  GPUMEM_ASSERT_CUDA_SUCCESS(cudaFreeAsync(ptr, stream.value()));
}

bool cuda_async_view_memory_resource::do_is_equal(
    const device_memory_resource& other) const noexcept {
  if (const auto* view = dynamic_cast<const cuda_async_view_memory_resource*>(&other)) {
    return view->pool_handle() == pool_;
  }
  if (const auto* owner = dynamic_cast<const cuda_async_memory_resource*>(&other)) {
    return owner->pool_handle() == pool_;
  }
  return false;
}

}  // namespace gpumem::mr
