#include "gpumem/mr/callback_memory_resource.hpp"

#include <utility>

#include "gpumem/error.hpp"

namespace gpumem::mr {

callback_memory_resource::callback_memory_resource(allocate_callback_t allocate_callback,
                                                   deallocate_callback_t deallocate_callback,
                                                   void* allocate_arg,
                                                   void* deallocate_arg)
    : allocate_callback_{std::move(allocate_callback)},
      deallocate_callback_{std::move(deallocate_callback)},
      allocate_arg_{allocate_arg},
      deallocate_arg_{deallocate_arg} {
  if (!allocate_callback_ || !deallocate_callback_) {
    throw gpumem::logic_error{"gpumem: callback_memory_resource: a callback is empty"};
  }
}

void* callback_memory_resource::do_allocate(std::size_t bytes, cuda_stream_view stream) {
  return allocate_callback_(bytes, stream, allocate_arg_);
}

void callback_memory_resource::do_deallocate(void* ptr,
                                             std::size_t bytes,
                                             cuda_stream_view stream) noexcept {
  deallocate_callback_(ptr, bytes, stream, deallocate_arg_);
}

}  // namespace gpumem::mr
