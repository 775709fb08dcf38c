#include "gpumem/mr/thread_safe_resource_adaptor.hpp"

namespace gpumem::mr::detail {

void* thread_safe_adaptor_core::do_allocate(std::size_t bytes, cuda_stream_view stream) {
  std::lock_guard lock{mutex_};
  return allocate_upstream(bytes, stream);
}

void thread_safe_adaptor_core::do_deallocate(void* ptr,
                                             std::size_t bytes,
                                             cuda_stream_view stream) noexcept {
  std::lock_guard lock{mutex_};
  deallocate_upstream(ptr, bytes, stream);
}

bool thread_safe_adaptor_core::do_is_equal(const device_memory_resource& other) const noexcept {
  return same_core_and_upstream<thread_safe_adaptor_core>(other);
}

}  // namespace gpumem::mr::detail
