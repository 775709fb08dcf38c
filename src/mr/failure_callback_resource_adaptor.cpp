#include "gpumem/mr/failure_callback_resource_adaptor.hpp"

#include <utility>

namespace gpumem::mr::detail {

failure_callback_adaptor_core::failure_callback_adaptor_core(device_async_resource_ref upstream,
                                                             failure_callback_t callback,
                                                             void* callback_arg)
    : resource_adaptor_core{upstream}, callback_{std::move(callback)}, callback_arg_{callback_arg} {
  if (!callback_)
    throw gpumem::logic_error{"gpumem: failure_callback_resource_adaptor: the callback is empty"};
}

void failure_callback_adaptor_core::do_deallocate(void* ptr,
                                                  std::size_t bytes,
                                                  cuda_stream_view stream) noexcept {
  deallocate_upstream(ptr, bytes, stream);
}

bool failure_callback_adaptor_core::do_is_equal(
    const device_memory_resource& other) const noexcept {
  return same_core_and_upstream<failure_callback_adaptor_core>(other);
}

}  // namespace gpumem::mr::detail
