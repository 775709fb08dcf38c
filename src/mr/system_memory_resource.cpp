#include "gpumem/mr/system_memory_resource.hpp"

#include <cuda_runtime_api.h>

#include <new>
#include <string>

#include "gpumem/detail/error_macros.hpp"

namespace gpumem::mr {

namespace detail {

bool is_system_memory_supported(cuda_device_id device) {
  int pageable_memory_access = 0;
  GPUMEM_CUDA_TRY(cudaDeviceGetAttribute(
      &pageable_memory_access, cudaDevAttrPageableMemoryAccess, device.value()));
  return pageable_memory_access == 1;
}

}  // namespace detail

system_memory_resource::system_memory_resource() {
  const cuda_device_id device = get_current_cuda_device();
  GPUMEM_EXPECTS(detail::is_system_memory_supported(device),
                 "System memory allocator is not supported with this hardware/software version: "
                 "device " +
                     std::to_string(device.value()) +
                     " reports no pageable memory access (cudaDevAttrPageableMemoryAccess 0; "
                     "it needs HMM: the open GPU kernel modules and Linux 6.1.24 or later, or "
                     "ATS on Grace Hopper)");
}

void* system_memory_resource::do_allocate(std::size_t bytes, cuda_stream_view /*stream*/) {
  if (bytes == 0) return nullptr;
  try {
    return ::operator new (bytes, std::align_val_t{CUDA_ALLOCATION_ALIGNMENT});
  } catch (const std::bad_alloc& failure) {
    GPUMEM_FAIL("system_memory_resource: failed to allocate " + std::to_string(bytes) +
                    " bytes of system memory: " + failure.what(),
                out_of_memory);
  }
}

void system_memory_resource::do_deallocate(void* ptr,
                                           std::size_t bytes,
                                           cuda_stream_view stream) noexcept {
  if (ptr == nullptr) return;
  // The heap frees at once, where cudaFree would wait for the device: work on the stream may
  // still use the memory.
  GPUMEM_ASSERT_CUDA_SUCCESS(cudaStreamSynchronize(stream.value()));
  ::operator delete (ptr, bytes, std::align_val_t{CUDA_ALLOCATION_ALIGNMENT});
}

bool system_memory_resource::do_is_equal(const device_memory_resource& other) const noexcept {
  return dynamic_cast<const system_memory_resource*>(&other) != nullptr;
}

}  // namespace gpumem::mr
