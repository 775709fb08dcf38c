#include "gpumem/mr/sam_headroom_memory_resource.hpp"

#include <cuda_runtime_api.h>

#include <algorithm>

#include "gpumem/aligned.hpp"
#include "gpumem/cuda_device.hpp"
#include "gpumem/detail/error_macros.hpp"

namespace gpumem::mr {

sam_headroom_memory_resource::sam_headroom_memory_resource(std::size_t headroom)
    : headroom_{headroom} {}

void* sam_headroom_memory_resource::do_allocate(std::size_t bytes, cuda_stream_view stream) {
  void* pointer = system_.allocate(bytes, stream);
  if (pointer == nullptr) return nullptr;
  try {
    const std::size_t free = available_device_memory().first;
    const std::size_t allocatable = free > headroom_ ? free - headroom_ : 0;
    const std::size_t gpu_portion =
        align_down(std::min(allocatable, bytes), CUDA_ALLOCATION_ALIGNMENT);
    const std::size_t cpu_portion = bytes - gpu_portion;
    if (gpu_portion != 0) {
      const cudaMemLocation device{cudaMemLocationTypeDevice, get_current_cuda_device().value()};
      GPUMEM_CUDA_TRY(
          cudaMemAdvise(pointer, gpu_portion, cudaMemAdviseSetPreferredLocation, device));
    }
    if (cpu_portion != 0) {
      const cudaMemLocation host{cudaMemLocationTypeHost, 0};
      GPUMEM_CUDA_TRY(cudaMemAdvise(static_cast<char*>(pointer) + gpu_portion,
                                    cpu_portion,
                                    cudaMemAdviseSetPreferredLocation,
                                    host));
    }
  } catch (...) {
    system_.deallocate(pointer, bytes, stream);
    throw;
  }
  return pointer;
}

void sam_headroom_memory_resource::do_deallocate(void* ptr,
                                                 std::size_t bytes,
                                                 cuda_stream_view stream) noexcept {
  system_.deallocate(ptr, bytes, stream);
}

bool sam_headroom_memory_resource::do_is_equal(const device_memory_resource& other) const noexcept {
  const auto* same_kind = dynamic_cast<const sam_headroom_memory_resource*>(&other);
  return same_kind != nullptr && same_kind->headroom_ == headroom_;
}

}  // namespace gpumem::mr
