#include "gpumem/mr/limiting_resource_adaptor.hpp"

#include <limits>
#include <string>

#include "gpumem/error.hpp"

namespace gpumem::mr::detail {

limiting_adaptor_core::limiting_adaptor_core(device_async_resource_ref upstream,
                                             std::size_t allocation_limit,
                                             std::size_t alignment,
                                             expandable_upstream* below)
    : resource_adaptor_core{upstream},
      allocation_limit_{allocation_limit},
      alignment_{alignment},
      below_{below} {
  if (!is_supported_alignment(alignment)) {
    throw gpumem::logic_error{"gpumem: limiting_resource_adaptor: the alignment " +
                              std::to_string(alignment) + " is not a power of two"};
  }
}

std::size_t limiting_adaptor_core::counted_size(std::size_t bytes) const noexcept {
  // A size within an alignment of the address space's end cannot be rounded up; it counts as
  // everything, which no limit admits.
  if (bytes > std::numeric_limits<std::size_t>::max() - alignment_)
    return std::numeric_limits<std::size_t>::max();
  return align_up(bytes, alignment_);
}

void* limiting_adaptor_core::do_allocate(std::size_t bytes, cuda_stream_view stream) {
  const std::size_t size = counted_size(bytes);
  if (!count(size)) {
    throw gpumem::out_of_memory{
        "gpumem: limiting_resource_adaptor: cannot allocate " + std::to_string(bytes) + " B (" +
        std::to_string(size) + " B counted): the limit is " + std::to_string(allocation_limit_) +
        " B and " + std::to_string(allocated_bytes_.load(std::memory_order_relaxed)) +
        " B are in use"};
  }
  try {
    return allocate_upstream(bytes, stream);
  } catch (...) {
    allocated_bytes_.fetch_sub(size, std::memory_order_relaxed);
    throw;
  }
}

bool limiting_adaptor_core::count(std::size_t size) noexcept {
  std::size_t in_use = allocated_bytes_.load(std::memory_order_relaxed);
  do {
    if (size > allocation_limit_ || in_use > allocation_limit_ - size) return false;
  } while (
      !allocated_bytes_.compare_exchange_weak(in_use, in_use + size, std::memory_order_relaxed));
  return true;
}

bool limiting_adaptor_core::grow_in_place(void* ptr, std::size_t size, std::size_t more) {
  if (below_ == nullptr || !count(more)) return false;
  bool grown = false;
  try {
    grown = below_->grow_in_place(ptr, size, more);
  } catch (...) {
    allocated_bytes_.fetch_sub(more, std::memory_order_relaxed);
    throw;
  }
  if (!grown) allocated_bytes_.fetch_sub(more, std::memory_order_relaxed);
  return grown;
}

void limiting_adaptor_core::shrink_in_place(void* ptr, std::size_t size, std::size_t less) {
  below_->shrink_in_place(ptr, size, less);
  allocated_bytes_.fetch_sub(less, std::memory_order_relaxed);
}

void limiting_adaptor_core::do_deallocate(void* ptr,
                                          std::size_t bytes,
                                          cuda_stream_view stream) noexcept {
  deallocate_upstream(ptr, bytes, stream);
  allocated_bytes_.fetch_sub(counted_size(bytes), std::memory_order_relaxed);
}

bool limiting_adaptor_core::do_is_equal(const device_memory_resource& other) const noexcept {
  return same_core_and_upstream<limiting_adaptor_core>(other);
}

}  // namespace gpumem::mr::detail
