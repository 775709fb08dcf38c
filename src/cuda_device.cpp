#include "gpumem/cuda_device.hpp"

#include <cuda_runtime_api.h>

#include "gpumem/aligned.hpp"
#include "gpumem/detail/error_macros.hpp"

namespace gpumem {

cuda_device_id get_current_cuda_device() {
  int device = 0;
  GPUMEM_CUDA_TRY(detail::cuda_calls::get_device(&device));
  return cuda_device_id{device};
}

int get_num_cuda_devices() {
  int count = 0;
  if (detail::cuda_calls::device_count(&count) != cudaSuccess) {
    detail::cuda_calls::clear_last_error();
    return 0;
  }
  return count;
}

std::pair<std::size_t, std::size_t> available_device_memory() {
  std::size_t free_bytes = 0;
  std::size_t total_bytes = 0;
  GPUMEM_CUDA_TRY(detail::cuda_calls::memory_info(&free_bytes, &total_bytes));
  return {free_bytes, total_bytes};
}

std::size_t percent_of_free_device_memory(int percent) {
  GPUMEM_EXPECTS(percent > 0 && percent <= 100,
                 "percent_of_free_device_memory: percent must be in (0, 100]");
  const auto free_bytes = available_device_memory().first;
  const auto share = static_cast<std::size_t>(static_cast<double>(free_bytes) * percent / 100.0);
  return align_down(share, CUDA_ALLOCATION_ALIGNMENT);
}

cuda_set_device_raii::cuda_set_device_raii(cuda_device_id device)
    : previous_{get_current_cuda_device()}, switched_{previous_ != device} {
  if (switched_) GPUMEM_CUDA_TRY(detail::cuda_calls::set_device(device.value()));
}

cuda_set_device_raii::~cuda_set_device_raii() noexcept {
  if (switched_) GPUMEM_ASSERT_CUDA_SUCCESS(detail::cuda_calls::set_device(previous_.value()));
}

}  // namespace gpumem
